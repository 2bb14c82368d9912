//! `--format github` within GitHub's annotation limits (10 of each type per step, 50 per
//! job): the most severe unexpected listeners first, a closing `::notice` that counts what
//! was left out, and the full Markdown table appended to `$GITHUB_STEP_SUMMARY`.

mod common;

#[path = "common/fixture.rs"]
mod fixture;

use common::Lab;
use portghost::model::{Report, Severity, Verdict};
use portghost::render::github::{self, Limits, Omitted};
use std::ffi::OsStr;
use std::sync::Arc;

/// The fixture with every listener copied `times` times onto other ports, plus warnings.
fn crowded(times: u16) -> Report {
    let mut r = fixture::report();
    let base = r.listeners.clone();
    for n in 1..=times {
        for c in &base {
            let mut c = c.clone();
            c.listener.port = c.listener.port.wrapping_add(n * 1000);
            r.listeners.push(c);
        }
    }
    for i in 0..12 {
        r.warnings.push(format!("warning number {i}"));
    }
    r
}

fn lines_of(r: &Report, limits: Limits, summary: bool) -> (Vec<String>, Omitted) {
    let mut out = Vec::new();
    let omitted = github::render_limited(&mut out, r, limits, summary).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    (text.lines().map(String::from).collect(), omitted)
}

fn count(lines: &[String], kind: &str) -> usize {
    lines.iter().filter(|l| l.starts_with(&format!("::{kind} "))).count()
}

#[test]
fn at_most_ten_of_each_type_the_most_severe_first_and_a_count_of_the_rest() {
    let r = crowded(4);
    let unexpected = r.listeners.iter().filter(|c| c.verdict == Verdict::Unexpected).count();
    let hidden = r
        .listeners
        .iter()
        .filter(|c| c.listener.owner_status.is_hidden())
        .count();
    assert!(unexpected > 10, "{unexpected}");
    let (lines, omitted) = lines_of(&r, Limits::GITHUB, false);
    assert_eq!(count(&lines, "error"), 10);
    assert_eq!(count(&lines, "warning"), 10);
    assert_eq!(count(&lines, "notice"), 1);
    assert_eq!(omitted.errors, unexpected - 10);
    assert_eq!(omitted.warnings, r.warnings.len() + hidden - 10);
    let notice = lines.last().expect("a notice");
    assert!(notice.starts_with("::notice title=portghost::"), "{notice}");
    assert!(
        notice.contains(&format!(
            "{} annotations left out ({} errors, {} warnings)",
            omitted.total(),
            omitted.errors,
            omitted.warnings
        )),
        "{notice}"
    );
    assert!(notice.contains("--format table"), "{notice}");

    // The errors shown are the most severe: none shown is less severe than one left out.
    let severity =
        |c: &portghost::model::Classified| c.findings.iter().map(|f| f.severity).min().unwrap_or(Severity::Info);
    let mut all: Vec<Severity> = r
        .listeners
        .iter()
        .filter(|c| c.verdict == Verdict::Unexpected)
        .map(severity)
        .collect();
    all.sort();
    let shown_worst_last = all[9];
    for l in lines.iter().filter(|l| l.starts_with("::error ")) {
        let port: u16 = l
            .split("unexpected listener ")
            .nth(1)
            .and_then(|t| t.split("::").next())
            .and_then(|t| t.split('/').nth(1))
            .and_then(|p| p.parse().ok())
            .expect("a port in the title");
        let c = r
            .listeners
            .iter()
            .find(|c| c.listener.port == port && c.verdict == Verdict::Unexpected)
            .expect("listener");
        assert!(severity(c) <= shown_worst_last, "{l}");
    }

    let (lines, _) = lines_of(&r, Limits::GITHUB, true);
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("every listener is in the step summary"))
    );
}

#[test]
fn the_job_limit_holds_too_and_few_annotations_are_all_shown() {
    let r = crowded(4);
    let (lines, omitted) = lines_of(
        &r,
        Limits {
            per_type: 10,
            per_job: 15,
        },
        false,
    );
    assert_eq!(lines.len(), 15, "{lines:#?}");
    assert_eq!((count(&lines, "error"), count(&lines, "warning")), (10, 4));
    assert!(omitted.total() > 0);

    let r = fixture::report();
    let (lines, omitted) = lines_of(&r, Limits::GITHUB, false);
    assert_eq!(omitted, Omitted::default());
    assert!(!lines.last().expect("notice").contains("left out"), "{lines:#?}");
}

#[test]
fn the_step_summary_is_a_markdown_table_of_every_listener_with_nothing_a_process_can_inject() {
    let mut r = crowded(1);
    let c = r.listeners.iter_mut().find(|c| c.listener.port == 3237).expect("3237");
    Arc::make_mut(&mut c.listener.owners[0]).name = "a|b<script>*x*\n[l](u)".into();
    let mut out = Vec::new();
    github::render_summary(&mut out, &r).expect("render");
    let md = String::from_utf8(out).expect("utf-8");
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
        .collect();
    assert_eq!(
        rows.len(),
        r.listeners.len() + 1,
        "a header and a row per listener:\n{md}"
    );
    for row in &rows {
        let cells = row.replace("\\|", "").matches('|').count();
        assert_eq!(cells, 6, "five cells: {row}");
    }
    assert!(md.contains(r"a\|b&lt;script&gt;\*x\*\\x0a\[l\]\(u\)"), "{md}");
    assert!(!md.contains("<script>"), "{md}");
}

#[test]
fn live_many_unexpected_listeners_go_to_the_step_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\nmode = \"allowlist\"\n\n[[allow]]\nport = 42000\n",
    )
    .expect("policy");
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").expect("summary");
    let mut lab = Lab::new();
    let specs: Vec<String> = (0..14).map(|i| format!("tcp:127.0.0.1:{}", 42_000 + i)).collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    lab.hold(&specs);
    let ports = (42_000..42_014).map(|p| p.to_string()).collect::<Vec<_>>().join(",");
    let policy_arg = policy.to_str().expect("utf-8");
    let out = lab.portghost_env(
        None,
        &[("GITHUB_STEP_SUMMARY", summary.as_os_str()), ("CI", OsStr::new("true"))],
        &["scan", "--format", "github", "--policy", policy_arg, "--port", &ports],
    );
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<String> = text.lines().map(String::from).collect();
    assert_eq!(count(&lines, "error"), 10, "{text}");
    let notice = lines.last().expect("notice");
    assert!(notice.contains("3 annotations left out (3 errors)"), "{notice}");
    assert!(notice.contains("every listener is in the step summary"), "{notice}");
    let md = std::fs::read_to_string(&summary).expect("summary written");
    assert!(md.starts_with("earlier step\n## portghost: "), "appended:\n{md}");
    let rows = md.lines().filter(|l| l.starts_with("| unexpected |")).count();
    assert_eq!(rows, 13, "every unexpected listener:\n{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with("| expected |")).count(), 1, "{md}");
}
