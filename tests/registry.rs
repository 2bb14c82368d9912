//! The registry checked against its sources: every ghost file parses, no (port, transport)
//! repeats, every service name agrees with the IANA CSV, every status is in the
//! vocabulary, and the embedded IANA index returns exactly what the CSV says.

use portghost::model::Protocol;
use portghost::registry::Registry;
use portghost::registry::ghosts::{self, GhostStatus};
use portghost::registry::iana;
use std::collections::{BTreeSet, HashMap};

const CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/service-names-port-numbers.csv");

/// (port range, protocol, service name, description) of every CSV record with a port,
/// read with a real CSV parser, independently of the embedded index.
fn csv_records() -> Vec<(u16, u16, String, String, String)> {
    let mut rdr = csv::Reader::from_path(CSV).expect("IANA CSV readable");
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("IANA CSV record parses");
        let port = &rec[1];
        if port.is_empty() {
            continue;
        }
        let (lo, hi) = port.split_once('-').unwrap_or((port, port));
        out.push((
            lo.parse().expect("port"),
            hi.parse().expect("port"),
            rec[2].to_string(),
            rec[0].to_string(),
            rec[3].to_string(),
        ));
    }
    out
}

fn csv_names(records: &[(u16, u16, String, String, String)], port: u16, proto: &str) -> BTreeSet<String> {
    records
        .iter()
        .filter(|r| r.0 <= port && port <= r.1 && (r.2 == proto || r.2.is_empty()) && !r.3.is_empty())
        .map(|r| r.3.clone())
        .collect()
}

#[test]
fn iana_csv_has_all_records() {
    let mut rdr = csv::Reader::from_path(CSV).expect("readable");
    let headers = rdr.headers().expect("header").clone();
    assert_eq!(headers.len(), 12);
    assert_eq!(&headers[0], "Service Name");
    assert_eq!(&headers[11], "Assignment Notes");
    assert_eq!(rdr.records().count(), 14_499);
    assert_eq!(iana::record_count(), 14_499);
}

#[test]
fn iana_lookup_agrees_with_the_csv_for_every_single_port_record() {
    let records = csv_records();
    let mut checked = 0;
    for (lo, hi, proto, name, desc) in &records {
        if lo != hi || !(proto == "tcp" || proto == "udp") {
            continue;
        }
        let found = iana::lookup(*lo, proto);
        assert!(
            found
                .iter()
                .any(|r| &r.name == name && &r.description == desc && &r.protocol == proto),
            "{lo}/{proto} {name:?} missing from lookup: {found:?}"
        );
        checked += 1;
    }
    assert!(checked > 12_000, "only {checked} records checked");
    // Ranges and protocol-less ranges are found too.
    assert!(iana::lookup(6010, "tcp").iter().any(|r| r.name == "x11"));
    assert!(iana::lookup(230, "udp").iter().any(|r| r.description == "Reserved"));
    // Every column comes through.
    let iapp = iana::service(3517, "tcp").expect("3517/tcp assigned");
    assert_eq!(iapp.name, "802-11-iapp");
    assert_eq!(iapp.assignee, "[Stuart_J_Kerry]");
    assert_eq!(iapp.registration_date, "2002-05");
    assert!(iana::service(3416, "udp").is_some_and(|r| r.name == "commandport"));
    assert!(iana::service(60123, "udp").is_none());
}

#[test]
fn every_ghost_file_parses_and_matches_its_status() {
    let mut ports = BTreeSet::new();
    for (file, text) in ghosts::BUILTIN_FILES {
        let entries = ghosts::parse_file(file, text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!entries.is_empty(), "{file} is empty");
        let stem = file
            .rsplit('/')
            .next()
            .and_then(|n| n.strip_suffix(".toml"))
            .expect("name");
        for g in &entries {
            assert_eq!(
                g.status.as_str(),
                stem,
                "{file}: port {} has status {}",
                g.port,
                g.status
            );
            assert!(
                g.summary.ends_with('.'),
                "{file}: port {}: summary is one sentence",
                g.port
            );
            assert!(!g.fate.ends_with('.'), "{file}: port {}: fate is a clause", g.port);
            ports.insert(g.port);
        }
    }
    assert_eq!(ports.len(), 286, "the ghost registry covers 286 ports");
}

