//! The curated ghost-port registry: IANA ports whose standard was withdrawn, whose vendor
//! is gone, that were never documented, that are historic, restricted to special networks,
//! squatted, or known for malware.
//!
//! Owns the file format of `registry/ghosts/*.toml` (specified in `registry/README.md`)
//! and its parsing. The files are embedded at build time; this module must not read files
//! at run time and makes no verdicts (that is `classify`'s job).

use crate::diag::FileError;
use crate::model::Protocol;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares [`BUILTIN_FILES`] and [`BUILTIN_JSON`] from one list of status file stems, so
/// the two can never disagree.
macro_rules! builtin_ghost_files {
    ($($stem:literal),+ $(,)?) => {
        /// The embedded ghost registry files, one per status, as `(path, contents)`.
        pub const BUILTIN_FILES: &[(&str, &str)] = &[$((
            concat!("registry/ghosts/", $stem, ".toml"),
            include_str!(concat!("../../registry/ghosts/", $stem, ".toml")),
        )),+];

        /// The same files as [`BUILTIN_FILES`], converted to JSON by the build script, which
        /// parses several times faster; `(TOML path, JSON text)`.
        pub const BUILTIN_JSON: &[(&str, &str)] = &[$((
            concat!("registry/ghosts/", $stem, ".toml"),
            include_str!(concat!(env!("OUT_DIR"), "/ghosts-", $stem, ".json")),
        )),+];
    };
}

builtin_ghost_files!(
    "withdrawn-standard",
    "defunct-vendor",
    "never-documented",
    "malware-associated",
    "historic-protocol",
    "alive-restricted",
    "common-squatter",
);

/// Why a port is in the ghost registry. The vocabulary is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

impl Serialize for PortRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether an unofficial use is ordinary software or malware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UseKind {
    /// Legitimate software that squats the port.
    #[default]
    Software,
    /// A trojan, worm, backdoor or bot.
    Malware,
}

/// A known occupant of a port that IANA did not assign to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// identify it in `/proc/PID/comm`. Empty when not known.
    #[serde(default)]
    pub processes: Vec<String>,
}

impl UnofficialUse {
    /// True when `port`/`protocol` is among the ones this use occupies.
    pub fn covers(&self, port: u16, protocol: Protocol) -> bool {
        self.ports.contains(port) && self.transports.contains(&protocol)
    }

    /// True when this is benign software and one of its process patterns matches `name`.
    pub fn matches_process(&self, name: &str) -> bool {
        self.kind == UseKind::Software && self.processes.iter().any(|p| glob_match(p, name))
    }
}

/// Case-insensitive match of `name` against `pattern`, where `*` matches any run of
/// characters (including none) and every other character matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// One ghost entry as the build script embeds it for lazy loading: `(TOML path, port,
/// transports mask, unofficial uses, JSON)`. The mask has bit 1 for tcp and bit 2 for udp;
/// each unofficial use is `(first port, last port, transports mask)`; the JSON is the entry
/// exactly as in the TOML file, parsed only when a listener needs it.
pub type BuiltinEntry = (&'static str, u16, u8, &'static [(u16, u16, u8)], &'static str);

/// Every entry of [`BUILTIN_FILES`], in file order, as the build script indexed them.
pub const BUILTIN_ENTRIES: &[BuiltinEntry] = include!(concat!(env!("OUT_DIR"), "/ghost_entries.rs"));

/// The mask bit of `protocol` in [`BuiltinEntry`] masks.
pub fn transport_bit(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 1,
        Protocol::Udp => 2,
    }
}

/// Parses one embedded entry's JSON with the checks of [`parse_file`]; `None` if it is
/// malformed, which the test suite rules out for every embedded entry.
pub fn parse_entry_json(file: &str, json: &str) -> Option<GhostEntry> {
    let entry: GhostEntry = serde_json::from_str(json).ok()?;
    check_entries(file, "", std::slice::from_ref(&entry)).ok()?;
    Some(entry)
}

/// One entry of the ghost registry: a port on one or more transports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GhostEntry {
    /// The port.
    pub port: u16,
    /// The transports the entry covers.
    pub transports: Vec<Protocol>,
    /// The IANA service name at this port for every listed transport; `None` when
    /// `unassigned` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// True when IANA assigns no service name here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unassigned: bool,
    /// The service name IANA once assigned, when it has since been removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered: Option<String>,
    /// The fact that justifies the status.
    pub evidence: String,
    /// URLs of the sources; at least one.
    pub sources: Vec<String>,
    /// For `alive-restricted`: the networks where the service belongs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub belongs: Option<String>,
    /// Known unofficial occupants, the usual one first.
    #[serde(default)]
    pub unofficial: Vec<UnofficialUse>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GhostFile {
    #[serde(default)]
    ghost: Vec<GhostEntry>,
}

/// Parses one ghost registry file and checks each entry's own consistency.
///
/// # Errors
/// A [`FileError`] naming `file`, the line and column, and what is wrong: TOML syntax,
/// unknown keys, wrong types, a status outside the vocabulary, neither or both of
/// `service` and `unassigned`, an `alive-restricted` entry without `belongs`, an empty
/// `sources` list, or a source that is not an http(s) URL.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<GhostEntry>, FileError> {
    let parsed: GhostFile = toml::from_str(text).map_err(|e| FileError::from_toml(file, text, &e))?;
    check_entries(file, text, &parsed.ghost)?;
    Ok(parsed.ghost)
}

/// Parses the JSON form of a ghost registry file that the build script produced from the
/// TOML file `file`, with the same checks as [`parse_file`].
///
/// # Errors
/// A [`FileError`] naming `file` (positions refer to the JSON text).
pub fn parse_json(file: &str, json: &str) -> Result<Vec<GhostEntry>, FileError> {
    let parsed: GhostFile = serde_json::from_str(json).map_err(|e| FileError {
        file: file.to_string(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    check_entries(file, "", &parsed.ghost)?;
    Ok(parsed.ghost)
}

/// The checks serde cannot express; `text` (possibly empty) locates the offending entry.
fn check_entries(file: &str, text: &str, entries: &[GhostEntry]) -> Result<(), FileError> {
    for g in entries {
        let at = |msg: String| {
            let needle = format!("port = {}", g.port);
            FileError::at(file, text, text.find(&needle), msg)
        };
        if g.service.is_some() == g.unassigned {
            return Err(at(format!(
                "port {}: give exactly one of `service` or `unassigned = true`",
                g.port
            )));
        }
        if g.transports.is_empty() {
            return Err(at(format!("port {}: `transports` is empty", g.port)));
        }
        if (g.status == GhostStatus::AliveRestricted) != g.belongs.is_some() {
            return Err(at(format!(
                "port {}: `belongs` is required for alive-restricted entries and only there",
                g.port
            )));
        }
        if g.sources.is_empty()
            || g.sources
                .iter()
                .any(|s| !(s.starts_with("https://") || s.starts_with("http://")))
        {
            return Err(at(format!(
                "port {}: `sources` must list at least one http(s) URL",
                g.port
            )));
        }
    }
    Ok(())
}
