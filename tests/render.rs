//! Renderer tests over the fixture inventory: the table as an insta snapshot, the JSON
//! decoded and checked field by field, and terminal safety of process-supplied text.

use portghost::model::Report;
use portghost::render::Style as Settings;
use portghost::render::{json, table};
use serde_json::Value;

#[path = "common/fixture.rs"]
mod fixture;

use fixture::report;

fn render_table(settings: Settings) -> String {
    let mut out = Vec::new();
    table::render(&mut out, &report(), &settings).expect("render");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("table_plain", render_table(Settings::plain()));
}

#[test]
fn table_neutralises_control_characters() {
    for color in [false, true] {
        let out = render_table(Settings {
            color,
            width: None,
            tty: false,
        });
        assert!(out.contains("evil\\x1b[2Jname(4243)"), "{out}");
        // The only escapes left are the palette's own SGR sequences.
        let stripped = out.replace("\x1b[", "");
        assert!(!stripped.contains('\x1b'), "raw ESC in output");
        assert!(!out.contains("\x1b[2J"), "process-supplied escape reached the output");
        assert!(!out.contains('\x07'));
    }
}

#[test]
fn table_colours_only_when_asked() {
    assert!(!render_table(Settings::plain()).contains('\x1b'));
    let coloured = render_table(Settings {
        color: true,
        width: None,
        tty: false,
    });
    assert!(
        coloured.contains("\x1b[31m") || coloured.contains("\x1b[1;31m") || coloured.contains("\x1b[31;1m"),
        "{coloured}"
    );
}

#[test]
fn table_wraps_to_the_terminal_width() {
    let out = render_table(Settings {
        color: false,
        width: Some(100),
        tty: true,
    });
    for line in out.lines() {
        assert!(
            line.chars().count() <= 100,
            "line too wide ({}): {line}",
            line.chars().count()
        );
    }
}

#[test]
fn table_puts_unexpected_rows_first_and_ends_with_the_summary() {
    let out = render_table(Settings::plain());
    let rows: Vec<&str> = out.lines().skip(1).filter(|l| !l.trim().is_empty()).collect();
    let verdicts: Vec<bool> = rows.iter().take(12).map(|l| l.contains(" unexpected ")).collect();
    assert_eq!(verdicts.iter().filter(|v| **v).count(), 5, "{out}");
    assert!(verdicts[..5].iter().all(|v| *v), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("12 listeners (9 tcp, 3 udp): 5 unexpected, 7 unreviewed, 0 expected; 1 with hidden owners")
    );
}

fn render_json() -> (String, Value) {
    let mut out = Vec::new();
    json::render(&mut out, &report(), true).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    let v: Value = serde_json::from_str(&text).expect("valid JSON");
    (text, v)
}

#[test]
fn json_has_the_documented_shape() {
    let (_, v) = render_json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["host"], "fixture-host");
    assert_eq!(v["scanned_at"], "2026-11-21T09:00:00Z");
    assert_eq!(v["complete"], false);
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["summary"]["listeners"], 12);
    assert_eq!(v["summary"]["unexpected"], 5);
    let ls = v["listeners"].as_array().expect("listeners");
    assert_eq!(ls.len(), 12);
    let g = ls.iter().find(|l| l["port"] == 3237).expect("3237");
    assert_eq!(g["protocol"], "tcp");
    assert_eq!(g["family"], "ipv4");
    assert_eq!(g["local_address"], "0.0.0.0");
    assert_eq!(g["inode"], 1002);
    assert_eq!(g["owners"][0]["pid"], 4242);
    assert_eq!(g["owners"][0]["name"], "python3");
    assert_eq!(g["owners"][0]["exe"], "/usr/bin/python3.11");
    assert_eq!(g["owners"][0]["user"], "alice");
    assert_eq!(g["owners"][0]["uid"], 1000);
    assert_eq!(g["owner_status"], "known");
    assert!(g["owner_reason"].is_string());
    assert_eq!(g["service"]["name"], "apparenet-tps");
    assert_eq!(g["service"]["description"], "appareNet Test Packet Sequencer");
    for key in [
        "assignee",
        "contact",
        "registration_date",
        "modification_date",
        "reference",
        "service_code",
        "unauthorized_use_reported",
        "assignment_notes",
    ] {
        assert!(g["service"][key].is_string(), "service.{key}");
    }
    assert_eq!(g["ghost"]["status"], "defunct-vendor");
    assert!(g["ghost"]["summary"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        g["ghost"]["sources"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))
    );
    assert_eq!(g["verdict"], "unexpected");
    assert_eq!(g["findings"][0]["kind"], "ghost-port");
    assert_eq!(g["findings"][0]["severity"], "medium");
    assert_eq!(g["findings"][0]["evidence"][0]["kind"], "registry");
    assert!(g["findings"][0]["evidence"][0]["strength"].is_null());
    assert_eq!(
        g["findings"][0]["evidence"][0]["detail"],
        "defunct-vendor entry, reported: only secondary sources report this"
    );
    let v6 = ls.iter().find(|l| l["port"] == 3517).expect("3517");
    assert_eq!(v6["family"], "ipv6");
    assert_eq!(v6["local_address"], "::1");
    let hidden = ls.iter().find(|l| l["port"] == 5432).expect("5432");
    assert_eq!(hidden["owner_status"], "permission");
    assert_eq!(hidden["owners"].as_array().map(Vec::len), Some(0));
    let unassigned = ls.iter().find(|l| l["port"] == 60123).expect("60123");
    assert!(unassigned["service"].is_null());
    assert!(unassigned["ghost"].is_null());
    // The fixture predates network namespaces: the fields are there, and null or empty.
    assert!(g["netns"].is_null());
    assert!(v["view"].is_null());
    assert_eq!(v["namespaces"].as_array().map(Vec::len), Some(0));
}