#[test]
fn ghost_files_are_exactly_the_status_vocabulary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/ghosts");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("registry/ghosts")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let embedded: BTreeSet<String> = ghosts::BUILTIN_FILES
        .iter()
        .map(|(f, _)| f.rsplit('/').next().expect("name").to_string())
        .collect();
    let vocabulary: BTreeSet<String> = GhostStatus::ALL.iter().map(|s| format!("{s}.toml")).collect();
    assert_eq!(on_disk, embedded, "every file in registry/ghosts is embedded");
    assert_eq!(embedded, vocabulary, "one file per status");
}

#[test]
fn no_duplicate_port_and_transport() {
    let reg = Registry::builtin().expect("registry loads");
    let mut seen: HashMap<(u16, Protocol), usize> = HashMap::new();
    for g in reg.ghosts() {
        for t in &g.transports {
            *seen.entry((g.port, *t)).or_default() += 1;
        }
    }
    let dups: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dups.is_empty(), "{dups:?}");
}

#[test]
fn duplicate_entries_are_rejected_with_file_and_line() {
    let entry = "[[ghost]]\nport = 9\ntransports = [\"tcp\"]\nservice = \"discard\"\nstatus = \"historic-protocol\"\n\
                 registrant = \"x\"\nsummary = \"s.\"\nfate = \"f\"\nevidence = \"e\"\nsources = [\"https://example.org\"]\nconfidence = \"reported\"\n";
    let text = format!("{entry}\n{entry}");
    let err = Registry::from_ghost_files(&[("x.toml", &text)]).expect_err("duplicate rejected");
    assert_eq!(err.to_string(), "x.toml:14:1: duplicate ghost entry for 9/tcp");
}

#[test]
fn malformed_ghost_files_name_file_line_and_column() {
    let bad_status = "[[ghost]]\nport = 9\ntransports = [\"tcp\"]\nservice = \"discard\"\nstatus = \"haunted\"\n";
    let err = ghosts::parse_file("bad.toml", bad_status).expect_err("bad status");
    let msg = err.to_string();
    assert!(msg.starts_with("bad.toml:5:10: "), "{msg}");
    assert!(msg.contains("haunted"), "{msg}");

    let unknown = "[[ghost]]\nport = 9\ncolour = \"red\"\n";
    let msg = ghosts::parse_file("u.toml", unknown)
        .expect_err("unknown key")
        .to_string();
    assert!(msg.starts_with("u.toml:3:1: "), "{msg}");
    assert!(msg.contains("colour"), "{msg}");
}

