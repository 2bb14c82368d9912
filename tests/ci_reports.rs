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
