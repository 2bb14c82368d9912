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
use crate::model::{Classified, Report, Severity, Verdict};
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

/// `tcp 0.0.0.0:3237 python3(4242)` (with the namespace when the scan spans several),
/// sanitised: how the code-quality formats name a listener.
pub(crate) fn subject_line(c: &Classified, report: &Report) -> String {
    format!("{} {}", c.listener.protocol, subject(c, report))
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

/// How many annotations GitHub shows: at most `per_type` of each type (error, warning,
/// notice) from one step, and `per_job` in all from one job. Commands past these limits
/// are dropped by GitHub without a word, so [`render_limited`] never writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Annotations of one type per step (GitHub: 10).
    pub per_type: usize,
    /// Annotations per job (GitHub: 50).
    pub per_job: usize,
}

impl Limits {
    /// GitHub's limits: 10 of each type per step, 50 per job.
    pub const GITHUB: Limits = Limits {
        per_type: 10,
        per_job: 50,
    };
}

/// What [`render_limited`] left out to stay within the [`Limits`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted {
    /// `::error` annotations (unexpected listeners) not written.
    pub errors: usize,
    /// `::warning` annotations (scan warnings, hidden owners) not written.
    pub warnings: usize,
}

impl Omitted {
    /// All the annotations left out.
    pub fn total(self) -> usize {
        self.errors + self.warnings
    }
}

/// One annotation before it is written: its type, title and message.
struct Annotation {
    title: String,
    message: String,
}

/// The `::error` of every unexpected listener, port or portless, the most severe first (by
/// the severity of its most severe finding; report order among equals, port listeners
/// before portless ones).
fn errors(report: &Report) -> Vec<Annotation> {
    let mut all: Vec<(Severity, Annotation)> = port_errors(report).into_iter().chain(portless_errors(report)).collect();
    all.sort_by_key(|(severity, _)| *severity);
    all.into_iter().map(|(_, a)| a).collect()
}

/// The `::error` of every unexpected portless listener, with its severity.
fn portless_errors(report: &Report) -> Vec<(Severity, Annotation)> {
    report
        .portless
        .iter()
        .filter(|c| c.verdict == Verdict::Unexpected)
        .map(|c| {
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
            let severity = c.findings.iter().map(|f| f.severity).min().unwrap_or(Severity::Info);
            let title = format!(
                "portghost: unexpected portless listener {}/{}",
                l.kind,
                l.protocol_name()
            );
            (severity, Annotation { title, message })
        })
        .collect()
}

/// The `::error` of every unexpected port listener, with its severity.
fn port_errors(report: &Report) -> Vec<(Severity, Annotation)> {
    let unexpected: Vec<&Classified> = report
        .listeners
        .iter()
        .filter(|c| c.verdict == Verdict::Unexpected)
        .collect();
    unexpected
        .into_iter()
        .map(|c| {
            let severity = c.findings.iter().map(|f| f.severity).min().unwrap_or(Severity::Info);
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
            (severity, Annotation { title, message })
        })
        .collect()
}

/// The `::warning`s: every scan warning, then every listener whose owners are hidden.
fn warnings(report: &Report) -> Vec<Annotation> {
    let mut out: Vec<Annotation> = report
        .warnings
        .iter()
        .map(|w| Annotation {
            title: "portghost: scan warning".to_string(),
            message: terminal_safe(w).into_owned(),
        })
        .collect();
    out.extend(
        report
            .listeners
            .iter()
            .filter(|c| c.listener.owner_status.is_hidden())
            .map(|c| Annotation {
                title: format!("portghost: owner hidden {}", short_name(c)),
                message: format!("{}: {}", place(c, report), c.listener.owner_status.reason()),
            }),
    );
    out
}

/// Renders `report` as GitHub Actions workflow commands within GitHub's [`Limits`]; see
/// [`render_limited`]. Says nothing of a step summary.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    render_limited(out, report, Limits::GITHUB, false).map(|_| ())
}

