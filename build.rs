//! Build script: indexes the embedded IANA registry CSV.
//!
//! The CSV in `registry/` is shipped unmodified and embedded with `include_str!`. Parsing
//! all 14,499 records at run time would cost milliseconds on every scan, so this script
//! records, for every record that has a port, its port range, transport protocol and byte
//! span in the file. At run time a lookup is a binary search plus parsing the few matching
//! records. The build fails if the CSV cannot be parsed.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

const CSV_PATH: &str = "registry/service-names-port-numbers.csv";

fn proto_code(p: &str) -> Option<u8> {
    match p {
        "" => Some(0),
        "tcp" => Some(1),
        "udp" => Some(2),
        "sctp" => Some(3),
        "dccp" => Some(4),
        _ => None,
    }
}

/// `(low port, high port, protocol code, byte start, byte end)` of one record.
type Entry = (u16, u16, u8, u32, u32);
/// Byte offset of a record, and its `(low port, high port, protocol code)` if it has a port.
type Start = (u64, Option<(u16, u16, u8)>);

fn main() {
    println!("cargo::rerun-if-changed={CSV_PATH}");
    println!("cargo::rerun-if-changed=build.rs");
    let data = fs::read(CSV_PATH).unwrap_or_else(|e| panic!("reading {CSV_PATH}: {e}"));
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(&data[..]);
    let mut starts: Vec<Start> = Vec::with_capacity(15_000);
    let mut record = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => panic!("{CSV_PATH}: {e}"),
        }
        let line = record.position().map_or(0, |p| p.line());
        assert!(
            record.len() == 12,
            "{CSV_PATH}:{line}: expected 12 fields, found {}",
            record.len()
        );
        let offset = record.position().map_or(0, |p| p.byte());
        let port = std::str::from_utf8(&record[1]).unwrap_or_else(|e| panic!("{CSV_PATH}:{line}: {e}"));
        let proto = std::str::from_utf8(&record[2]).unwrap_or_else(|e| panic!("{CSV_PATH}:{line}: {e}"));
        let key = if port.is_empty() {
            None
        } else {
            let (lo, hi) = match port.split_once('-') {
                Some((a, b)) => (a, b),
                None => (port, port),
            };
            let lo: u16 = lo
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{CSV_PATH}:{line}: port {port:?}: {e}"));
            let hi: u16 = hi
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{CSV_PATH}:{line}: port {port:?}: {e}"));
            assert!(lo <= hi, "{CSV_PATH}:{line}: empty port range {port:?}");
            let code = proto_code(proto).unwrap_or_else(|| panic!("{CSV_PATH}:{line}: unknown protocol {proto:?}"));
            Some((lo, hi, code))
        };
        starts.push((offset, key));
    }
    let end = data.len() as u64;
    let mut entries: Vec<Entry> = Vec::new();
    for (i, (start, key)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(end, |s| s.0);
        if let Some((lo, hi, code)) = key {
            entries.push((*lo, *hi, *code, *start as u32, next as u32));
        }
    }
    // Single-port records sorted by (port, protocol, file order) for a binary search;
    // ranges (about 800) kept apart, in file order, and scanned.
    let (mut singles, ranges): (Vec<_>, Vec<_>) = entries.into_iter().partition(|e| e.0 == e.1);
    singles.sort_by_key(|e| (e.0, e.2, e.3));
    let mut out = String::new();
    writeln!(out, "/// Number of data records in the embedded IANA CSV.").ok();
    writeln!(out, "pub(crate) const IANA_RECORDS: usize = {};", starts.len()).ok();
    writeln!(
        out,
        "/// `(port, protocol code, byte start, byte end)` of every single-port record, sorted by"
    )
    .ok();
    writeln!(
        out,
        "/// port, protocol code and file order. Protocol codes: 0 none, 1 tcp, 2 udp, 3 sctp, 4 dccp."
    )
    .ok();
    writeln!(out, "pub(crate) static IANA_SINGLES: &[(u16, u8, u32, u32)] = &[").ok();
    for e in &singles {
        writeln!(out, "({},{},{},{}),", e.0, e.2, e.3, e.4).ok();
    }
    writeln!(out, "];").ok();
    writeln!(
        out,
        "/// `(low port, high port, protocol code, byte start, byte end)` of every port-range record, in file order."
    )
    .ok();
    writeln!(out, "pub(crate) static IANA_RANGES: &[(u16, u16, u8, u32, u32)] = &[").ok();
    for e in &ranges {
        writeln!(out, "({},{},{},{},{}),", e.0, e.1, e.2, e.3, e.4).ok();
    }
    writeln!(out, "];").ok();
    let dest = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"))).join("iana_index.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}
