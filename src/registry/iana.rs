//! The IANA Service Name and Transport Protocol Port Number Registry: the embedded
//! snapshot, and a newer copy given at run time.
//!
//! Owns lookups by (port, transport protocol), by service name, and of `<people>` handles.
//! The embedded registry is IANA's `registry/service-names-port-numbers.xml`, parsed by the
//! build script with [`super::iana_xml`] into one text of every record's twelve columns and
//! a port index; a lookup binary-searches that index and splits only the matching records,
//! each once per process. A registry given with `--iana FILE` (IANA's XML or CSV) is parsed
//! by [`load_file`] with the same XML parser (or the `csv` crate), indexed the same way and
//! kept for the life of the process. This module reads a file only in [`load_file`], which
//! `app` calls, and passes no judgement on listeners.

use super::iana_xml;
use crate::diag::FileError;
use std::borrow::Cow;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/iana_index.rs"));

/// Every embedded record's twelve columns, each ended by U+001F, as the build script wrote
/// them from the XML; [`IANA_SPANS`] gives each record's bytes.
const IANA_RECORDS: &str = include_str!(concat!(env!("OUT_DIR"), "/iana_records.txt"));

pub use crate::model::{IanaPerson, IanaRecord, plain_handles};

/// The largest registry file `--iana` reads: 64 MiB (IANA's XML is about 4 MB).
pub const MAX_IANA_FILE: u64 = 64 * 1024 * 1024;

fn proto_code(protocol: &str) -> u8 {
    match protocol {
        "tcp" => 1,
        "udp" => 2,
        "sctp" => 3,
        "dccp" => 4,
        _ => 0,
    }
}

/// An IANA registry read from a file at run time (`--iana FILE`), indexed as the build
/// script indexes the embedded one.
#[derive(Debug)]
pub struct IanaFile {
    /// The file, as the user named it.
    pub file: String,
    /// The registry's date: `<updated>` of an XML file, the latest Modification Date of a CSV.
    pub updated: String,
    records: Vec<IanaRecord>,
    singles: Vec<(u16, u8, bool, u32)>,
    ranges: Vec<(u16, u16, u8, bool, u32)>,
    /// Sorted by handle; empty for a CSV, which has no `<people>`.
    people: Vec<IanaPerson>,
}

/// Where lookups go: the embedded registry, or one read at run time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Source {
    /// The snapshot embedded at build time.
    #[default]
    Embedded,
    /// A registry read with [`load_file`], kept for the life of the process.
    File(&'static IanaFile),
}

/// Splits embedded record number `idx` into its columns.
fn parse_embedded(idx: usize) -> Option<IanaRecord> {
    let &(start, end) = IANA_SPANS.get(idx)?;
    let text = IANA_RECORDS.get(start as usize..end as usize)?;
    let mut fields = text.split('\u{1f}');
    let mut f = || Cow::Borrowed(fields.next().unwrap_or(""));
    Some(IanaRecord {
        name: f(),
        port: f(),
        protocol: f(),
        description: f(),
        assignee: f(),
        contact: f(),
        registration_date: f(),
        modification_date: f(),
        reference: f(),
        service_code: f(),
        unauthorized_use_reported: f(),
        assignment_notes: f(),
    })
}

/// A lazily split record: `None` inside when the index is out of range (never).
type Cell = OnceLock<Option<Box<IanaRecord>>>;

/// Embedded record number `idx`, split on first use and kept for the life of the process.
fn embedded(idx: u32) -> Option<&'static IanaRecord> {
    // One pointer-sized cell per record, so that the first lookup does not pay for
    // 14,533 empty records.
    static PARSED: OnceLock<Box<[Cell]>> = OnceLock::new();
    let cells = PARSED.get_or_init(|| (0..IANA_SPANS.len()).map(|_| OnceLock::new()).collect());
    cells
        .get(usize::try_from(idx).ok()?)?
        .get_or_init(|| parse_embedded(usize::try_from(idx).ok()?).map(Box::new))
        .as_deref()
}

