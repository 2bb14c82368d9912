//! The registry's records as plain data: an IANA record and a ghost-registry entry.
//!
//! Owns [`IanaRecord`], [`GhostEntry`] and their parts. `registry` parses and looks them
//! up; the judgement holds them. Plain data: no file reads, no verdicts.

use super::scan::Protocol;
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// One record of the IANA registry with all twelve columns of IANA's CSV flattening. Empty
/// columns are empty strings. Fields borrow from the embedded registry, or from a registry
/// read with `--iana FILE` (kept for the life of the process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IanaRecord {
    /// Service Name (RFC 6335 syntax); empty for unassigned and reserved ports.
    pub name: Cow<'static, str>,
    /// Port Number as written in the registry: a single port (`443`) or a range (`49152-65535`).
    pub port: Cow<'static, str>,
    /// Transport Protocol: `tcp`, `udp`, `sctp`, `dccp`, or empty for protocol-less ranges.
    pub protocol: Cow<'static, str>,
    /// Description, e.g. `Test Packet Sequencer`.
    pub description: Cow<'static, str>,
    /// Assignee, as IANA contact handles in brackets, e.g. `[Jon_Postel]`.
    pub assignee: Cow<'static, str>,
    /// Technical contact, as IANA contact handles.
    pub contact: Cow<'static, str>,
    /// Registration Date, `YYYY-MM-DD`; often empty for legacy entries.
    pub registration_date: Cow<'static, str>,
    /// Modification Date, `YYYY-MM-DD`.
    pub modification_date: Cow<'static, str>,
    /// Reference, e.g. `[RFC6335]`.
    pub reference: Cow<'static, str>,
    /// DCCP Service Code (RFC 4340), where one applies.
    pub service_code: Cow<'static, str>,
    /// Unauthorized Use Reported: notes on unauthorised use reported to IANA.
    pub unauthorized_use_reported: Cow<'static, str>,
    /// Assignment Notes: free text, possibly several lines.
    pub assignment_notes: Cow<'static, str>,
}

impl IanaRecord {
    /// True when the record assigns a service name (it is not `Unassigned` or `Reserved`).
    pub fn is_assigned(&self) -> bool {
        !self.name.is_empty()
    }

    /// The assignee with IANA's brackets and underscores turned into plain words:
    /// `[Jon_Postel]` becomes `Jon Postel`.
    pub fn assignee_plain(&self) -> String {
        plain_handles(&self.assignee)
    }
}

/// One entry of the `<people>` section of IANA's XML registry: who a contact handle such as
/// `[Jon_Postel]` in an assignee or contact column is. Empty fields are empty strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IanaPerson {
    /// The handle, e.g. `Jon_Postel` (without brackets).
    pub id: Cow<'static, str>,
    /// The person's name, e.g. `Jon Postel`; empty for an organisation.
    pub name: Cow<'static, str>,
    /// The organisation, e.g. `3GPP`; often empty.
    pub org: Cow<'static, str>,
    /// How to reach them, usually `mailto:` with IANA's `&` in place of `@`; often empty.
    pub uri: Cow<'static, str>,
    /// When IANA last changed the contact, `YYYY-MM-DD` or `YYYY-MM`; often empty.
    pub updated: Cow<'static, str>,
}

impl IanaPerson {
    /// `Jon Postel`, `3GPP`, or `Jane Doe (Example Corp)`: the name, the organisation, or
    /// both; the handle with spaces for underscores when the registry gives neither.
    pub fn display_name(&self) -> String {
        match (self.name.is_empty(), self.org.is_empty()) {
            (false, false) => format!("{} ({})", self.name, self.org),
            (false, true) => self.name.to_string(),
            (true, false) => self.org.to_string(),
            (true, true) => self.id.replace('_', " "),
        }
    }
}

