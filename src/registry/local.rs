//! Local registries: an organisation's own ghost entries and known uses, in
//! `/etc/portghost/registry.d/*.toml` and `--registry-dir DIR`.
//!
//! Owns the local file format (that of `registry/ghosts/*.toml`, plus `[[use]]` tables, as
//! `registry/README.md` specifies), its strict parsing with `FILE:LINE:COLUMN` errors, the
//! reading of a directory's files in lexical order under the ownership and permission
//! checks of policy files ([`crate::policy::trust`]), and merging the files into a
//! [`Registry`]:
//!
//! - files are merged in order: the embedded registry, then `/etc/portghost/registry.d`,
//!   then `--registry-dir`, each directory's `*.toml` files in lexical order of their names;
//! - a `[[ghost]]` entry for a (port, transport) already in the registry replaces the
//!   earlier entry whole for that transport (its status, story and unofficial uses); one
//!   file may not list the same (port, transport) twice;
//! - a `[[use]]` table adds a known use to the entry already in the registry for its
//!   `port` on each of its `transports`, without replacing anything; it is an error when
//!   there is no such entry.
//!
//! Entries and uses from a local file carry the file's path in `source`, which `explain`,
//! the JSON (`ghost.source`) and the findings show. Reads files only in [`read_dir`];
//! passes no judgement on listeners.

use super::Registry;
use super::Slot;
use super::ghosts;
use crate::diag::FileError;
use crate::model::{GhostEntry, PortRange, Protocol, UnofficialUse, UseKind};
use crate::policy::trust::{self, Trust};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// The directory of the system's local registry files.
pub const SYSTEM_DIR: &str = "/etc/portghost/registry.d";

/// The largest local registry file read: 4 MiB.
pub const MAX_LOCAL_FILE: u64 = 4 * 1024 * 1024;

/// A `[[use]]` table: a known use added to the entry for `port` on each of `transports`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalUse {
    /// The port of the entry the use is added to.
    pub port: u16,
    /// The transports it uses; the use is added to the entry for `port` on each of them.
    pub transports: Vec<Protocol>,
    /// Software name, e.g. `acme-agent`.
    pub name: String,
    /// The ports it uses; `port` alone when absent.
    #[serde(default)]
    pub ports: Option<PortRange>,
    /// `software` (the default) or `malware`.
    #[serde(default)]
    pub kind: UseKind,
    /// Process-name patterns, as in `[[ghost.unofficial]]`.
    #[serde(default)]
    pub processes: Vec<String>,
    /// Executable paths or names, as in `[[ghost.unofficial]]`.
    #[serde(default)]
    pub executables: Vec<String>,
    /// Packages that ship it, as in `[[ghost.unofficial]]`.
    #[serde(default)]
    pub packages: Vec<String>,
    /// URLs documenting it.
    #[serde(default)]
    pub sources: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalToml {
    #[serde(default)]
    ghost: Vec<GhostEntry>,
    #[serde(default, rename = "use")]
    uses: Vec<LocalUse>,
}

/// One parsed local registry file.
#[derive(Debug, Clone)]
pub struct LocalFile {
    /// The path, as given.
    pub file: String,
    /// Its text, for error positions.
    pub text: String,
    /// Its `[[ghost]]` entries, each with `source` set to the file.
    pub ghosts: Vec<GhostEntry>,
    /// Its `[[use]]` tables.
    pub uses: Vec<LocalUse>,
}

/// Byte offset of the `n`th (0-based) line that starts with `header` in `text`.
fn nth_header(text: &str, header: &str, n: usize) -> Option<usize> {
    let mut offset = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(header) {
            if seen == n {
                return Some(offset + (line.len() - line.trim_start().len()));
            }
            seen += 1;
        }
        offset += line.len();
    }
    None
}

/// Parses the text of the local registry file `file`, strictly: the checks of
/// [`ghosts::parse_file`] (except that the status need not match the file's name), plus
/// a duplicate (port, transport) within the file, and `[[use]]` tables with empty
/// `transports` or no name.
///
/// # Errors
/// A [`FileError`] naming `file`, line and column.
pub fn parse(file: &str, text: &str) -> Result<LocalFile, FileError> {
    let parsed: LocalToml = toml::from_str(text).map_err(|e| FileError::from_toml(file, text, &e))?;
    ghosts::check_entries(file, text, &parsed.ghost)?;
    let mut seen = HashSet::new();
    for (n, g) in parsed.ghost.iter().enumerate() {
        for &t in &g.transports {
            if !seen.insert((g.port, t)) {
                return Err(FileError::at(
                    file,
                    text,
                    nth_header(text, "[[ghost]]", n),
                    format!("duplicate ghost entry for {}/{t} in this file", g.port),
                ));
            }
        }
    }
    for (n, u) in parsed.uses.iter().enumerate() {
        let at = |m: String| FileError::at(file, text, nth_header(text, "[[use]]", n), m);
        if u.transports.is_empty() {
            return Err(at(format!("[[use]] for port {}: `transports` is empty", u.port)));
        }
        if u.name.trim().is_empty() {
            return Err(at(format!("[[use]] for port {}: `name` is empty", u.port)));
        }
    }
    let ghosts = parsed
        .ghost
        .into_iter()
        .map(|mut g| {
            g.source = Some(file.to_string());
            g
        })
        .collect();
    Ok(LocalFile {
        file: file.to_string(),
        text: text.to_string(),
        ghosts,
        uses: parsed.uses,
    })
}

