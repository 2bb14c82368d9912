//! The CI output formats (`--format junit|github|jsonl`): on the fixture inventory (parsed
//! with a real XML parser, decoded with serde, and as insta snapshots), and live, with a
//! child holding a ghost listener and an ordinary one in a network namespace.

mod common;

use common::{Lab, comm_of, python};
use portghost::model::Report;
use portghost::render::{github, json, jsonl, junit};
use serde_json::Value;
use std::sync::Arc;

#[path = "common/fixture.rs"]
mod fixture;

use fixture::report;

/// The fixture report with a process name holding ESC and BEL, on the ghost port 3237.
fn hostile_report() -> Report {
    let mut r = report();
    let c = r
        .listeners
        .iter_mut()
        .find(|c| c.listener.port == 3237)
        .expect("3237 in the fixture");
    let o = Arc::make_mut(&mut c.listener.owners[0]);
    o.name = "py\u{1b}[31mthon\u{7}".into();
    o.exe = Some("/usr/bin/py\u{1b}]0;x\u{7}".into());
    r
}

fn render(f: fn(&mut Vec<u8>, &Report) -> std::io::Result<()>, r: &Report) -> String {
    let mut out = Vec::new();
    f(&mut out, r).expect("render");
    String::from_utf8(out).expect("utf-8")
}

fn junit_of(r: &Report) -> String {
    render(junit::render, r)
}

fn github_of(r: &Report) -> String {
    render(github::render, r)
}

fn jsonl_of(r: &Report) -> String {
    render(jsonl::render, r)
}

/// No character that XML 1.0 forbids or a terminal acts on, other than line breaks.
fn assert_inert(text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|&c| portghost::render::is_dangerous(c) && c != '\n')
        .collect();
    assert!(bad.is_empty(), "raw control characters {bad:?} in:\n{text}");
}

// ---- JUnit --------------------------------------------------------------------------

#[test]
fn junit_parses_as_xml_with_one_case_per_listener_and_a_failure_per_unexpected_one() {
    let r = report();
    let xml = junit_of(&r);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suites: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testsuite")).collect();
    assert_eq!(suites.len(), 1);
    let suite = suites[0];
    assert_eq!(suite.attribute("name"), Some("portghost"));
    assert_eq!(suite.attribute("tests"), Some("12"));
    assert_eq!(suite.attribute("failures"), Some("5"));
    assert_eq!(suite.attribute("errors"), Some("0"));
    assert_eq!(suite.attribute("timestamp"), Some("2026-11-21T09:00:00.000+00:00"));
    let failures = doc.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(failures, r.summary.unexpected);
    assert_eq!(failures, 5);

    let prop = |name: &str| {
        suite
            .descendants()
            .find(|n| n.has_tag_name("property") && n.attribute("name") == Some(name))
            .and_then(|n| n.attribute("value"))
    };
    assert_eq!(prop("host"), Some("fixture-host"));
    assert_eq!(prop("scanned_at"), Some("2026-11-21T09:00:00Z"));
    assert_eq!(prop("complete"), Some("false"));

    let cases: Vec<_> = suite.children().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), 12);
    let names: std::collections::BTreeSet<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(names.len(), 12, "test-case names are unique");
    let case = |name: &str| {
        *cases
            .iter()
            .find(|c| c.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("no test case {name:?} in {names:?}"))
    };
    let ghost = case("tcp/3237 0.0.0.0 python3");
    assert_eq!(ghost.attribute("classname"), Some("portghost.tcp"));
    let failure = ghost.children().find(|n| n.has_tag_name("failure")).expect("failure");
    assert_eq!(failure.attribute("type"), Some("ghost-port"));
    assert!(
        failure
            .attribute("message")
            .is_some_and(|m| m.starts_with("3237/tcp is registered to apparenet-tps")),
        "{failure:?}"
    );
    assert!(
        failure
            .text()
            .is_some_and(|t| t.starts_with("medium ghost-port: 3237/tcp")),
        "{failure:?}"
    );
    let out = ghost
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .expect("system-out");
    assert!(
        out.contains("owner: python3(4242) user alice exe /usr/bin/python3.11"),
        "{out}"
    );

    // Several owners: one name, no PIDs in the name.
    let nginx = case("tcp/80 0.0.0.0 nginx");
    assert!(nginx.children().all(|n| !n.has_tag_name("failure")));
    assert_eq!(
        case("tcp/3517 [::1] evil\\x1b[2Jname").attribute("classname"),
        Some("portghost.tcp")
    );
    assert_eq!(
        case("udp/3416 0.0.0.0 python3").attribute("classname"),
        Some("portghost.udp")
    );

    // A hidden owner says why in system-out.
    let hidden = case("tcp/5432 0.0.0.0 (owner hidden)");
    let out = hidden
        .children()
        .find(|n| n.has_tag_name("system-out"))
        .and_then(|n| n.text())
        .expect("system-out");
    assert!(
        out.contains("owner: none shown: owner hidden: permission denied inspecting some processes"),
        "{out}"
    );

    // Scan warnings go to the suite's system-err.
    let err = suite
        .children()
        .find(|n| n.has_tag_name("system-err"))
        .and_then(|n| n.text())
        .expect("system-err");
    assert_eq!(
        err,
        "warning: 1 process could not be inspected without more privilege, so 1 listener has no visible owner"
    );
}

