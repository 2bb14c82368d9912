//! The port registry: the whole IANA registry plus the curated ghost-port registry.
//!
//! Owns loading and indexing of the data in `registry/` (embedded at build time) and the
//! lookups the classifier and `explain` need. It reads no files at run time and passes no
//! judgement on listeners.

pub mod ghosts;
pub mod iana;

use crate::diag::FileError;
use crate::model::Protocol;
use ghosts::{GhostEntry, UnofficialUse};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The loaded registry: ghost entries indexed by (port, transport), and the embedded IANA
/// registry behind [`iana::lookup`].
#[derive(Debug, Clone, Default)]
pub struct Registry {
    ghosts: Vec<Arc<GhostEntry>>,
    by_key: HashMap<(u16, Protocol), usize>,
    /// Indexes of entries that carry unofficial uses, for range lookups.
    with_uses: Vec<usize>,
}

impl Registry {
    /// Builds a registry from ghost files given as `(file name, TOML text)`.
    ///
    /// # Errors
    /// The first [`FileError`] from [`ghosts::parse_file`], or a duplicate (port, transport)
    /// pair across entries, named with the file, line and column of the second one.
    pub fn from_ghost_files(files: &[(&str, &str)]) -> Result<Registry, FileError> {
        let mut reg = Registry::default();
        for (file, text) in files {
            reg.add(file, text, ghosts::parse_file(file, text)?)?;
        }
        Ok(reg)
    }

    /// Builds a registry from the JSON form of the ghost files, as `(TOML file name, JSON)`.
    ///
    /// # Errors
    /// As [`Registry::from_ghost_files`].
    pub fn from_ghost_json(files: &[(&str, &str)]) -> Result<Registry, FileError> {
        let mut reg = Registry::default();
        for (file, json) in files {
            reg.add(file, "", ghosts::parse_json(file, json)?)?;
        }
        Ok(reg)
    }

    /// Adds the entries of one file, rejecting a (port, transport) pair seen before.
    fn add(&mut self, file: &str, text: &str, entries: Vec<GhostEntry>) -> Result<(), FileError> {
        for entry in entries {
            let idx = self.ghosts.len();
            for &t in &entry.transports {
                if self.by_key.insert((entry.port, t), idx).is_some() {
                    let needle = format!("port = {}", entry.port);
                    return Err(FileError::at(
                        file,
                        text,
                        text.rfind(&needle),
                        format!("duplicate ghost entry for {}/{t}", entry.port),
                    ));
                }
            }
            if !entry.unofficial.is_empty() {
                self.with_uses.push(idx);
            }
            self.ghosts.push(Arc::new(entry));
        }
        Ok(())
    }

    /// The registry embedded in the binary (from the build script's JSON form of
    /// `registry/ghosts/*.toml`), parsed once on first use.
    ///
    /// # Errors
    /// Only if an embedded file is malformed, which the test suite rules out; the error
    /// names the file, line and column.
    pub fn builtin() -> Result<&'static Registry, FileError> {
        static BUILTIN: OnceLock<Result<Registry, FileError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Registry::from_ghost_json(ghosts::BUILTIN_JSON))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every ghost entry, in file order.
    pub fn ghosts(&self) -> &[Arc<GhostEntry>] {
        &self.ghosts
    }

    /// The ghost entry for `port`/`protocol`, if the port is in the ghost registry.
    pub fn ghost(&self, port: u16, protocol: Protocol) -> Option<&Arc<GhostEntry>> {
        self.by_key.get(&(port, protocol)).and_then(|&i| self.ghosts.get(i))
    }

    /// Every known unofficial use that covers `port`/`protocol`, from any entry (a use
    /// listed under 3237 may span 3230-3237), with the entry it is listed under. A use
    /// listed under several ports appears once, with the entry for `port` when there is one.
    pub fn unofficial_uses(&self, port: u16, protocol: Protocol) -> Vec<(&GhostEntry, &UnofficialUse)> {
        let mut found: Vec<(&GhostEntry, &UnofficialUse)> = self
            .with_uses
            .iter()
            .filter_map(|&i| self.ghosts.get(i))
            .flat_map(|g| g.unofficial.iter().map(move |u| (g.as_ref(), u)))
            .filter(|(_, u)| u.covers(port, protocol))
            .collect();
        // Own entry first, so that deduplication keeps it.
        found.sort_by_key(|(g, _)| g.port != port);
        let mut seen: Vec<&UnofficialUse> = Vec::new();
        found.retain(|(_, u)| {
            let dup = seen
                .iter()
                .any(|s| s.name == u.name && s.ports == u.ports && s.transports == u.transports);
            if !dup {
                seen.push(u);
            }
            !dup
        });
        found
    }
}
