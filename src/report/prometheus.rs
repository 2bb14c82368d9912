//! The Prometheus text exposition format (`scan --format prometheus`, `watch --textfile`),
//! for node_exporter's textfile collector.
//!
//! Owns the metric names, their `# HELP` and `# TYPE` lines, the labels and their escaping.
//! Writes to any `Write`; the scan's time and duration come in a [`ScanClock`] (this module
//! reads no clock). Label values are made safe for a terminal first, then escaped as the
//! exposition format asks (`\\`, `\"`, `\n`).
//!
//! Cardinality: `portghost_listener_info` has one series per distinct set of labels, which
//! is bounded by the listening sockets (no PID label, so a restart does not make a new
//! series). Sockets that share every label (say `0.0.0.0:22` and `[::]:22`, both
//! `wildcard`) are one series whose value is how many sockets it stands for (usually 1).

use crate::model::{Classified, ClassifiedPortless, Finding, Owner, Report, Verdict};
use crate::sanitize::terminal_safe;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

/// When the scan was taken and how long it took, given by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScanClock {
    /// Seconds since 1970 (UTC) when the scan finished.
    pub timestamp: f64,
    /// Seconds the scan and its classification took.
    pub duration: f64,
}

/// The labels of one `portghost_listener_info` series, in output order.
const INFO_LABELS: [&str; 9] = [
    "protocol",
    "port",
    "address_scope",
    "process",
    "exe",
    "unit",
    "container",
    "netns",
    "verdict",
];

/// Renders `report` as Prometheus text: every metric with `# HELP` and `# TYPE`, series in a
/// stable order.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report, clock: ScanClock) -> io::Result<()> {
    render_report(out, report)?;
    render_clock(out, clock)
}

/// The part of [`render`] that depends on the report only: every metric but the last
/// two, which [`render_clock`] writes. A caller that writes the same report again at a
/// later time (`watch --textfile`, every interval) can keep these bytes and append a
/// fresh clock.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render_report(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let mut verdicts: BTreeMap<&str, u64> = [Verdict::Unexpected, Verdict::Unreviewed, Verdict::Expected]
        .into_iter()
        .map(|v| (v.as_str(), 0))
        .collect();
    let mut findings: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut info: BTreeMap<Labels<'_>, u64> = BTreeMap::new();
    let mut count_findings = |list: &[Finding]| {
        for f in list {
            *findings.entry((f.kind.as_str(), f.severity.as_str())).or_default() += 1;
        }
    };
    for c in &report.listeners {
        *verdicts.entry(c.verdict.as_str()).or_default() += 1;
        count_findings(&c.findings);
        *info.entry(listener_labels(c)).or_default() += 1;
    }
    for c in &report.portless {
        *verdicts.entry(c.verdict.as_str()).or_default() += 1;
        count_findings(&c.findings);
        *info.entry(portless_labels(c)).or_default() += 1;
    }

    header(
        out,
        "portghost_listeners",
        "Listening sockets (port and portless) by verdict, as of the last scan.",
    )?;
    for (verdict, n) in &verdicts {
        writeln!(out, "portghost_listeners{{verdict=\"{}\"}} {n}", escape(verdict))?;
    }
    header(
        out,
        "portghost_findings",
        "Findings on the listening sockets by kind and severity, as of the last scan.",
    )?;
    for ((kind, severity), n) in &findings {
        writeln!(
            out,
            "portghost_findings{{kind=\"{}\",severity=\"{}\"}} {n}",
            escape(kind),
            escape(severity)
        )?;
    }
    header(
        out,
        "portghost_listener_info",
        "One series per listening socket (port empty for packet and raw sockets); the value counts the sockets sharing these labels.",
    )?;
    for (labels, n) in &info {
        out.write_all(b"portghost_listener_info{")?;
        for (i, (name, value)) in INFO_LABELS.iter().zip(labels).enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(name.as_bytes())?;
            out.write_all(b"=\"")?;
            write_escaped(out, value)?;
            out.write_all(b"\"")?;
        }
        writeln!(out, "}} {n}")?;
    }
    header(
        out,
        "portghost_scan_complete",
        "1 when the last scan saw every owner and every part of the host, else 0.",
    )?;
    writeln!(out, "portghost_scan_complete {}", u8::from(report.complete))
}

/// The last part of [`render`]: `portghost_last_scan_timestamp_seconds` and
/// `portghost_scan_duration_seconds`, from `clock`.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render_clock(out: &mut impl Write, clock: ScanClock) -> io::Result<()> {
    header(
        out,
        "portghost_last_scan_timestamp_seconds",
        "When the last scan finished, in seconds since 1970.",
    )?;
    writeln!(out, "portghost_last_scan_timestamp_seconds {}", number(clock.timestamp))?;
    header(
        out,
        "portghost_scan_duration_seconds",
        "How long the last scan and its classification took, in seconds.",
    )?;
    writeln!(out, "portghost_scan_duration_seconds {}", number(clock.duration))?;
    Ok(())
}

/// `# HELP` and `# TYPE ... gauge` for `name`.
fn header(out: &mut impl Write, name: &str, help: &str) -> io::Result<()> {
    writeln!(out, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"))?;
    writeln!(out, "# TYPE {name} gauge")
}

/// A float as Prometheus reads it, with no exponent for ordinary values.
fn number(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.6}")
    } else {
        "NaN".to_owned()
    }
}

/// Writes `value` as [`escape`] does, without allocating when it is printable ASCII with
/// neither `\` nor `"` (the usual case: names, paths, ports).
fn write_escaped(out: &mut impl Write, value: &str) -> io::Result<()> {
    if value
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'\\' && b != b'"')
    {
        out.write_all(value.as_bytes())
    } else {
        out.write_all(escape(value).as_bytes())
    }
}

