//! The embedded IANA registry, IANA's XML of 2026-08-17, checked against IANA's CSV of
//! 2026-02-13 (kept in `tests/fixtures/iana/` as the reference): every record not modified
//! since is equal field by field; the records added or modified since (listed in
//! `../shared/data/iana/README.md`) are there with their new values; `<people>` handles
//! resolve; the run-time parser of `--iana FILE` gives what the build-time index gives.

use portghost::Registry;
use portghost::model::Protocol;
use portghost::registry::{iana, iana_xml};
use std::collections::HashMap;

const XML: &str = include_str!("../registry/service-names-port-numbers.xml");
const CSV: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/iana/service-names-port-numbers-2026-02-13.csv"
);
const FIELDS: [&str; 12] = [
    "name",
    "port",
    "protocol",
    "description",
    "assignee",
    "contact",
    "registration date",
    "modification date",
    "reference",
    "service code",
    "unauthorized use",
    "assignment notes",
];

fn csv_rows() -> Vec<[String; 12]> {
    let mut rdr = csv::Reader::from_path(CSV).expect("the 2026-02-13 CSV is in tests/fixtures/iana");
    rdr.records()
        .map(|r| {
            let r = r.expect("CSV record");
            std::array::from_fn(|i| r[i].to_string())
        })
        .collect()
}

fn xml() -> iana_xml::XmlRegistry {
    iana_xml::parse(XML).expect("the embedded XML parses")
}

/// Records IANA changed without moving their modification date past 2026-02-13 (drafts
/// published as RFCs, one description recapitalised), with the new value of each field.
const CHANGED_WITHOUT_NEW_DATE: &[(&str, &str, &str, usize, &str)] = &[
    ("pkix-cmc", "5318", "tcp", 8, "[RFC10003]"),
    ("netconf-tls", "6513", "tcp", 8, "[RFC7589][RFC9918]"),
    ("udpstp", "24601", "udp", 8, "[RFC9946]"),
    (
        "udpstp",
        "24601",
        "udp",
        3,
        "UDP-based IP-Layer Capacity and Performance Measurement protocol",
    ),
];

