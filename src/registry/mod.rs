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
///
/// The embedded registry ([`Registry::builtin`]) is indexed from tables the build script
/// wrote, and each entry is parsed from its JSON only when a lookup first needs it: a scan
/// that meets no ghost port parses none of them.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    ghosts: Vec<Slot>,
    by_key: HashMap<(u16, Protocol), usize>,
    /// `(first port, last port, transports mask, entry)` of every unofficial use.
    uses: Vec<(u16, u16, u8, usize)>,
}

/// One ghost entry, parsed or still to be parsed from embedded JSON.
#[derive(Debug, Clone, Default)]
struct Slot {
    entry: OnceLock<Option<Arc<GhostEntry>>>,
    /// `(TOML path, JSON)` for an entry not parsed yet.
    source: Option<(&'static str, &'static str)>,
}

impl Slot {
    fn parsed(entry: GhostEntry) -> Slot {
        Slot {
            entry: OnceLock::from(Some(Arc::new(entry))),
            source: None,
        }
    }

    fn get(&self) -> Option<&Arc<GhostEntry>> {
        self.entry
            .get_or_init(|| {
                let (file, json) = self.source?;
                ghosts::parse_entry_json(file, json).map(Arc::new)
            })
            .as_ref()
    }
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

    /// Indexes one entry's (port, transport) pairs under `idx`; returns the first transport
    /// whose pair was already indexed, if any.
    fn index(&mut self, port: u16, transports: impl IntoIterator<Item = Protocol>, idx: usize) -> Option<Protocol> {
        transports
            .into_iter()
            .find(|&t| self.by_key.insert((port, t), idx).is_some())
    }

    /// Adds the entries of one file, rejecting a (port, transport) pair seen before.
    fn add(&mut self, file: &str, text: &str, entries: Vec<GhostEntry>) -> Result<(), FileError> {
        for entry in entries {
            let idx = self.ghosts.len();
            if let Some(t) = self.index(entry.port, entry.transports.clone(), idx) {
                let needle = format!("port = {}", entry.port);
                return Err(FileError::at(
                    file,
                    text,
                    text.rfind(&needle),
                    format!("duplicate ghost entry for {}/{t}", entry.port),
                ));
            }
            for u in &entry.unofficial {
                let mask = u.transports.iter().fold(0, |m, &t| m | ghosts::transport_bit(t));
                self.uses.push((u.ports.start, u.ports.end, mask, idx));
            }
            self.ghosts.push(Slot::parsed(entry));
        }
        Ok(())
    }

    /// Builds the registry from the build script's index of the embedded ghost files
    /// ([`ghosts::BUILTIN_ENTRIES`]), in the order of [`ghosts::BUILTIN_FILES`], leaving
    /// every entry to be parsed on first use.
    ///
    /// # Errors
    /// A duplicate (port, transport) pair, which the test suite rules out.
    pub fn from_builtin_entries(entries: &'static [ghosts::BuiltinEntry]) -> Result<Registry, FileError> {
        let mut reg = Registry::default();
        // The build script lists files by name; keep the order of [`ghosts::BUILTIN_FILES`].
        let rank = |file: &str| ghosts::BUILTIN_FILES.iter().position(|(f, _)| *f == file);
        let mut ordered: Vec<&ghosts::BuiltinEntry> = entries.iter().collect();
        ordered.sort_by_key(|e| rank(e.0));
        for &&(file, port, mask, uses, json) in &ordered {
            let idx = reg.ghosts.len();
            let transports = [Protocol::Tcp, Protocol::Udp]
                .into_iter()
                .filter(|&t| mask & ghosts::transport_bit(t) != 0);
            if let Some(t) = reg.index(port, transports, idx) {
                return Err(FileError {
                    file: file.to_string(),
                    line: None,
                    column: None,
                    message: format!("duplicate ghost entry for {port}/{t}"),
                });
            }
            reg.uses
                .extend(uses.iter().map(|&(first, last, m)| (first, last, m, idx)));
            reg.ghosts.push(Slot {
                entry: OnceLock::new(),
                source: Some((file, json)),
            });
        }
        Ok(reg)
    }

    /// The registry embedded in the binary, indexed once on first use; each entry is
    /// parsed when first looked up.
    ///
    /// # Errors
    /// Only if the embedded index holds a duplicate, which the test suite rules out.
    pub fn builtin() -> Result<&'static Registry, FileError> {
        static BUILTIN: OnceLock<Result<Registry, FileError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Registry::from_builtin_entries(ghosts::BUILTIN_ENTRIES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every ghost entry, in file order (parsing those not parsed yet). An embedded entry
    /// that does not parse is left out; the test suite checks that none is.
    pub fn ghosts(&self) -> Vec<&Arc<GhostEntry>> {
        self.ghosts.iter().filter_map(Slot::get).collect()
    }

    /// The ghost entry for `port`/`protocol`, if the port is in the ghost registry.
    pub fn ghost(&self, port: u16, protocol: Protocol) -> Option<&Arc<GhostEntry>> {
        self.by_key
            .get(&(port, protocol))
            .and_then(|&i| self.ghosts.get(i))
            .and_then(Slot::get)
    }

    /// Every known unofficial use that covers `port`/`protocol`, from any entry (a use
    /// listed under 3237 may span 3230-3237), with the entry it is listed under. A use
    /// listed under several ports appears once, with the entry for `port` when there is one.
    pub fn unofficial_uses(&self, port: u16, protocol: Protocol) -> Vec<(&GhostEntry, &UnofficialUse)> {
        let bit = ghosts::transport_bit(protocol);
        let mut entries: Vec<usize> = self
            .uses
            .iter()
            .filter(|&&(first, last, mask, _)| first <= port && port <= last && mask & bit != 0)
            .map(|&(_, _, _, idx)| idx)
            .collect();
        entries.dedup();
        let mut found: Vec<(&GhostEntry, &UnofficialUse)> = entries
            .into_iter()
            .filter_map(|i| self.ghosts.get(i).and_then(Slot::get))
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
