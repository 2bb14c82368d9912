//! The nested objects of the schema, read as well as written: owners, containers,
//! namespaces, IANA records, ghost entries, unofficial uses, findings and their evidence,
//! the policy and the summary.
//!
//! Owns their field names. Each borrows from the model for output (`from_…`) and
//! deserialises owned (`'static`) for the reader; `into_owned` turns one into the other.
//! No model type's serde derive is used. No I/O, no decisions.

use super::names::{
    ConfidenceName, EvidenceKindName, FindingKindName, GhostStatusName, ModeName, ProtocolName, SeverityName,
    StrengthName, UseKindName,
};
use crate::model::{
    Container, Evidence, Finding, GhostEntry, IanaRecord, Netns, Owner, PolicyInfo, Summary, UnofficialUse,
};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A string field: borrowed when written, owned when read.
pub type Text<'a> = Cow<'a, str>;

/// `s` owned, for a value read back or built to outlive its source.
pub(super) fn owned(s: Text<'_>) -> Text<'static> {
    Cow::Owned(s.into_owned())
}

/// One process holding a socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(expecting = "struct Owner")]
pub struct OwnerJson<'a> {
    /// Process ID.
    pub pid: u32,
    /// Process name.
    pub name: Text<'a>,
    /// Executable path, or null when unreadable.
    pub exe: Option<Text<'a>>,
    /// Command line, or null when unreadable.
    pub cmdline: Option<Text<'a>>,
    /// User ID, or null.
    pub uid: Option<u32>,
    /// User name, or null.
    pub user: Option<Text<'a>>,
    /// Innermost systemd unit, or null.
    #[serde(default)]
    pub unit: Option<Text<'a>>,
    /// When `unit` runs under a user's own service manager, that user's UID; null for a
    /// system unit (and in scans written before it was added).
    #[serde(default)]
    pub user_unit_uid: Option<u32>,
    /// True when the executable is deleted or a memfd.
    #[serde(default)]
    pub exe_deleted: bool,
    /// The container the process runs in, or null.
    #[serde(default)]
    pub container: Option<ContainerJson<'a>>,
}

impl<'a> OwnerJson<'a> {
    /// Borrows an owner for output.
    pub fn from_owner(o: &'a Owner) -> OwnerJson<'a> {
        OwnerJson {
            pid: o.pid,
            name: Cow::Borrowed(&o.name),
            exe: o.exe.as_deref().map(Cow::Borrowed),
            cmdline: o.cmdline.as_deref().map(Cow::Borrowed),
            uid: o.uid,
            user: o.user.as_deref().map(Cow::Borrowed),
            unit: o.unit.as_deref().map(Cow::Borrowed),
            user_unit_uid: o.user_unit_uid,
            exe_deleted: o.exe_deleted,
            container: o.container.as_ref().map(ContainerJson::from_container),
        }
    }

    /// The same owner, owning its text.
    pub fn into_owned(self) -> OwnerJson<'static> {
        OwnerJson {
            pid: self.pid,
            name: owned(self.name),
            exe: self.exe.map(owned),
            cmdline: self.cmdline.map(owned),
            uid: self.uid,
            user: self.user.map(owned),
            unit: self.unit.map(owned),
            user_unit_uid: self.user_unit_uid,
            exe_deleted: self.exe_deleted,
            container: self.container.map(ContainerJson::into_owned),
        }
    }

    /// The owner as the model holds it.
    pub fn to_owner(&self) -> Owner {
        Owner {
            pid: self.pid,
            name: self.name.to_string(),
            exe: self.exe.as_ref().map(|s| s.to_string()),
            cmdline: self.cmdline.as_ref().map(|s| s.to_string()),
            uid: self.uid,
            user: self.user.as_ref().map(|s| s.to_string()),
            unit: self.unit.as_ref().map(|s| s.to_string()),
            user_unit_uid: self.user_unit_uid,
            exe_deleted: self.exe_deleted,
            container: self.container.as_ref().map(ContainerJson::to_container),
        }
    }
}

/// The container a process or namespace belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(expecting = "struct Container")]
pub struct ContainerJson<'a> {
    /// `docker`, `podman`, `containerd`, `cri-o` or `kubernetes`.
    pub runtime: Text<'a>,
    /// Short ID (12 hex digits).
    pub id: Text<'a>,
    /// Full 64-hex-digit ID.
    pub full_id: Text<'a>,
    /// Kubernetes pod UID, or null.
    #[serde(default)]
    pub pod: Option<Text<'a>>,
}

