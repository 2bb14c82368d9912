//! `portghost explain PORT|NAME` and `explain --pid PID`: what the registry knows about a
//! port, and how the live listeners on it (or of one process) are judged.
//!
//! Owns the resolution of a service name to its ports and the live scan behind
//! `explain`, judged with the policy `scan` would use. Rendering stays in `report::explain`.

#[allow(unused_imports)]
use super::*;

/// `portghost explain --pid PID`: scans like `scan` (with the policy it finds), keeps the
/// listeners, port or portless, that `pid` holds, and renders them as `scan` would.
pub(super) fn explain_pid(pid: u32, args: &ExplainConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
    let policy = load_policy(args.policy.as_deref(), trust, false)?;
    let today = today()?;
    let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
    let mut scan = default_scan();
    scan.options.inventory = args.inventory;
    scan.options.temp_dirs.clone_from(&args.temp_dirs);
    let (mut report, _, _) = scan_report(&scan, ctx)?;
    let holds = |owners: &[std::sync::Arc<crate::model::Owner>]| owners.iter().any(|o| o.pid == pid);
    report.retain(|c| holds(&c.listener.owners));
    report.portless.retain(|c| holds(&c.listener.owners));
    if report.listeners.is_empty() && report.portless.is_empty() {
        eprintln!("portghost: process {pid} holds no listening socket, port or portless, that portghost can see");
    }
    let written = write_stdout(|out| match args.format {
        ListFormat::Table => table::render(out, &report, style),
        ListFormat::Json => json::render(out, &report, style.tty),
    });
    note_write_failure(&written);
    Ok(finish(Exit::Clean, &written))
}

pub(super) fn explain_port(args: &ExplainConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
    if let Some(pid) = args.pid {
        return explain_pid(pid, args, style, trust);
    }
    let registry = registry()?;
    // The (port, transport) pairs to explain: the port given, or every port IANA gives the
    // name on tcp or udp (ghost entries and known uses are looked up by name too).
    let targets: Vec<(u16, Protocol)> = match &args.name {
        None => args.protocols.iter().map(|&p| (args.port, p)).collect(),
        Some(name) => {
            let mut found: Vec<(u16, Protocol)> = Vec::new();
            for r in registry.iana_by_name(name) {
                let Ok(protocol) = r.protocol.parse::<Protocol>() else {
                    continue;
                };
                let Ok(port) = r.port.parse::<u16>() else { continue };
                if args.protocols.contains(&protocol) {
                    found.push((port, protocol));
                }
            }
            for g in registry.ghosts() {
                let names = g.service.as_deref().into_iter().chain(g.formerly.as_deref());
                if names.into_iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    found.extend(
                        g.transports
                            .iter()
                            .filter(|t| args.protocols.contains(t))
                            .map(|&t| (g.port, t)),
                    );
                }
            }
            found.sort();
            found.dedup();
            if found.is_empty() {
                anyhow::bail!(
                    "{}: no IANA service or ghost entry of that name on tcp or udp (IANA registry of {})",
                    terminal_safe(name),
                    registry.iana_updated()
                );
            }
            found
        }
    };
    let live = if args.live {
        let policy = load_policy(args.policy.as_deref(), trust, false)?;
        let today = today()?;
        let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
        let opts = ScanOptions {
            tcp: targets.iter().any(|t| t.1 == Protocol::Tcp),
            udp: targets.iter().any(|t| t.1 == Protocol::Udp),
            owners: true,
            netns: NetnsScope::Own,
            ports: targets.iter().map(|t| t.0).collect(),
            portless: false,
            inventory: args.inventory,
            temp_dirs: args.temp_dirs.clone(),
        };
        let (mut inventory, _) = inventory::scan(&opts).context("enumerating listening sockets")?;
        inventory.listeners.retain(|l| targets.iter().any(|t| t.0 == l.port));
        gather_evidence(&mut inventory, registry);
        inventory.sort();
        // Judged exactly as `scan` would judge them, with the same policy.
        Some(classify_with(inventory, registry, ctx).listeners)
    } else {
        None
    };
    let facts: Vec<PortFacts<'_>> = targets
        .iter()
        .map(|&(port, protocol)| {
            let iana = registry.iana(port, protocol);
            let mut people: Vec<crate::model::IanaPerson> = Vec::new();
            for r in &iana {
                for h in crate::model::handles(&r.assignee)
                    .into_iter()
                    .chain(crate::model::handles(&r.contact))
                {
                    if !people.iter().any(|p| p.id == h)
                        && let Some(p) = registry.person(h)
                    {
                        people.push(p);
                    }
                }
            }
            PortFacts {
                port,
                protocol,
                iana,
                ghost: registry.ghost(port, protocol).map(|g| &**g),
                unofficial: registry
                    .unofficial_uses(port, protocol)
                    .into_iter()
                    .map(|(g, u)| (g.port, u))
                    .collect(),
                live: live.as_ref().map(|listeners| {
                    let mut mine: Vec<Classified> = listeners
                        .iter()
                        .filter(|c| c.listener.protocol == protocol && c.listener.port == port)
                        .cloned()
                        .collect();
                    mine.sort_by(|a, b| {
                        (a.listener.local_address, a.listener.inode).cmp(&(b.listener.local_address, b.listener.inode))
                    });
                    mine
                }),
                people,
                iana_updated: registry.iana_updated(),
            }
        })
        .collect();
    let written = write_stdout(|out| match args.format {
        ListFormat::Table => explain::render(out, &facts, style),
        ListFormat::Json => explain::render_json(out, &facts, style.tty),
    });
    note_write_failure(&written);
    Ok(finish(Exit::Clean, &written))
}