/// The contact handles in an IANA assignee or contact column: `[IESG][IETF_Chair]` gives
/// `["IESG", "IETF_Chair"]`.
pub fn handles(s: &str) -> Vec<&str> {
    s.split(['[', ']']).map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Turns IANA contact handles (`[Jon_Postel]`, `[IESG] [IETF_Chair]`) into plain words.
pub fn plain_handles(s: &str) -> String {
    s.split(['[', ']'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a port is in the ghost registry. The vocabulary is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GhostStatus {
    /// The registering standard or draft was withdrawn or abandoned (IEEE 802.11F IAPP).
    WithdrawnStandard,
    /// The company or product that registered the port is gone.
    DefunctVendor,
    /// Only the registry entry exists: no specification, product or users were ever found.
    NeverDocumented,
    /// A real protocol, superseded or abandoned (chargen, echo, Banyan VINES…).
    HistoricProtocol,
    /// A living product that belongs only on specific networks (management VLANs, ICS/OT).
    AliveRestricted,
    /// Widely used by well-known unofficial software regardless of the IANA entry.
    CommonSquatter,
    /// Best known for a trojan, worm or backdoor.
    MalwareAssociated,
}

impl GhostStatus {
    /// Every status, in the order the registry files are listed.
    pub const ALL: [GhostStatus; 7] = [
        GhostStatus::WithdrawnStandard,
        GhostStatus::DefunctVendor,
        GhostStatus::NeverDocumented,
        GhostStatus::MalwareAssociated,
        GhostStatus::HistoricProtocol,
        GhostStatus::AliveRestricted,
        GhostStatus::CommonSquatter,
    ];

    /// The kebab-case name used in the files and in JSON, e.g. `defunct-vendor`.
    pub fn as_str(self) -> &'static str {
        match self {
            GhostStatus::WithdrawnStandard => "withdrawn-standard",
            GhostStatus::DefunctVendor => "defunct-vendor",
            GhostStatus::NeverDocumented => "never-documented",
            GhostStatus::HistoricProtocol => "historic-protocol",
            GhostStatus::AliveRestricted => "alive-restricted",
            GhostStatus::CommonSquatter => "common-squatter",
            GhostStatus::MalwareAssociated => "malware-associated",
        }
    }

    /// True for the statuses that mean nothing legitimate should listen on the port:
    /// withdrawn-standard, defunct-vendor, never-documented and malware-associated.
    pub fn is_ghost(self) -> bool {
        matches!(
            self,
            GhostStatus::WithdrawnStandard
                | GhostStatus::DefunctVendor
                | GhostStatus::NeverDocumented
                | GhostStatus::MalwareAssociated
        )
    }
}

impl fmt::Display for GhostStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How well a ghost entry's status is sourced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A primary source states it: IEEE, an IETF RFC or draft, IANA itself, the vendor, a
    /// CVE or advisory, or a security vendor's analysis of the malware.
    Confirmed,
    /// Only secondary port-information pages state it; such an entry alone never makes a
    /// finding high.
    Reported,
}

impl Confidence {
    /// The lowercase name used in the files and the JSON: `confirmed` or `reported`.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Confirmed => "confirmed",
            Confidence::Reported => "reported",
        }
    }
}

/// An inclusive port range, written `"3317"` or `"3230-3237"` in the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port, `>= start`.
    pub end: u16,
}

impl PortRange {
    /// True when `port` lies in the range.
    pub fn contains(&self, port: u16) -> bool {
        self.start <= port && port <= self.end
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    /// Parses `N` or `N-M` with `N <= M <= 65535`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parse = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("invalid port {p:?} in {s:?} (expected a number 0-65535)"))
        };
        let (start, end) = match s.split_once('-') {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let p = parse(s)?;
                (p, p)
            }
        };
        if start > end {
            return Err(format!("invalid port range {s:?}: {start} is above {end}"));
        }
        Ok(PortRange { start, end })
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether an unofficial use is ordinary software or malware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UseKind {
    /// Legitimate software that squats the port.
    #[default]
    Software,
    /// A trojan, worm, backdoor or bot.
    Malware,
}