impl<'a> ContainerJson<'a> {
    /// Borrows a container for output.
    pub fn from_container(c: &'a Container) -> ContainerJson<'a> {
        ContainerJson {
            runtime: Cow::Borrowed(&c.runtime),
            id: Cow::Borrowed(&c.id),
            full_id: Cow::Borrowed(&c.full_id),
            pod: c.pod.as_deref().map(Cow::Borrowed),
        }
    }

    /// The same container, owning its text.
    pub fn into_owned(self) -> ContainerJson<'static> {
        ContainerJson {
            runtime: owned(self.runtime),
            id: owned(self.id),
            full_id: owned(self.full_id),
            pod: self.pod.map(owned),
        }
    }

    /// The container as the model holds it.
    pub fn to_container(&self) -> Container {
        Container {
            runtime: self.runtime.to_string(),
            id: self.id.to_string(),
            full_id: self.full_id.to_string(),
            pod: self.pod.as_ref().map(|s| s.to_string()),
        }
    }
}

/// A network namespace, in `namespaces` and a listener's `netns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(expecting = "struct Netns")]
pub struct NetnsJson<'a> {
    /// Inode number.
    pub inode: u64,
    /// `ip netns` name, or null.
    #[serde(default)]
    pub name: Option<Text<'a>>,
    /// The container whose processes live in it, or null.
    #[serde(default)]
    pub container: Option<ContainerJson<'a>>,
    /// True for the host's initial namespace.
    #[serde(default)]
    pub host: bool,
}

impl<'a> NetnsJson<'a> {
    /// Borrows a namespace for output.
    pub fn from_netns(n: &'a Netns) -> NetnsJson<'a> {
        NetnsJson {
            inode: n.inode,
            name: n.name.as_deref().map(Cow::Borrowed),
            container: n.container.as_ref().map(ContainerJson::from_container),
            host: n.host,
        }
    }

    /// The same namespace, owning its text.
    pub fn into_owned(self) -> NetnsJson<'static> {
        NetnsJson {
            inode: self.inode,
            name: self.name.map(owned),
            container: self.container.map(ContainerJson::into_owned),
            host: self.host,
        }
    }
}

/// A listener's IANA record: all twelve columns of the registry, as strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceJson<'a> {
    /// Service name; empty for unassigned and reserved ports.
    pub name: Text<'a>,
    /// Port number or range, as the registry writes it.
    pub port: Text<'a>,
    /// Transport protocol; empty for protocol-less ranges.
    pub protocol: Text<'a>,
    /// Description.
    pub description: Text<'a>,
    /// Assignee, as IANA contact handles.
    pub assignee: Text<'a>,
    /// Technical contact, as IANA contact handles.
    pub contact: Text<'a>,
    /// Registration date, `YYYY-MM-DD`, or empty.
    pub registration_date: Text<'a>,
    /// Modification date, `YYYY-MM-DD`, or empty.
    pub modification_date: Text<'a>,
    /// Reference, e.g. `[RFC6335]`.
    pub reference: Text<'a>,
    /// DCCP service code, where one applies.
    pub service_code: Text<'a>,
    /// Unauthorised use reported to IANA.
    pub unauthorized_use_reported: Text<'a>,
    /// Assignment notes.
    pub assignment_notes: Text<'a>,
}

impl<'a> ServiceJson<'a> {
    /// Borrows an IANA record for output.
    pub fn from_record(r: &'a IanaRecord) -> ServiceJson<'a> {
        ServiceJson {
            name: Cow::Borrowed(&r.name),
            port: Cow::Borrowed(&r.port),
            protocol: Cow::Borrowed(&r.protocol),
            description: Cow::Borrowed(&r.description),
            assignee: Cow::Borrowed(&r.assignee),
            contact: Cow::Borrowed(&r.contact),
            registration_date: Cow::Borrowed(&r.registration_date),
            modification_date: Cow::Borrowed(&r.modification_date),
            reference: Cow::Borrowed(&r.reference),
            service_code: Cow::Borrowed(&r.service_code),
            unauthorized_use_reported: Cow::Borrowed(&r.unauthorized_use_reported),
            assignment_notes: Cow::Borrowed(&r.assignment_notes),
        }
    }

    /// The same record, owning its text.
    pub fn into_owned(self) -> ServiceJson<'static> {
        ServiceJson {
            name: owned(self.name),
            port: owned(self.port),
            protocol: owned(self.protocol),
            description: owned(self.description),
            assignee: owned(self.assignee),
            contact: owned(self.contact),
            registration_date: owned(self.registration_date),
            modification_date: owned(self.modification_date),
            reference: owned(self.reference),
            service_code: owned(self.service_code),
            unauthorized_use_reported: owned(self.unauthorized_use_reported),
            assignment_notes: owned(self.assignment_notes),
        }
    }
}

