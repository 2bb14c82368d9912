//! `portghost explain`: everything the registry knows about one port, and what listens on
//! it now, with the evidence each live listener's findings weighed.
//!
//! Owns the layout of the explanation. Takes registry data and already-classified
//! listeners; never scans or classifies. Writes to any `Write`; process-supplied strings go
//! through [`terminal_safe`].

use super::text::{Style, evidence_line};
use crate::model::{
    Classified, GhostEntry, IanaPerson, IanaRecord, OwnerStatus, Protocol, UnofficialUse, UseKind, Verdict, handles,
    plain_handles,
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
    /// The IANA `<people>` entries of the handles in the records' assignee and contact
    /// columns, as the registry resolves them; a handle it has no entry for is left out.
    pub people: Vec<IanaPerson>,
    /// Date of the IANA registry the records come from (`YYYY-MM-DD`); empty when unknown.
    pub iana_updated: &'a str,
}

/// `Jon Postel <mailto:postel&isi.edu>`: a handle's column value resolved through
/// `people`, each handle as the registry names it, or as plain words when it has no entry.
fn resolve_handles(value: &str, people: &[IanaPerson]) -> String {
    handles(value)
        .into_iter()
        .map(|h| match people.iter().find(|p| p.id == h) {
            Some(p) if !p.uri.is_empty() => format!("{} <{}>", p.display_name(), p.uri),
            Some(p) => p.display_name(),
            None => h.replace('_', " "),
        })
        .collect::<Vec<_>>()
        .join(", ")
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

        if f.iana_updated.is_empty() {
            heading(w, "IANA registry", color)?;
        } else {
            heading(w, &format!("IANA registry (updated {})", f.iana_updated), color)?;
        }
        if f.iana.is_empty() {
            writeln!(w, "    the registry has no record for this port")?;
        }
        for r in &f.iana {
            field(w, "service name", if r.name.is_empty() { "(none)" } else { &r.name })?;
            field(w, "port", &r.port)?;
            field(w, "description", &r.description)?;
            if f.people.is_empty() {
                field(w, "assignee", &plain_handles(&r.assignee))?;
                field(w, "contact", &plain_handles(&r.contact))?;
            } else {
                field(w, "assignee", &resolve_handles(&r.assignee, &f.people))?;
                field(w, "contact", &resolve_handles(&r.contact, &f.people))?;
            }
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
                field(w, "from", &terminal_safe(&g.origin()))?;
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
                if let Some(file) = &u.source {
                    line.push_str(&format!(" (from {})", terminal_safe(file)));
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

/// Renders `facts` as one JSON object: `{"schema_version": 1, "iana_updated", "ports": [...]}`,
/// each port with `port`, `protocol`, `iana` (records as in the scan JSON's `service`),
/// `people` (`handle`, `name`, `org`, `uri`), `ghost` (as in the scan JSON, or null),
/// `unofficial` (`listed_under` and the use) and `live` (listeners as in the scan JSON, or
/// null when the host was not looked at). Pretty-printed when `pretty`.
///
/// # Errors
/// Only errors from writing to `w`.
pub fn render_json(w: &mut dyn Write, facts: &[PortFacts<'_>], pretty: bool) -> io::Result<()> {
    use crate::schema::wire::{GhostJson, ListenerJson, ServiceJson, UnofficialJson};
    let ports: Vec<serde_json::Value> = facts
        .iter()
        .map(|f| {
            serde_json::json!({
                "port": f.port,
                "protocol": f.protocol.as_str(),
                "iana": f.iana.iter().map(|r| ServiceJson::from_record(r)).collect::<Vec<_>>(),
                "people": f.people.iter().map(|p| serde_json::json!({
                    "handle": &*p.id,
                    "name": &*p.name,
                    "org": &*p.org,
                    "uri": &*p.uri,
                })).collect::<Vec<_>>(),
                "ghost": f.ghost.map(GhostJson::from_entry),
                "unofficial": f.unofficial.iter().map(|(under, u)| serde_json::json!({
                    "listed_under": under,
                    "use": UnofficialJson::from_use(u),
                    "source": u.source.as_deref(),
                })).collect::<Vec<_>>(),
                "live": f.live.as_ref().map(|l| l.iter().map(|c| ListenerJson::new(c, None)).collect::<Vec<_>>()),
            })
        })
        .collect();
    let doc = serde_json::json!({
        "schema_version": crate::schema::SCHEMA_VERSION,
        "iana_updated": facts.first().map_or("", |f| f.iana_updated),
        "ports": ports,
    });
    let text = if pretty {
        serde_json::to_string_pretty(&doc)
    } else {
        serde_json::to_string(&doc)
    }
    .map_err(io::Error::other)?;
    writeln!(w, "{text}")
}