impl Source {
    fn singles(self) -> &'static [(u16, u8, bool, u32)] {
        match self {
            Source::Embedded => IANA_SINGLES,
            Source::File(f) => &f.singles,
        }
    }

    fn ranges(self) -> &'static [(u16, u16, u8, bool, u32)] {
        match self {
            Source::Embedded => IANA_RANGES,
            Source::File(f) => &f.ranges,
        }
    }

    fn record(self, idx: u32) -> Option<&'static IanaRecord> {
        match self {
            Source::Embedded => embedded(idx),
            Source::File(f) => f.records.get(usize::try_from(idx).ok()?),
        }
    }

    /// Number of records.
    pub(crate) fn len(self) -> usize {
        match self {
            Source::Embedded => IANA_SPANS.len(),
            Source::File(f) => f.records.len(),
        }
    }

    /// The registry's date, `YYYY-MM-DD`.
    pub(crate) fn updated(self) -> &'static str {
        match self {
            Source::Embedded => IANA_UPDATED,
            Source::File(f) => &f.updated,
        }
    }

    /// The file given with `--iana`, or `None` for the embedded registry.
    pub(crate) fn file(self) -> Option<&'static str> {
        match self {
            Source::Embedded => None,
            Source::File(f) => Some(&f.file),
        }
    }

    /// `(has a service name, record number)` of every record covering `port`/`protocol`:
    /// single-port records first, then ranges, each in registry order.
    fn matches(self, port: u16, protocol: &str) -> impl Iterator<Item = (bool, u32)> {
        let code = proto_code(protocol);
        let all = self.singles();
        let first = all.partition_point(|e| (e.0, e.1) < (port, code));
        let singles = all[first..]
            .iter()
            .take_while(move |e| e.0 == port && e.1 == code)
            .map(|e| (e.2, e.3));
        let ranges = self
            .ranges()
            .iter()
            .filter(move |e| e.0 <= port && port <= e.1 && (e.2 == code || e.2 == 0))
            .map(|e| (e.3, e.4));
        singles.chain(ranges)
    }

    /// Every record that covers `port` for `protocol` (`"tcp"`, `"udp"`, `"sctp"` or
    /// `"dccp"`), in registry order: single-port records first, then ranges (including
    /// protocol-less ranges such as `225-241 Reserved`).
    pub(crate) fn lookup(self, port: u16, protocol: &str) -> Vec<&'static IanaRecord> {
        self.matches(port, protocol)
            .filter_map(|(_, idx)| self.record(idx))
            .collect()
    }

    /// The primary assigned record for `port`/`protocol`: the first record that has a
    /// service name, or `None`. Costs a binary search; the record is split once per process.
    pub(crate) fn service(self, port: u16, protocol: &str) -> Option<&'static IanaRecord> {
        let code = proto_code(protocol);
        let all = self.singles();
        let first = all.partition_point(|e| (e.0, e.1) < (port, code));
        let single = all[first..]
            .iter()
            .take_while(|e| e.0 == port && e.1 == code)
            .find(|e| e.2)
            .map(|e| e.3);
        // Only a handful of ranges name a service (x11 6000-6063…); skip the rest.
        let idx = single.or_else(|| {
            self.ranges()
                .iter()
                .take_while(|e| e.3)
                .find(|e| e.0 <= port && port <= e.1 && (e.2 == code || e.2 == 0))
                .map(|e| e.4)
        })?;
        self.record(idx)
    }

    /// Every record whose service name is `name` (ASCII case-insensitive), in registry
    /// order. Splits every record once, so it is for `explain NAME`, not for scans.
    pub(crate) fn by_name(self, name: &str) -> Vec<&'static IanaRecord> {
        (0..self.len())
            .filter_map(|i| self.record(u32::try_from(i).ok()?))
            .filter(|r| r.name.eq_ignore_ascii_case(name))
            .collect()
    }

    /// The `<people>` entry for `handle` (without brackets), if the registry has one.
    pub(crate) fn person(self, handle: &str) -> Option<IanaPerson> {
        match self {
            Source::Embedded => {
                let i = IANA_PEOPLE.binary_search_by(|p| p.0.cmp(handle)).ok()?;
                let &(id, name, org, uri, updated) = IANA_PEOPLE.get(i)?;
                Some(IanaPerson {
                    id: Cow::Borrowed(id),
                    name: Cow::Borrowed(name),
                    org: Cow::Borrowed(org),
                    uri: Cow::Borrowed(uri),
                    updated: Cow::Borrowed(updated),
                })
            }
            Source::File(f) => {
                let i = f.people.binary_search_by(|p| (*p.id).cmp(handle)).ok()?;
                f.people.get(i).cloned()
            }
        }
    }
}