#[test]
fn junit_keeps_control_characters_out_of_the_xml_but_visible() {
    let xml = junit_of(&hostile_report());
    assert_inert(&xml);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert!(
        names.contains(&"tcp/3237 0.0.0.0 py\\x1b[31mthon\\x07"),
        "the escape is shown, not swallowed: {names:?}"
    );
    let all_text: String = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(all_text.contains("exe /usr/bin/py\\x1b]0;x\\x07"), "{all_text}");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("failure")).count(), 5);
}

#[test]
fn junit_names_repeat_only_with_a_counter() {
    let mut r = report();
    let dup = r.listeners.iter().find(|c| c.listener.port == 22).expect("22").clone();
    r.listeners.push(dup);
    let xml = junit_of(&r);
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .filter(|n| n.starts_with("tcp/22 "))
        .collect();
    assert_eq!(names, ["tcp/22 0.0.0.0 sshd", "tcp/22 0.0.0.0 sshd #2"]);
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", junit_of(&report()));
}

// ---- GitHub Actions -----------------------------------------------------------------

#[test]
fn github_has_an_error_per_unexpected_listener_then_warnings_then_a_notice() {
    let out = github_of(&report());
    assert_inert(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.iter().all(|l| l.starts_with("::")), "{out}");
    let errors: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(errors.len(), 5, "{out}");
    let ghost = errors
        .iter()
        .find(|l| l.starts_with("::error title=portghost%3A unexpected listener tcp/3237::"))
        .expect("3237 error");
    assert_eq!(
        ghost
            .split_once("::0.0.0.0:3237 python3(4242): 3237/tcp is registered to apparenet-tps (")
            .map(|(a, _)| a),
        Some("::error title=portghost%3A unexpected listener tcp/3237"),
        "{ghost}"
    );
    // The process name with an escape sequence is shown escaped, not executed.
    assert!(
        errors
            .iter()
            .any(|l| l.contains("tcp/3517::[::1]:3517 evil\\x1b[2Jname(4243): ")),
        "{out}"
    );
    let warnings: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with("::warning ")).collect();
    assert_eq!(
        warnings,
        [
            "::warning title=portghost%3A scan warning::1 process could not be inspected without more privilege, so 1 listener has no visible owner",
            "::warning title=portghost%3A owner hidden tcp/5432::0.0.0.0:5432: owner hidden: permission denied inspecting some processes",
        ]
    );
    assert_eq!(
        lines.last().copied(),
        Some(
            "::notice title=portghost::12 listeners (9 tcp, 3 udp): 5 unexpected, 7 unreviewed, 0 expected; 1 with hidden owners"
        )
    );
}

#[test]
fn github_messages_stay_on_one_line_whatever_the_process_is_called() {
    let mut r = hostile_report();
    let c = r.listeners.iter_mut().find(|c| c.listener.port == 3237).expect("3237");
    Arc::make_mut(&mut c.listener.owners[0]).name = "x\n::error::forged\r%0A".into();
    let out = github_of(&r);
    assert_inert(&out);
    assert!(!out.contains('\r'));
    assert_eq!(out.lines().filter(|l| l.starts_with("::error")).count(), 5, "{out}");
    assert!(!out.lines().any(|l| l.starts_with("::error::forged")), "{out}");
    assert!(out.contains("x\\x0a::error::forged\\x0d%250A(4242)"), "{out}");
}

#[test]
fn github_lists_every_finding_of_a_listener_on_its_own_annotation_line() {
    let out = github_of(&report());
    // 3517 on ::1 by a process under /tmp: ghost-port and suspicious-executable.
    let line = out.lines().find(|l| l.contains("tcp/3517::")).expect("3517");
    let message = line.split_once("tcp/3517::").map(|(_, m)| m).expect("message");
    let parts: Vec<&str> = message.split("%0A").collect();
    assert!(parts.len() >= 2, "{line}");
    assert!(parts[1..].iter().all(|p| p.split_once(": ").is_some()), "{line}");
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!("github", github_of(&report()));
}

// ---- JSON Lines ---------------------------------------------------------------------

