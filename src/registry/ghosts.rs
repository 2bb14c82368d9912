//! The curated ghost-port registry: IANA ports whose standard was withdrawn, whose vendor
//! is gone, that were never documented, that are historic, restricted to special networks,
//! squatted, or known for malware.
//!
//! Owns the file format of `registry/ghosts/*.toml` (specified in `registry/README.md`),
//! its parsing, the tables the build script made of the embedded files, and the matching
//! of process names against `processes` patterns. The files are embedded at build time;
//! this module must not read files at run time and makes no verdicts (that is
//! `classify`'s job).

use crate::diag::FileError;
use crate::model::Protocol;
use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

pub use crate::model::{GhostEntry, GhostStatus, PortRange, UnofficialUse, UseKind};

/// Every `registry/ghosts/*.toml` as `(path, TOML text)`, in file-name order. The build
/// script finds the files; this is the one list of them.
#[cfg(test)]
pub(crate) const BUILTIN_FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/ghost_files.rs"));

/// The same files as [`BUILTIN_FILES`], converted to JSON by the build script, which
/// parses several times faster; `(TOML path, JSON text)`.
#[cfg(test)]
pub(crate) const BUILTIN_JSON: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/ghost_json.rs"));

/// One ghost entry as the build script embeds it for lazy loading: `(TOML path, port,
/// transports mask, unofficial uses, JSON)`. The mask has bit 1 for tcp and bit 2 for udp;
/// each unofficial use is `(first port, last port, transports mask)`; the JSON is the entry
/// exactly as in the TOML file, parsed only when a listener needs it.
pub(crate) type BuiltinEntry = (&'static str, u16, u8, &'static [(u16, u16, u8)], &'static str);

/// Every entry of every embedded ghost file, files in name order and entries in file
/// order, as the build script indexed them.
pub(crate) const BUILTIN_ENTRIES: &[BuiltinEntry] = include!(concat!(env!("OUT_DIR"), "/ghost_entries.rs"));

/// Where the entries of the ghost file `file` (`registry/ghosts/<status>.toml`) go in the
/// registry: files are read in the order of [`GhostStatus::ALL`], any other file last.
pub(crate) fn file_rank(file: &str) -> usize {
    let stem = file
        .rsplit('/')
        .next()
        .and_then(|name| name.strip_suffix(".toml"))
        .unwrap_or(file);
    GhostStatus::ALL
        .iter()
        .position(|s| s.as_str() == stem)
        .unwrap_or(GhostStatus::ALL.len())
}

impl UnofficialUse {
    /// True when this is benign software and one of its process patterns matches `name`
    /// (see [`glob_match`]).
    pub fn matches_process(&self, name: &str) -> bool {
        self.kind == UseKind::Software && self.processes.iter().any(|p| glob_match(p, name))
    }
}

/// Case-insensitive match of `name` against the process pattern `pattern`, where `*`
/// matches any run of characters (including none) and every other character matches
/// itself. Each pattern is compiled once per process, on first use.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    static COMPILED: LazyLock<Mutex<HashMap<String, Option<GlobMatcher>>>> = LazyLock::new(Mutex::default);
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(matcher) = compiled.get(pattern) {
        return matcher.as_ref().is_some_and(|m| m.is_match(name));
    }
    let matcher = compile_process_pattern(pattern);
    let matched = matcher.as_ref().is_some_and(|m| m.is_match(name));
    compiled.insert(pattern.to_string(), matcher);
    matched
}

/// The glob for a process pattern: `*` stays a wildcard (a run of them is one), every other
/// character is escaped, and `/` and `\` are ordinary characters. `None` if globset
/// rejects it, which escaping rules out.
fn compile_process_pattern(pattern: &str) -> Option<GlobMatcher> {
    let mut glob = String::with_capacity(pattern.len() + 8);
    for (i, literal) in pattern.split('*').enumerate() {
        // Escaped text never ends in a bare `*`, so this sees only a wildcard pushed here.
        if i > 0 && !glob.ends_with('*') {
            glob.push('*');
        }
        glob.push_str(&globset::escape(literal));
    }
    GlobBuilder::new(&glob)
        .case_insensitive(true)
        .literal_separator(false)
        .backslash_escape(false)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// The mask bit of `protocol` in [`BuiltinEntry`] masks.
pub(crate) fn transport_bit(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 1,
        Protocol::Udp => 2,
    }
}

/// Parses one embedded entry's JSON with the checks of [`parse_file`]; `None` if it is
/// malformed, which the build script and the test suite rule out for every embedded entry.
pub(crate) fn parse_entry_json(file: &str, json: &str) -> Option<GhostEntry> {
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
pub(crate) fn check_entries(file: &str, text: &str, entries: &[GhostEntry]) -> Result<(), FileError> {
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