/// Number of `<person>` entries in the embedded registry.
pub(crate) fn embedded_people_count() -> usize {
    IANA_PEOPLE.len()
}

/// Reads an IANA registry file (IANA's `service-names-port-numbers.xml`, or its `.csv`:
/// told apart by the first non-blank character, `<` for XML), parses and indexes it, and
/// keeps it for the life of the process.
///
/// # Errors
/// A [`FileError`] naming `file`: it cannot be read, is not a regular file, is larger than
/// [`MAX_IANA_FILE`], is not UTF-8, or does not parse (XML: line and column of the fault;
/// CSV: line of the record). A CSV must have IANA's twelve-column header.
pub fn load_file(file: &str) -> Result<&'static IanaFile, FileError> {
    let fail = |message: String| FileError {
        file: file.to_string(),
        line: None,
        column: None,
        message,
    };
    let meta = std::fs::metadata(file).map_err(|e| fail(format!("cannot read the IANA registry: {e}")))?;
    if !meta.is_file() {
        return Err(fail("not a regular file".to_string()));
    }
    if meta.len() > MAX_IANA_FILE {
        return Err(fail(format!(
            "{} bytes is more than an IANA registry ({} MiB at most)",
            meta.len(),
            MAX_IANA_FILE / (1024 * 1024)
        )));
    }
    let bytes = std::fs::read(file).map_err(|e| fail(format!("cannot read the IANA registry: {e}")))?;
    let text = String::from_utf8(bytes).map_err(|e| fail(format!("not UTF-8: {e}")))?;
    let parsed = parse_text(file, &text)?;
    Ok(Box::leak(Box::new(parsed)))
}

/// Parses the text of an IANA registry file named `file` (XML or CSV) and indexes it.
///
/// # Errors
/// As [`load_file`], for the text.
pub fn parse_text(file: &str, text: &str) -> Result<IanaFile, FileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (updated, rows, people) = if text.trim_start().starts_with('<') {
        let parsed = iana_xml::parse(text).map_err(|e| FileError {
            file: file.to_string(),
            line: Some(e.line),
            column: Some(e.column),
            message: format!("not a valid IANA registry XML: {}", e.message),
        })?;
        let people = parsed
            .people
            .into_iter()
            .map(|p| IanaPerson {
                id: p.id.into(),
                name: p.name.into(),
                org: p.org.into(),
                uri: p.uri.into(),
                updated: p.updated.into(),
            })
            .collect();
        (parsed.updated, parsed.records, people)
    } else {
        let rows = parse_csv(file, text)?;
        let updated = rows.iter().map(|r| r[7].as_str()).max().unwrap_or("").to_string();
        (updated, rows, Vec::new())
    };
    index(file, updated, rows, people)
}

/// IANA's CSV header.
const CSV_HEADER: [&str; 12] = [
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
];

