//! The human table: one row per listener, unexpected rows first, then the portless
//! listeners (packet and raw sockets) in a section of their own, then a summary line.
//! When the report spans several network namespaces, one table per namespace, each under
//! a `netns INODE …` header line, the host's first.
//!
//! Owns layout and colour of `portghost scan`'s default output. Every string that comes
//! from a process passes through [`terminal_safe`] first. Writes to any `Write`; never
//! reads the environment (colour and width come from [`Style`]).

use super::text::{Style, filter_cell, owners_cell, paint, portless_owners_cell};
use crate::model::{Classified, ClassifiedPortless, Netns, Report, Severity, Verdict};
use crate::sanitize::terminal_safe;
use comfy_table::{ContentArrangement, Table, presets};
use owo_colors::OwoColorize;
use std::io::{self, Write};

fn verdict_cell(v: Verdict, color: bool) -> String {
    let s = v.as_str();
    match v {
        Verdict::Unexpected => paint(s, color, |t| t.red().bold().to_string()),
        Verdict::Unreviewed => paint(s, color, |t| t.yellow().to_string()),
        Verdict::Expected => paint(s, color, |t| t.green().to_string()),
    }
}

/// `text`, a line of `c`'s reason, coloured by the severity of its first finding.
fn reason_cell(c: &Classified, text: &str, color: bool) -> String {
    match c.findings.first().map(|f| f.severity) {
        Some(Severity::High) => paint(text, color, |t| t.red().to_string()),
        Some(Severity::Medium) => paint(text, color, |t| t.yellow().to_string()),
        _ => paint(text, color, |t| t.dimmed().to_string()),
    }
}

/// The one-line summary printed under the table, e.g.
/// `14 listeners (9 tcp, 5 udp): 3 unexpected, 11 unreviewed, 0 expected`.
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let mut line = format!(
        "{} listener{} ({} tcp, {} udp): {} unexpected, {} unreviewed, {} expected",
        s.listeners,
        if s.listeners == 1 { "" } else { "s" },
        s.tcp,
        s.udp,
        s.unexpected,
        s.unreviewed,
        s.expected
    );
    if s.owners_hidden > 0 {
        line.push_str(&format!("; {} with hidden owners", s.owners_hidden));
    }
    if !report.portless.is_empty() {
        let n = report.portless.len();
        let unexpected = report
            .portless
            .iter()
            .filter(|c| c.verdict == Verdict::Unexpected)
            .count();
        line.push_str(&format!(
            "; {n} portless listener{} ({unexpected} unexpected)",
            if n == 1 { "" } else { "s" }
        ));
    }
    if report.namespaces.len() > 1 {
        line.push_str(&format!("; {} network namespaces scanned", report.namespaces.len()));
    }
    line
}

/// The header line of one network namespace's rows: `netns 4026532301 lab1`,
/// `netns 4026531833 (host)`, with the container when known (`docker:3f2a9c1b7d4e`).
pub fn netns_header(netns: Option<&Netns>) -> String {
    let Some(ns) = netns else {
        return "netns (unknown)".to_owned();
    };
    let mut line = format!("netns {}", ns.inode);
    if ns.host {
        line.push_str(" (host)");
    }
    if let Some(name) = &ns.name {
        line.push(' ');
        line.push_str(&terminal_safe(name));
    }
    if let Some(c) = &ns.container {
        line.push(' ');
        line.push_str(&terminal_safe(&c.label()));
    }
    line
}

/// The listeners split into runs of one network namespace each (they arrive sorted by
/// namespace).
fn by_netns(listeners: &[Classified]) -> Vec<&[Classified]> {
    let inode = |c: &Classified| c.listener.netns.as_ref().map(|n| n.inode);
    let mut groups = Vec::new();
    let mut rest = listeners;
    while let Some(first) = rest.first() {
        let len = rest.iter().take_while(|c| inode(c) == inode(first)).count();
        let (group, tail) = rest.split_at(len);
        groups.push(group);
        rest = tail;
    }
    groups
}

/// Renders `report` as a table followed by the summary line.
///
/// # Errors
/// Only errors from writing to `w`.
pub fn render(w: &mut dyn Write, report: &Report, style: &Style) -> io::Result<()> {
    render_with(w, report, style, true)
}

/// Like [`render`], with the column header line only when `header` is true
/// (`scan --no-header`).
///
/// # Errors
/// Only errors from writing to `w`.
pub fn render_with(w: &mut dyn Write, report: &Report, style: &Style, header: bool) -> io::Result<()> {
    let color = style.color;
    let groups = by_netns(&report.listeners);
    if groups.len() > 1 {
        for group in groups {
            let title = netns_header(group.first().and_then(|c| c.listener.netns.as_deref()));
            writeln!(w, "{}", paint(&title, color, |t| t.bold().to_string()))?;
            write_table(w, group, style, header)?;
        }
    } else if !report.listeners.is_empty() {
        write_table(w, &report.listeners, style, header)?;
    }
    if !report.portless.is_empty() {
        let header = "portless listeners (packet and raw sockets: no port, see every packet their filter accepts)";
        writeln!(w, "{}", paint(header, color, |t| t.bold().to_string()))?;
        write_portless(w, &report.portless, report.spans_namespaces(), style)?;
    }
    let summary = summary_line(report);
    let lines = match style.width {
        Some(width) => wrap(&summary, usize::from(width)),
        None => vec![summary],
    };
    for line in lines {
        if color && report.unexpected_total() > 0 {
            writeln!(w, "{}", line.bold())?;
        } else {
            writeln!(w, "{line}")?;
        }
    }
    Ok(())
}

