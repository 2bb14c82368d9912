//! `portghost explain`: everything the registry knows about one port, and what listens on
//! it now, with the evidence each live listener's findings weighed.
//!
//! Owns the layout of the explanation. Takes registry data and already-classified
//! listeners; never scans or classifies. Writes to any `Write`; process-supplied strings go
//! through [`terminal_safe`].

use super::text::{Style, evidence_line};
use crate::model::{
    Classified, GhostEntry, IanaRecord, OwnerStatus, Protocol, UnofficialUse, UseKind, Verdict, plain_handles,
};
use crate::sanitize::terminal_safe;
use owo_colors::OwoColorize;
use std::io::{self, Write};

/// What is known about one port on one transport.
#[derive(Debug, Clone)]
pub struct PortFacts<'a> {
    /// The port.
    pub port: u16,
    /// The transport.
    pub protocol: Protocol,
    /// Every IANA record covering the port on this transport (aliases and ranges included).
    pub iana: Vec<&'static IanaRecord>,
    /// The ghost entry, if any.
    pub ghost: Option<&'a GhostEntry>,
    /// Unofficial uses from any entry whose range covers the port, with the port they are listed under.
    pub unofficial: Vec<(u16, &'a UnofficialUse)>,
    /// Listeners on the port right now; `None` when the host was not looked at.
    pub live: Option<Vec<Classified>>,
}

fn field(w: &mut dyn Write, label: &str, value: &str) -> io::Result<()> {
    if value.trim().is_empty() {
        return Ok(());
    }
    let mut lines = value.lines();
    writeln!(w, "    {label:<18} {}", lines.next().unwrap_or(""))?;
    for l in lines {
        writeln!(w, "    {:<18} {l}", "")?;
    }
    Ok(())
}

fn heading(w: &mut dyn Write, text: &str, color: bool) -> io::Result<()> {
    if color {
        writeln!(w, "  {}", text.bold())
    } else {
        writeln!(w, "  {text}")
    }
}

/// Renders the explanation of each `PortFacts` in turn.
///
/// # Errors
/// Only errors from writing to `w`.
pub fn render(w: &mut dyn Write, facts: &[PortFacts<'_>], style: &Style) -> io::Result<()> {
    let color = style.color;
    for (i, f) in facts.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        let primary = f.iana.iter().find(|r| r.is_assigned());
        let title = match primary {
            Some(r) => format!("{}/{}  {}  {}", f.port, f.protocol, r.name, r.description),
            None => format!("{}/{}  (no IANA service name)", f.port, f.protocol),
        };
        if color {
            writeln!(w, "{}", title.bold())?
        } else {
            writeln!(w, "{title}")?
        }

        heading(w, "IANA registry", color)?;
        if f.iana.is_empty() {
            writeln!(w, "    the registry has no record for this port")?;
        }
        for r in &f.iana {
            field(w, "service name", if r.name.is_empty() { "(none)" } else { &r.name })?;
            field(w, "port", &r.port)?;
            field(w, "description", &r.description)?;
            field(w, "assignee", &plain_handles(&r.assignee))?;
            field(w, "contact", &plain_handles(&r.contact))?;
            field(w, "registered", &r.registration_date)?;
            field(w, "modified", &r.modification_date)?;
            field(w, "reference", &r.reference)?;
            field(w, "service code", &r.service_code)?;
            field(w, "unauthorized use", &r.unauthorized_use_reported)?;
            field(w, "notes", &r.assignment_notes)?;
        }

        match f.ghost {
            Some(g) => {
                heading(w, &format!("Ghost registry: {}", g.status), color)?;
                field(w, "summary", &g.summary)?;
                field(w, "what happened", &g.fate)?;
                field(w, "registrant", &g.registrant)?;
                field(w, "registered", g.registered.as_deref().unwrap_or(""))?;
                field(w, "evidence", &g.evidence)?;
                field(w, "belongs on", g.belongs.as_deref().unwrap_or(""))?;
                field(w, "sources", &g.sources.join("\n"))?;
            }
            None => {
                heading(w, "Ghost registry", color)?;
                writeln!(
                    w,
                    "    not listed: no withdrawal, defunct vendor, squatter or malware is recorded"
                )?;
            }
        }

        if !f.unofficial.is_empty() {
            heading(w, "Known unofficial uses", color)?;
            for (listed_under, u) in &f.unofficial {
                let transports: Vec<&str> = u.transports.iter().map(|t| t.as_str()).collect();
                let mut line = format!("    - {} ({} {})", u.name, transports.join("/"), u.ports);
                if u.kind == UseKind::Malware {
                    line.push_str(" [malware]");
                }
                if !u.processes.is_empty() {
                    line.push_str(&format!(" process {}", u.processes.join(", ")));
                }
                if *listed_under != f.port {
                    line.push_str(&format!(" (listed under port {listed_under})"));
                }
                writeln!(w, "{line}")?;
            }
        }

        if let Some(live) = &f.live {
            heading(w, "Listening on this host now", color)?;
            if live.is_empty() {
                writeln!(w, "    nothing listens on {}/{}", f.port, f.protocol)?;
            }
            for c in live {
                render_live(w, c, color)?;
            }
        }
    }
    Ok(())
}

fn render_live(w: &mut dyn Write, c: &Classified, color: bool) -> io::Result<()> {
    let l = &c.listener;
    let verdict = match (c.verdict, color) {
        (Verdict::Unexpected, true) => c.verdict.as_str().red().bold().to_string(),
        _ => c.verdict.as_str().to_string(),
    };
    writeln!(w, "    {} {}  {verdict}", l.protocol, l.endpoint())?;
    if let Some(inode) = l.inode {
        field(w, "  inode", &inode.to_string())?;
    }
    match l.owner_status {
        OwnerStatus::Known => {
            for o in &l.owners {
                let user = match (&o.user, o.uid) {
                    (Some(u), Some(id)) => format!("{u} ({id})"),
                    (None, Some(id)) => id.to_string(),
                    (Some(u), None) => u.clone(),
                    (None, None) => "?".to_string(),
                };
                field(w, "  process", &format!("{}({})", terminal_safe(&o.name), o.pid))?;
                field(w, "    user", &user)?;
                field(w, "    exe", &terminal_safe(o.exe.as_deref().unwrap_or("?")))?;
                field(w, "    command", &terminal_safe(o.cmdline.as_deref().unwrap_or("?")))?;
                field(
                    w,
                    "    unit",
                    &terminal_safe(&o.unit_label().unwrap_or_else(|| "-".into())),
                )?;
                let container = o.container.as_ref().map_or_else(
                    || "-".to_string(),
                    |c| match &c.pod {
                        Some(pod) => format!("{} {} (pod {pod})", c.runtime, c.full_id),
                        None => format!("{} {}", c.runtime, c.full_id),
                    },
                );
                field(w, "    container", &terminal_safe(&container))?;
            }
        }
        status => field(w, "  owner", status.reason())?,
    }
    for f in &c.findings {
        field(w, &format!("  {}", f.severity.as_str()), &terminal_safe(&f.message))?;
        for e in &f.evidence {
            field(w, "    evidence", &evidence_line(e))?;
        }
    }
    Ok(())
}