/// The ghost registry entry of a listener's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostJson<'a> {
    /// The status, e.g. `defunct-vendor`.
    pub status: GhostStatusName,
    /// Who registered the port.
    pub registrant: Text<'a>,
    /// One-sentence story.
    pub summary: Text<'a>,
    /// What happened, as a short clause.
    pub fate: Text<'a>,
    /// Registration date when known.
    pub registered: Option<Text<'a>>,
    /// The fact behind the status.
    pub evidence: Text<'a>,
    /// Where it belongs, for alive-restricted ports.
    pub belongs: Option<Text<'a>>,
    /// Source URLs.
    pub sources: Cow<'a, [String]>,
    /// `confirmed` (a primary source) or `reported` (secondary pages only); absent in scans
    /// written before it was added.
    #[serde(default)]
    pub confidence: Option<ConfidenceName>,
    /// What contradicts the entry's own story, when something does.
    #[serde(default)]
    pub contradicted: Option<Text<'a>>,
    /// Known unofficial uses.
    pub unofficial: Vec<UnofficialJson<'a>>,
    /// The local registry file the entry came from, or null for the embedded registry
    /// (`registry/ghosts/<status>.toml`); absent in scans written before it was added.
    #[serde(default)]
    pub source: Option<Text<'a>>,
}

impl<'a> GhostJson<'a> {
    /// Borrows a ghost entry for output.
    pub fn from_entry(g: &'a GhostEntry) -> GhostJson<'a> {
        GhostJson {
            status: g.status.into(),
            registrant: Cow::Borrowed(&g.registrant),
            summary: Cow::Borrowed(&g.summary),
            fate: Cow::Borrowed(&g.fate),
            registered: g.registered.as_deref().map(Cow::Borrowed),
            evidence: Cow::Borrowed(&g.evidence),
            belongs: g.belongs.as_deref().map(Cow::Borrowed),
            sources: Cow::Borrowed(&g.sources),
            confidence: Some(g.confidence.into()),
            contradicted: g.contradicted.as_deref().map(Cow::Borrowed),
            unofficial: g.unofficial.iter().map(UnofficialJson::from_use).collect(),
            source: g.source.as_deref().map(Cow::Borrowed),
        }
    }

    /// The same entry, owning its text.
    pub fn into_owned(self) -> GhostJson<'static> {
        GhostJson {
            status: self.status,
            registrant: owned(self.registrant),
            summary: owned(self.summary),
            fate: owned(self.fate),
            registered: self.registered.map(owned),
            evidence: owned(self.evidence),
            belongs: self.belongs.map(owned),
            sources: Cow::Owned(self.sources.into_owned()),
            confidence: self.confidence,
            contradicted: self.contradicted.map(owned),
            unofficial: self.unofficial.into_iter().map(UnofficialJson::into_owned).collect(),
            source: self.source.map(owned),
        }
    }
}

/// A known unofficial occupant of a ghost entry's port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnofficialJson<'a> {
    /// Software or malware name.
    pub name: Text<'a>,
    /// Transports it uses.
    pub transports: Vec<ProtocolName>,
    /// Ports it uses, `"3317"` or `"3230-3237"`.
    pub ports: Text<'a>,
    /// `software` or `malware`.
    pub kind: UseKindName,
    /// Process-name patterns that identify it.
    pub processes: Cow<'a, [String]>,
    /// Executable paths, file names or script names that identify it on disk.
    #[serde(default)]
    pub executables: Cow<'a, [String]>,
    /// Distribution packages that ship it.
    #[serde(default)]
    pub packages: Cow<'a, [String]>,
    /// Source URLs for this use.
    #[serde(default)]
    pub sources: Cow<'a, [String]>,
}

impl<'a> UnofficialJson<'a> {
    /// Borrows an unofficial use for output.
    pub fn from_use(u: &'a UnofficialUse) -> UnofficialJson<'a> {
        UnofficialJson {
            name: Cow::Borrowed(&u.name),
            transports: u.transports.iter().map(|&p| p.into()).collect(),
            ports: Cow::Owned(u.ports.to_string()),
            kind: u.kind.into(),
            processes: Cow::Borrowed(&u.processes),
            executables: Cow::Borrowed(&u.executables),
            packages: Cow::Borrowed(&u.packages),
            sources: Cow::Borrowed(&u.sources),
        }
    }

    /// The same use, owning its text.
    pub fn into_owned(self) -> UnofficialJson<'static> {
        UnofficialJson {
            name: owned(self.name),
            transports: self.transports,
            ports: owned(self.ports),
            kind: self.kind,
            processes: Cow::Owned(self.processes.into_owned()),
            executables: Cow::Owned(self.executables.into_owned()),
            packages: Cow::Owned(self.packages.into_owned()),
            sources: Cow::Owned(self.sources.into_owned()),
        }
    }
}