/// An empty table in portghost's style: no borders, wrapped to `style.width` when there
/// is one (a terminal), never wrapped otherwise.
pub fn new_table(style: &Style) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    match style.width {
        Some(width) => {
            table
                .set_width(width)
                .set_content_arrangement(ContentArrangement::Dynamic);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// The portless listeners under their column header, followed by a blank line; with a
/// NETNS column when the report spans namespaces.
fn write_portless(w: &mut dyn Write, rows: &[ClassifiedPortless], netns: bool, style: &Style) -> io::Result<()> {
    let color = style.color;
    let mut table = new_table(style);
    let mut header = vec![
        "KIND",
        "PROTOCOL",
        "INTERFACE",
        "PROCESS",
        "FILTER",
        "VERDICT",
        "REASON",
    ];
    if netns {
        header.insert(0, "NETNS");
    }
    table.set_header(
        header
            .iter()
            .map(|h| paint(h, color, |t| t.bold().to_string()))
            .collect::<Vec<_>>(),
    );
    for c in rows {
        let l = &c.listener;
        let text = terminal_safe(&c.reason()).into_owned();
        let reason = match c.findings.first().map(|f| f.severity) {
            Some(Severity::High) => paint(&text, color, |t| t.red().to_string()),
            Some(Severity::Medium) => paint(&text, color, |t| t.yellow().to_string()),
            _ => paint(&text, color, |t| t.dimmed().to_string()),
        };
        let mut row = vec![
            format!("{}/{}", l.kind, l.socket_type.name()),
            l.protocol_name(),
            terminal_safe(&l.endpoint()).into_owned(),
            portless_owners_cell(l),
            filter_cell(c),
            verdict_cell(c.verdict, color),
            reason,
        ];
        if netns {
            row.insert(
                0,
                l.netns
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |n| terminal_safe(&n.label()).into_owned()),
            );
        }
        table.add_row(row);
    }
    for line in table.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    writeln!(w)
}

/// The narrowest REASON column worth having: with less room left beside the other columns,
/// each reason goes on its own indented lines under its row.
const MIN_REASON_WIDTH: usize = 30;

/// How far a reason printed under its row is indented.
const REASON_INDENT: usize = 4;

/// Columns a plain (uncoloured) cell takes; every character counts as one, which holds for
/// what [`terminal_safe`] leaves.
fn width_of(text: &str) -> usize {
    text.chars().count()
}

/// `text` broken at spaces into lines of at most `width` columns; a word longer than that
/// stays whole on a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !line.is_empty() && width_of(&line) + 1 + width_of(word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// One table of `rows` (under the column header when `header`), followed by a blank line.
///
/// Without a width (not a terminal) every row is one line. With one, the protocol,
/// address, process, service and verdict cells are never broken; the reason is wrapped at
/// spaces into the columns left, or, when fewer than [`MIN_REASON_WIDTH`] are left, printed
/// under its row, indented, on lines as wide as the terminal.
fn write_table(w: &mut dyn Write, rows: &[Classified], style: &Style, header: bool) -> io::Result<()> {
    let color = style.color;
    let titles = ["PROTO", "LOCAL ADDRESS", "PROCESS", "SERVICE", "VERDICT", "REASON"];
    let fixed: Vec<[String; 5]> = rows
        .iter()
        .map(|c| {
            let l = &c.listener;
            [
                l.protocol.as_str().to_string(),
                l.endpoint(),
                owners_cell(l),
                c.service
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |s| s.name.to_string()),
                c.verdict.as_str().to_string(),
            ]
        })
        .collect();
    let reasons: Vec<String> = rows.iter().map(|c| terminal_safe(&c.reason()).into_owned()).collect();
    // Each column takes its widest cell plus one space of padding on either side.
    let fixed_width: usize = (0..5)
        .map(|i| {
            let cells = fixed.iter().map(|r| width_of(&r[i]));
            let title = if header { width_of(titles[i]) } else { 0 };
            cells.chain([title]).max().unwrap_or(0) + 2
        })
        .sum();
    // The reason's column starts after its own left padding; its right padding is trimmed.
    let room = style.width.map(|w| usize::from(w).saturating_sub(fixed_width + 1));
    let below = room.is_some_and(|r| r < MIN_REASON_WIDTH);

    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    let shown = if below { &titles[..5] } else { &titles[..] };
    if header {
        table.set_header(
            shown
                .iter()
                .map(|h| paint(h, color, |t| t.bold().to_string()))
                .collect::<Vec<_>>(),
        );
    }
    for ((c, cells), reason) in rows.iter().zip(&fixed).zip(&reasons) {
        let [proto, address, process, service, _] = cells.clone();
        let mut row = vec![proto, address, process, service, verdict_cell(c.verdict, color)];
        if !below {
            let lines = match room {
                Some(room) => wrap(reason, room),
                None => vec![reason.clone()],
            };
            row.push(
                lines
                    .iter()
                    .map(|line| reason_cell(c, line, color))
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
        }
        table.add_row(row);
    }
    let mut lines = table.lines();
    if header && let Some(line) = lines.next() {
        writeln!(w, "{}", line.trim_end())?;
    }
    if below {
        let indent = " ".repeat(REASON_INDENT);
        let room = usize::from(style.width.unwrap_or(u16::MAX)).saturating_sub(REASON_INDENT);
        // Every row is one line: no cell of these columns is ever wrapped.
        for ((line, c), reason) in lines.zip(rows).zip(&reasons) {
            writeln!(w, "{}", line.trim_end())?;
            for part in wrap(reason, room) {
                writeln!(w, "{indent}{}", reason_cell(c, &part, color))?;
            }
        }
    } else {
        for line in lines {
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    writeln!(w)
}
