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

fn reason_cell(c: &Classified, color: bool) -> String {
    let text = terminal_safe(&c.reason()).into_owned();
    match c.findings.first().map(|f| f.severity) {
        Some(Severity::High) => paint(&text, color, |t| t.red().to_string()),
        Some(Severity::Medium) => paint(&text, color, |t| t.yellow().to_string()),
        _ => paint(&text, color, |t| t.dimmed().to_string()),
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
    let color = style.color;
    let groups = by_netns(&report.listeners);
    if groups.len() > 1 {
        for group in groups {
            let header = netns_header(group.first().and_then(|c| c.listener.netns.as_deref()));
            writeln!(w, "{}", paint(&header, color, |t| t.bold().to_string()))?;
            write_table(w, group, style)?;
        }
    } else if !report.listeners.is_empty() {
        write_table(w, &report.listeners, style)?;
    }
    if !report.portless.is_empty() {
        let header = "portless listeners (packet and raw sockets: no port, see every packet their filter accepts)";
        writeln!(w, "{}", paint(header, color, |t| t.bold().to_string()))?;
        write_portless(w, &report.portless, report.spans_namespaces(), style)?;
    }
    let summary = summary_line(report);
    if color && report.unexpected_total() > 0 {
        writeln!(w, "{}", summary.bold())
    } else {
        writeln!(w, "{summary}")
    }
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

/// One table of `rows` under the column header, followed by a blank line.
fn write_table(w: &mut dyn Write, rows: &[Classified], style: &Style) -> io::Result<()> {
    let color = style.color;
    let mut table = new_table(style);
    let header = ["PROTO", "LOCAL ADDRESS", "PROCESS", "SERVICE", "VERDICT", "REASON"];
    table.set_header(
        header
            .iter()
            .map(|h| paint(h, color, |t| t.bold().to_string()))
            .collect::<Vec<_>>(),
    );
    for c in rows {
        let l = &c.listener;
        table.add_row(vec![
            l.protocol.as_str().to_string(),
            l.endpoint(),
            owners_cell(l),
            c.service
                .as_ref()
                .map_or_else(|| "-".to_string(), |s| s.name.to_string()),
            verdict_cell(c.verdict, color),
            reason_cell(c, color),
        ]);
    }
    for line in table.lines() {
        writeln!(w, "{}", line.trim_end())?;
    }
    writeln!(w)
}
