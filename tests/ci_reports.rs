//! The CI report formats checked by the validators their consumers use, on real scans
//! (`common::live_scans`) and on the fixture reports:
//!
//! - JUnit against the Jenkins xunit plugin's `junit-10.xsd` with `xmllint --schema`
//!   (Debian's libxml2-utils; required when `CI` is set, else skipped with a note).

mod common;

#[path = "common/fixture.rs"]
mod fixture;

use common::live_scans::scans;
use portghost::model::Report;
use std::path::Path;
use std::process::Command;

const JUNIT_XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/junit/junit-10.xsd");

/// True when `xmllint` runs; panics in CI (`CI` set) when it does not.
fn have_xmllint() -> bool {
    let ok = Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmllint (libxml2-utils) is needed in CI: .ci/run installs it"
        );
        eprintln!("note: xmllint not found; the JUnit schema checks are skipped");
    }
    ok
}

/// Validates the XML `doc` (labelled `what`) against `junit-10.xsd` with xmllint.
fn assert_junit_valid(dir: &Path, what: &str, doc: &str) {
    let file = dir.join("report.xml");
    std::fs::write(&file, doc).expect("write report");
    let out = Command::new("xmllint")
        .args(["--noout", "--schema", JUNIT_XSD])
        .arg(&file)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "{what}: xmllint rejects the JUnit report:\n{}\n{doc}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn fixture_reports() -> Vec<(&'static str, Report)> {
    vec![
        ("fixture", fixture::report()),
        (
            "fixture in two namespaces",
            fixture::two_namespaces("lab1", Some("0b1c2d3e-aaaa-bbbb-cccc-0123456789ab")),
        ),
        ("empty fixture", {
            let mut r = fixture::report();
            r.retain(|_| false);
            r
        }),
    ]
}

#[test]
fn junit_of_real_scans_validates_against_junit_10_xsd() {
    if !have_xmllint() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, xml) in scans("junit", &["--fail-on-unexpected"]) {
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{label}: {e}"));
        let root = doc.root_element();
        assert_eq!(root.attribute("skipped"), None, "{label}");
        assert!(root.attribute("time").is_some(), "{label}: the report has a time");
        for n in doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite") || n.has_tag_name("testcase"))
        {
            assert!(
                n.attribute("time").is_some(),
                "{label}: <{}> has a time",
                n.tag_name().name()
            );
        }
        assert_junit_valid(dir.path(), &label, &xml);
    }
}

#[test]
fn junit_of_the_fixture_reports_validates_against_junit_10_xsd() {
    if !have_xmllint() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    for (label, r) in fixture_reports() {
        let mut out = Vec::new();
        portghost::render::junit::render_timed(&mut out, &r, std::time::Duration::from_millis(1234)).expect("render");
        let xml = String::from_utf8(out).expect("utf-8");
        assert!(
            xml.contains(r#"<testsuites name="portghost""#) && xml.contains(r#"time="1.234""#),
            "{xml}"
        );
        assert_junit_valid(dir.path(), label, &xml);
    }
}

// ---- SARIF 2.1.0 --------------------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sarif/sarif-schema-2.1.0.json"
    ))
    .expect("SARIF schema");
    let mut schema: serde_json::Value = serde_json::from_str(&text).expect("schema JSON");
    // The schema's pattern for `language` (of a run and of a tool component) has a stray
    // `]` that ECMAScript reads as a literal and the validator's meta-check of
    // `format: regex` rejects; it is escaped here. portghost writes no `language`.
    fn escape_stray_bracket(v: &mut serde_json::Value) -> usize {
        match v {
            serde_json::Value::String(s) if s == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$" => {
                *s = r"^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\]?$".to_string();
                1
            }
            serde_json::Value::Array(items) => items.iter_mut().map(escape_stray_bracket).sum(),
            serde_json::Value::Object(map) => map.values_mut().map(escape_stray_bracket).sum(),
            _ => 0,
        }
    }
    assert!(escape_stray_bracket(&mut schema) > 0, "the pattern is where it was");
    jsonschema::validator_for(&schema).expect("SARIF schema compiles")
}