#[test]
fn xml_equals_the_2026_02_13_csv_field_by_field_for_every_record_not_modified_since() {
    let rows = csv_rows();
    assert_eq!(rows.len(), 14_499);
    let mut by_key: HashMap<(&str, &str, &str), Vec<&[String; 12]>> = HashMap::new();
    for r in &rows {
        by_key.entry((&r[0], &r[1], &r[2])).or_default().push(r);
    }
    let parsed = xml();
    assert_eq!(parsed.updated, "2026-08-17");
    assert_eq!(parsed.records.len(), 14_533);
    let mut compared = 0;
    let mut problems = Vec::new();
    for rec in &parsed.records {
        if rec[7].as_str() > "2026-02-13" {
            continue;
        }
        let Some(candidates) = by_key.get(&(rec[0].as_str(), rec[1].as_str(), rec[2].as_str())) else {
            continue;
        };
        compared += 1;
        let mut expected: [String; 12] = (*candidates[0]).clone();
        for &(n, p, t, field, value) in CHANGED_WITHOUT_NEW_DATE {
            if (n, p, t) == (rec[0].as_str(), rec[1].as_str(), rec[2].as_str()) {
                expected[field] = value.to_string();
            }
        }
        if candidates.iter().any(|c| **c == *rec) || expected == *rec {
            continue;
        }
        for i in 0..12 {
            if rec[i] != expected[i] {
                problems.push(format!(
                    "{}/{}/{}: {}: XML {:?}, CSV {:?}",
                    rec[0], rec[1], rec[2], FIELDS[i], rec[i], expected[i]
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(compared > 14_400, "only {compared} records compared");
    // Every CSV record is in the XML, unless it is an unassigned or reserved range that a
    // new assignment split, or its record was modified since.
    let xml_keys: std::collections::HashSet<(&str, &str, &str)> = parsed
        .records
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str()))
        .collect();
    for r in &rows {
        if !xml_keys.contains(&(r[0].as_str(), r[1].as_str(), r[2].as_str())) {
            assert!(
                r[0].is_empty() && (r[3] == "Unassigned" || r[3] == "Reserved"),
                "CSV record {r:?} is missing from the XML"
            );
        }
    }
}

#[test]
fn records_added_or_modified_since_the_csv_are_present_with_their_new_values() {
    let reg = Registry::builtin().expect("registry");
    let named = |port: u16, t: Protocol| reg.service(port, t).map(|r| r.name.to_string());
    for (port, t, name) in [
        (4480, Protocol::Tcp, "agtp"),
        (4480, Protocol::Udp, "agtp-quic"),
        (4794, Protocol::Udp, "veroce"),
        (5319, Protocol::Tcp, "roughtime"),
        (5319, Protocol::Udp, "roughtime"),
        (6610, Protocol::Tcp, "bencher"),
        (6610, Protocol::Udp, "bencher"),
        (7123, Protocol::Udp, "snif"),
        (9183, Protocol::Tcp, "sirius-agent"),
        (9183, Protocol::Udp, "sirius-agent"),
        (30939, Protocol::Tcp, "dilithium3"),
        (34965, Protocol::Tcp, "profinet-cm-sec"),
        (34965, Protocol::Udp, "profinet-cm-sec"),
        (34966, Protocol::Udp, "profinet-rt-sec"),
    ] {
        assert_eq!(named(port, t).as_deref(), Some(name), "{port}/{t}");
    }
    assert!(reg.service(4794, Protocol::Tcp).is_none(), "4794/tcp is reserved");
    let roughtime = reg.service(5319, Protocol::Udp).expect("roughtime");
    assert_eq!(roughtime.registration_date, "2026-03-27");
    assert_eq!(roughtime.assignee, "[IESG]");
    assert_eq!(roughtime.contact, "[IETF_Chair]");
    assert_eq!(roughtime.reference, "[RFC-ietf-ntp-roughtime-19]");
    // Modified since: each now carries a modification date after the CSV's snapshot.
    let csv = csv_rows();
    for (port, t, name) in [
        (700, "udp", "epp"),
        (1309, "tcp", "jtag-server"),
        (4172, "tcp", "pcoip"),
        (34962, "tcp", "profinet-rt"),
    ] {
        let now = reg
            .iana(port, t.parse().expect("tcp or udp"))
            .into_iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{port}/{t} {name}"));
        assert!(
            now.modification_date.as_ref() > "2026-02-13",
            "{port}/{t} {name}: {:?}",
            now.modification_date
        );
        let then = csv
            .iter()
            .find(|r| r[0] == name && r[1] == port.to_string() && r[2] == t)
            .expect("in the CSV");
        let now_fields = [
            &now.name,
            &now.port,
            &now.protocol,
            &now.description,
            &now.assignee,
            &now.contact,
            &now.registration_date,
            &now.modification_date,
            &now.reference,
            &now.service_code,
            &now.unauthorized_use_reported,
            &now.assignment_notes,
        ];
        assert!(
            now_fields.iter().zip(then.iter()).any(|(a, b)| a.as_ref() != b),
            "{port}/{t} {name} changed"
        );
    }
    assert_eq!(Registry::iana_snapshot(), "2026-08-17");
    assert_eq!(Registry::iana_record_count(), 14_533);
    assert_eq!(reg.iana_updated(), "2026-08-17");
}

#[test]
fn people_handles_resolve_to_the_names_in_the_people_section() {
    let reg = Registry::builtin().expect("registry");
    let postel = reg.person("Jon_Postel").expect("Jon_Postel");
    assert_eq!(postel.name, "Jon Postel");
    let gpp = reg.person("_3GPP").expect("_3GPP");
    assert_eq!(gpp.org, "3GPP");
    assert_eq!(gpp.uri, "mailto:dongwook.kim&etsi.org");
    let chair = reg.person("IETF_Chair").expect("IETF_Chair");
    assert_eq!(chair.display_name(), "IETF Chair (IETF)");
    assert!(
        reg.person("mackin")
            .is_some_and(|p| p.uri == "mailto:mackin&us.oracle.com")
    );
    assert!(reg.person("No_Such_Handle").is_none());
    // Every handle the embedded registry cites in an assignee or contact column of a record
    // with a port resolves (IANA's CSV cites a few that <people> lacks; count them).
    let parsed = xml();
    let mut cited = 0;
    let mut missing = std::collections::BTreeSet::new();
    for rec in &parsed.records {
        for h in portghost::model::handles(&rec[4])
            .into_iter()
            .chain(portghost::model::handles(&rec[5]))
        {
            cited += 1;
            if reg.person(h).is_none() {
                missing.insert(h.to_string());
            }
        }
    }
    assert!(cited > 20_000, "{cited}");
    assert!(missing.len() < 50, "{} handles unresolved: {missing:?}", missing.len());
    assert_eq!(Registry::iana_people_count(), parsed.people.len());
}

#[test]
fn the_run_time_parser_gives_what_the_build_time_index_gives() {
    let file = iana::parse_text("service-names-port-numbers.xml", XML).expect("parses at run time");
    assert_eq!(file.updated, "2026-08-17");
    assert_eq!(file.len(), 14_533);
    let leaked: &'static iana::IanaFile = Box::leak(Box::new(file));
    let builtin = Registry::builtin().expect("registry");
    let runtime = builtin.clone().with_iana(leaked);
    for port in (0..=u16::MAX).step_by(7) {
        for t in [Protocol::Tcp, Protocol::Udp] {
            assert_eq!(builtin.iana(port, t), runtime.iana(port, t), "{port}/{t}");
        }
    }
    assert_eq!(runtime.person("Jon_Postel"), builtin.person("Jon_Postel"));
    // And a CSV: its date is its latest modification date, and it has no people.
    let text = std::fs::read_to_string(CSV).expect("CSV");
    let csv = iana::parse_text("old.csv", &text).expect("CSV parses at run time");
    assert_eq!(csv.updated, "2026-02-13");
    assert_eq!(csv.len(), 14_499);
    assert!(csv.people().is_empty());
}

#[test]
fn a_broken_registry_file_is_named_with_line_and_column() {
    let err =
        iana::parse_text("new.xml", "<registry>\n  <record>\n  </recrd>\n</registry>\n").expect_err("mismatched tag");
    assert_eq!(err.file, "new.xml");
    assert_eq!(err.line, Some(3));
    assert!(err.column.is_some(), "{err}");
    let err = iana::parse_text("x.xml", "<html><body/></html>").expect_err("not IANA");
    assert!(err.to_string().contains("not an IANA registry"), "{err}");
    let err = iana::parse_text("x.csv", "a,b\n1,2\n").expect_err("not IANA's CSV");
    assert!(err.to_string().starts_with("x.csv:1: "), "{err}");
}

#[test]
fn explain_finds_roughtime_by_port_and_ssh_by_name() {
    let bin = env!("CARGO_BIN_EXE_portghost");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .env_remove("PORTGHOST_IANA")
            .output()
            .expect("portghost runs");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = run(&["explain", "5319", "--no-live"]);
    assert_eq!(code, Some(0));
    assert!(
        text.starts_with("5319/tcp  roughtime  Roughtime time synchronization"),
        "{text}"
    );
    assert!(text.contains("IANA registry (updated 2026-08-17)"), "{text}");
    assert!(text.contains("IETF Chair (IETF)"), "{text}");
    let (code, text) = run(&["explain", "ssh", "--no-live"]);
    assert_eq!(code, Some(0));
    assert!(text.starts_with("22/tcp  ssh  "), "{text}");
    assert!(text.contains("\n22/udp  ssh  "), "{text}");
    let (code, text) = run(&["explain", "apparenet-tps", "--no-live", "--format", "json"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["iana_updated"], "2026-08-17");
    assert_eq!(v["ports"][0]["port"], 3237);
    assert_eq!(v["ports"][0]["ghost"]["status"], "defunct-vendor");
    assert!(v["ports"][0]["ghost"]["source"].is_null());
    let (code, _) = run(&["explain", "no-such-service-here", "--no-live"]);
    assert_eq!(code, Some(2));
    let out = std::process::Command::new(bin).arg("--version").output().expect("runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("portghost {} (IANA registry 2026-08-17)", env!("CARGO_PKG_VERSION"))
    );
}

/// IANA breaks some descriptions over lines; the registry loads every field on one line, so
/// that the table and the GitHub annotations show `... (DOTS) Signal Channel ...`, not an
/// escaped newline. Both the embedded registry and a file given with `--iana`.
#[test]
fn registry_text_is_loaded_on_one_line() {
    let registry = Registry::builtin().expect("embedded registry");
    let dots = registry.iana(4646, Protocol::Tcp);
    let description = &dots.first().expect("4646/tcp is assigned").description;
    assert!(
        description.starts_with("Distributed Denial-of-Service Open Threat Signaling (DOTS) Signal Channel Protocol."),
        "{description}"
    );
    let mut checked = 0;
    for port in 0..=u16::MAX {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            for r in registry.iana(port, protocol) {
                for field in [&r.name, &r.description, &r.assignment_notes, &r.reference] {
                    assert!(
                        !field.contains(|c: char| c.is_whitespace() && c != ' ') && !field.contains("  "),
                        "{port}/{protocol}: {field:?}"
                    );
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 10_000, "{checked} records checked");
    let file = iana::parse_text("new.xml", XML_TEXT_WITH_BREAKS).expect("parses");
    assert_eq!(file.records()[0].description, "First line of it, and the second line.");
}

const XML_TEXT_WITH_BREAKS: &str = r#"<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="http://www.iana.org/assignments" id="service-names-port-numbers">
  <updated>2026-08-17</updated>
  <record>
    <name>two-lines</name>
    <protocol>tcp</protocol>
    <description>First line of it,
      and the	second   line.</description>
    <number>40001</number>
  </record>
</registry>
"#;
