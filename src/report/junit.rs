//! The JUnit XML output (`--format junit`), for the test-report views of CI systems
//! (GitLab, Jenkins, GitHub test-report actions).
//!
//! Owns the mapping of a scan onto JUnit: one test suite `portghost` per scan, one test case
//! per listener, a failure for each unexpected listener. Test-case names leave out PIDs so
//! that CI history links the same listener across runs; when the scan spans several network
//! namespaces they start with the namespace (`netns lab1: tcp/3237 0.0.0.0 python3`). Every string from a process goes
//! through [`terminal_safe`] first, so control characters, invisible characters and the
//! characters XML 1.0 forbids (U+FFFE, U+FFFF) show as visible escapes (`\x1b`,
//! `\u{fffe}`) instead of being dropped or breaking the XML; quick-junit does the XML
//! escaping, and a last pass over the document escapes any character XML 1.0 forbids that
//! got through anyway. Writes to any `Write`.
//!
//! The document validates against the Jenkins xunit plugin's `junit-10.xsd` (shipped as
//! `tests/fixtures/junit/junit-10.xsd` and checked with `xmllint --schema`): the root
//! `testsuites` carries `name`, `time`, `tests`, `failures` and `errors` and nothing else
//! (quick-junit also writes `skipped`, which that schema does not allow, so it is taken off),
//! and the report, the suite and every case carry a `time` in seconds.