/// Reads IANA's CSV into rows of twelve columns.
fn parse_csv(file: &str, text: &str) -> Result<Vec<iana_xml::XmlRecord>, FileError> {
    let at = |line: Option<u64>, message: String| FileError {
        file: file.to_string(),
        line: line.and_then(|l| usize::try_from(l).ok()),
        column: None,
        message,
    };
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let headers = rdr
        .headers()
        .map_err(|e| at(Some(1), format!("not a valid IANA registry CSV: {e}")))?
        .clone();
    if headers.iter().ne(CSV_HEADER.iter().copied()) {
        return Err(at(
            Some(1),
            format!(
                "not an IANA registry: the header must be the twelve columns of IANA's CSV ({})",
                CSV_HEADER.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line());
            at(line, format!("not a valid IANA registry CSV: {e}"))
        })?;
        let line = rec.position().map(|p| p.line());
        if rec.len() != 12 {
            return Err(at(line, format!("expected 12 fields, found {}", rec.len())));
        }
        let mut row: iana_xml::XmlRecord = Default::default();
        for (slot, field) in row.iter_mut().zip(rec.iter()) {
            *slot = field.to_string();
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(at(None, "the registry has no records".to_string()));
    }
    Ok(rows)
}

/// Builds the port index over `rows`, checking every port and protocol.
fn index(
    file: &str,
    updated: String,
    rows: Vec<iana_xml::XmlRecord>,
    mut people: Vec<IanaPerson>,
) -> Result<IanaFile, FileError> {
    let bad = |i: usize, message: String| FileError {
        file: file.to_string(),
        line: None,
        column: None,
        message: format!("record {}: {message}", i + 1),
    };
    let mut singles = Vec::new();
    let mut ranges = Vec::new();
    let mut records = Vec::with_capacity(rows.len());
    for (i, mut row) in rows.into_iter().enumerate() {
        let idx = u32::try_from(i).map_err(|_| bad(i, "too many records".to_string()))?;
        for field in &mut row {
            *field = iana_xml::single_line(field);
        }
        let [
            name,
            port,
            protocol,
            description,
            assignee,
            contact,
            reg,
            modified,
            reference,
            sc,
            unauth,
            notes,
        ] = row;
        if !port.is_empty() {
            let (lo, hi) = port.split_once('-').unwrap_or((&port, &port));
            let num = |p: &str| {
                p.trim()
                    .parse::<u16>()
                    .map_err(|_| bad(i, format!("invalid port {port:?} (expected N or N-M, 0-65535)")))
            };
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo > hi {
                return Err(bad(i, format!("empty port range {port:?}")));
            }
            let code = proto_code(&protocol);
            if code == 0 && !protocol.is_empty() {
                return Err(bad(i, format!("unknown transport protocol {protocol:?}")));
            }
            let assigned = !name.is_empty();
            if lo == hi {
                singles.push((lo, code, assigned, idx));
            } else {
                ranges.push((lo, hi, code, assigned, idx));
            }
        }
        records.push(IanaRecord {
            name: name.into(),
            port: port.into(),
            protocol: protocol.into(),
            description: description.into(),
            assignee: assignee.into(),
            contact: contact.into(),
            registration_date: reg.into(),
            modification_date: modified.into(),
            reference: reference.into(),
            service_code: sc.into(),
            unauthorized_use_reported: unauth.into(),
            assignment_notes: notes.into(),
        });
    }
    singles.sort_by_key(|e| (e.0, e.1, e.3));
    ranges.sort_by_key(|e| (!e.3, e.4));
    people.sort_by(|a, b| a.id.cmp(&b.id));
    people.dedup_by(|a, b| a.id == b.id);
    Ok(IanaFile {
        file: file.to_string(),
        updated,
        records,
        singles,
        ranges,
        people,
    })
}

impl IanaFile {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when the file has no records (never: parsing rejects such a file).
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Every record, in file order.
    pub fn records(&self) -> &[IanaRecord] {
        &self.records
    }

    /// Every `<people>` entry, sorted by handle (none for a CSV).
    pub fn people(&self) -> &[IanaPerson] {
        &self.people
    }
}
