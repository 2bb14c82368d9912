//! `portghost registry list`, `portghost registry check [DIR]` and `portghost policy check
//! FILE`: the registry and policy files looked at on their own, for people and for the CI
//! of the files themselves.
//!
//! Owns what these commands print and their exit codes: `list` exits 0; `check` and
//! `policy check` exit 0 when every file is good and 2 listing every problem (an expired
//! allow rule is a warning, exit 0). Reads files only through [`crate::registry::local`]
//! and [`crate::policy::load`]; judges no listener.

use super::{Exit, finish, note_write_failure, registry, today, write_stdout};
use crate::cli::ListFormat;
use crate::model::{GhostEntry, GhostStatus};
use crate::policy::trust::Trust;
use crate::policy::{self, PortMatch, Rule};
use crate::registry::{Registry, local};
use crate::report::Style;
use crate::sanitize::terminal_safe;
use std::io::Write as _;
use std::path::Path;

/// `portghost registry list [--status S] [--format table|json]`.
pub(super) fn list(status: Option<&str>, format: ListFormat, style: &Style) -> anyhow::Result<Exit> {
    let status = match status {
        None => None,
        Some(s) => Some(GhostStatus::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| {
            let all: Vec<&str> = GhostStatus::ALL.iter().map(|x| x.as_str()).collect();
            anyhow::anyhow!(
                "unknown status {:?}: expected one of {}",
                terminal_safe(s),
                all.join(", ")
            )
        })?),
    };
    let registry = registry()?;
    let mut entries: Vec<&GhostEntry> = registry
        .ghosts()
        .into_iter()
        .map(|g| &**g)
        .filter(|g| status.is_none_or(|s| g.status == s))
        .collect();
    entries.sort_by_key(|g| (g.port, g.transports.first().copied()));
    let written = write_stdout(|out| match format {
        ListFormat::Json => {
            let rows: Vec<serde_json::Value> = entries
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "port": g.port,
                        "transports": g.transports.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                        "service": g.service,
                        "status": g.status.as_str(),
                        "confidence": g.confidence.as_str(),
                        "registrant": g.registrant,
                        "fate": g.fate,
                        "sources": g.sources,
                        "source": g.source,
                    })
                })
                .collect();
            let doc = serde_json::json!({
                "schema_version": crate::schema::SCHEMA_VERSION,
                "iana_updated": registry.iana_updated(),
                "local_files": registry.local_files(),
                "entries": rows,
            });
            let text = if style.tty {
                serde_json::to_string_pretty(&doc)
            } else {
                serde_json::to_string(&doc)
            }
            .map_err(std::io::Error::other)?;
            writeln!(out, "{text}")
        }
        ListFormat::Table => {
            writeln!(
                out,
                "{:<6} {:<8} {:<22} {:<19} {:<10} SOURCES / FILE",
                "PORT", "PROTO", "SERVICE", "STATUS", "CONFIDENCE"
            )?;
            for g in &entries {
                let transports: Vec<&str> = g.transports.iter().map(|t| t.as_str()).collect();
                let service = g.service.clone().unwrap_or_else(|| "(unassigned)".to_string());
                writeln!(
                    out,
                    "{:<6} {:<8} {:<22} {:<19} {:<10} {}{}",
                    g.port,
                    transports.join("/"),
                    terminal_safe(&service),
                    g.status.as_str(),
                    g.confidence.as_str(),
                    terminal_safe(&g.sources.join(" ")),
                    g.source
                        .as_deref()
                        .map(|f| format!(" [{}]", terminal_safe(f)))
                        .unwrap_or_default()
                )?;
            }
            writeln!(
                out,
                "{} entr{} (IANA registry {})",
                entries.len(),
                if entries.len() == 1 { "y" } else { "ies" },
                registry.iana_updated()
            )
        }
    });
    note_write_failure(&written);
    Ok(finish(Exit::Clean, &written))
}

