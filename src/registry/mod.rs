//! The port registry: the whole IANA registry plus the curated ghost-port registry, and
//! an organisation's local additions.
//!
//! Owns loading and indexing of the data in `registry/` (embedded at build time), of a
//! newer IANA registry given at run time ([`iana::load_file`]) and of local registry files
//! ([`local`]), and every lookup into them, IANA and ghost alike, through [`Registry`]. The
//! only file reads are in [`iana::load_file`] and [`local::read_dir`], which `app` calls;
//! it passes no judgement on listeners.

pub mod ghosts;
pub mod iana;
pub mod iana_xml;
pub mod local;
pub mod portless;

use crate::diag::FileError;
use crate::model::{IanaPerson, IanaRecord, Inventory, Protocol, ProvenanceRequest};
use ghosts::{GhostEntry, GhostStatus, UnofficialUse};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

#[cfg(test)]
mod tests;

/// The loaded registry: the embedded IANA registry, and ghost entries indexed by (port,
/// transport). Every lookup the classifier and `explain` make goes through it.
///
/// The embedded registry ([`Registry::builtin`]) is indexed from tables the build script
/// wrote, and each entry is parsed from its JSON only when a lookup first needs it: a scan
/// that meets no ghost port parses none of them. Ghost files are read in the order of
/// [`ghosts::GhostStatus::ALL`], whatever order they are given in.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    ghosts: Vec<Slot>,
    by_key: HashMap<(u16, Protocol), usize>,
    /// `(first port, last port, transports mask, entry)` of every unofficial use.
    uses: Vec<(u16, u16, u8, usize)>,
    /// Where IANA lookups go: the embedded snapshot, or a file given with `--iana`.
    iana: iana::Source,
    /// The local registry files merged in, in the order they were read.
    local_files: Vec<String>,
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

    /// A slot whose entry a later local file replaced on every transport.
    fn removed() -> Slot {
        Slot {
            entry: OnceLock::from(None),
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
        for (file, text) in in_status_order(files) {
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
        for (file, json) in in_status_order(files) {
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

    /// Builds the registry from the build script's index of ghost entries (see
    /// [`ghosts::BUILTIN_ENTRIES`]), leaving every entry to be parsed on first use.
    ///
    /// # Errors
    /// A duplicate (port, transport) pair, which the test suite rules out.
    fn from_builtin_entries(entries: &'static [ghosts::BuiltinEntry]) -> Result<Registry, FileError> {
        let mut reg = Registry::default();
        let mut ordered: Vec<&ghosts::BuiltinEntry> = entries.iter().collect();
        ordered.sort_by_key(|e| ghosts::file_rank(e.0));
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

    /// A fresh index of the registry embedded in the binary, no ghost entry parsed yet.
    /// [`Registry::builtin`] makes one once per process and shares it.
    ///
    /// # Errors
    /// Only if the embedded index holds a duplicate, which the test suite rules out.
    pub fn load_builtin() -> Result<Registry, FileError> {
        Registry::from_builtin_entries(ghosts::BUILTIN_ENTRIES)
    }

    /// The registry embedded in the binary, indexed once on first use; each entry is
    /// parsed when first looked up.
    ///
    /// # Errors
    /// Only if the embedded index holds a duplicate, which the test suite rules out.
    pub fn builtin() -> Result<&'static Registry, FileError> {
        static BUILTIN: OnceLock<Result<Registry, FileError>> = OnceLock::new();
        BUILTIN
            .get_or_init(Registry::load_builtin)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Every IANA record that covers `port` for `protocol`, in registry order: single-port
    /// records first, then ranges (including protocol-less ranges such as `225-241
    /// Reserved`).
    ///
    /// Several records can share a port: 80/tcp has `http`, `www` and `www-http`. The first
    /// assigned one is the primary name ([`Registry::service`]). An empty vector means the
    /// registry says nothing.
    pub fn iana(&self, port: u16, protocol: Protocol) -> Vec<&'static IanaRecord> {
        self.iana.lookup(port, protocol.as_str())
    }

    /// The primary assigned IANA record for `port`/`protocol`: the first record that has a
    /// service name, or `None` when the port is unassigned, reserved or absent. Costs a
    /// binary search; the record is parsed once per process.
    pub fn service(&self, port: u16, protocol: Protocol) -> Option<&'static IanaRecord> {
        self.iana.service(port, protocol.as_str())
    }

    /// Every IANA record whose service name is `name`, compared ignoring ASCII case, in
    /// registry order (`ssh` gives 22 on tcp, udp and sctp). Splits every record of the
    /// registry once per process (about a millisecond), so it is for `explain NAME`.
    pub fn iana_by_name(&self, name: &str) -> Vec<&'static IanaRecord> {
        self.iana.by_name(name)
    }

    /// Who the IANA contact handle `handle` (without brackets, e.g. `Jon_Postel`) is, from
    /// the registry's `<people>` section; `None` when it has no such entry (a registry
    /// given as CSV has none at all).
    pub fn person(&self, handle: &str) -> Option<IanaPerson> {
        self.iana.person(handle)
    }

    /// This registry with its IANA lookups going to `file` (from [`iana::load_file`])
    /// instead of the embedded snapshot.
    pub fn with_iana(mut self, file: &'static iana::IanaFile) -> Registry {
        self.iana = iana::Source::File(file);
        self
    }

    /// The date of the IANA registry in use (`YYYY-MM-DD`): the `<updated>` date of the
    /// embedded XML or of the XML given with `--iana`, or the latest Modification Date of a
    /// CSV given with `--iana`.
    pub fn iana_updated(&self) -> &'static str {
        self.iana.updated()
    }

    /// The IANA registry file given with `--iana`, or `None` for the embedded snapshot.
    pub fn iana_file(&self) -> Option<&'static str> {
        self.iana.file()
    }

    /// Number of records in the IANA registry in use.
    pub fn iana_records(&self) -> usize {
        self.iana.len()
    }

    /// Which registries this is, for a report.
    pub fn info(&self) -> crate::model::RegistryInfo {
        crate::model::RegistryInfo {
            iana_updated: self.iana_updated().to_string(),
            iana_file: self.iana_file().map(str::to_string),
            local_files: self.local_files.clone(),
        }
    }

    /// The local registry files merged into this registry, in the order they were read.
    pub fn local_files(&self) -> &[String] {
        &self.local_files
    }

    /// Date of the embedded IANA registry (`YYYY-MM-DD`), read at build time from the
    /// `<updated>` element of `registry/service-names-port-numbers.xml`.
    pub fn iana_snapshot() -> &'static str {
        iana::IANA_UPDATED
    }

    /// Number of `<record>`s in the embedded IANA registry (14,533 in the 2026-08-17
    /// snapshot).
    pub fn iana_record_count() -> usize {
        iana::Source::Embedded.len()
    }

    /// Number of `<person>` entries in the embedded IANA registry's `<people>` section.
    pub fn iana_people_count() -> usize {
        iana::embedded_people_count()
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

    /// What evidence a verdict on `inventory` needs gathered: the owner PIDs and the
    /// network namespaces (keyed by inode, as [`ProvenanceRequest::netns`]) of every
    /// listener whose port and transport have a ghost entry with a status other than
    /// `common-squatter`, and the owner PIDs of every portless socket. Empty when no
    /// listener needs it, so that a scan with no ghost or portless listeners gathers
    /// nothing. Pure: it reads only the inventory and the registry.
    pub fn provenance_request(&self, inventory: &Inventory) -> ProvenanceRequest {
        let mut request = ProvenanceRequest::default();
        for listener in &inventory.listeners {
            let needs = self
                .ghost(listener.port, listener.protocol)
                .is_some_and(|g| g.status != GhostStatus::CommonSquatter);
            if needs {
                request.pids.extend(listener.owners.iter().map(|o| o.pid));
                request.netns.insert(listener.netns.as_ref().map(|n| n.inode));
            }
        }
        // A portless socket is judged by where its owner's executable comes from.
        for p in &inventory.portless {
            request.pids.extend(p.owners.iter().map(|o| o.pid));
        }
        request
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

/// `files` in the order the registry reads them: that of [`ghosts::GhostStatus::ALL`],
/// then any other file in the order given.
fn in_status_order<'a>(files: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut ordered = files.to_vec();
    ordered.sort_by_key(|(file, _)| ghosts::file_rank(file));
    ordered
}