/// The `*.toml` files of `dir`, in lexical order of their names, each checked as policy
/// files are ([`trust::check_file`]) and read. A `dir` that does not exist gives no files
/// when `missing_ok` (the system directory); otherwise it is an error.
///
/// # Errors
/// One message per problem, each naming the file: the directory cannot be read, a file is
/// untrusted (owned by someone else, writable by group or others, under a directory others
/// can write), is not a regular file, is larger than [`MAX_LOCAL_FILE`], or is not UTF-8.
pub fn read_dir(dir: &Path, trust: &Trust, missing_ok: bool) -> Result<Vec<(String, String)>, Vec<String>> {
    let shown = |p: &Path| crate::sanitize::terminal_safe(&p.display().to_string()).into_owned();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if missing_ok && e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(vec![format!("{}: cannot read the registry directory: {e}", shown(dir))]),
    };
    let mut paths: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        if let Err(e) = trust::check_file(&path, trust, "registry file") {
            errors.push(format!("{}: {e}", shown(&path)));
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_LOCAL_FILE => {
                errors.push(format!(
                    "{}: {} bytes is more than a local registry file may be ({} MiB)",
                    shown(&path),
                    m.len(),
                    MAX_LOCAL_FILE / (1024 * 1024)
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                errors.push(format!("{}: cannot read: {e}", shown(&path)));
                continue;
            }
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((name, text)),
            Err(e) => errors.push(format!("{}: cannot read: {e}", shown(&path))),
        }
    }
    if errors.is_empty() { Ok(files) } else { Err(errors) }
}

impl Registry {
    /// Merges the local registry file `local` into this registry, after everything merged
    /// before it (see the module documentation for the rules).
    ///
    /// # Errors
    /// A `[[use]]` whose entry is not in the registry, named with the file, line and column.
    pub fn merge_local(&mut self, local: &LocalFile) -> Result<(), FileError> {
        let file = local.file.as_str();
        for entry in &local.ghosts {
            let idx = self.ghosts.len();
            for &t in &entry.transports {
                if let Some(old) = self.by_key.insert((entry.port, t), idx) {
                    self.drop_transport(old, entry.port, t);
                }
            }
            for u in &entry.unofficial {
                let mask = u.transports.iter().fold(0, |m, &t| m | ghosts::transport_bit(t));
                self.uses.push((u.ports.start, u.ports.end, mask, idx));
            }
            self.ghosts.push(Slot::parsed(entry.clone()));
        }
        for (n, u) in local.uses.iter().enumerate() {
            let mut targets: Vec<usize> = Vec::new();
            for &t in &u.transports {
                match self.by_key.get(&(u.port, t)) {
                    Some(&idx) if !targets.contains(&idx) => targets.push(idx),
                    Some(_) => {}
                    None => {
                        return Err(FileError::at(
                            file,
                            &local.text,
                            nth_header(&local.text, "[[use]]", n),
                            format!(
                                "[[use]] {:?}: no ghost entry for {}/{t} to add it to; write a [[ghost]] entry for the port instead",
                                u.name, u.port
                            ),
                        ));
                    }
                }
            }
            let ports = u.ports.unwrap_or(PortRange {
                start: u.port,
                end: u.port,
            });
            let added = UnofficialUse {
                name: u.name.clone(),
                transports: u.transports.clone(),
                ports,
                kind: u.kind,
                processes: u.processes.clone(),
                executables: u.executables.clone(),
                packages: u.packages.clone(),
                sources: u.sources.clone(),
                source: Some(file.to_string()),
            };
            let mask = u.transports.iter().fold(0, |m, &t| m | ghosts::transport_bit(t));
            for idx in targets {
                let Some(current) = self.ghosts.get(idx).and_then(Slot::get) else {
                    continue;
                };
                let mut entry = GhostEntry::clone(current);
                entry.unofficial.push(added.clone());
                self.ghosts[idx] = Slot::parsed(entry);
                self.uses.push((ports.start, ports.end, mask, idx));
            }
        }
        self.local_files.push(file.to_string());
        Ok(())
    }

    /// Takes transport `t` away from the entry at `idx`, which a later entry for `port`/`t`
    /// replaced; an entry left with no transport is dropped with its unofficial uses.
    fn drop_transport(&mut self, idx: usize, port: u16, t: Protocol) {
        let Some(current) = self.ghosts.get(idx).and_then(Slot::get).map(Arc::clone) else {
            return;
        };
        let mut entry = GhostEntry::clone(&current);
        entry.transports.retain(|&x| x != t);
        if entry.transports.is_empty() || !self.by_key.values().any(|&i| i == idx) {
            self.uses.retain(|u| u.3 != idx);
            self.ghosts[idx] = Slot::removed();
        } else {
            debug_assert_eq!(entry.port, port);
            self.ghosts[idx] = Slot::parsed(entry);
        }
    }
}
