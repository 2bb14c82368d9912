//! Build script: parses and indexes the embedded IANA registry XML, and checks and indexes
//! the ghost registry, for a fast startup.
//!
//! IANA's `service-names-port-numbers.xml` is shipped unmodified in `registry/`. Parsing
//! its 3.9 MB at run time would cost many milliseconds on every scan, so this script parses
//! it once with the same parser the run time uses for `--iana FILE`
//! (`src/registry/iana_xml.rs`, included here by path), and writes every record's twelve
//! CSV columns into one text, separated by U+001F, with the byte span of every record, a
//! port index (port range, transport protocol, whether it names a service), the `<people>`
//! table and the `<updated>` date. At run time a lookup is a binary search plus splitting the
//! one record wanted, once per process. The build fails, naming line and column, if the XML
//! cannot be parsed.
//!
//! The ghost files are found here, and only here: every `registry/ghosts/*.toml` is read
//! through the typed structs below, and the list of files, their JSON form and an index of
//! their entries are written to `OUT_DIR` for `src/registry/ghosts.rs` to `include!`. The
//! build fails, naming the file and the entry, if an entry does not fit the format.
//! `registry/portless.toml` is checked the same way (typed, every key known), and embedded
//! as it is by `src/registry/portless.rs`. This
//! script must not decide anything the run time decides (verdicts, the order of statuses).

use serde::Deserialize;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const XML_PATH: &str = "registry/service-names-port-numbers.xml";

#[path = "src/registry/iana_xml.rs"]
#[allow(dead_code, reason = "the build script uses only part of the shared parser")]
mod iana_xml;
const GHOSTS_DIR: &str = "registry/ghosts";

/// One `registry/ghosts/*.toml` file. Entries are kept as tables and read one by one into
/// [`GhostEntry`], so that an error names the entry it is in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GhostFile {
    #[serde(default)]
    ghost: Vec<toml::Table>,
}

/// One `[[ghost]]` entry, with every key `registry/README.md` allows: an unknown key or a
/// wrong type fails the build. A new key is one more field here (and in
/// `src/model/entry.rs`, which reads the same entry at run time).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields the index does not need are read to check their type")]
struct GhostEntry {
    port: u16,
    transports: Vec<Transport>,
    service: Option<String>,
    #[serde(default)]
    unassigned: bool,
    formerly: Option<String>,
    status: String,
    registrant: String,
    summary: String,
    fate: String,
    registered: Option<String>,
    evidence: String,
    sources: Vec<String>,
    confidence: Confidence,
    contradicted: Option<String>,
    belongs: Option<String>,
    #[serde(default)]
    unofficial: Vec<UnofficialUse>,
}

/// One `[[ghost.unofficial]]` table. A new key is one more field here.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "fields the index does not need are read to check their type")]
struct UnofficialUse {
    name: String,
    transports: Vec<Transport>,
    ports: Ports,
    kind: Option<UseKind>,
    #[serde(default)]
    processes: Vec<String>,
    #[serde(default)]
    executables: Vec<String>,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Confidence {
    Confirmed,
    Reported,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Transport {
    Tcp,
    Udp,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum UseKind {
    Software,
    Malware,
}

/// `ports = "3317"` or `"3230-3237"`: an inclusive range, first <= last.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct Ports {
    first: u16,
    last: u16,
}

impl TryFrom<String> for Ports {
    type Error = String;

    fn try_from(s: String) -> Result<Ports, String> {
        let (a, b) = s.split_once('-').unwrap_or((&s, &s));
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("invalid port {p:?} in {s:?} (expected a number 0-65535)"))
        };
        let (first, last) = (port(a)?, port(b)?);
        if first > last {
            return Err(format!("invalid port range {s:?}: {first} is above {last}"));
        }
        Ok(Ports { first, last })
    }
}

/// A transports list as a mask: 1 for tcp, 2 for udp.
fn transports_mask(transports: &[Transport]) -> u8 {
    transports.iter().fold(0, |mask, t| {
        mask | match t {
            Transport::Tcp => 1,
            Transport::Udp => 2,
        }
    })
}

/// Reads one entry of `file` (whose entries all have status `status`) into the typed form.
fn read_entry(file: &str, status: &str, n: usize, table: &toml::Table) -> GhostEntry {
    let name = match table.get("port").and_then(toml::Value::as_integer) {
        Some(port) => format!("entry for port {port}"),
        None => format!("entry {} (no port)", n + 1),
    };
    let entry = GhostEntry::deserialize(toml::Value::Table(table.clone()))
        .unwrap_or_else(|e| panic!("{file}: {name}: {}", e.message()));
    assert!(
        entry.status == status,
        "{file}: {name}: status {:?} must equal the file's name, {status:?}",
        entry.status
    );
    entry
}

