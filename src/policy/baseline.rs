//! `portghost baseline`: a policy that allows exactly what listens now.
//!
//! Owns turning a classified scan ([`Report`]) into policy text: one rule per distinct
//! (protocol, port, address scope, process names, executables, users), so the IPv4 and
//! IPv6 sockets of one daemon share a rule. Listeners that must not be allowed silently
//! (ghost ports, historic protocols, restricted services on the network, suspicious
//! executables, owners that could not be seen) are written as commented-out rules with a
//! `# portghost:` line saying why, and reported back so the caller can warn. Portless
//! listeners get `socket = "packet"`/`"raw"` rules bound to their executables and users.
//! Pure: the
//! caller does the scan and the writing.

use super::Mode;
use super::rules::{describe, owners_known};
use crate::model::Platform;
use crate::model::platform::{is_drive_path, normalize_exe};
use crate::model::{Classified, Report, Severity, Verdict};
use crate::model::{Listener, Owner, OwnerStatus, Protocol};
use crate::sanitize::{is_dangerous, terminal_safe};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// A generated policy and what it left for a person to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baseline {
    /// The policy file's text; it parses with [`super::parse::parse`].
    pub text: String,
    /// Number of active `[[allow]]` rules written.
    pub rules: usize,
    /// Number of rules written commented out.
    pub held_back: usize,
    /// One sentence per listener that was not allowed, saying why.
    pub warnings: Vec<String>,
}

/// The address scope a rule binds: `loopback`, `wildcard`, or the exact address.
pub fn scope(l: &Listener) -> String {
    if l.is_loopback() {
        "loopback".to_string()
    } else if l.is_wildcard() {
        "wildcard".to_string()
    } else {
        l.local_address.to_string()
    }
}

/// What one rule binds; listeners with equal keys share a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    /// The `netns` the rule names: set only when the scan spans several namespaces.
    netns: Option<String>,
    protocol: Protocol,
    port: u16,
    scope: String,
    /// Whether the owners are known; when not, the rule binds no identity.
    known: bool,
    /// `None` when an owner has no usable name (an empty `comm`).
    process: Option<Vec<String>>,
    /// `None` when an owner's executable is unknown: the rule then does not bind it.
    exe: Option<Vec<String>>,
    /// `None` when an owner's user is unknown.
    user: Option<Vec<String>>,
    held: bool,
}

/// The listeners behind one rule.
#[derive(Debug, Default)]
struct Group {
    comment: String,
    reasons: Vec<String>,
}

/// Sorted, without repeats; `None` when any value is missing.
fn set(values: impl Iterator<Item = Option<String>>) -> Option<Vec<String>> {
    let mut v: Vec<String> = values.collect::<Option<Vec<String>>>()?;
    v.sort();
    v.dedup();
    Some(v)
}

/// The `exe` values that match exactly the executables of `owners`: each path normalised
/// (Windows separators and drive letter) and glob-escaped, sorted and deduplicated; `None`
/// when an owner has no absolute executable path (Unix `/…` or a Windows drive path).
fn exe_matchers(owners: &[Arc<Owner>]) -> Option<Vec<String>> {
    set(owners.iter().map(|o| {
        o.exe
            .as_deref()
            .map(normalize_exe)
            .filter(|e| e.starts_with('/') || is_drive_path(e))
            .map(|e| escape_glob(&e))
    }))
}

/// Why `c` must not be allowed without a person deciding; empty when it may be.
fn hold_reasons(c: &Classified) -> Vec<String> {
    let mut reasons: Vec<String> = Vec::new();
    if c.verdict == Verdict::Unexpected {
        reasons.extend(
            c.findings
                .iter()
                .filter(|f| matches!(f.severity, Severity::High | Severity::Medium))
                .map(|f| format!("{}: {}", f.kind.as_str(), f.message)),
        );
    }
    if !owners_known(&c.listener) {
        let why = match c.listener.owner_status {
            OwnerStatus::Permission if Platform::current() == Platform::Windows => {
                "owners hidden (permission): the rule cannot name the program; run baseline from an elevated prompt"
            }
            OwnerStatus::Permission => {
                "owners hidden (permission): the rule cannot name the program; run baseline as root"
            }
            OwnerStatus::Unavailable => "owners hidden (no process table): the rule cannot name the program",
            OwnerStatus::NoProcess => "no process holds the socket: the rule cannot name a program",
            OwnerStatus::Kernel => "held by the kernel: the rule cannot name a program",
            OwnerStatus::NotLooked | OwnerStatus::Known => "no owner found: the rule cannot name a program",
        };
        reasons.push(why.to_string());
    }
    reasons
}

/// "ssh: The Secure Shell (SSH) Protocol", or why there is no IANA name.
fn service_comment(c: &Classified) -> String {
    match c.service {
        Some(s) if s.description.is_empty() => s.name.to_string(),
        Some(s) => format!("{}: {}", s.name, s.description),
        None => format!("{}/{}: no IANA registration", c.listener.port, c.listener.protocol),
    }
}