/// Every problem with the local registry files of `dir`, merged in order onto `base`: the
/// checks of loading, plus `service` names that are not IANA's name for the port.
pub(crate) fn check_dir(dir: &Path, trust: &Trust, base: &Registry) -> (usize, Vec<String>) {
    let files = match local::read_dir(dir, trust, false) {
        Ok(files) => files,
        Err(problems) => return (0, problems),
    };
    let mut registry = base.clone();
    let mut problems = Vec::new();
    for (file, text) in &files {
        let parsed = match local::parse(file, text) {
            Ok(p) => p,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        for g in &parsed.ghosts {
            for &t in &g.transports {
                let names: Vec<String> = registry
                    .iana(g.port, t)
                    .iter()
                    .filter(|r| r.is_assigned())
                    .map(|r| r.name.to_string())
                    .collect();
                match &g.service {
                    Some(s) if !names.iter().any(|n| n == s) => problems.push(format!(
                        "{file}: entry for port {}: service {s:?} is not IANA's name for {}/{t} (IANA: {})",
                        g.port,
                        g.port,
                        if names.is_empty() {
                            "unassigned".to_string()
                        } else {
                            names.join(", ")
                        }
                    )),
                    None if !names.is_empty() => problems.push(format!(
                        "{file}: entry for port {}: says unassigned, but IANA assigns {}/{t} to {}",
                        g.port,
                        g.port,
                        names.join(", ")
                    )),
                    _ => {}
                }
            }
        }
        if let Err(e) = registry.merge_local(&parsed) {
            problems.push(e.to_string());
        }
    }
    (files.len(), problems)
}

/// `portghost registry check [DIR]`.
pub(super) fn check(dir: &Path, trust: &Trust) -> anyhow::Result<Exit> {
    let base = Registry::builtin()?;
    let (count, problems) = check_dir(dir, trust, base);
    let shown = terminal_safe(&dir.display().to_string()).into_owned();
    if problems.is_empty() {
        eprintln!(
            "portghost: registry check: {shown}: {count} file{} good",
            if count == 1 { "" } else { "s" }
        );
        return Ok(Exit::Clean);
    }
    for p in &problems {
        eprintln!("portghost: {}", terminal_safe(p));
    }
    eprintln!(
        "portghost: registry check: {shown}: {} problem{}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    Ok(Exit::Error)
}

/// The conditions of a rule, comparable: ports, protocol, address and the texts of its
/// identity patterns.
fn conditions(r: &Rule) -> impl PartialEq + use<> {
    (
        r.ports.clone(),
        r.protocol,
        r.address,
        r.process.clone(),
        r.exe.iter().map(|p| p.text.clone()).collect::<Vec<_>>(),
        r.user.clone(),
        r.unit.iter().map(|p| p.text.clone()).collect::<Vec<_>>(),
        r.container.iter().map(|p| p.text.clone()).collect::<Vec<_>>(),
        r.netns.clone(),
    )
}

/// True when every listener `allow` matches is also matched by `deny`: each condition of
/// the deny rule is absent or the same as the allow rule's (deny rules win, so the allow
/// rule never allows anything).
fn shadowed_by(allow: &Rule, deny: &Rule) -> bool {
    let ports = deny.ports.is_empty()
        || (!allow.ports.is_empty()
            && allow.ports.iter().all(|a| {
                deny.ports.iter().any(|d| match (*a, *d) {
                    (PortMatch::Single(p), d) => d.contains(p),
                    (PortMatch::Range(lo, hi), d) => d.contains(lo) && d.contains(hi),
                })
            }));
    let texts = |r: &Rule, f: fn(&Rule) -> Vec<String>| f(r);
    let same = |f: fn(&Rule) -> Vec<String>| texts(deny, f).is_empty() || texts(deny, f) == texts(allow, f);
    ports
        && deny.protocol.is_none_or(|p| allow.protocol == Some(p))
        && deny.address.is_none_or(|a| allow.address == Some(a))
        && same(|r| r.process.clone())
        && same(|r| r.exe.iter().map(|p| p.text.clone()).collect())
        && same(|r| r.user.clone())
        && same(|r| r.unit.iter().map(|p| p.text.clone()).collect())
        && same(|r| r.container.iter().map(|p| p.text.clone()).collect())
        && same(|r| r.netns.clone())
}

/// `portghost policy check FILE`.
pub(super) fn policy_check(file: &Path, trust: &Trust) -> anyhow::Result<Exit> {
    let shown = terminal_safe(&file.display().to_string()).into_owned();
    let policy = match policy::load(file, trust) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("portghost: {e}");
            eprintln!("portghost: policy check: {shown}: 1 problem");
            return Ok(Exit::Error);
        }
    };
    let mut problems = Vec::new();
    for rules in [&policy.allow, &policy.deny] {
        for (i, rule) in rules.iter().enumerate() {
            if let Some(first) = rules[..i].iter().find(|r| conditions(r) == conditions(rule)) {
                problems.push(format!(
                    "{}: {} rule can never match first: the rule at {} has the same conditions and comes before it",
                    policy.at(rule),
                    rule.kind.as_str(),
                    policy.at(first)
                ));
            }
        }
    }
    for allow in &policy.allow {
        if let Some(deny) = policy.deny.iter().find(|d| shadowed_by(allow, d)) {
            problems.push(format!(
                "{}: allow rule can never allow anything: the deny rule at {} matches every listener it matches, and deny rules win",
                policy.at(allow),
                policy.at(deny)
            ));
        }
    }
    let warnings = policy.warnings(today()?);
    for w in &warnings {
        eprintln!("portghost: warning: {}", terminal_safe(w));
    }
    for p in &problems {
        eprintln!("portghost: {}", terminal_safe(p));
    }
    if problems.is_empty() {
        eprintln!(
            "portghost: policy check: {shown}: good ({}, {} rule{}{})",
            policy.mode,
            policy.rule_count(),
            if policy.rule_count() == 1 { "" } else { "s" },
            if warnings.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} warning{}",
                    warnings.len(),
                    if warnings.len() == 1 { "" } else { "s" }
                )
            }
        );
        Ok(Exit::Clean)
    } else {
        eprintln!(
            "portghost: policy check: {shown}: {} problem{}",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        Ok(Exit::Error)
    }
}
