//! The registry checked against its sources: every ghost file parses, no (port, transport)
//! repeats, every service name agrees with the embedded IANA XML, every status is in the
//! vocabulary, and the embedded IANA index returns exactly what the XML says. The checks
//! of the build script's own tables are unit tests in `src/registry/tests.rs`.

use portghost::Registry;
use portghost::model::Protocol;
use portghost::registry::ghosts::{self, GhostStatus};
use std::collections::{BTreeSet, HashMap};

const XML: &str = include_str!("../registry/service-names-port-numbers.xml");

/// (port range, protocol, service name, description) of every IANA record with a port,
/// parsed from the XML at test time, independently of the embedded index; the description
/// on one line, as the registry loads it.
fn csv_records() -> Vec<(u16, u16, String, String, String)> {
    let parsed = portghost::registry::iana_xml::parse(XML).expect("IANA XML parses");
    let mut out = Vec::new();
    for rec in &parsed.records {
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
            portghost::registry::iana_xml::single_line(&rec[3]),
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

/// Every `registry/ghosts/*.toml` as `(registry/ghosts/NAME.toml, text)`, read from disk:
/// the build script embeds exactly these files.
fn ghost_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/ghosts");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("registry/ghosts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("readable");
            (format!("registry/ghosts/{name}"), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn iana_xml_has_all_records() {
    let parsed = portghost::registry::iana_xml::parse(XML).expect("IANA XML parses");
    assert_eq!(parsed.records.len(), 14_533);
    assert_eq!(Registry::iana_record_count(), 14_533);
    assert_eq!(parsed.updated, Registry::iana_snapshot());
}

#[test]
fn iana_lookup_agrees_with_the_csv_for_every_single_port_record() {
    let reg = Registry::builtin().expect("registry loads");
    let records = csv_records();
    let mut checked = 0;
    for (lo, hi, proto, name, desc) in &records {
        if lo != hi || !(proto == "tcp" || proto == "udp") {
            continue;
        }
        let found = reg.iana(*lo, proto.parse().expect("tcp or udp"));
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
    assert!(reg.iana(6010, Protocol::Tcp).iter().any(|r| r.name == "x11"));
    assert!(reg.iana(230, Protocol::Udp).iter().any(|r| r.description == "Reserved"));
    // Every column comes through.
    let iapp = reg.service(3517, Protocol::Tcp).expect("3517/tcp assigned");
    assert_eq!(iapp.name, "802-11-iapp");
    assert_eq!(iapp.assignee, "[Stuart_J_Kerry]");
    assert_eq!(iapp.registration_date, "2002-05");
    assert!(
        reg.service(3416, Protocol::Udp)
            .is_some_and(|r| r.name == "commandport")
    );
    assert!(reg.service(60123, Protocol::Udp).is_none());
}

#[test]
fn every_ghost_file_parses_and_matches_its_status() {
    let mut ports = BTreeSet::new();
    for (file, text) in &ghost_files() {
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
fn ghost_service_names_agree_with_the_iana_registry() {
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

/// The hand-written matcher `ghosts::glob_match` used before globset, kept here to show
/// that the globset one matches the same names.
fn old_glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let n: Vec<char> = name.to_lowercase().chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Names to try a pattern on: the pattern with every `*` replaced by a filler, in lower,
/// upper and mixed case, and near misses (a character more or less at either end).
fn sample_names(pattern: &str) -> Vec<String> {
    let mut names = Vec::new();
    for filler in ["", "x", "abc", "X-Y", "/", "é", "*", "?"] {
        let name = pattern.replace('*', filler);
        let mixed: String = name
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let mut chars = name.chars();
        chars.next_back();
        let shorter_end = chars.as_str().to_string();
        let mut chars = name.chars();
        chars.next();
        let shorter_start = chars.as_str().to_string();
        names.extend([
            name.to_lowercase(),
            name.to_uppercase(),
            mixed,
            format!("{name}2"),
            format!("x{name}"),
            shorter_end,
            shorter_start,
            name,
        ]);
    }
    names.push(String::new());
    names
}

#[test]
fn every_process_pattern_matches_what_the_old_matcher_matched() {
    let reg = Registry::builtin().expect("registry loads");
    let patterns: BTreeSet<String> = reg
        .ghosts()
        .iter()
        .flat_map(|g| g.unofficial.iter())
        .flat_map(|u| u.processes.iter().cloned())
        .collect();
    assert!(patterns.len() > 20, "{patterns:?}");
    // And patterns the files do not use yet: globset's own wildcards must stay literal.
    let extra = ["", "*", "**", "a**b", "a?c", "[ab]", "{a,b}", "a\\b", "*d*", "X*y*Z"].map(String::from);
    let mut checked = 0;
    let mut matched = 0;
    for pattern in patterns.iter().chain(&extra) {
        for name in sample_names(pattern) {
            let old = old_glob_match(pattern, &name);
            assert_eq!(
                ghosts::glob_match(pattern, &name),
                old,
                "pattern {pattern:?}, name {name:?}"
            );
            checked += 1;
            matched += usize::from(old);
        }
    }
    assert!(
        checked > 1_000 && matched > 100 && matched < checked,
        "{matched} of {checked}"
    );
}