/// What a rule's `netns` says for `l`: `host`, its `ip netns` name, or its inode.
fn netns_value(l: &Listener) -> Option<String> {
    let ns = l.netns.as_deref()?;
    Some(if ns.host {
        "host".to_string()
    } else if let Some(name) = &ns.name {
        name.clone()
    } else {
        ns.inode.to_string()
    })
}

fn key(c: &Classified, held: bool, several_netns: bool) -> Key {
    let l = &c.listener;
    let known = owners_known(l);
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let (process, exe, user) = if known {
        let process = set(l.owners.iter().map(|o| nonempty(Some(o.name.clone()))));
        let exe = exe_matchers(&l.owners);
        let user = set(l
            .owners
            .iter()
            .map(|o| nonempty(o.user.clone()).or_else(|| o.uid.map(|u| u.to_string()))));
        (process, exe, user)
    } else {
        (None, None, None)
    };
    Key {
        netns: if several_netns { netns_value(l) } else { None },
        protocol: l.protocol,
        port: l.port,
        scope: scope(l),
        known,
        process,
        exe,
        user,
        held,
    }
}

/// What one portless rule binds: held back, socket kind, executables, users.
type PortlessKey = (bool, String, Vec<String>, Vec<String>);

/// The rules for the portless listeners of `report`: one per (socket kind, executables,
/// users), as `(held, text)`, in a stable order. A socket whose owners are not known, or
/// one with a high finding (a suspicious executable, a masquerade, a payload-matching
/// filter), is held back as a commented-out rule, with a warning in `warnings`.
fn portless_rules(report: &Report, warnings: &mut Vec<String>) -> Vec<(bool, String)> {
    let mut groups: BTreeMap<PortlessKey, (String, Vec<String>)> = BTreeMap::new();
    for c in &report.portless {
        let l = &c.listener;
        let known = l.owner_status == OwnerStatus::Known && !l.owners.is_empty();
        let mut reasons: Vec<String> = c
            .findings
            .iter()
            .filter(|f| f.severity == Severity::High)
            .map(|f| format!("{}: {}", f.kind.as_str(), f.message))
            .collect();
        if !known {
            reasons.push(format!("{}: the rule cannot name the program", l.owner_status.reason()));
        }
        let held = !reasons.is_empty();
        let exe = exe_matchers(&l.owners).unwrap_or_default();
        let user = set(l
            .owners
            .iter()
            .map(|o| o.user.clone().or_else(|| o.uid.map(|u| u.to_string()))))
        .unwrap_or_default();
        if held {
            warnings.push(format!(
                "{} is not allowed by the baseline: {}; it is written as a commented-out rule for you to decide",
                super::rules::describe_portless(l),
                reasons.join("; ")
            ));
        }
        let comment = match &c.program {
            Some(p) => format!("{p}: {} socket ({})", l.kind, l.protocol_name()),
            None => format!(
                "{} socket ({}) of a program not known to need one",
                l.kind,
                l.protocol_name()
            ),
        };
        let g = groups.entry((held, l.kind.as_str().to_owned(), exe, user)).or_default();
        g.0 = comment;
        for r in reasons {
            if !g.1.contains(&r) {
                g.1.push(r);
            }
        }
    }
    groups
        .into_iter()
        .map(|((held, kind, exe, user), (comment, reasons))| {
            let mut out = String::new();
            for r in &reasons {
                let _ = writeln!(out, "# portghost: not allowed, decide: {}", comment_text(r));
            }
            let mut lines = vec!["[[allow]]".to_string(), format!("socket = {}", toml_string(&kind))];
            if !exe.is_empty() {
                lines.push(format!("exe = {}", toml_strings(&exe)));
            }
            if !user.is_empty() {
                lines.push(format!("user = {}", toml_strings(&user)));
            }
            if held && exe.is_empty() && user.is_empty() {
                // A held rule with no identity would allow every socket of its kind.
                lines.push("process = \"(decide)\"".to_string());
            }
            lines.push(format!("comment = {}", toml_string(&comment)));
            for line in lines {
                if held {
                    out.push_str("# ");
                }
                out.push_str(&line);
                out.push('\n');
            }
            (held, out)
        })
        .collect()
}

/// `path` as a glob that matches exactly it: glob metacharacters are escaped.
pub fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\' | '!' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `s` as a TOML basic string on one line. Quotes and backslashes are escaped, and so is
/// every character [`is_dangerous`] (controls, DEL, bidirectional overrides, invisible
/// characters), so the file shows them as `\uXXXX` (`\UXXXXXXXX` beyond U+FFFF) while the
/// value stays exact.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_dangerous(c) && (c as u32) > 0xFFFF => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
            c if is_dangerous(c) => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string or a list of strings, as TOML.
