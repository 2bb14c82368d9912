//! The curated ghost-port registry: IANA ports whose standard was withdrawn, whose vendor
//! is gone, that were never documented, that are historic, restricted to special networks,
//! squatted, or known for malware.
//!
//! Owns the file format of `registry/ghosts/*.toml` (specified in `registry/README.md`)
//! and its parsing. The files are embedded at build time; this module must not read files
//! at run time and makes no verdicts (that is `classify`'s job).

use crate::diag::FileError;
use crate::model::Protocol;
use serde::Deserialize;

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

pub use crate::model::{GhostEntry, GhostStatus, PortRange, UnofficialUse, UseKind};

impl UnofficialUse {
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
