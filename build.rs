//! Build script: indexes the embedded IANA registry CSV and converts the ghost registry to
//! JSON for a fast startup.
//!
//! The CSV in `registry/` is shipped unmodified and embedded with `include_str!`. Parsing
//! all 14,499 records at run time would cost milliseconds on every scan, so this script
//! records the byte span of every record and, for those with a port, the port range,
//! transport protocol and whether it names a service. At run time a lookup is a binary
//! search plus parsing the one record wanted, once per process. The build fails if the CSV
//! cannot be parsed.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

const CSV_PATH: &str = "registry/service-names-port-numbers.csv";
const GHOSTS_DIR: &str = "registry/ghosts";

/// Converts every `registry/ghosts/*.toml` to JSON in `OUT_DIR`, which parses several times
/// faster at startup. The TOML stays the source of truth: the build fails, naming the file,
/// if one does not parse; its schema is checked by the test suite.
fn ghosts_to_json(out_dir: &std::path::Path) {
    println!("cargo::rerun-if-changed={GHOSTS_DIR}");
    let mut names: Vec<PathBuf> = fs::read_dir(GHOSTS_DIR)
        .unwrap_or_else(|e| panic!("reading {GHOSTS_DIR}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    for path in names {
        println!("cargo::rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let value: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = serde_json::to_string(&value).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = out_dir.join(format!("ghosts-{stem}.json"));
        fs::write(&dest, json).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
    }
}

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

/// Byte offset of a record, and its `(low port, high port, protocol code, has a name)` if
/// it has a port.
type Start = (u64, Option<(u16, u16, u8, bool)>);

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
        let assigned = !record[0].is_empty();
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
            Some((lo, hi, code, assigned))
        };
        starts.push((offset, key));
    }
    let end = data.len() as u64;
    // Every record's byte span, by record number; and the port index over those numbers.
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(starts.len());
    let mut singles: Vec<(u16, u8, bool, u16)> = Vec::new();
    let mut ranges: Vec<(u16, u16, u8, bool, u16)> = Vec::new();
    for (i, (start, key)) in starts.iter().enumerate() {
        let next = starts.get(i + 1).map_or(end, |s| s.0);
        spans.push((*start as u32, next as u32));
        let idx = u16::try_from(i).unwrap_or_else(|_| panic!("{CSV_PATH}: more than 65535 records"));
        if let Some((lo, hi, code, assigned)) = key {
            if lo == hi {
                singles.push((*lo, *code, *assigned, idx));
            } else {
                ranges.push((*lo, *hi, *code, *assigned, idx));
            }
        }
    }
    // Singles sorted by (port, protocol, file order) for a binary search; ranges (about 800)
    // kept in file order and scanned.
    singles.sort_by_key(|e| (e.0, e.1, e.3));
    // Named ranges first (file order among them), so a search for a service stops early.
    ranges.sort_by_key(|e| (!e.3, e.4));
    let mut out = String::new();
    writeln!(
        out,
        "/// Byte span `(start, end)` in the CSV of every data record, by record number."
    )
    .ok();
    writeln!(out, "pub(crate) static IANA_SPANS: &[(u32, u32)] = &[").ok();
    for (a, b) in &spans {
        writeln!(out, "({a},{b}),").ok();
    }
    writeln!(out, "];").ok();
    writeln!(
        out,
        "/// `(port, protocol code, has a service name, record number)` of every single-port record,"
    )
    .ok();
    writeln!(
        out,
        "/// sorted by port, protocol code and file order. Protocol codes: 0 none, 1 tcp, 2 udp, 3 sctp, 4 dccp."
    )
    .ok();
    writeln!(out, "pub(crate) static IANA_SINGLES: &[(u16, u8, bool, u16)] = &[").ok();
    for e in &singles {
        writeln!(out, "({},{},{},{}),", e.0, e.1, e.2, e.3).ok();
    }
    writeln!(out, "];").ok();
    writeln!(
        out,
        "/// `(low port, high port, protocol code, has a service name, record number)` of every"
    )
    .ok();
    writeln!(
        out,
        "/// port-range record: those with a service name first, each group in file order."
    )
    .ok();
    writeln!(out, "pub(crate) static IANA_RANGES: &[(u16, u16, u8, bool, u16)] = &[").ok();
    for e in &ranges {
        writeln!(out, "({},{},{},{},{}),", e.0, e.1, e.2, e.3, e.4).ok();
    }
    writeln!(out, "];").ok();
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}")));
    ghosts_to_json(&out_dir);
    let dest = out_dir.join("iana_index.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}
