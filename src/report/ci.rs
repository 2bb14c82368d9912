//! What the code-quality formats ([`super::gitlab`], [`super::sarif`]) share: which
//! listeners become issues, their stable fingerprints, and the place in the policy file
//! each issue points at.

use crate::model::{
    Classified, ClassifiedPortless, FindingKind, Listener, Netns, PortlessListener, Report, Severity, Verdict,
};
use crate::policy::PolicyContext;
use crate::policy::rules::governing_rule;

/// The path an issue points at when no policy judged the scan.
pub const SCAN_PATH: &str = "portghost-scan";

/// One listener worth an issue: unexpected, or with hidden owners.
#[derive(Debug, Clone, Copy)]
pub struct Issue<'a> {
    /// The listener.
    pub listener: &'a Classified,
    /// The check: the most severe finding's kind (`ghost-port`, `not-allowed`…), or
    /// `owner-hidden` for a listener that is not unexpected but whose owners are hidden.
    pub kind: &'static str,
    /// The most severe finding's severity.
    pub severity: Severity,
    /// True when the listener is unexpected.
    pub unexpected: bool,
}

/// The issues of `report`: every unexpected listener, then every other listener whose
/// owners are hidden, in report order.
pub fn issues(report: &Report) -> Vec<Issue<'_>> {
    let mut out = Vec::new();
    for c in report.listeners.iter().filter(|c| c.verdict == Verdict::Unexpected) {
        let worst = c.findings.iter().min_by_key(|f| f.severity);
        out.push(Issue {
            listener: c,
            kind: worst.map_or("unexpected", |f| f.kind.as_str()),
            severity: worst.map_or(Severity::High, |f| f.severity),
            unexpected: true,
        });
    }
    for c in report
        .listeners
        .iter()
        .filter(|c| c.verdict != Verdict::Unexpected && c.listener.owner_status.is_hidden())
    {
        out.push(Issue {
            listener: c,
            kind: FindingKind::OwnerHidden.as_str(),
            severity: Severity::Low,
            unexpected: false,
        });
    }
    out
}

/// One portless listener worth an issue: an unexpected packet or raw socket.
#[derive(Debug, Clone, Copy)]
pub struct PortlessIssue<'a> {
    /// The portless listener.
    pub listener: &'a ClassifiedPortless,
    /// The check: the most severe finding's kind (`unknown-portless`, `payload-filter`…).
    pub kind: &'static str,
    /// The most severe finding's severity.
    pub severity: Severity,
}

/// The issues of `report`'s portless listeners: every unexpected one, in report order.
pub fn portless_issues(report: &Report) -> Vec<PortlessIssue<'_>> {
    report
        .portless
        .iter()
        .filter(|c| c.verdict == Verdict::Unexpected)
        .map(|c| {
            let worst = c.findings.iter().min_by_key(|f| f.severity);
            PortlessIssue {
                listener: c,
                kind: worst.map_or("unexpected", |f| f.kind.as_str()),
                severity: worst.map_or(Severity::High, |f| f.severity),
            }
        })
        .collect()
}

/// A stable fingerprint of a portless issue, as [`fingerprint`] for a port listener: from
/// host, network namespace, socket kind, protocol, interface and check (no inode, PID or
/// time, which change on restart).
pub fn portless_fingerprint(host: &str, l: &PortlessListener, kind: &str) -> String {
    let key = format!(
        "{host}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{kind}",
        namespace_key(l.netns.as_deref()),
        l.kind,
        l.protocol,
        l.interface.as_deref().unwrap_or("*"),
    );
    format!("{:016x}{:016x}", fnv1a(2, key.as_bytes()), fnv1a(3, key.as_bytes()))
}

/// Where a portless issue points: the policy file (line 1: no rule names this socket, or
/// the first `socket` rule of its kind) or [`SCAN_PATH`] line 1 without a policy.
pub fn portless_location(policy: Option<PolicyContext<'_>>, c: &ClassifiedPortless) -> (String, usize) {
    match policy {
        None => (SCAN_PATH.to_string(), 1),
        Some(ctx) => {
            let p = ctx.policy;
            let line = p
                .deny
                .iter()
                .chain(&p.allow)
                .find(|r| r.socket == Some(c.listener.kind))
                .map_or(1, |r| r.line);
            (p.file.clone(), line)
        }
    }
}

/// The network namespace part of an identity: `host` for the host's (or none recorded),
/// else its name, else its inode.
pub fn netns_key(l: &Listener) -> String {
    namespace_key(l.netns.as_deref())
}

/// [`netns_key`] of a namespace.
pub fn namespace_key(netns: Option<&Netns>) -> String {
    match netns {
        Some(ns) if !ns.host => ns.name.clone().unwrap_or_else(|| ns.inode.to_string()),
        _ => "host".to_string(),
    }
}

/// A stable fingerprint of an issue: 32 hex digits hashed (FNV-1a, twice with different
/// seeds) from host, network namespace, protocol, address, port and check. No PID, owner
/// or time goes in, so the same listener on the same host keeps its fingerprint across
/// restarts and scans, and a dashboard tracks it as one issue.
pub fn fingerprint(host: &str, l: &Listener, kind: &str) -> String {
    let key = format!(
        "{host}\u{0}{}\u{0}{}\u{0}{}\u{0}{}\u{0}{kind}",
        netns_key(l),
        l.protocol,
        l.local_address,
        l.port
    );
    format!("{:016x}{:016x}", fnv1a(0, key.as_bytes()), fnv1a(1, key.as_bytes()))
}

/// FNV-1a, 64 bits, over `seed` then `bytes`.
fn fnv1a(seed: u8, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&seed).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Where an issue points: the policy file and the line of the rule that allowed, denied or
/// would allow the listener ([`governing_rule`]), line 1 of the policy when no rule comes
/// near, or [`SCAN_PATH`] line 1 when no policy judged the scan.
pub fn location(policy: Option<PolicyContext<'_>>, c: &Classified) -> (String, usize) {
    match policy {
        None => (SCAN_PATH.to_string(), 1),
        Some(ctx) => {
            let line = governing_rule(ctx, &c.listener, c.verdict == Verdict::Unexpected).map_or(1, |r| r.line);
            (ctx.policy.file.clone(), line)
        }
    }
}
