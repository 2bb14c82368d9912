//! The judgement: what `classify` concludes about each listener.
//!
//! Owns [`Verdict`], [`Severity`], [`FindingKind`], [`Finding`] with its [`Evidence`]
//! ([`EvidenceKind`], [`Strength`]), [`Classified`], [`Summary`], [`Report`], [`PolicyInfo`]
//! and the policy [`Mode`] it names. Plain data with small
//! accessors: it must not read the OS, the clock or the environment, and knows nothing of
//! how it is rendered.

use super::entry::{GhostEntry, IanaRecord};
use super::scan::{Listener, Netns, Protocol, View};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// How a policy judges listeners that no rule mentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Anything no `allow` rule allows is unexpected (the default).
    #[default]
    Allowlist,
    /// Only registry findings and `deny` rules make a listener unexpected; `allow` rules
    /// can still make listeners `expected`.
    Ghosts,
}

impl Mode {
    /// The name used in the file, the JSON and messages: `allowlist` or `ghosts`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Allowlist => "allowlist",
            Mode::Ghosts => "ghosts",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    /// Parses `allowlist` or `ghosts`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allowlist" => Ok(Mode::Allowlist),
            "ghosts" => Ok(Mode::Ghosts),
            other => Err(format!(
                "{other:?} is not a mode (expected \"allowlist\" or \"ghosts\")"
            )),
        }
    }
}

/// How a listener was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Something should not be listening here; at least one finding says why.
    Unexpected,
    /// Nothing known against it, and nothing (no policy) vouches for it either.
    Unreviewed,
    /// A policy allows it.
    Expected,
}

impl Verdict {
    /// The lowercase name used in the table and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Unexpected => "unexpected",
            Verdict::Unreviewed => "unreviewed",
            Verdict::Expected => "expected",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Nothing legitimate should be here.
    High,
    /// Probably wrong: a historic protocol, or a restricted service exposed.
    Medium,
    /// Worth knowing: the view is incomplete.
    Low,
    /// Context only.
    Info,
}

impl Severity {
    /// One step less severe: high becomes medium, medium low, low info; info stays info.
    pub fn lower(self) -> Severity {
        match self {
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }

    /// The lowercase name used in the table and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// What a finding is about. Serialised in kebab-case (`ghost-port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The port is a ghost: withdrawn standard, defunct vendor, never documented, or malware.
    GhostPort,
    /// The port belongs to a historic protocol (chargen, echo…).
    HistoricProtocol,
    /// A real service that belongs only on specific networks.
    AliveRestricted,
    /// A port commonly taken by well-known unofficial software.
    CommonSquatter,
    /// The owning process matches a known unofficial use of the port.
    UnofficialUse,
    /// IANA has no registration for the port.
    UnregisteredPort,
    /// The owners of the socket could not be seen.
    OwnerHidden,
    /// An owner runs from a deleted executable, a memfd, or a world-writable temporary
    /// directory.
    SuspiciousExecutable,
    /// Every process was inspected and none holds the socket.
    NoOwner,
    /// A policy rule allows the listener.
    Allowed,
    /// The policy allows no such listener (allowlist mode), or a rule matches but may not
    /// allow it (a flagged port not named explicitly, or a suspicious executable).
    NotAllowed,
    /// A policy deny rule matches the listener.
    Denied,
    /// A packet or raw socket held by a program known to need one, from its package.
    KnownPortless,
    /// A packet or raw socket that no program known to need one holds (or whose owner
    /// could not be matched to one).
    UnknownPortless,
    /// An owner's process name imitates another program or a kernel thread.
    Masquerade,
    /// A socket filter that compares payload bytes with constants: a magic-packet trigger.
    PayloadFilter,
}

impl FindingKind {
    /// The kebab-case name used in the table and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::GhostPort => "ghost-port",
            FindingKind::HistoricProtocol => "historic-protocol",
            FindingKind::AliveRestricted => "alive-restricted",
            FindingKind::CommonSquatter => "common-squatter",
            FindingKind::UnofficialUse => "unofficial-use",
            FindingKind::UnregisteredPort => "unregistered-port",
            FindingKind::OwnerHidden => "owner-hidden",
            FindingKind::SuspiciousExecutable => "suspicious-executable",
            FindingKind::NoOwner => "no-owner",
            FindingKind::Allowed => "allowed",
            FindingKind::NotAllowed => "not-allowed",
            FindingKind::Denied => "denied",
            FindingKind::KnownPortless => "known-portless",
            FindingKind::UnknownPortless => "unknown-portless",
            FindingKind::Masquerade => "masquerade",
            FindingKind::PayloadFilter => "payload-filter",
        }
    }
}