/// The fixture in two namespaces, the second's name holding an escape sequence.
fn two_namespaces() -> Report {
    fixture::two_namespaces("lab\u{1b}[2J1", None)
}

#[test]
fn table_groups_rows_by_network_namespace_host_first() {
    let mut out = Vec::new();
    table::render(&mut out, &two_namespaces(), &Settings::plain()).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "netns 4026531833 (host)", "{text}");
    assert!(lines[1].trim_start().starts_with("PROTO"), "{text}");
    let lab_at = lines
        .iter()
        .position(|l| *l == "netns 4026532301 lab\\x1b[2J1 docker:3f2a9c1b7d4e")
        .unwrap_or_else(|| panic!("no sanitised lab header in:\n{text}"));
    assert!(!text.contains('\x1b'), "the namespace name is neutralised");
    let host_rows = &lines[2..lab_at];
    let lab_rows: Vec<&str> = lines[lab_at + 2..]
        .iter()
        .take_while(|l| !l.is_empty())
        .copied()
        .collect();
    assert_eq!(lab_rows.len(), 2, "{text}");
    assert!(
        lab_rows[0].contains("0.0.0.0:3237") && lab_rows[1].contains("0.0.0.0:3416"),
        "{text}"
    );
    assert!(
        host_rows.iter().all(|r| !r.contains(":3237") && !r.contains(":3416")),
        "{text}"
    );
    assert!(
        host_rows[0].contains("unexpected"),
        "unexpected first within a namespace: {text}"
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            "12 listeners (9 tcp, 3 udp): 5 unexpected, 7 unreviewed, 0 expected; 1 with hidden owners; 2 network namespaces scanned"
        )
    );
}

#[test]
fn json_labels_each_listener_with_its_network_namespace() {
    let mut out = Vec::new();
    json::render(&mut out, &two_namespaces(), false).expect("render");
    let v: Value = serde_json::from_slice(&out).expect("valid JSON");
    assert_eq!(v["schema_version"], 1, "additive fields keep the schema version");
    assert_eq!(v["view"], "host");
    let namespaces = v["namespaces"].as_array().expect("namespaces");
    assert_eq!(namespaces.len(), 2);
    assert_eq!(namespaces[0]["inode"], 4_026_531_833_u64, "host first");
    assert_eq!(namespaces[0]["host"], true);
    let ls = v["listeners"].as_array().expect("listeners");
    let g = ls.iter().find(|l| l["port"] == 3237).expect("3237");
    assert_eq!(g["netns"]["inode"], 4_026_532_301_u64);
    assert_eq!(g["netns"]["name"], "lab\u{1b}[2J1");
    assert_eq!(g["netns"]["host"], false);
    assert_eq!(g["netns"]["container"]["runtime"], "docker");
    assert_eq!(g["netns"]["container"]["id"], "3f2a9c1b7d4e");
    assert_eq!(ls[0]["netns"]["host"], true, "host listeners first");
    assert_eq!(
        ls.last().map(|l| &l["netns"]["inode"]),
        Some(&Value::from(4_026_532_301_u64))
    );
}

