//! The output of `portghost diff`: a readable list of changes, or one JSON object.
//!
//! Owns the layout of a [`Diff`]. Takes the finished comparison; never reads files, never
//! scans. Every string that came from a process or a file passes through [`terminal_safe`]
//! (text) or the JSON output's [`SafeFormatter`](crate::schema::SafeFormatter). The JSON
//! shape is the schema's ([`crate::schema::diff`]); this module only fills it in. Writes to
//! any `Write`.

use super::text::{Style, owners_text, paint};
use crate::drift::{Change, Diff, DiffListener, ExposureChange, ScanSource};
use crate::model::OwnerStatus;
use crate::sanitize::terminal_safe;
use crate::schema::diff::{
    AddressChangedJson, ChangeJson, ChangedJson, DiffJson, DiffListenerJson, DiffSummaryJson, ScanSourceJson,
};
use crate::schema::names::ExposureChangeName;
use crate::schema::wire::OwnerJson;
use crate::schema::{SCHEMA_VERSION, write_json};
use owo_colors::OwoColorize;
use std::io::{self, Write};

fn owners(l: &DiffListener) -> String {
    match l.owner_status {
        OwnerStatus::Known | OwnerStatus::NoProcess | OwnerStatus::Kernel if !l.owners.is_empty() => {
            owners_text(&l.owners)
        }
        OwnerStatus::NoProcess => "- (no process)".to_string(),
        OwnerStatus::Kernel => "- (kernel)".to_string(),
        OwnerStatus::NotLooked => "(owners not looked up)".to_string(),
        other => format!("? (hidden: {})", other.as_str()),
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
            Some(v) => format!("verdict {}", v.as_str()),
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
    write_json(w, &diff_json(diff), pretty)
}

/// `diff` as the schema's wire types.
fn diff_json(d: &Diff) -> DiffJson<'_> {
    let s = &d.summary;
    DiffJson {
        schema_version: SCHEMA_VERSION,
        old: source(&d.old),
        new: source(&d.new),
        added: d.added.iter().map(listener_json).collect(),
        removed: d.removed.iter().map(listener_json).collect(),
        changed: d
            .changed
            .iter()
            .map(|c| ChangedJson {
                old: listener_json(&c.old),
                new: listener_json(&c.new),
                changes: changes_json(&c.changes),
            })
            .collect(),
        address_changed: d
            .address_changed
            .iter()
            .map(|m| AddressChangedJson {
                old: listener_json(&m.old),
                new: listener_json(&m.new),
                exposure_change: match m.exposure_change {
                    ExposureChange::Widened => ExposureChangeName::Widened,
                    ExposureChange::Narrowed => ExposureChangeName::Narrowed,
                    ExposureChange::Same => ExposureChangeName::Same,
                },
                changes: changes_json(&m.changes),
            })
            .collect(),
        notes: &d.notes,
        summary: DiffSummaryJson {
            added: s.added,
            removed: s.removed,
            changed: s.changed,
            address_changed: s.address_changed,
            unchanged: s.unchanged,
            not_compared: s.not_compared,
            drift: s.drift,
        },
    }
}

fn source(s: &ScanSource) -> ScanSourceJson<'_> {
    ScanSourceJson {
        source: &s.source,
        host: s.host.as_deref(),
        scanned_at: s.scanned_at.as_deref(),
        complete: s.complete,
        listeners: s.listeners,
    }
}

fn listener_json(l: &DiffListener) -> DiffListenerJson<'_> {
    DiffListenerJson {
        netns: l.netns.as_deref(),
        protocol: l.protocol.into(),
        local_address: l.local_address,
        port: l.port,
        exposure: l.exposure.into(),
        dual_stack: l.dual_stack,
        owners: l.owners.iter().map(OwnerJson::from_owner).collect(),
        owner_status: l.owner_status.into(),
        verdict: l.verdict.map(Into::into),
    }
}

fn changes_json(changes: &[Change]) -> Vec<ChangeJson<'_>> {
    changes
        .iter()
        .map(|c| ChangeJson {
            field: c.field,
            old: &c.old,
            new: &c.new,
        })
        .collect()
}