/// A known occupant of a port that IANA did not assign to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnofficialUse {
    /// Software or malware name, e.g. `Qlik Replicate`.
    pub name: String,
    /// Transports it uses.
    pub transports: Vec<Protocol>,
    /// Ports it uses.
    pub ports: PortRange,
    /// Software or malware.
    #[serde(default)]
    pub kind: UseKind,
    /// Process-name patterns (`*` matches any run of characters, case-insensitive) that
    /// identify it in `/proc/PID/comm`. Empty when not known. Weak evidence: any process
    /// can give itself any name.
    #[serde(default)]
    pub processes: Vec<String>,
    /// What identifies it on disk: absolute executable paths (`/usr/sbin/rpc.statd`),
    /// executable file names (`geckodriver`, `disp+work`), or for programs run by an
    /// interpreter (java, python, node) the jar or script file name
    /// (`selenium-server*.jar`); `*` matches any run of characters. Empty for malware.
    #[serde(default)]
    pub executables: Vec<String>,
    /// Distribution packages (Debian, or RPM) that ship it, e.g. `nfs-common`.
    #[serde(default)]
    pub packages: Vec<String>,
    /// URLs of the sources that document this use of the port.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The local registry file (`/etc/portghost/registry.d/*.toml` or `--registry-dir`)
    /// this use was added by, when it was added to an entry by a later file (a `[[use]]`
    /// table); `None` when it came with its entry. Never read from the files themselves.
    #[serde(skip)]
    pub source: Option<String>,
}

impl UnofficialUse {
    /// True when `port`/`protocol` is among the ones this use occupies.
    pub fn covers(&self, port: u16, protocol: Protocol) -> bool {
        self.ports.contains(port) && self.transports.contains(&protocol)
    }
}

/// One entry of the ghost registry: a port on one or more transports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GhostEntry {
    /// The port.
    pub port: u16,
    /// The transports the entry covers.
    pub transports: Vec<Protocol>,
    /// The IANA service name at this port for every listed transport; `None` when
    /// `unassigned` is true.
    #[serde(default)]
    pub service: Option<String>,
    /// True when IANA assigns no service name here.
    #[serde(default)]
    pub unassigned: bool,
    /// The service name IANA once assigned, when it has since been removed.
    #[serde(default)]
    pub formerly: Option<String>,
    /// Why the port is here.
    pub status: GhostStatus,
    /// Who registered the port, or the product behind it.
    pub registrant: String,
    /// One sentence: what the port was for, and why a listener today is suspicious.
    pub summary: String,
    /// A short clause saying what happened, e.g. `appareNet is gone`.
    pub fate: String,
    /// Registration date, `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, when known.
    #[serde(default)]
    pub registered: Option<String>,
    /// The fact that justifies the status.
    pub evidence: String,
    /// URLs of the sources; at least one.
    pub sources: Vec<String>,
    /// How well the status is sourced.
    pub confidence: Confidence,
    /// Where evidence contradicts the entry's own story, one sentence saying what does.
    #[serde(default)]
    pub contradicted: Option<String>,
    /// For `alive-restricted`: the networks where the service belongs.
    #[serde(default)]
    pub belongs: Option<String>,
    /// Known unofficial occupants, the usual one first.
    #[serde(default)]
    pub unofficial: Vec<UnofficialUse>,
    /// The local registry file the entry came from (`/etc/portghost/registry.d/*.toml` or a
    /// `--registry-dir` file, as the path was given); `None` for an entry of the embedded
    /// registry, which is always `registry/ghosts/<status>.toml`. Never read from the files
    /// themselves.
    #[serde(skip)]
    pub source: Option<String>,
}

impl GhostEntry {
    /// Where the entry came from, for people: the local file's path, or
    /// `registry/ghosts/<status>.toml (embedded)`.
    pub fn origin(&self) -> String {
        match &self.source {
            Some(file) => file.clone(),
            None => format!("registry/ghosts/{}.toml (embedded)", self.status),
        }
    }
}