#[test]
fn json_escapes_control_characters_but_keeps_the_value() {
    let (text, v) = render_json();
    assert!(!text.contains('\x1b') && !text.contains('\x07'));
    let l = v["listeners"]
        .as_array()
        .expect("array")
        .iter()
        .find(|l| l["port"] == 3517)
        .expect("3517")
        .clone();
    assert_eq!(l["owners"][0]["name"], "evil\u{1b}[2Jname");
    assert_eq!(l["owners"][0]["exe"], "/tmp/x\u{1b}]0;pwned\u{7}");
}

#[test]
fn json_formatter_escapes_c1_and_bidi() {
    let mut out = Vec::new();
    json::write_json(&mut out, &serde_json::json!({"name": "a\u{9b}b\u{202e}c\u{7f}"}), false).expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("a\\u009bb\\u202ec\\u007f"), "{text}");
    let back: Value = serde_json::from_str(&text).expect("valid");
    assert_eq!(back["name"], "a\u{9b}b\u{202e}c\u{7f}");
}

#[test]
fn json_is_one_line_for_programs_and_indented_for_people() {
    let mut compact = Vec::new();
    json::render(&mut compact, &report(), false).expect("render");
    let compact = String::from_utf8(compact).expect("utf-8");
    assert_eq!(compact.lines().count(), 1);
    let (pretty, v) = render_json();
    assert!(pretty.lines().count() > 100);
    assert_eq!(
        serde_json::from_str::<Value>(&compact).expect("valid"),
        v,
        "same value either way"
    );
}

#[test]
fn owners_show_their_unit_or_container() {
    use portghost::model::{Container, Protocol};
    use portghost::render::explain::{self, PortFacts};
    use std::sync::Arc;

    const FULL: &str = "3f2a9c1b7d4e5f60718293a4b5c6d7e8f9012345678901234567890abcdef012";
    let mut r = report();
    let find = |r: &mut Report, protocol: Protocol, port: u16| {
        r.listeners
            .iter()
            .position(|c| c.listener.protocol == protocol && c.listener.port == port)
            .expect("fixture listener")
    };
    // nginx: master and first worker in nginx.service, the last worker in another unit.
    let i = find(&mut r, Protocol::Tcp, 80);
    let owners = &mut r.listeners[i].listener.owners;
    for o in owners.iter_mut().take(2) {
        Arc::make_mut(o).unit = Some("nginx.service".into());
    }
    Arc::make_mut(&mut owners[2]).unit = Some("evil\u{1b}[2J.service".into());
    // python3 in a Docker container (whose scope is also its unit).
    let j = find(&mut r, Protocol::Tcp, 3237);
    let py = Arc::make_mut(&mut r.listeners[j].listener.owners[0]);
    py.unit = Some(format!("docker-{FULL}.scope"));
    py.container = Some(Container {
        runtime: "docker".into(),
        id: FULL[..12].into(),
        full_id: FULL.into(),
        pod: None,
    });

    let nginx = portghost::render::owners_cell(&r.listeners[i].listener);
    assert_eq!(nginx, "nginx(900,901) nginx.service nginx(902) evil\\x1b[2J.service");
    assert_eq!(
        portghost::render::owners_cell(&r.listeners[j].listener),
        "python3(4242) docker:3f2a9c1b7d4e"
    );
    let sshd = find(&mut r, Protocol::Tcp, 22);
    assert_eq!(portghost::render::owners_cell(&r.listeners[sshd].listener), "sshd(812)");

    let mut out = Vec::new();
    json::render(&mut out, &r, false).expect("render");
    let v: Value = serde_json::from_slice(&out).expect("valid JSON");
    let ls = v["listeners"].as_array().expect("listeners");
    let port = |p: u16| ls.iter().find(|l| l["port"] == p).expect("listener");
    let container = &port(3237)["owners"][0]["container"];
    assert_eq!(container["runtime"], "docker");
    assert_eq!(container["id"], "3f2a9c1b7d4e");
    assert_eq!(container["full_id"], FULL);
    assert!(container["pod"].is_null());
    assert_eq!(port(80)["owners"][0]["unit"], "nginx.service");
    let sshd = port(22)["owners"][0].as_object().expect("owner object");
    assert!(sshd["unit"].is_null() && sshd["container"].is_null(), "{sshd:?}");

    let facts = PortFacts {
        port: 3237,
        protocol: Protocol::Tcp,
        iana: Vec::new(),
        ghost: None,
        unofficial: Vec::new(),
        live: Some(vec![r.listeners[j].clone()]),
        people: Vec::new(),
        iana_updated: "",
    };
    let mut out = Vec::new();
    explain::render(&mut out, &[facts], &Settings::plain()).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    let has_line = |words: &[&str]| text.lines().any(|l| l.split_whitespace().eq(words.iter().copied()));
    assert!(has_line(&["unit", &format!("docker-{FULL}.scope")]), "{text}");
    assert!(has_line(&["container", "docker", FULL]), "{text}");
}