/// What a piece of [`Evidence`] is about. Serialised in kebab-case (`root-owned-path`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceKind {
    /// The port's ghost-registry entry: its status, how well it is sourced (confidence),
    /// what contradicts it, and the known use an owner matched.
    Registry,
    /// An owner's executable (or the jar or script an interpreter runs) belongs to an
    /// installed distribution package.
    Package,
    /// An owner's executable (or script) lives in a directory tree owned by root and
    /// writable by no one else.
    RootOwnedPath,
    /// An owner's executable (or script) does not live in such a tree: someone other than
    /// root could have put it there.
    UserWritablePath,
    /// An owner's process name (`comm`) matches a known use; any process can set it.
    ProcessName,
    /// The network namespace's `rpcbind` has registered the port to an RPC program.
    Rpc,
    /// Where the port lies relative to the network namespace's ephemeral port range.
    EphemeralRange,
    /// Which addresses the socket is bound to (loopback only, a wildcard, an address).
    Exposure,
    /// An owner runs from a deleted executable, a memfd, or a temporary directory.
    SuspiciousExecutable,
    /// Nothing could be learnt about the owners (hidden, not looked up, none found, or
    /// their files were not examined).
    OwnerUnseen,
    /// A portless socket's filter, in words.
    Filter,
    /// An owner's process name compared with its executable.
    Masquerade,
}

impl EvidenceKind {
    /// The kebab-case name used in JSON and the explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Registry => "registry",
            EvidenceKind::Package => "package",
            EvidenceKind::RootOwnedPath => "root-owned-path",
            EvidenceKind::UserWritablePath => "user-writable-path",
            EvidenceKind::ProcessName => "process-name",
            EvidenceKind::Rpc => "rpc",
            EvidenceKind::EphemeralRange => "ephemeral-range",
            EvidenceKind::Exposure => "exposure",
            EvidenceKind::SuspiciousExecutable => "suspicious-executable",
            EvidenceKind::OwnerUnseen => "owner-unseen",
            EvidenceKind::Filter => "filter",
            EvidenceKind::Masquerade => "masquerade",
        }
    }
}

/// How hard a fact about an owner is to forge, the three levels of the README's evidence
/// table. Ordered strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// The executable belongs to an installed system package that ships the known use.
    Strong,
    /// The executable lives in a root-owned directory tree and its name matches the known
    /// use.
    Medium,
    /// Only the process name, or a path that someone other than root could write.
    Weak,
}

impl Strength {
    /// The lowercase name used in JSON and the explanations.
    pub fn as_str(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Medium => "medium",
            Strength::Weak => "weak",
        }
    }
}

/// One fact a finding weighed, e.g. "/usr/sbin/rpc.statd from package nfs-common".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// What the fact is about.
    pub kind: EvidenceKind,
    /// For facts about who owns the socket (and the known use they match), how hard they
    /// are to forge; `None` for facts about the port, the namespace or the address.
    pub strength: Option<Strength>,
    /// The fact as a short phrase. May contain paths and names taken from processes:
    /// renderers sanitise it.
    pub detail: String,
}

impl Evidence {
    /// A piece of evidence.
    pub fn new(kind: EvidenceKind, strength: Option<Strength>, detail: impl Into<String>) -> Evidence {
        Evidence {
            kind,
            strength,
            detail: detail.into(),
        }
    }
}

/// One reason attached to a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is about.
    pub kind: FindingKind,
    /// How much it matters.
    pub severity: Severity,
    /// A sentence that explains itself and, for registry findings, ends with a short
    /// evidence clause, e.g. "3237/tcp is registered to apparenet-tps (appareNet Test
    /// Packet Sequencer); appareNet is gone, nothing should listen here (evidence: …)".
    pub message: String,
    /// Every fact the finding weighed, in the order it was weighed; empty for findings
    /// that rest on one fact their message states (policy rules, hidden owners).
    pub evidence: Vec<Evidence>,
}

impl Finding {
    /// A finding with no separate evidence.
    pub fn new(kind: FindingKind, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            severity,
            message: message.into(),
            evidence: Vec::new(),
        }
    }
}

/// A listener with what the registry says about its port and the verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The socket and its owners, as the inventory found them.
    pub listener: Listener,
    /// The primary IANA record for the port and transport, when the port is assigned.
    pub service: Option<&'static IanaRecord>,
    /// The ghost registry entry for the port and transport, if any.
    pub ghost: Option<Arc<GhostEntry>>,
    /// The verdict.
    pub verdict: Verdict,
    /// The reasons, most severe first. May be empty (an assigned port, unreviewed).
    pub findings: Vec<Finding>,
}

