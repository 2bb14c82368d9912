//! Orchestration of the `portghost` commands: scan, classify, filter, render, exit code.
//!
//! Owns the order of the pipeline and the exit-code contract ([`Exit`]). It holds no
//! classification rules and no rendering details, and reaches the OS only through
//! [`crate::inventory`].

use crate::classify::{classify_listener, classify_with, sees_every_process};
use crate::cli::{BaselineArgs, Cli, Command, DiffArgs, DiffFormat, ExplainArgs, Format, PolicyMode, ScanArgs};
use crate::drift::{self, Snapshot};
use crate::inventory::{self, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{OwnerStatus, Protocol, View};
use crate::policy::{self, Date, Mode, Policy, PolicyContext, baseline};
use crate::registry::{Registry, iana};
use crate::report::explain::PortFacts;
use crate::report::{self, Classified, Report, Severity, Verdict, explain, github, json, jsonl, junit, table};
use crate::sanitize::terminal_safe;
use crate::settings::Settings;
use anyhow::Context as _;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The exit-code contract, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command succeeded and, with `--fail-on-unexpected`, nothing shown is unexpected.
    Clean = 0,
    /// 1: the gate failed: `--fail-on-unexpected` was given and at least one listener shown
    /// is unexpected, or `diff --fail-on-change` was given and the scans differ.
    Unexpected = 1,
    /// 2: usage error, bad input, or a scan that could not be done.
    Error = 2,
}

/// Runs the command `cli` describes, writing results to stdout and diagnostics to stderr.
///
/// # Errors
/// Any failure that must end in exit code 2: the socket table could not be read, the
/// embedded registry is broken, or stdout could not be written.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let settings = Settings::resolve(cli.color);
    match cli.command {
        None => scan(&ScanArgs::default(), &settings),
        Some(Command::Scan(args)) => scan(&args, &settings),
        Some(Command::Explain(args)) => explain_port(&args, &settings),
        Some(Command::Diff(args)) => diff_scans(&args, &settings),
        Some(Command::Baseline(args)) => write_baseline(&args),
    }
}

fn scan_options(args: &ScanArgs) -> ScanOptions {
    let both = args.select.tcp == args.select.udp;
    ScanOptions {
        tcp: both || args.select.tcp,
        udp: both || args.select.udp,
        owners: !args.no_owners,
        netns: match (&args.netns, args.all_netns) {
            (Some(netns), _) => NetnsScope::One(netns.clone()),
            (None, true) => NetnsScope::All,
            (None, false) => NetnsScope::Own,
        },
    }
}

/// Today's date in UTC, from the system clock.
///
/// # Errors
/// Only if the clock is before 1970 or after 9999.
pub fn today() -> anyhow::Result<Date> {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    Date::from_rfc3339_prefix(&now).with_context(|| format!("the system clock reads {now}, which is not a usable date"))
}

/// The policy file `scan` should use: `--policy FILE`, nothing with `--no-policy`, else the
/// first of [`policy::DISCOVERY_PATHS`] that exists.
pub fn policy_path(args: &ScanArgs) -> Option<PathBuf> {
    if args.no_policy {
        return None;
    }
    if let Some(p) = &args.policy {
        return Some(p.clone());
    }
    policy::DISCOVERY_PATHS
        .iter()
        .map(Path::new)
        .find(|p| p.exists())
        .map(Path::to_path_buf)
}

/// Loads the policy `scan` should use, and says on stderr which one it is.
///
/// # Errors
/// The policy cannot be read or is malformed: the message names the file, line and column.
pub fn load_policy(args: &ScanArgs) -> anyhow::Result<Option<Policy>> {
    let Some(path) = policy_path(args) else {
        return Ok(None);
    };
    let policy = policy::load(&path)?;
    eprintln!(
        "portghost: policy: {} ({}, {} rule{})",
        terminal_safe(&policy.file),
        policy.mode,
        policy.rule_count(),
        if policy.rule_count() == 1 { "" } else { "s" }
    );
    Ok(Some(policy))
}

/// Scans, classifies (with `policy`, when given) and filters as `args` asks, without
/// rendering.
///
/// # Errors
/// When the socket table cannot be read or the embedded registry is broken.
pub fn scan_report(
    args: &ScanArgs,
    policy: Option<PolicyContext<'_>>,
) -> anyhow::Result<(Report, ScanTimings, Duration)> {
    let registry = Registry::builtin().context("loading the embedded registry")?;
    let (mut inventory, timings) = inventory::scan(&scan_options(args)).context("enumerating listening sockets")?;
    let started = Instant::now();
    if !args.select.port.is_empty() {
        inventory.listeners.retain(|l| args.select.port.contains(&l.port));
    }
    let mut report = classify_with(inventory, registry, policy);
    if args.unexpected {
        report.retain(|c| c.verdict == Verdict::Unexpected);
    }
    Ok((report, timings, started.elapsed()))
}