#[test]
fn compact_json_with_shared_owners_equals_the_pretty_json() {
    let report = report();
    let shared_owners = report
        .listeners
        .iter()
        .flat_map(|c| &c.listener.owners)
        .filter(|o| {
            report
                .listeners
                .iter()
                .filter(|c| c.listener.owners.contains(o))
                .count()
                > 1
        })
        .count();
    assert!(shared_owners > 0, "the fixture has owners that hold several sockets");
    let mut pretty = Vec::new();
    json::render(&mut pretty, &report, true).expect("render");
    let mut compact = Vec::new();
    json::render(&mut compact, &report, false).expect("render");
    let compact_text = String::from_utf8(compact).expect("utf-8");
    assert_eq!(compact_text.lines().count(), 1, "compact output is one line");
    let a: Value = serde_json::from_slice(&pretty).expect("pretty parses");
    let b: Value = serde_json::from_str(&compact_text).expect("compact parses");
    assert_eq!(a, b);
    // Owners serialised once and reused are as inert on a terminal as the rest.
    assert!(
        !compact_text
            .chars()
            .any(|c| c == '\u{1b}' || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || c == '\u{202e}'),
        "{compact_text}"
    );
}

#[test]
fn ci_formats_name_the_namespace_when_the_scan_spans_several() {
    use portghost::render::{github, junit};
    let spanning = two_namespaces();
    let names: Vec<String> = spanning
        .listeners
        .iter()
        .map(|c| junit::case_name(&c.listener))
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with("netns")),
        "case_name alone has no prefix"
    );
    let xml = junit::build(&spanning).to_string().expect("xml");
    assert!(xml.contains(r#"name="netns host: tcp/22 0.0.0.0 sshd""#), "{xml}");
    assert!(
        xml.contains(r#"name="netns lab\x1b[2J1: tcp/3237 0.0.0.0 python3""#),
        "{xml}"
    );
    assert!(xml.contains("netns: 4026532301 lab\\x1b[2J1"), "{xml}");

    let mut out = Vec::new();
    github::render(&mut out, &spanning).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(
        text.lines()
            .any(|l| l.starts_with("::error ") && l.contains(r"::netns lab\x1b[2J1: 0.0.0.0:3237 python3(4242)")),
        "{text}"
    );

    // One namespace: the names stay as they were.
    let xml = junit::build(&report()).to_string().expect("xml");
    assert!(!xml.contains("netns "), "{xml}");
}

fn at_width(width: u16) -> String {
    render_table(Settings {
        color: false,
        width: Some(width),
        tty: true,
    })
}

/// At 80 columns the reason no longer fits beside the row: each goes on its own indented
/// lines under it, and no process or address token is split.
#[test]
fn table_snapshot_80_columns() {
    let out = at_width(80);
    for line in out.lines() {
        assert!(line.chars().count() <= 80, "{line:?} is wider than 80 columns");
    }
    for token in [
        "python3(4242)",
        "evil\\x1b[2Jname(4243)",
        "[::1]:3517",
        "127.0.0.1:3000",
        "nginx(900,901,902)",
    ] {
        assert!(out.lines().any(|l| l.contains(token)), "{token} split: {out}");
    }
    insta::assert_snapshot!("table_80", out);
}

/// At 120 columns the reason takes the columns left beside the row, wrapped at spaces.
#[test]
fn table_snapshot_120_columns() {
    let out = at_width(120);
    for line in out.lines() {
        assert!(line.chars().count() <= 120, "{line:?} is wider than 120 columns");
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with(" tcp    0.0.0.0:3237    python3(4242)")),
        "{out}"
    );
    insta::assert_snapshot!("table_120", out);
}

#[test]
fn table_without_header() {
    let mut out = Vec::new();
    table::render_with(&mut out, &report(), &Settings::plain(), false).expect("render");
    let out = String::from_utf8(out).expect("utf-8");
    assert!(!out.contains("PROTO"), "{out}");
    assert!(out.starts_with(" tcp "), "{out}");
}