/// One reason attached to a listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingJson<'a> {
    /// What it is about, e.g. `ghost-port`.
    pub kind: FindingKindName,
    /// `high`, `medium`, `low` or `info`.
    pub severity: SeverityName,
    /// A sentence that explains itself.
    pub message: Text<'a>,
    /// Every fact the finding weighed; empty when absent (scans written before it existed).
    #[serde(default)]
    pub evidence: Vec<EvidenceJson<'a>>,
}

impl<'a> FindingJson<'a> {
    /// Borrows a finding for output.
    pub fn from_finding(f: &'a Finding) -> FindingJson<'a> {
        FindingJson {
            kind: f.kind.into(),
            severity: f.severity.into(),
            message: Cow::Borrowed(&f.message),
            evidence: f.evidence.iter().map(EvidenceJson::from_evidence).collect(),
        }
    }

    /// The same finding, owning its text.
    pub fn into_owned(self) -> FindingJson<'static> {
        FindingJson {
            kind: self.kind,
            severity: self.severity,
            message: owned(self.message),
            evidence: self.evidence.into_iter().map(EvidenceJson::into_owned).collect(),
        }
    }
}

/// One fact a finding weighed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceJson<'a> {
    /// What the fact is about, e.g. `package`, `ephemeral-range`.
    pub kind: EvidenceKindName,
    /// `strong`, `medium` or `weak` for facts about the owner; `null` for facts about the
    /// port, the namespace or the address.
    #[serde(default)]
    pub strength: Option<StrengthName>,
    /// The fact, e.g. "/usr/sbin/rpc.statd from package nfs-common".
    pub detail: Text<'a>,
}

impl<'a> EvidenceJson<'a> {
    /// Borrows a piece of evidence for output.
    pub fn from_evidence(e: &'a Evidence) -> EvidenceJson<'a> {
        EvidenceJson {
            kind: e.kind.into(),
            strength: e.strength.map(Into::into),
            detail: Cow::Borrowed(&e.detail),
        }
    }

    /// The same evidence, owning its text.
    pub fn into_owned(self) -> EvidenceJson<'static> {
        EvidenceJson {
            kind: self.kind,
            strength: self.strength,
            detail: owned(self.detail),
        }
    }
}

/// The policy the listeners were judged with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyJson<'a> {
    /// The policy file, as named.
    pub path: Text<'a>,
    /// `allowlist` or `ghosts`.
    pub mode: ModeName,
    /// Number of `[[allow]]` rules.
    pub allow_rules: usize,
    /// Number of `[[deny]]` rules.
    pub deny_rules: usize,
    /// Problems with the policy (expired rules).
    pub warnings: Cow<'a, [String]>,
}

impl<'a> PolicyJson<'a> {
    /// Borrows the policy description for output.
    pub fn from_info(p: &'a PolicyInfo) -> PolicyJson<'a> {
        PolicyJson {
            path: Cow::Borrowed(&p.path),
            mode: p.mode.into(),
            allow_rules: p.allow_rules,
            deny_rules: p.deny_rules,
            warnings: Cow::Borrowed(&p.warnings),
        }
    }

    /// The same description, owning its text.
    pub fn into_owned(self) -> PolicyJson<'static> {
        PolicyJson {
            path: owned(self.path),
            mode: self.mode,
            allow_rules: self.allow_rules,
            deny_rules: self.deny_rules,
            warnings: Cow::Owned(self.warnings.into_owned()),
        }
    }
}

/// Counts over the listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryJson {
    /// All listeners shown.
    pub listeners: usize,
    /// TCP listeners.
    pub tcp: usize,
    /// UDP listeners.
    pub udp: usize,
    /// Verdict `unexpected`.
    pub unexpected: usize,
    /// Verdict `unreviewed`.
    pub unreviewed: usize,
    /// Verdict `expected`.
    pub expected: usize,
    /// Owners hidden.
    pub owners_hidden: usize,
}

impl From<Summary> for SummaryJson {
    fn from(s: Summary) -> SummaryJson {
        SummaryJson {
            listeners: s.listeners,
            tcp: s.tcp,
            udp: s.udp,
            unexpected: s.unexpected,
            unreviewed: s.unreviewed,
            expected: s.expected,
            owners_hidden: s.owners_hidden,
        }
    }
}
