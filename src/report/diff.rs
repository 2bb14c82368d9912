//! The output of `portghost diff`: a readable list of changes, or one JSON object.
//!
//! Owns the layout of a [`Diff`]. Takes the finished comparison; never reads files, never
//! scans. Every string that came from a process or a file passes through [`terminal_safe`]
//! (text) or the JSON output's [`SafeFormatter`](super::json::SafeFormatter). Writes to any
//! `Write`.

use super::text::{Style, owners_text, paint};
use crate::diff::{Change, Diff, DiffListener, ExposureChange};
use crate::report::json::write_json;
use crate::sanitize::terminal_safe;
use owo_colors::OwoColorize;
use std::io::{self, Write};

fn owners(l: &DiffListener) -> String {
    match l.owner_status.as_str() {
        "known" | "no-process" | "kernel" if !l.owners.is_empty() => owners_text(&l.owners),
        "no-process" => "- (no process)".to_string(),
        "kernel" => "- (kernel)".to_string(),
        "not-looked" => "(owners not looked up)".to_string(),
        other => format!("? (hidden: {})", terminal_safe(other)),
    }
}

fn netns_prefix(l: &DiffListener) -> String {
    match &l.netns {
        Some(n) => format!("netns {} ", terminal_safe(n)),
        None => String::new(),
    }
}

fn endpoint(l: &DiffListener) -> String {
    let e = format!("{}{}", netns_prefix(l), l.key().endpoint());
    if l.dual_stack { format!("{e} (+ipv4)") } else { e }
}

fn changes_text(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.field, terminal_safe(&c.old), terminal_safe(&c.new)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn source_line(label: &str, host: Option<&str>, at: Option<&str>) -> String {
    match (host, at) {
        (Some(h), Some(t)) => format!("{} ({}, {})", terminal_safe(label), terminal_safe(h), terminal_safe(t)),
        (Some(h), None) => format!("{} ({})", terminal_safe(label), terminal_safe(h)),
        (None, Some(t)) => format!("{} ({})", terminal_safe(label), terminal_safe(t)),
        (None, None) => terminal_safe(label).into_owned(),
    }
}

/// The summary line under the changes, e.g. `3 changes: 1 added, 0 removed, 1 changed,
/// 1 address changed; 4 listeners unchanged`, or `no changes; 7 listeners unchanged`.
pub fn summary_line(d: &Diff) -> String {
    let s = &d.summary;
    let total = s.added + s.removed + s.changed + s.address_changed;
    let mut line = if total == 0 {
        "no changes".to_string()
    } else {
        format!(
            "{total} change{}: {} added, {} removed, {} changed, {} address changed",
            if total == 1 { "" } else { "s" },
            s.added,
            s.removed,
            s.changed,
            s.address_changed
        )
    };
    line.push_str(&format!(
        "; {} listener{} unchanged",
        s.unchanged,
        if s.unchanged == 1 { "" } else { "s" }
    ));
    if s.not_compared > 0 {
        line.push_str(&format!("; {} not compared (owners hidden)", s.not_compared));
    }
    line
}

/// Renders `diff` for people: a header naming both scans, one row per change (`added`,
/// `removed`, `changed`, `address`), notes, and the summary line. An address change that
/// widens exposure says so (`exposure widened: loopback → wildcard`), in red when coloured.
///
/// # Errors
/// Only errors from writing to `w`.
pub fn render_text(w: &mut impl Write, diff: &Diff, style: &Style) -> io::Result<()> {
    let color = style.color;
    writeln!(
        w,
        "{} → {}",
        source_line(
            &diff.old.source,
            diff.old.host.as_deref(),
            diff.old.scanned_at.as_deref()
        ),
        source_line(
            &diff.new.source,
            diff.new.host.as_deref(),
            diff.new.scanned_at.as_deref()
        )
    )?;
    let mut rows: Vec<[String; 5]> = Vec::new();
    for l in &diff.added {
        let detail = match &l.verdict {
            Some(v) => format!("verdict {}", terminal_safe(v)),
            None => String::new(),
        };
        rows.push([
            paint("added", color, |t| t.yellow().to_string()),
            l.protocol.to_string(),
            endpoint(l),
            owners(l),
            detail,
        ]);
    }
    for l in &diff.removed {
        rows.push([
            "removed".to_string(),
            l.protocol.to_string(),
            endpoint(l),
            owners(l),
            String::new(),
        ]);
    }
    for c in &diff.changed {
        rows.push([
            paint("changed", color, |t| t.yellow().to_string()),
            c.new.protocol.to_string(),
            endpoint(&c.new),
            owners(&c.new),
            changes_text(&c.changes),
        ]);
    }
    for m in &diff.address_changed {
        let exposure = match m.exposure_change {
            ExposureChange::Widened => paint(
                &format!(
                    "exposure widened: {} → {}",
                    m.old.exposure.as_str(),
                    m.new.exposure.as_str()
                ),
                color,
                |t| t.red().bold().to_string(),
            ),
            ExposureChange::Narrowed => format!(
                "exposure narrowed: {} → {}",
                m.old.exposure.as_str(),
                m.new.exposure.as_str()
            ),
            ExposureChange::Same => format!("exposure {}", m.new.exposure.as_str()),
        };
        let detail = if m.changes.is_empty() {
            exposure
        } else {
            format!("{exposure}; {}", changes_text(&m.changes))
        };
        rows.push([
            paint("address", color, |t| t.yellow().to_string()),
            m.new.protocol.to_string(),
            format!("{} → {}", endpoint(&m.old), m.new.key().endpoint()),
            owners(&m.new),
            detail,
        ]);
    }
    if !rows.is_empty() {
        let mut table = super::table::new_table(style);
        table.set_header(
            ["CHANGE", "PROTO", "LOCAL ADDRESS", "PROCESS", "DETAIL"]
                .iter()
                .map(|h| paint(h, color, |t| t.bold().to_string()))
                .collect::<Vec<_>>(),
        );
        for r in rows {
            table.add_row(r.to_vec());
        }
        writeln!(w)?;
        for line in table.lines() {
            writeln!(w, "{}", line.trim_end())?;
        }
    }
    if !diff.notes.is_empty() {
        writeln!(w)?;
        for n in &diff.notes {
            writeln!(w, "note: {}", terminal_safe(n))?;
        }
    }
    writeln!(w)?;
    writeln!(w, "{}", summary_line(diff))
}

/// Renders `diff` as one JSON object (documented in the README), indented when `pretty`.
///
/// # Errors
/// Errors from writing to `w`.
pub fn render_json(w: &mut impl Write, diff: &Diff, pretty: bool) -> io::Result<()> {
    write_json(w, diff, pretty)
}