fn assert_sarif_valid(v: &jsonschema::Validator, what: &str, doc: &serde_json::Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_of_real_scans_validates_against_the_sarif_2_1_0_schema() {
    let v = sarif_validator();
    let mut results = 0;
    for (label, text) in scans("sarif", &[]) {
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_sarif_valid(&v, &label, &doc);
        assert_eq!(doc["version"], "2.1.0");
        let run = &doc["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "portghost");
        for r in run["results"].as_array().expect("results") {
            results += 1;
            let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
            assert_eq!(run["tool"]["driver"]["rules"][index]["id"], r["ruleId"], "{label}");
            assert_eq!(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                "portghost-scan"
            );
            let fp = r["partialFingerprints"]["portghostListener/v1"]
                .as_str()
                .expect("fingerprint");
            assert_eq!(fp.len(), 32, "{fp}");
        }
    }
    assert!(results > 0, "the ghost port gives a result");
}

#[test]
fn sarif_of_the_fixture_reports_validates_and_keeps_its_fingerprints() {
    let v = sarif_validator();
    for (label, r) in fixture_reports() {
        let mut out = Vec::new();
        portghost::render::sarif::render(&mut out, &r, None, true).expect("render");
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
        assert_sarif_valid(&v, label, &doc);
    }
    // A restart (new PIDs) keeps every fingerprint.
    let r = fixture::report();
    let mut restarted = fixture::report();
    for c in &mut restarted.listeners {
        for o in &mut c.listener.owners {
            std::sync::Arc::make_mut(o).pid += 1000;
        }
    }
    let prints = |r: &Report| -> Vec<String> {
        let log = portghost::render::sarif::build(r, None);
        let v = serde_json::to_value(&log).expect("value");
        v["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                r["partialFingerprints"]["portghostListener/v1"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(prints(&r), prints(&restarted));
    let mut unique = prints(&r);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), prints(&r).len(), "one fingerprint per result");
}

// ---- GitLab Code Quality ------------------------------------------------------------------

/// An issue as GitLab reads it: every field it requires, typed; the severity one of its five.
#[derive(serde::Deserialize, Debug)]
#[allow(dead_code)]
struct GitlabIssue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: GitlabSeverity,
    location: GitlabLocation,
}

#[derive(serde::Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum GitlabSeverity {
    Info,
    Minor,
    Major,
    Critical,
    Blocker,
}

#[derive(serde::Deserialize, Debug)]
struct GitlabLocation {
    path: String,
    lines: GitlabLines,
}

#[derive(serde::Deserialize, Debug)]
struct GitlabLines {
    begin: u64,
}

fn gitlab_issues(label: &str, text: &str) -> Vec<GitlabIssue> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{label}: not a Code Quality report ({e}):\n{text}"))
}

#[test]
fn gitlab_code_quality_of_real_scans_has_every_field_gitlab_reads() {
    let mut seen = 0;
    for (label, text) in scans("gitlab", &[]) {
        for issue in gitlab_issues(&label, &text) {
            seen += 1;
            assert!(issue.check_name.starts_with("portghost/"), "{issue:?}");
            assert_eq!(issue.fingerprint.len(), 32, "{issue:?}");
            assert_eq!(
                (issue.location.path.as_str(), issue.location.lines.begin),
                ("portghost-scan", 1)
            );
            assert!(!issue.description.is_empty());
        }
    }
    assert!(seen > 0);
}

#[test]
fn gitlab_issues_point_at_the_policy_rule_that_allowed_or_would_allow_the_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("portghost.toml");
    // Line 4: an allow rule for 8080 that names another process, so it would allow the
    // listener but for that; line 8: a deny rule for 3416.
    std::fs::write(
        &policy,
        "version = 1\nmode = \"allowlist\"\n\n[[allow]]\nport = 8080\nprocess = \"nginx\"\n\n[[deny]]\nport = 3416\n",
    )
    .expect("policy");
    let mut lab = common::Lab::new();
    lab.hold(&["tcp:127.0.0.1:8080", "udp:0.0.0.0:3416", "tcp:127.0.0.1:42999"]);
    let p = policy.to_str().expect("utf-8");
    let out = lab.portghost(&["scan", "--format", "gitlab", "--policy", p, "--port", "8080,3416,42999"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let issues = gitlab_issues("policy scan", &text);
    let find = |port: &str| {
        issues
            .iter()
            .find(|i| i.description.contains(&format!(":{port} ")))
            .unwrap_or_else(|| panic!("no issue for {port}: {text}"))
    };
    let near = find("8080");
    assert_eq!(
        (near.location.path.as_str(), near.location.lines.begin),
        (p, 4),
        "{near:?}"
    );
    assert_eq!(near.check_name, "portghost/not-allowed");
    let denied = find("3416");
    assert_eq!(
        (denied.location.path.as_str(), denied.location.lines.begin),
        (p, 8),
        "{denied:?}"
    );
    assert_eq!(denied.severity, GitlabSeverity::Blocker);
    let none = find("42999");
    assert_eq!(
        (none.location.path.as_str(), none.location.lines.begin),
        (p, 1),
        "{none:?}"
    );

    // Run again: the same fingerprints (no PIDs in them).
    let again = lab.portghost(&["scan", "--format", "gitlab", "--policy", p, "--port", "8080,3416,42999"]);
    let again = gitlab_issues("again", &String::from_utf8(again.stdout).expect("utf-8"));
    let prints = |v: &[GitlabIssue]| v.iter().map(|i| i.fingerprint.clone()).collect::<Vec<_>>();
    assert_eq!(prints(&issues), prints(&again));
}
