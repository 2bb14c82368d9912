//! Text helpers every renderer shares: the output [`Style`], colouring, the owner cell, and
//! one finding as a line.
//!
//! Owns the one definition of each piece of text that several formats print, so a table,
//! a JUnit report and a GitHub annotation name an owner or a finding the same way. Every
//! string that comes from a process passes through [`terminal_safe`] here. It must not
//! read the environment or the terminal: [`Style`] arrives resolved.

use crate::model::{
    ClassifiedPortless, Evidence, FilterStatus, Finding, Listener, Owner, OwnerStatus, PortlessListener, group_owners,
};
use crate::sanitize::terminal_safe;

/// How output is styled, resolved once by the command line from `--color`, `NO_COLOR`
/// and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI colours.
    pub color: bool,
    /// Terminal width in columns when stdout is a terminal; `None` means do not wrap.
    pub width: Option<u16>,
    /// Whether stdout is a terminal: JSON is then indented for a person to read.
    pub tty: bool,
}

impl Style {
    /// A style for output that is neither coloured nor wrapped (tests, pipes).
    pub fn plain() -> Style {
        Style {
            color: false,
            width: None,
            tty: false,
        }
    }
}

/// `text` styled by `style` when `color` is on, else unchanged.
pub(crate) fn paint(text: &str, color: bool, style: fn(&str) -> String) -> String {
    if color { style(text) } else { text.to_string() }
}

/// Most PIDs listed per process name before the rest are counted as `+N`.
const MAX_PIDS_SHOWN: usize = 4;

/// Where an owner runs, for the PROCESS cell: its container as `docker:3f2a9c1b7d4e`, else
/// its systemd unit, else nothing.
fn placement(o: &Owner) -> Option<String> {
    let text = match (&o.container, o.unit_label()) {
        (Some(c), _) => c.label(),
        (None, Some(unit)) => unit,
        (None, None) => return None,
    };
    Some(terminal_safe(&text).into_owned())
}

/// Owners grouped by name and placement, PIDs in the order given:
/// `nginx(812,813) nginx.service python3(4242)`. Sanitised for a terminal.
pub(crate) fn owners_text<'a>(owners: impl IntoIterator<Item = &'a Owner>) -> String {
    group_owners(owners, |o| (terminal_safe(&o.name).into_owned(), placement(o)))
        .iter()
        .map(|((name, place), pids)| {
            let mut shown: Vec<String> = pids.iter().take(MAX_PIDS_SHOWN).map(u32::to_string).collect();
            if pids.len() > MAX_PIDS_SHOWN {
                shown.push(format!("+{}", pids.len() - MAX_PIDS_SHOWN));
            }
            match place {
                Some(place) => format!("{name}({}) {place}", shown.join(",")),
                None => format!("{name}({})", shown.join(",")),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The PROCESS cell: owners grouped by name and placement, `nginx(812,813) nginx.service`,
/// or why there are none.
pub fn owners_cell(l: &Listener) -> String {
    owners_of(&l.owners, l.owner_status)
}

/// The PROCESS cell of a portless listener, as [`owners_cell`] writes it.
pub fn portless_owners_cell(p: &PortlessListener) -> String {
    owners_of(&p.owners, p.owner_status)
}

/// `owners`, or why there are none.
fn owners_of(owners: &[std::sync::Arc<Owner>], status: OwnerStatus) -> String {
    match status {
        OwnerStatus::Known => owners_text(owners.iter().map(|o| &**o)),
        OwnerStatus::Permission => "? (hidden: permission)".to_string(),
        OwnerStatus::NoProcess => "- (no process)".to_string(),
        OwnerStatus::Kernel => "- (kernel)".to_string(),
        OwnerStatus::Unavailable => "? (no process table)".to_string(),
        OwnerStatus::NotLooked => String::new(),
    }
}

/// The FILTER cell of a portless listener: `28 insns, payload match`, `3 insns`, `none`,
/// `hidden (root only)`, `-` when the kernel does not report it.
pub(crate) fn filter_cell(c: &ClassifiedPortless) -> String {
    match (c.listener.filter_status, &c.filter) {
        (FilterStatus::Attached, Some(d)) => {
            let n = d.listing.len();
            if d.payload_match {
                format!("{n} insns, payload match")
            } else {
                format!("{n} insns")
            }
        }
        (FilterStatus::Hidden, _) => "hidden (root only)".to_owned(),
        (FilterStatus::Unavailable, _) => "-".to_owned(),
        _ => "none".to_owned(),
    }
}

/// One finding as a line: `high ghost-port: 3237/tcp is registered to …`, sanitised.
pub(crate) fn finding_line(f: &Finding) -> String {
    format!(
        "{} {}: {}",
        f.severity.as_str(),
        f.kind.as_str(),
        terminal_safe(&f.message)
    )
}

/// One piece of a finding's evidence as a line: `package (strong): /usr/sbin/rpc.statd
/// from package nfs-common`, `exposure: listens on all interfaces (wildcard address)`,
/// sanitised.
pub(crate) fn evidence_line(e: &Evidence) -> String {
    match e.strength {
        Some(s) => format!("{} ({}): {}", e.kind.as_str(), s.as_str(), terminal_safe(&e.detail)),
        None => format!("{}: {}", e.kind.as_str(), terminal_safe(&e.detail)),
    }
}

/// A finding's line followed by its evidence lines, each indented by two spaces and
/// prefixed `evidence `.
pub(crate) fn finding_with_evidence(f: &Finding) -> Vec<String> {
    std::iter::once(finding_line(f))
        .chain(f.evidence.iter().map(|e| format!("  evidence {}", evidence_line(e))))
        .collect()
}