#[test]
fn ghost_service_names_agree_with_the_iana_csv() {
    let records = csv_records();
    let reg = Registry::builtin().expect("registry loads");
    let mut problems = Vec::new();
    for g in reg.ghosts() {
        for t in &g.transports {
            let names = csv_names(&records, g.port, t.as_str());
            match &g.service {
                Some(s) if !names.contains(s) => problems.push(format!("{}/{t}: {s:?} not in IANA {names:?}", g.port)),
                None if !names.is_empty() => {
                    problems.push(format!("{}/{t}: says unassigned, IANA has {names:?}", g.port))
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn unofficial_uses_are_well_formed() {
    let reg = Registry::builtin().expect("registry loads");
    for g in reg.ghosts() {
        if g.status == GhostStatus::CommonSquatter {
            assert!(
                !g.unofficial.is_empty(),
                "{}: a squatter entry names its usual occupant",
                g.port
            );
        }
        for u in &g.unofficial {
            assert!(!u.transports.is_empty(), "{}: {}", g.port, u.name);
            if u.kind == ghosts::UseKind::Malware {
                assert!(
                    u.processes.is_empty(),
                    "{}: malware never vouches for a process",
                    g.port
                );
            }
        }
    }
    let viavideo = reg.unofficial_uses(3233, Protocol::Udp);
    assert!(
        viavideo
            .iter()
            .any(|(g, u)| g.port == 3237 && u.name.contains("ViaVideo")),
        "{viavideo:?}"
    );
    assert!(
        reg.unofficial_uses(3233, Protocol::Tcp)
            .iter()
            .all(|(_, u)| !u.name.contains("ViaVideo"))
    );
}

#[test]
fn glob_patterns() {
    assert!(ghosts::glob_match("repctl", "repctl"));
    assert!(ghosts::glob_match("vmware-authd*", "vmware-authdlau"));
    assert!(ghosts::glob_match("*ircd", "unrealircd"));
    assert!(ghosts::glob_match("REPCTL", "repctl"));
    assert!(!ghosts::glob_match("repctl", "repctl2"));
    assert!(!ghosts::glob_match("a*b", "acd"));
}

#[test]
fn embedded_json_form_equals_the_toml_files() {
    let from_toml = Registry::from_ghost_files(ghosts::BUILTIN_FILES).expect("TOML parses");
    let from_json = Registry::from_ghost_json(ghosts::BUILTIN_JSON).expect("JSON parses");
    assert_eq!(from_toml.ghosts(), from_json.ghosts());
    assert_eq!(Registry::builtin().expect("builtin").ghosts(), from_toml.ghosts());
}

#[test]
fn lazily_parsed_builtin_answers_every_lookup_like_the_toml_files() {
    let from_toml = Registry::from_ghost_files(ghosts::BUILTIN_FILES).expect("TOML parses");
    // A fresh lazy registry, so no entry was parsed before these lookups.
    let lazy = Registry::from_builtin_entries(ghosts::BUILTIN_ENTRIES).expect("index loads");
    assert_eq!(ghosts::BUILTIN_ENTRIES.len(), from_toml.ghosts().len());
    let mut hits = 0;
    let mut uses = 0;
    for port in 0..=u16::MAX {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let expected = from_toml.ghost(port, protocol);
            assert_eq!(lazy.ghost(port, protocol), expected, "{port}/{protocol}");
            hits += usize::from(expected.is_some());
            let want: Vec<_> = from_toml.unofficial_uses(port, protocol);
            assert_eq!(lazy.unofficial_uses(port, protocol), want, "{port}/{protocol}");
            uses += want.len();
        }
    }
    let pairs: usize = from_toml.ghosts().iter().map(|g| g.transports.len()).sum();
    assert_eq!(hits, pairs, "every (port, transport) pair of every entry is found");
    assert!(hits > 286, "286 ports, most on both transports");
    assert!(uses > 0);
}

#[test]
fn every_field_of_every_record_matches_the_csv_crate() {
    let mut rdr = csv::Reader::from_path(CSV).expect("readable");
    let mut pos = 0;
    let text = iana::IANA_CSV;
    // Walk the embedded text record by record with the csv crate's positions, and split
    // each record with portghost's own splitter.
    let mut records = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("record");
        records.push((rec.position().expect("position").byte() as usize, rec));
    }
    let mut checked = 0;
    for (i, (start, rec)) in records.iter().enumerate() {
        let end = records.get(i + 1).map_or(text.len(), |r| r.0);
        assert!(*start >= pos);
        pos = *start;
        let fields = iana::split_record(&text[*start..end]);
        let expected: Vec<&str> = rec.iter().collect();
        let got: Vec<&str> = fields.iter().map(|f| &**f).collect();
        assert_eq!(got, expected, "record {i} at byte {start}");
        checked += 1;
    }
    assert_eq!(checked, 14_499);
}