use super::text::finding_with_evidence;
use crate::model::{Classified, Listener, OwnerStatus, Report, Verdict};
use crate::sanitize::terminal_safe;
use quick_junit::{NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

/// Name of the test suite and of the report.
pub const SUITE_NAME: &str = "portghost";

/// The address part of a test-case name: `0.0.0.0`, `[::1]`.
fn address(l: &Listener) -> String {
    match l.local_address {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    }
}

/// The owner part of a test-case name: distinct process names in PID order (`nginx`,
/// `master,worker`), or why there are none. No PIDs: a restart must not rename the case.
fn owner_names(l: &Listener) -> String {
    match l.owner_status {
        OwnerStatus::Known => {
            let mut names: Vec<String> = Vec::new();
            for o in &l.owners {
                let n = terminal_safe(&o.name).into_owned();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            names.join(",")
        }
        OwnerStatus::Permission | OwnerStatus::Unavailable => "(owner hidden)".to_string(),
        OwnerStatus::NoProcess => "(no process)".to_string(),
        OwnerStatus::Kernel => "(kernel)".to_string(),
        OwnerStatus::NotLooked => "(owners not looked up)".to_string(),
    }
}

/// The stable test-case name of a listener: `tcp/22 0.0.0.0 sshd`.
pub fn case_name(l: &Listener) -> String {
    format!("{}/{} {} {}", l.protocol, l.port, address(l), owner_names(l))
}

/// The test case's system-out: the socket (and its network namespace, when the scan spans
/// several), every owner with its details, the service and every finding, one per line.
fn details(c: &Classified, spans_namespaces: bool) -> String {
    let l = &c.listener;
    let mut s = String::new();
    let _ = writeln!(s, "listener: {} {}", l.protocol, l.endpoint());
    let _ = writeln!(s, "exposure: {}", l.exposure().as_str());
    if let Some(ns) = l.netns.as_ref().filter(|_| spans_namespaces) {
        let _ = writeln!(s, "netns: {} {}", ns.inode, terminal_safe(&ns.label()));
    }
    if let Some(inode) = l.inode {
        let _ = writeln!(s, "inode: {inode}");
    }
    match l.owner_status {
        OwnerStatus::Known => {
            for o in &l.owners {
                let _ = write!(s, "owner: {}({})", terminal_safe(&o.name), o.pid);
                if let Some(user) = &o.user {
                    let _ = write!(s, " user {}", terminal_safe(user));
                } else if let Some(uid) = o.uid {
                    let _ = write!(s, " uid {uid}");
                }
                if let Some(exe) = &o.exe {
                    let _ = write!(s, " exe {}", terminal_safe(exe));
                }
                if let Some(unit) = o.unit_label() {
                    let _ = write!(s, " unit {}", terminal_safe(&unit));
                }
                if let Some(ct) = &o.container {
                    let _ = write!(s, " container {}", terminal_safe(&ct.label()));
                }
                s.push('\n');
            }
        }
        status => {
            let _ = writeln!(s, "owner: none shown: {}", status.reason());
        }
    }
    match c.service {
        Some(svc) if !svc.description.is_empty() => {
            let _ = writeln!(s, "service: {} ({})", svc.name, svc.description);
        }
        Some(svc) => {
            let _ = writeln!(s, "service: {}", svc.name);
        }
        None => {}
    }
    let _ = writeln!(s, "verdict: {}", c.verdict);
    for line in c.findings.iter().flat_map(finding_with_evidence) {
        let _ = writeln!(s, "{line}");
    }
    s
}

fn test_case(c: &Classified, name: String, spans_namespaces: bool) -> TestCase {
    let status = match (c.verdict, c.findings.first()) {
        (Verdict::Unexpected, first) => {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            match first {
                Some(f) => {
                    st.set_message(terminal_safe(&f.message).into_owned())
                        .set_type(f.kind.as_str());
                }
                None => {
                    st.set_message("unexpected listener");
                }
            }
            let all: Vec<String> = c.findings.iter().flat_map(finding_with_evidence).collect();
            st.set_description(all.join("\n"));
            st
        }
        _ => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(name, status);
    case.set_time(Duration::ZERO)
        .set_classname(format!("{SUITE_NAME}.{}", c.listener.protocol))
        .set_system_out(details(c, spans_namespaces));
    case
}

/// Builds the JUnit report of a scan: suite `portghost` with properties `host`,
/// `scanned_at`, `complete` and `privileged`, the scan time as its timestamp when it parses
/// as RFC 3339, scan warnings as its system-err, and one test case per listener in report
/// order, then one per portless listener (class `portghost.portless.packet` or `.raw`).
/// Names that would repeat (two sockets on one address and port) get ` #2`, ` #3`.
/// The report and the suite take no time and neither does any case; [`build_timed`] gives
/// them the scan's.
pub fn build(report: &Report) -> JunitReport {
    build_timed(report, Duration::ZERO)
}

/// [`build`], with `elapsed` (how long the scan took) as the `time` of the report and of
/// the suite. Each case's `time` is zero: a listener is judged, not run, and JUnit readers
/// add the cases' times up, so no share of the scan is made up for any of them.
pub fn build_timed(report: &Report, elapsed: Duration) -> JunitReport {
    let mut suite = TestSuite::new(SUITE_NAME);
    suite.set_time(elapsed);
    suite
        .add_property(Property::new("host", terminal_safe(&report.host).into_owned()))
        .add_property(Property::new("scanned_at", report.scanned_at.as_str()))
        .add_property(Property::new("complete", report.complete.to_string()))
        .add_property(Property::new("privileged", report.privileged.to_string()));
    if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(&report.scanned_at) {
        suite.set_timestamp(ts);
    }
    if !report.warnings.is_empty() {
        let text: Vec<String> = report
            .warnings
            .iter()
            .map(|w| format!("warning: {}", terminal_safe(w)))
            .collect();
        suite.set_system_err(text.join("\n"));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for c in &report.listeners {
        let base = match &c.listener.netns {
            Some(ns) if report.spans_namespaces() => {
                format!("netns {}: {}", terminal_safe(&ns.label()), case_name(&c.listener))
            }
            _ => case_name(&c.listener),
        };
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let name = if *n == 1 { base } else { format!("{base} #{n}") };
        suite.add_test_case(test_case(c, name, report.spans_namespaces()));
    }
    for c in &report.portless {
        let l = &c.listener;
        let base = format!(
            "{} {} {} inode {}",
            l.kind,
            l.protocol_name(),
            terminal_safe(&l.endpoint()),
            l.inode
        );
        let status = if c.verdict == Verdict::Unexpected {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            if let Some(f) = c.findings.first() {
                st.set_message(terminal_safe(&f.message).into_owned())
                    .set_type(f.kind.as_str());
            }
            let all: Vec<String> = c.findings.iter().flat_map(finding_with_evidence).collect();
            st.set_description(all.join("\n"));
            st
        } else {
            TestCaseStatus::success()
        };
        let mut out = format!(
            "socket: {} {}\nowners: {}\nverdict: {}\n",
            l.kind,
            l.socket_type.name(),
            super::text::portless_owners_cell(l),
            c.verdict
        );
        if let Some(d) = &c.filter {
            out.push_str(&format!("filter: {}\n", terminal_safe(&d.summary)));
            for insn in &d.listing {
                out.push_str(&format!("  {insn}\n"));
            }
        }
        let mut case = TestCase::new(base, status);
        case.set_classname(format!("{SUITE_NAME}.portless.{}", l.kind))
            .set_system_out(out);
        suite.add_test_case(case);
    }
    let mut junit = JunitReport::new(SUITE_NAME);
    junit.set_time(elapsed);
    junit.add_test_suite(suite);
    junit
}

/// Renders `report` as a JUnit XML document whose times are zero; see [`render_timed`].
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    render_timed(out, report, Duration::ZERO)
}

/// Renders `report` as a JUnit XML document that validates against `junit-10.xsd`, with
/// `elapsed` (how long the scan took) as the time of the report and of the suite.
///
/// # Errors
/// Errors from writing to `out`. The document is built in memory first, so a write error
/// (a closed pipe) reaches the caller as the plain `io::Error` it is.
pub fn render_timed(out: &mut impl Write, report: &Report, elapsed: Duration) -> io::Result<()> {
    let xml = build_timed(report, elapsed).to_string().map_err(io::Error::other)?;
    let xml = without_root_skipped(&xml).map_err(io::Error::other)?;
    out.write_all(xml_chars_only(&xml).as_bytes())?;
    writeln!(out)
}

/// `xml` with the `skipped` attribute taken off its root `testsuites` element, which
/// quick-junit always writes and `junit-10.xsd` does not allow there (a `testsuite` may
/// keep it). The rest of the document is copied byte for byte.
fn without_root_skipped(xml: &str) -> Result<String, quick_xml::Error> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        let before = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        match reader.read_event()? {
            Event::Start(tag) if tag.name().as_ref() == b"testsuites" => {
                let after = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
                let mut root = BytesStart::new("testsuites");
                for attr in tag.attributes() {
                    let attr = attr.map_err(quick_xml::Error::InvalidAttr)?;
                    if attr.key.as_ref() != b"skipped" {
                        root.push_attribute(attr);
                    }
                }
                let mut writer = quick_xml::Writer::new(Vec::new());
                writer.write_event(Event::Start(root))?;
                let tag = String::from_utf8_lossy(&writer.into_inner()).into_owned();
                let (Some(head), Some(tail)) = (xml.get(..before), xml.get(after..)) else {
                    return Ok(xml.to_string());
                };
                return Ok(format!("{head}{tag}{tail}"));
            }
            Event::Eof => return Ok(xml.to_string()),
            _ => {}
        }
    }
}

/// True for the characters XML 1.0 allows in a document (its `Char` production).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `xml` with every character XML 1.0 forbids (and any character reference to one, such
/// as `&#x1;`) written as a visible `\u{…}` escape, so the document always parses. The
/// builder already escapes such characters in every string it is given; this is the net
/// under it.
fn xml_chars_only(xml: &str) -> Cow<'_, str> {
    let forbidden_ref = |s: &str| -> Option<(usize, u32)> {
        let body = s.strip_prefix("&#")?;
        let end = body.find(';')?;
        let digits = &body[..end];
        let value = match digits.strip_prefix('x').or_else(|| digits.strip_prefix('X')) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => digits.parse().ok()?,
        };
        let ok = char::from_u32(value).is_some_and(is_xml_char);
        (!ok).then_some((end + 3, value))
    };
    if xml.chars().all(is_xml_char) && !xml.match_indices("&#").any(|(i, _)| forbidden_ref(&xml[i..]).is_some()) {
        return Cow::Borrowed(xml);
    }
    let mut out = String::with_capacity(xml.len() + 16);
    let mut rest = xml;
    while let Some(c) = rest.chars().next() {
        if let Some((len, value)) = forbidden_ref(rest) {
            let _ = write!(out, "\\u{{{value:x}}}");
            rest = &rest[len..];
            continue;
        }
        if is_xml_char(c) {
            out.push(c);
        } else {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}