fn scan(args: &ScanArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let policy = load_policy(args)?;
    let today = today()?;
    let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
    let (report, timings, classify_time) = scan_report(args, ctx)?;
    let render_start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Table => table::render(&mut out, &report, settings)?,
        Format::Json => json::render(&mut out, &report, settings.tty)?,
        Format::Junit => junit::render(&mut out, &report)?,
        Format::Github => github::render(&mut out, &report)?,
        Format::Jsonl => jsonl::render(&mut out, &report)?,
    }
    out.flush()?;
    let render_time = render_start.elapsed();
    if report.view == Some(View::Container) {
        eprintln!("portghost: this view is the container's: its network namespace and its processes only");
    }
    for w in &report.warnings {
        eprintln!("portghost: warning: {w}");
    }
    for w in report.policy.iter().flat_map(|p| &p.warnings) {
        eprintln!("portghost: warning: {}", terminal_safe(w));
    }
    if report.summary.owners_hidden > 0 && !report.privileged {
        eprintln!(
            "portghost: {} listener(s) have hidden owners; run as root, or grant CAP_SYS_PTRACE and \
             CAP_DAC_READ_SEARCH (setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v portghost)), to see every process",
            report.summary.owners_hidden
        );
    }
    if args.timings {
        eprintln!(
            "portghost: timings: dump {:.2} ms, walk {:.2} ms (owner details {:.2} ms of thread time), classify {:.2} ms, render {:.2} ms",
            ms(timings.dump),
            ms(timings.walk),
            ms(timings.owners),
            ms(classify_time),
            ms(render_time)
        );
    }
    let mut exit = Exit::Clean;
    if args.fail_on_unexpected && report.summary.unexpected > 0 {
        for c in report.listeners.iter().filter(|c| c.verdict == Verdict::Unexpected) {
            eprintln!("portghost: unexpected: {}", gate_line(c));
        }
        exit = Exit::Unexpected;
    }
    if args.require_complete {
        let problems = incompleteness(&report);
        if !problems.is_empty() {
            for p in &problems {
                eprintln!("portghost: incomplete: {p}");
            }
            eprintln!(
                "portghost: --require-complete: the scan did not see everything ({} problem{}), so it cannot be trusted; \
                 run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            exit = Exit::Error;
        }
    }
    // The process exits next; freeing every listener one by one would only delay that.
    std::mem::forget(report);
    Ok(exit)
}

/// `tcp 0.0.0.0:9090 python3(4242): reason; reason`: one unexpected listener and every
/// finding that is more than context, safe for a terminal.
pub fn gate_line(c: &Classified) -> String {
    let l = &c.listener;
    let mut reasons: Vec<&str> = c
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.message.as_str())
        .collect();
    let fallback = c.reason();
    if reasons.is_empty() {
        reasons.push(&fallback);
    }
    let owners = table::owners_cell(l);
    let owners = if owners.is_empty() {
        String::new()
    } else {
        format!(" {owners}")
    };
    format!(
        "{} {}{owners}: {}",
        l.protocol,
        l.endpoint(),
        terminal_safe(&reasons.join("; "))
    )
}

/// Why the listeners shown and the scan are not the whole truth, one sentence each:
/// owners hidden or not looked up, and the scan's own warnings. Empty when complete.
pub fn incompleteness(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .listeners
        .iter()
        .filter(|c| c.listener.owner_status.is_hidden() || c.listener.owner_status == OwnerStatus::NotLooked)
        .map(|c| {
            format!(
                "{} {}: {}",
                c.listener.protocol,
                c.listener.endpoint(),
                c.listener.owner_status.reason()
            )
        })
        .collect();
    out.extend(report.warnings.iter().map(|w| terminal_safe(w).into_owned()));
    out
}