#[test]
fn jsonl_lines_are_the_json_listeners_plus_scan_fields() {
    let r = report();
    let text = jsonl_of(&r);
    assert_inert(&text);
    let mut whole = Vec::new();
    json::render(&mut whole, &r, false).expect("render json");
    let whole: Value = serde_json::from_slice(&whole).expect("json");
    let listeners = whole["listeners"].as_array().expect("listeners");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), listeners.len());
    assert_eq!(lines.len(), 12, "one line per listener, no summary line");
    for (line, expected) in lines.iter().zip(listeners) {
        let mut v: Value = serde_json::from_str(line).expect("each line is JSON");
        let obj = v.as_object_mut().expect("object");
        assert_eq!(obj.remove("schema_version"), Some(Value::from(1)));
        assert_eq!(obj.remove("host"), Some(Value::from("fixture-host")));
        assert_eq!(obj.remove("scanned_at"), Some(Value::from("2026-11-21T09:00:00Z")));
        assert_eq!(&v, expected, "same object as in --format json");
    }
    let evil: Value =
        serde_json::from_str(lines.iter().find(|l| l.contains("\"port\":3517")).expect("3517")).expect("json");
    assert_eq!(evil["owners"][0]["name"], "evil\u{1b}[2Jname");
    assert_eq!(evil["owners"][0]["exe"], "/tmp/x\u{1b}]0;pwned\u{7}");
}

#[test]
fn jsonl_of_an_empty_report_is_empty() {
    let mut r = report();
    r.retain(|_| false);
    assert_eq!(jsonl_of(&r), "");
}

#[test]
fn jsonl_snapshot() {
    insta::assert_snapshot!("jsonl", jsonl_of(&report()));
}

// ---- Live ---------------------------------------------------------------------------

/// Runs `scan --format FORMAT` in `lab`, on the two test ports unless the lab is a private
/// namespace (where nothing else listens).
fn scan(lab: &Lab, format: &str, extra: &[&str]) -> (String, i32) {
    let mut args = vec!["scan", "--format", format];
    if !lab.isolated() {
        args.extend(["--port", "3237,8080"]);
    }
    args.extend_from_slice(extra);
    let out = lab.portghost(&args);
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        out.status.code().expect("exit code"),
    )
}

#[test]
fn live_ghost_and_ordinary_listener_in_every_format() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "tcp:127.0.0.1:8080"]);
    let name = comm_of(&python());

    // JUnit: two test cases, one failure naming ghost-port.
    let (xml, code) = scan(&lab, "junit", &[]);
    assert_eq!(code, 0);
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("invalid XML ({e}): {xml}"));
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let ours: Vec<_> = cases
        .iter()
        .filter(|c| c.attribute("name").is_some_and(|n| n.ends_with(&format!(" {name}"))))
        .collect();
    assert_eq!(ours.len(), 2, "{xml}");
    if lab.isolated() {
        assert_eq!(cases.len(), 2, "nothing else in a private netns: {xml}");
    }
    let failures: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("failure")).collect();
    assert_eq!(failures.len(), 1, "{xml}");
    assert_eq!(failures[0].attribute("type"), Some("ghost-port"));
    let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).expect("suite");
    assert_eq!(suite.attribute("failures"), Some("1"));
    let failing = failures[0].parent().and_then(|p| p.attribute("name"));
    assert_eq!(failing, Some(format!("tcp/3237 0.0.0.0 {name}").as_str()));
    assert!(
        cases
            .iter()
            .any(|c| c.attribute("name") == Some(&format!("tcp/8080 127.0.0.1 {name}"))),
        "{xml}"
    );
    assert!(xml.contains(&format!("owner: {name}({pid})")), "{xml}");

    // GitHub: one ::error, for 3237.
    let (gh, code) = scan(&lab, "github", &[]);
    assert_eq!(code, 0);
    let errors: Vec<&str> = gh.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{gh}");
    assert!(
        errors[0].starts_with(&format!(
            "::error title=portghost%3A unexpected listener tcp/3237::0.0.0.0:3237 {name}({pid}): 3237/tcp is registered to apparenet-tps"
        )),
        "{gh}"
    );
    assert!(
        gh.lines()
            .last()
            .is_some_and(|l| l.starts_with("::notice title=portghost::")),
        "{gh}"
    );

    // JSON Lines: every line parses; ours carry the child's PID.
    let (jl, code) = scan(&lab, "jsonl", &[]);
    assert_eq!(code, 0);
    let lines: Vec<Value> = jl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad line ({e}): {l}")))
        .collect();
    let ours: Vec<&Value> = lines.iter().filter(|v| v["owners"][0]["pid"] == pid).collect();
    assert_eq!(ours.len(), 2, "{jl}");
    if lab.isolated() {
        assert_eq!(lines.len(), 2, "{jl}");
    }
    for v in &lines {
        assert!(v["host"].is_string() && v["scanned_at"].is_string(), "{v}");
    }
    let ports: std::collections::BTreeSet<u64> = ours.iter().filter_map(|v| v["port"].as_u64()).collect();
    assert_eq!(ports, [3237, 8080].into());
}

#[test]
fn live_gate_exits_one_in_every_format() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    for format in ["table", "json", "junit", "github", "jsonl"] {
        let (_, code) = scan(&lab, format, &["--fail-on-unexpected"]);
        assert_eq!(code, 1, "--format {format}");
    }
    lab.hold(&["tcp:127.0.0.1:8080"]);
    let out = lab.portghost(&["scan", "--format", "junit", "--port", "8080", "--fail-on-unexpected"]);
    assert_eq!(out.status.code(), Some(0), "nothing unexpected on 8080");
}
