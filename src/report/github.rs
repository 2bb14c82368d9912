//! The GitHub Actions output (`--format github`): workflow commands that become annotations.
//!
//! Owns the command lines: `::error` for each unexpected listener (port or portless, the
//! latter with its filter listed), `::warning` for each scan
//! warning and each listener whose owners are hidden, and a closing `::notice` with the
//! summary. Owns the escaping of GitHub's workflow-command syntax: process-supplied text is
//! made visible with [`terminal_safe`] (the log is shown like a terminal), then `%`, CR and LF
//! are percent-encoded (and `:` and `,` in property values), and any control character left is
//! dropped, so no text can end a command or start another. Writes to any `Write`.

use super::table::summary_line;
use super::text::{evidence_line, finding_with_evidence, owners_cell, portless_owners_cell};
use crate::model::{Classified, Report, Verdict};
use crate::sanitize::{is_dangerous, terminal_safe};
use std::io::{self, Write};

/// Escapes a command's message (its data) as GitHub's toolkit does: `%` → `%25`, CR → `%0D`,
/// LF → `%0A`; every other control character or bidirectional override is dropped.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c if is_dangerous(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value (`title=…`): as [`escape_data`], plus `:` → `%3A` and `,` → `%2C`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(out: &mut impl Write, name: &str, title: &str, message: &str) -> io::Result<()> {
    writeln!(
        out,
        "::{name} title={}::{}",
        escape_property(title),
        escape_data(message)
    )
}

/// `tcp/3237`, the short name of a listener used in annotation titles.
fn short_name(c: &Classified) -> String {
    format!("{}/{}", c.listener.protocol, c.listener.port)
}

/// Where a listener is: `0.0.0.0:3237`, or `netns lab1: 0.0.0.0:3237` when the scan spans
/// several network namespaces. Sanitised.
fn place(c: &Classified, report: &Report) -> String {
    match &c.listener.netns {
        Some(ns) if report.spans_namespaces() => {
            format!("netns {}: {}", terminal_safe(&ns.label()), c.listener.endpoint())
        }
        _ => c.listener.endpoint(),
    }
}

/// The first line of a listener's annotation: `0.0.0.0:3237 python3(4242)`, sanitised.
fn subject(c: &Classified, report: &Report) -> String {
    let owners = owners_cell(&c.listener);
    if owners.is_empty() {
        place(c, report)
    } else {
        format!("{} {owners}", place(c, report))
    }
}

/// Renders `report` as GitHub Actions workflow commands, one per line.
///
/// An unexpected listener gives `::error title=portghost: unexpected listener tcp/3237::…`
/// whose message names the address and owners, then every finding on its own line
/// (`high ghost-port: …`), each followed by its evidence (`  evidence package (strong): …`). Scan warnings and hidden owners give `::warning`; the last line
/// is a `::notice` with the summary.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    for c in report.listeners.iter().filter(|c| c.verdict == Verdict::Unexpected) {
        let mut message = format!("{}: {}", subject(c, report), terminal_safe(&c.reason()));
        let mut lines: Vec<String> = Vec::new();
        if let Some(first) = c.findings.first() {
            lines.extend(
                first
                    .evidence
                    .iter()
                    .map(|e| format!("  evidence {}", evidence_line(e))),
            );
        }
        lines.extend(c.findings.iter().skip(1).flat_map(finding_with_evidence));
        for line in lines {
            message.push('\n');
            message.push_str(&line);
        }
        let title = format!("portghost: unexpected listener {}", short_name(c));
        command(out, "error", &title, &message)?;
    }
    for c in report.portless.iter().filter(|c| c.verdict == Verdict::Unexpected) {
        let l = &c.listener;
        let owners = portless_owners_cell(l);
        let mut message = format!(
            "{} socket {} {owners}: {}",
            l.kind,
            terminal_safe(&l.endpoint()),
            terminal_safe(&c.reason())
        );
        for line in c.findings.iter().skip(1).flat_map(finding_with_evidence) {
            message.push('\n');
            message.push_str(&line);
        }
        if let Some(d) = &c.filter {
            message.push_str("\n  filter:");
            for insn in &d.listing {
                message.push_str("\n    ");
                message.push_str(insn);
            }
        }
        let title = format!(
            "portghost: unexpected portless listener {}/{}",
            l.kind,
            l.protocol_name()
        );
        command(out, "error", &title, &message)?;
    }
    for w in &report.warnings {
        command(out, "warning", "portghost: scan warning", &terminal_safe(w))?;
    }
    for c in report.listeners.iter().filter(|c| c.listener.owner_status.is_hidden()) {
        let title = format!("portghost: owner hidden {}", short_name(c));
        let message = format!("{}: {}", place(c, report), c.listener.owner_status.reason());
        command(out, "warning", &title, &message)?;
    }
    command(out, "notice", "portghost", &summary_line(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_as_the_actions_toolkit_does() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
        assert_eq!(
            escape_property("portghost: tcp/1, tcp/2"),
            "portghost%3A tcp/1%2C tcp/2"
        );
        assert_eq!(escape_property("100%\n"), "100%25%0A");
    }

    #[test]
    fn other_control_characters_are_dropped() {
        assert_eq!(escape_data("evil\x1b[2Jname\x07\x7f\u{9b}\u{202e}x"), "evil[2Jnamex");
        assert_eq!(escape_property("a\x00b\tc"), "abc");
    }
}