fn toml_strings(values: &[String]) -> String {
    match values {
        [one] => toml_string(one),
        many => format!(
            "[{}]",
            many.iter().map(|v| toml_string(v)).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Text safe for a single-line TOML comment.
fn comment_text(s: &str) -> String {
    terminal_safe(s).into_owned()
}

fn rule_text(k: &Key, g: &Group) -> String {
    let mut lines = vec![
        "[[allow]]".to_string(),
        format!("port = {}", k.port),
        format!("protocol = {}", toml_string(k.protocol.as_str())),
        format!("address = {}", toml_string(&k.scope)),
    ];
    if let Some(ns) = &k.netns {
        lines.push(format!("netns = {}", toml_string(ns)));
    }
    if k.known {
        for (key, values) in [("process", &k.process), ("exe", &k.exe), ("user", &k.user)] {
            if let Some(v) = values.as_deref().filter(|v| !v.is_empty()) {
                lines.push(format!("{key} = {}", toml_strings(v)));
            }
        }
    }
    lines.push(format!("comment = {}", toml_string(&g.comment)));
    let mut out = String::new();
    for line in lines {
        if k.held {
            out.push_str("# ");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes a policy in `mode` that allows every listener of `report` that may be allowed,
/// and holds back (as commented-out rules, with a warning each) those that need a person's
/// decision. `report` must be classified without a policy, so that its verdicts are the
/// registry's. When the scan spans several network namespaces (`--all-netns`), every rule
/// names its listener's namespace (`netns = "host"`, an `ip netns` name, or an inode),
/// so one policy describes a host and its containers.
pub fn generate(report: &Report, mode: Mode) -> Baseline {
    let several_netns = report.namespaces.len() > 1;
    let mut groups: BTreeMap<Key, Group> = BTreeMap::new();
    let mut warnings = Vec::new();
    for c in &report.listeners {
        let reasons = hold_reasons(c);
        let held = !reasons.is_empty();
        if held {
            warnings.push(format!(
                "{} on {} is not allowed by the baseline: {}; it is written as a commented-out rule for you to decide",
                describe(&c.listener),
                c.listener.endpoint(),
                reasons.join("; ")
            ));
        }
        let g = groups.entry(key(c, held, several_netns)).or_default();
        g.comment = service_comment(c);
        for r in reasons {
            if !g.reasons.contains(&r) {
                g.reasons.push(r);
            }
        }
    }
    let portless = portless_rules(report, &mut warnings);
    let portless_rules = portless.iter().filter(|(held, _)| !held).count();
    let rules = groups.keys().filter(|k| !k.held).count() + portless_rules;
    let held_back = groups.len() + portless.len() - rules;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "# portghost baseline of host {}, scanned at {}.",
        comment_text(&report.host),
        comment_text(&report.scanned_at)
    );
    let _ = writeln!(
        text,
        "# It allows exactly the listeners seen then, each bound to its port, protocol, address, {}process, executable and user.",
        if several_netns { "network namespace, " } else { "" }
    );
    if several_netns {
        let _ = writeln!(
            text,
            "# Namespaces without an `ip netns` name are named by inode, which changes when the namespace is made anew (a container restarts)."
        );
    }
    let _ = writeln!(
        text,
        "# {} listener{}: {rules} rule{}, {held_back} commented out for review (see the \"# portghost:\" lines).",
        report.listeners.len() + report.portless.len(),
        if report.listeners.len() + report.portless.len() == 1 {
            ""
        } else {
            "s"
        },
        if rules == 1 { "" } else { "s" },
    );
    let _ = writeln!(
        text,
        "# Check it with: portghost scan --policy FILE --fail-on-unexpected"
    );
    let _ = writeln!(text, "version = {}", super::VERSION);
    let _ = writeln!(text, "mode = {}", toml_string(mode.as_str()));
    for (k, g) in &groups {
        text.push('\n');
        if k.held {
            for r in &g.reasons {
                let _ = writeln!(text, "# portghost: not allowed, decide: {}", comment_text(r));
            }
        }
        text.push_str(&rule_text(k, g));
    }
    for (_, rule) in &portless {
        text.push('\n');
        text.push_str(rule);
    }
    Baseline {
        text,
        rules,
        held_back,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_stay_on_one_line_and_exact() {
        let s = "a\"b\\c\nd\u{1b}e\u{202e}f";
        let t = toml_string(s);
        assert!(!t.contains('\n'));
        assert_eq!(t, "\"a\\\"b\\\\c\\u000Ad\\u001Be\\u202Ef\"");
        let v: toml::Value = toml::from_str(&format!("x = {t}")).expect("parses");
        assert_eq!(v.get("x").and_then(|x| x.as_str()), Some(s));
    }

    #[test]
    fn escaped_globs_match_only_the_path() {
        for path in ["/usr/sbin/sshd", "/opt/a*b/[x]/{y,z}!", "/weird\\path"] {
            let p = super::super::Pattern::new(&escape_glob(path)).expect("glob");
            assert!(p.is_match(path), "{path}");
            assert!(!p.is_match(&format!("{path}x")), "{path}");
        }
        let p = super::super::Pattern::new(&escape_glob("/opt/a*b")).expect("glob");
        assert!(!p.is_match("/opt/aXb"));
    }
}