/// `portghost baseline`: scans without a policy and writes a policy allowing what listens.
fn write_baseline(args: &BaselineArgs) -> anyhow::Result<Exit> {
    let scan_args = ScanArgs {
        select: args.select.clone(),
        no_policy: true,
        ..ScanArgs::default()
    };
    let (report, _, _) = scan_report(&scan_args, None)?;
    let mode = match args.mode {
        PolicyMode::Allowlist => Mode::Allowlist,
        PolicyMode::Ghosts => Mode::Ghosts,
    };
    let b = baseline::generate(&report, mode);
    // What is written must load: a baseline that the gate rejects helps nobody.
    policy::parse::parse("baseline", &b.text).context("the generated baseline does not parse (a bug in portghost)")?;
    let target = match &args.output {
        Some(path) => {
            std::fs::write(path, &b.text).with_context(|| format!("writing {}", path.display()))?;
            terminal_safe(&path.display().to_string()).into_owned()
        }
        None => {
            let stdout = io::stdout();
            let mut out = stdout.lock();
            out.write_all(b.text.as_bytes())?;
            out.flush()?;
            "stdout".to_string()
        }
    };
    for w in &b.warnings {
        eprintln!("portghost: warning: {}", terminal_safe(w));
    }
    eprintln!(
        "portghost: baseline: {} listener{} -> {} rule{}, {} commented out for review, written to {target}",
        report.listeners.len(),
        if report.listeners.len() == 1 { "" } else { "s" },
        b.rules,
        if b.rules == 1 { "" } else { "s" },
        b.held_back
    );
    if report.summary.owners_hidden > 0 && !report.privileged {
        eprintln!(
            "portghost: {} listener(s) have hidden owners and could not be bound to a program; run baseline as root",
            report.summary.owners_hidden
        );
    }
    Ok(Exit::Clean)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn explain_port(args: &ExplainArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let registry = Registry::builtin().context("loading the embedded registry")?;
    let port = args.port.port;
    let protocols: Vec<Protocol> = match args.port.protocol {
        Some(p) => vec![p],
        None => vec![Protocol::Tcp, Protocol::Udp],
    };
    let live = if args.no_live {
        None
    } else {
        let opts = ScanOptions {
            tcp: protocols.contains(&Protocol::Tcp),
            udp: protocols.contains(&Protocol::Udp),
            owners: true,
            netns: NetnsScope::Own,
        };
        let (mut inventory, _) = inventory::scan(&opts).context("enumerating listening sockets")?;
        inventory.sort();
        Some(inventory)
    };
    let facts: Vec<PortFacts<'_>> = protocols
        .iter()
        .map(|&protocol| PortFacts {
            port,
            protocol,
            iana: iana::lookup(port, protocol.as_str()),
            ghost: registry.ghost(port, protocol).map(|g| &**g),
            unofficial: registry
                .unofficial_uses(port, protocol)
                .into_iter()
                .map(|(g, u)| (g.port, u))
                .collect(),
            live: live.as_ref().map(|inv| {
                inv.listeners
                    .iter()
                    .filter(|l| l.port == port && l.protocol == protocol)
                    .map(|l| classify_listener(l.clone(), registry, sees_every_process(inv)))
                    .collect()
            }),
        })
        .collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    explain::render(&mut out, &facts, settings)?;
    out.flush()?;
    Ok(Exit::Clean)
}

/// Reads and parses a scan file for `diff`; errors name the file, and line and column where
/// the JSON is at fault.
fn read_snapshot(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read the scan"))?;
    Ok(drift::parse(&name, &text)?)
}

fn diff_scans(args: &DiffArgs, settings: &Settings) -> anyhow::Result<Exit> {
    let old = read_snapshot(&args.old)?;
    let (new, new_label) = match &args.new {
        Some(path) => (read_snapshot(path)?, path.display().to_string()),
        None => {
            // Scan now and take the snapshot straight from the report: the same snapshot that
            // reading back `scan --format json` would give (tests/schema.rs holds them equal).
            let (report, _, _) = scan_report(&ScanArgs::default(), None)?;
            (Snapshot::from_report(&report), "this host now".to_string())
        }
    };
    let d = drift::compare(&old, &args.old.display().to_string(), &new, &new_label);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        DiffFormat::Text => report::diff::render_text(&mut out, &d, settings)?,
        DiffFormat::Json => report::diff::render_json(&mut out, &d, settings.tty)?,
    }
    out.flush()?;
    if args.fail_on_change && d.summary.not_compared > 0 {
        eprintln!(
            "portghost: cannot tell whether the owners of {} listener(s) changed: their owners are hidden in one of the scans (see the notes); scan as root",
            d.summary.not_compared
        );
        return Ok(Exit::Error);
    }
    if args.fail_on_change && d.summary.drift {
        return Ok(Exit::Unexpected);
    }
    Ok(Exit::Clean)
}