impl Classified {
    /// The most severe finding's message, or a short description of the service.
    pub fn reason(&self) -> String {
        match (self.findings.first(), &self.service) {
            (Some(f), _) => f.message.clone(),
            (None, Some(s)) if s.description.is_empty() => format!("IANA: {}", s.name),
            (None, Some(s)) => format!("IANA: {} ({})", s.name, s.description),
            (None, None) => String::new(),
        }
    }
}

/// Counts over a report's listeners.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// All listeners shown.
    pub listeners: usize,
    /// TCP listeners.
    pub tcp: usize,
    /// UDP listeners.
    pub udp: usize,
    /// Listeners with verdict `unexpected`.
    pub unexpected: usize,
    /// Listeners with verdict `unreviewed`.
    pub unreviewed: usize,
    /// Listeners with verdict `expected`.
    pub expected: usize,
    /// Listeners whose owners are hidden (permission, or no process table).
    pub owners_hidden: usize,
}

impl Summary {
    /// Counts `listeners`.
    pub fn of(listeners: &[Classified]) -> Summary {
        let mut s = Summary {
            listeners: listeners.len(),
            ..Summary::default()
        };
        for c in listeners {
            match c.listener.protocol {
                Protocol::Tcp => s.tcp += 1,
                Protocol::Udp => s.udp += 1,
            }
            match c.verdict {
                Verdict::Unexpected => s.unexpected += 1,
                Verdict::Unreviewed => s.unreviewed += 1,
                Verdict::Expected => s.expected += 1,
            }
            if c.listener.owner_status.is_hidden() {
                s.owners_hidden += 1;
            }
        }
        s
    }
}

/// A classified scan: everything a renderer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Host name of the machine scanned.
    pub host: String,
    /// When the scan was taken, RFC 3339.
    pub scanned_at: String,
    /// Whether the scan could see every process.
    pub privileged: bool,
    /// The inventory that enumerated the sockets and owners ([`Inventory::kind`](super::Inventory::kind)).
    pub inventory: super::InventoryKind,
    /// False when any owner was hidden or any part of the scan failed.
    pub complete: bool,
    /// Problems that made the scan less than complete, one sentence each.
    pub warnings: Vec<String>,
    /// Whether the scan saw the host or only a container; `None` when unknown.
    pub view: Option<View>,
    /// Every network namespace scanned, the host's first.
    pub namespaces: Vec<Arc<Netns>>,
    /// The listeners by network namespace (the host's first), then unexpected first, then
    /// by protocol, port and address.
    pub listeners: Vec<Classified>,
    /// Counts over `listeners`.
    pub summary: Summary,
    /// The packet and raw IP sockets, by network namespace, then unexpected first, then
    /// kind, protocol and inode. Not counted in `summary`.
    pub portless: Vec<super::ClassifiedPortless>,
    /// The policy the listeners were judged with, if any.
    pub policy: Option<PolicyInfo>,
    /// The registries the listeners were judged with.
    pub registry: RegistryInfo,
}

/// Which registries a report was judged with.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegistryInfo {
    /// Date of the IANA registry, `YYYY-MM-DD`: the `<updated>` date of its XML (the
    /// latest Modification Date of a CSV given with `--iana`). Empty only in reports not
    /// made by classification.
    pub iana_updated: String,
    /// The IANA registry file given with `--iana` or `PORTGHOST_IANA`; `None` for the
    /// embedded snapshot.
    pub iana_file: Option<String>,
    /// The local registry files merged in, in the order they were read.
    pub local_files: Vec<String>,
}

/// What a report says about the policy it was judged with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// The policy file, as the user named it (or as it was discovered).
    pub path: String,
    /// `allowlist` or `ghosts`.
    pub mode: Mode,
    /// Number of `[[allow]]` rules.
    pub allow_rules: usize,
    /// Number of `[[deny]]` rules.
    pub deny_rules: usize,
    /// Problems with the policy that did not stop the scan, one sentence each: expired
    /// allow rules. They do not make the scan incomplete.
    pub warnings: Vec<String>,
}

impl Report {
    /// True when the scan covered more than one network namespace (`--all-netns` on a
    /// host that has several): renderers then say which namespace each listener is in.
    pub fn spans_namespaces(&self) -> bool {
        self.namespaces.len() > 1
    }

    /// Keeps only the listeners for which `keep` is true and recounts the summary.
    /// `complete` and `warnings` still describe the whole scan.
    pub fn retain(&mut self, keep: impl FnMut(&Classified) -> bool) {
        self.listeners.retain(keep);
        self.summary = Summary::of(&self.listeners);
    }

    /// How many listeners, port and portless, are unexpected: what `--fail-on-unexpected`
    /// counts.
    pub fn unexpected_total(&self) -> usize {
        self.summary.unexpected
            + self
                .portless
                .iter()
                .filter(|p| p.verdict == Verdict::Unexpected)
                .count()
    }
}