/// `value` made safe for a terminal, then escaped for a label value: `\` `"` and newline.
pub fn escape(value: &str) -> String {
    let safe = terminal_safe(value);
    let mut out = String::with_capacity(safe.len());
    for ch in safe.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The values of one `portghost_listener_info` series, in [`INFO_LABELS`] order; borrowed
/// from the report where they can be. Ordered as the strings are.
type Labels<'a> = [Cow<'a, str>; 9];

/// The distinct values of `f` over `owners`, sorted, joined with `,` (borrowed when there is
/// one owner, as there usually is).
fn joined<'a>(owners: &'a [Arc<Owner>], f: impl Fn(&'a Owner) -> Option<Cow<'a, str>>) -> Cow<'a, str> {
    if let [owner] = owners {
        return f(owner).unwrap_or_default();
    }
    let mut values: Vec<Cow<'a, str>> = owners.iter().filter_map(|o| f(o)).collect();
    values.sort();
    values.dedup();
    Cow::Owned(values.join(","))
}

/// process, exe, unit and container labels of `owners` (container from the namespace when
/// no owner names one).
fn owner_labels<'a>(owners: &'a [Arc<Owner>], netns: Option<&crate::model::Netns>) -> [Cow<'a, str>; 4] {
    let mut container = joined(owners, |o| o.container.as_ref().map(|c| Cow::Owned(c.label())));
    if container.is_empty()
        && let Some(c) = netns.and_then(|n| n.container.as_ref())
    {
        container = Cow::Owned(c.label());
    }
    [
        joined(owners, |o| Some(Cow::Borrowed(o.name.as_str()))),
        joined(owners, |o| o.exe.as_deref().map(Cow::Borrowed)),
        joined(owners, |o| o.unit_label().map(Cow::Owned)),
        container,
    ]
}

/// The `portghost_listener_info` labels of a port listener.
fn listener_labels(c: &Classified) -> Labels<'_> {
    let l = &c.listener;
    let [process, exe, unit, container] = owner_labels(&l.owners, l.netns.as_deref());
    [
        Cow::Borrowed(l.protocol.as_str()),
        Cow::Owned(l.port.to_string()),
        Cow::Borrowed(l.exposure().as_str()),
        process,
        exe,
        unit,
        container,
        l.netns.as_ref().map(|n| Cow::Owned(n.label())).unwrap_or_default(),
        Cow::Borrowed(c.verdict.as_str()),
    ]
}

/// The `portghost_listener_info` labels of a portless listener: protocol `packet` or `raw`,
/// port empty; the scope of its bound address, else `wildcard` when it takes every
/// interface and `interface` when bound to one.
fn portless_labels(c: &ClassifiedPortless) -> Labels<'_> {
    let l = &c.listener;
    let [process, exe, unit, container] = owner_labels(&l.owners, l.netns.as_deref());
    let scope = match (l.local_address, l.ifindex) {
        (Some(a), _) => crate::model::Exposure::of(&a).as_str(),
        (None, 0) => "wildcard",
        (None, _) => "interface",
    };
    [
        Cow::Borrowed(l.kind.as_str()),
        Cow::Borrowed(""),
        Cow::Borrowed(scope),
        process,
        exe,
        unit,
        container,
        l.netns.as_ref().map(|n| Cow::Owned(n.label())).unwrap_or_default(),
        Cow::Borrowed(c.verdict.as_str()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_after_terminal_sanitising() {
        assert_eq!(escape(r#"a\b"c"#), r#"a\\b\"c"#);
        assert!(!escape("x\u{1b}[31my").contains('\u{1b}'));
        assert!(!escape("a\nb").contains('\n'));
    }

    #[test]
    fn the_fast_path_writes_what_escape_gives() {
        let check = |value: &str| {
            let mut out = Vec::new();
            write_escaped(&mut out, value).expect("write");
            assert_eq!(String::from_utf8(out).expect("utf-8"), escape(value), "{value:?}");
        };
        for value in [
            "",
            "sshd",
            "/usr/sbin/sshd",
            r#"ev"il\x"#,
            "a\nb",
            "x\u{1b}[31m",
            "caf\u{e9}",
            "\u{202e}",
            "del\u{7f}",
        ] {
            check(value);
        }
        proptest::proptest!(|(value in "\\PC*|[ -~]*|.*")| check(&value));
    }

    #[test]
    fn an_empty_report_has_every_metric() {
        let inventory = crate::model::Inventory {
            host: "h".to_owned(),
            scanned_at: "2026-11-21T08:28:04Z".to_owned(),
            listeners: Vec::new(),
            privileged: true,
            host_pid_namespace: Some(true),
            warnings: Vec::new(),
            view: None,
            namespaces: Vec::new(),
            provenance: crate::model::Provenance::default(),
            portless: Vec::new(),
            kind: crate::model::InventoryKind::Linux,
        };
        let registry = crate::registry::Registry::builtin().expect("registry");
        let report = crate::classify::classify(inventory, registry);
        let mut out = Vec::new();
        render(
            &mut out,
            &report,
            ScanClock {
                timestamp: 1_795_249_684.5,
                duration: 0.25,
            },
        )
        .expect("render");
        let text = String::from_utf8(out).expect("utf-8");
        for name in [
            "portghost_listeners",
            "portghost_findings",
            "portghost_listener_info",
            "portghost_scan_complete",
            "portghost_last_scan_timestamp_seconds",
            "portghost_scan_duration_seconds",
        ] {
            assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name}");
        }
        assert!(text.contains("portghost_listeners{verdict=\"unexpected\"} 0\n"));
        assert!(text.contains("portghost_last_scan_timestamp_seconds 1795249684.500000\n"));
    }
}