/// Finds every `registry/ghosts/*.toml`, checks it, converts it to JSON in `out_dir`
/// (which parses several times faster at startup) and writes three tables for
/// `src/registry/ghosts.rs`, each in file-name order:
///
/// - `ghost_files.rs`: `(path, TOML text)` of every file, as `include_str!`s;
/// - `ghost_json.rs`: `(path, JSON text)` of every file, as `include_str!`s;
/// - `ghost_entries.rs`: one tuple per entry, in file order: `(path, port, transports mask,
///   unofficial uses as (first port, last port, transports mask), the entry as JSON)`.
fn ghosts(out_dir: &Path) {
    println!("cargo::rerun-if-changed={GHOSTS_DIR}");
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|e| panic!("CARGO_MANIFEST_DIR: {e}")));
    let mut paths: Vec<PathBuf> = fs::read_dir(GHOSTS_DIR)
        .unwrap_or_else(|e| panic!("reading {GHOSTS_DIR}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let header = "// Generated by build.rs from registry/ghosts/*.toml.\n";
    let mut files = format!("{header}&[\n");
    let mut json_files = format!("{header}&[\n");
    let mut index = format!("{header}&[\n");
    for path in paths {
        println!("cargo::rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = format!("{GHOSTS_DIR}/{stem}.toml");
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed: GhostFile = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let value: toml::Value = toml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let json = serde_json::to_string(&value).unwrap_or_else(|e| panic!("{file}: {e}"));
        let dest = out_dir.join(format!("ghosts-{stem}.json"));
        fs::write(&dest, json).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
        writeln!(
            files,
            "({file:?}, include_str!({:?})),",
            root.join(&file).display().to_string()
        )
        .ok();
        writeln!(
            json_files,
            "({file:?}, include_str!({:?})),",
            dest.display().to_string()
        )
        .ok();
        for (n, table) in parsed.ghost.iter().enumerate() {
            let entry = read_entry(&file, &stem, n, table);
            let uses: Vec<String> = entry
                .unofficial
                .iter()
                .map(|u| {
                    format!(
                        "({}, {}, {})",
                        u.ports.first,
                        u.ports.last,
                        transports_mask(&u.transports)
                    )
                })
                .collect();
            // The entry exactly as written, for the run time to parse when it is first needed.
            let json = serde_json::to_string(table).unwrap_or_else(|e| panic!("{file}: {e}"));
            writeln!(
                index,
                "({file:?}, {}, {}, &[{}], {json:?}),",
                entry.port,
                transports_mask(&entry.transports),
                uses.join(", ")
            )
            .ok();
        }
    }
    for (table, name) in [
        (files, "ghost_files.rs"),
        (json_files, "ghost_json.rs"),
        (index, "ghost_entries.rs"),
    ] {
        let dest = out_dir.join(name);
        fs::write(&dest, table + "]\n").unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
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

/// Writes `iana_records.txt` (every record's twelve columns, each ended by the unit
/// separator U+001F, records one after the other) and `iana_index.rs` (the snapshot date,
/// each record's byte span in that text, the port index and the people table) to `out_dir`.
fn iana(out_dir: &Path) {
    println!("cargo::rerun-if-changed={XML_PATH}");
    println!("cargo::rerun-if-changed=src/registry/iana_xml.rs");
    let text = fs::read_to_string(XML_PATH).unwrap_or_else(|e| panic!("reading {XML_PATH}: {e}"));
    let parsed = iana_xml::parse(&text).unwrap_or_else(|e| panic!("{XML_PATH}:{}:{}: {}", e.line, e.column, e.message));
    let mut blob = String::with_capacity(text.len() / 3);
    let mut spans: Vec<(u32, u32)> = Vec::with_capacity(parsed.records.len());
    let mut singles: Vec<(u16, u8, bool, u32)> = Vec::new();
    let mut ranges: Vec<(u16, u16, u8, bool, u32)> = Vec::new();
    for (i, rec) in parsed.records.iter().enumerate() {
        let start = blob.len() as u32;
        for f in rec {
            assert!(!f.contains('\u{1f}'), "{XML_PATH}: record {} holds U+001F", i + 1);
            blob.push_str(&iana_xml::single_line(f));
            blob.push('\u{1f}');
        }
        spans.push((start, blob.len() as u32));
        let idx = u32::try_from(i).unwrap_or_else(|_| panic!("{XML_PATH}: too many records"));
        let (port, proto, assigned) = (&rec[1], &rec[2], !rec[0].is_empty());
        if port.is_empty() {
            continue;
        }
        let (lo, hi) = port.split_once('-').unwrap_or((port, port));
        let lo: u16 = lo
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{XML_PATH}: record {}: port {port:?}: {e}", i + 1));
        let hi: u16 = hi
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("{XML_PATH}: record {}: port {port:?}: {e}", i + 1));
        assert!(lo <= hi, "{XML_PATH}: record {}: empty port range {port:?}", i + 1);
        let code =
            proto_code(proto).unwrap_or_else(|| panic!("{XML_PATH}: record {}: unknown protocol {proto:?}", i + 1));
        if lo == hi {
            singles.push((lo, code, assigned, idx));
        } else {
            ranges.push((lo, hi, code, assigned, idx));
        }
    }
    // Singles sorted by (port, protocol, file order) for a binary search; ranges (about 800)
    // with named ones first, each group in file order, so a search for a service stops early.
    singles.sort_by_key(|e| (e.0, e.1, e.3));
    ranges.sort_by_key(|e| (!e.3, e.4));
    println!("cargo::rustc-env=PORTGHOST_IANA_UPDATED={}", parsed.updated);
    let mut people = parsed.people.clone();
    people.sort_by(|a, b| a.id.cmp(&b.id));
    people.dedup_by(|a, b| a.id == b.id);
    let mut out = String::new();
    writeln!(out, "/// The registry's `<updated>` date.").ok();
    writeln!(out, "pub(crate) const IANA_UPDATED: &str = {:?};", parsed.updated).ok();
    writeln!(
        out,
        "/// Byte span `(start, end)` of every record in `iana_records.txt`, by record number."
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
    writeln!(out, "pub(crate) static IANA_SINGLES: &[(u16, u8, bool, u32)] = &[").ok();
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
    writeln!(out, "pub(crate) static IANA_RANGES: &[(u16, u16, u8, bool, u32)] = &[").ok();
    for e in &ranges {
        writeln!(out, "({},{},{},{},{}),", e.0, e.1, e.2, e.3, e.4).ok();
    }
    writeln!(out, "];").ok();
    writeln!(
        out,
        "/// `(handle, name, organisation, uri, updated)` of every `<person>`, sorted by handle."
    )
    .ok();
    writeln!(
        out,
        "pub(crate) static IANA_PEOPLE: &[(&str, &str, &str, &str, &str)] = &["
    )
    .ok();
    for p in &people {
        writeln!(
            out,
            "({:?},{:?},{:?},{:?},{:?}),",
            p.id, p.name, p.org, p.uri, p.updated
        )
        .ok();
    }
    writeln!(out, "];").ok();
    let dest = out_dir.join("iana_records.txt");
    fs::write(&dest, blob).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
    let dest = out_dir.join("iana_index.rs");
    fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}")));
    iana(&out_dir);
    ghosts(&out_dir);
    portless();
}

const PORTLESS_PATH: &str = "registry/portless.toml";

/// `registry/portless.toml`: programs known to need packet or raw sockets, and the
/// references behind the judgement of the others. Read through these structs so that an
/// unknown key or a wrong type fails the build; `src/registry/portless.rs` embeds the file
/// and reads it with the same shape (`PortlessProgram` in `src/model/portless.rs`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortlessFile {
    program: Vec<PortlessProgramEntry>,
    #[serde(default)]
    reference: Vec<PortlessReference>,
}

/// One `[[program]]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PortlessProgramEntry {
    name: String,
    executables: Vec<String>,
    packages: Vec<String>,
    sockets: Vec<String>,
    why: String,
    sources: Vec<String>,
}

/// One `[[reference]]`: the published analyses the judgement rests on.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read to check the shape; the text is for people")]
struct PortlessReference {
    topic: String,
    detail: String,
    sources: Vec<String>,
}

/// Checks `registry/portless.toml`: every key known, every executable absolute, every
/// socket `packet` or `raw`, sources and packages given, no name twice.
fn portless() {
    println!("cargo::rerun-if-changed={PORTLESS_PATH}");
    let text = fs::read_to_string(PORTLESS_PATH).unwrap_or_else(|e| panic!("{PORTLESS_PATH}: {e}"));
    let file: PortlessFile = toml::from_str(&text).unwrap_or_else(|e| panic!("{PORTLESS_PATH}: {e}"));
    let mut names: Vec<&str> = Vec::new();
    for p in &file.program {
        let at = format!("{PORTLESS_PATH}: program {:?}", p.name);
        assert!(
            !p.name.is_empty() && !names.contains(&p.name.as_str()),
            "{at}: empty or repeated name"
        );
        names.push(&p.name);
        assert!(!p.executables.is_empty(), "{at}: no executables");
        for e in &p.executables {
            assert!(e.starts_with('/'), "{at}: executable {e:?} is not an absolute path");
        }
        assert!(!p.packages.is_empty(), "{at}: no packages");
        assert!(!p.sockets.is_empty(), "{at}: no sockets");
        for s in &p.sockets {
            assert!(
                s == "packet" || s == "raw",
                "{at}: socket {s:?} is not \"packet\" or \"raw\""
            );
        }
        assert!(
            !p.why.is_empty() && !p.sources.is_empty(),
            "{at}: `why` and `sources` are required"
        );
    }
    for r in &file.reference {
        assert!(
            !r.sources.is_empty(),
            "{PORTLESS_PATH}: reference {:?} has no sources",
            r.topic
        );
    }
}