/// Renders `report` as GitHub Actions workflow commands, one per line, writing no more
/// annotations than `limits` lets GitHub show.
///
/// An unexpected listener gives `::error title=portghost: unexpected listener tcp/3237::…`
/// whose message names the address and owners, then every finding on its own line
/// (`high ghost-port: …`), each followed by its evidence (`  evidence package (strong): …`);
/// the most severe come first, and past the limit the rest are left out. Scan warnings and
/// hidden owners give `::warning`, as many as the limits leave room for. The last line is a
/// `::notice` with the summary and, when annotations were left out, how many, and where
/// the full list is: the step summary when `summary_written`, else the other formats.
/// Returns what was left out.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render_limited(
    out: &mut impl Write,
    report: &Report,
    limits: Limits,
    summary_written: bool,
) -> io::Result<Omitted> {
    // One place is kept for the closing notice.
    let room = limits.per_job.saturating_sub(1);
    let errors = errors(report);
    let error_cap = limits.per_type.min(room);
    let warnings = warnings(report);
    let warning_cap = limits.per_type.min(room - error_cap.min(errors.len()));
    let mut omitted = Omitted::default();
    for (i, a) in errors.iter().enumerate() {
        if i < error_cap {
            command(out, "error", &a.title, &a.message)?;
        } else {
            omitted.errors += 1;
        }
    }
    for (i, a) in warnings.iter().enumerate() {
        if i < warning_cap {
            command(out, "warning", &a.title, &a.message)?;
        } else {
            omitted.warnings += 1;
        }
    }
    let mut notice = summary_line(report);
    if omitted.total() > 0 {
        let plural = |n: usize, one: &str| {
            if n == 1 {
                format!("{n} {one}")
            } else {
                format!("{n} {one}s")
            }
        };
        let mut parts = Vec::new();
        if omitted.errors > 0 {
            parts.push(plural(omitted.errors, "error"));
        }
        if omitted.warnings > 0 {
            parts.push(plural(omitted.warnings, "warning"));
        }
        let place = if summary_written {
            "every listener is in the step summary"
        } else {
            "run portghost scan --format table (or json) to see every listener"
        };
        notice.push_str(&format!(
            "; {} left out ({}), as GitHub shows at most {} annotations of each type per step; the most severe are shown; {place}",
            plural(omitted.total(), "annotation"),
            parts.join(", "),
            limits.per_type
        ));
    }
    command(out, "notice", "portghost", &notice)?;
    Ok(omitted)
}

/// Makes text safe in a Markdown table cell: made visible with [`terminal_safe`], then
/// `&`, `<` and `>` written as entities (no HTML from a process name), Markdown's
/// punctuation backslash-escaped (no links, emphasis or code from it), `|` escaped so the
/// cell does not split, and line breaks written as `<br>`.
pub fn markdown_cell(s: &str) -> String {
    let safe = terminal_safe(s);
    let mut out = String::with_capacity(safe.len());
    for c in safe.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '!' | '|' | '~' | '{' | '}' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Writes the step summary of `report` in GitHub-flavoured Markdown: a heading, the
/// summary line, the scan warnings, and a table of every listener shown (unexpected first,
/// as in the report) with its verdict, address, owners and reason. Meant to be appended
/// to the file `$GITHUB_STEP_SUMMARY` names.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render_summary(out: &mut impl Write, report: &Report) -> io::Result<()> {
    writeln!(out, "## portghost: {}", markdown_cell(&report.host))?;
    writeln!(out)?;
    writeln!(out, "{}", markdown_cell(&summary_line(report)))?;
    writeln!(out)?;
    for w in &report.warnings {
        writeln!(out, "- warning: {}", markdown_cell(w))?;
    }
    if !report.warnings.is_empty() {
        writeln!(out)?;
    }
    if report.listeners.is_empty() {
        return writeln!(out, "No listeners.");
    }
    writeln!(out, "| verdict | severity | listener | owners | reason |")?;
    writeln!(out, "| --- | --- | --- | --- | --- |")?;
    for c in &report.listeners {
        let severity = c.findings.iter().map(|f| f.severity).min().map_or("", Severity::as_str);
        let owners = match owners_cell(&c.listener) {
            o if o.is_empty() => c.listener.owner_status.reason().to_string(),
            o => o,
        };
        writeln!(
            out,
            "| {} | {} | {} {} | {} | {} |",
            c.verdict,
            severity,
            c.listener.protocol,
            markdown_cell(&place(c, report)),
            markdown_cell(&owners),
            markdown_cell(&c.reason())
        )?;
    }
    Ok(())
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
