//! Orchestration of the `portghost` commands: scan, classify, filter, render, exit code.
//!
//! Owns the order of the pipeline, what goes to stderr, the reading of the clock, and the
//! exit-code contract ([`Exit`]). Crate-private. It holds no classification rules and no
//! rendering details, reaches the OS only through [`crate::inventory`], and takes the
//! command line already resolved by [`crate::cli`].

use crate::classify::classify_with;
use crate::cli::{Action, BaselineConfig, Cli, Config, DiffConfig, DiffFormat, ExplainConfig, Format, ScanConfig};
use crate::diff;
use crate::inventory::{self, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{Classified, OwnerStatus, Protocol, Report, Severity, Verdict, View};
use crate::policy::{self, Date, Policy, PolicyContext, baseline};
use crate::registry::{Registry, iana};
use crate::report::explain::PortFacts;
use crate::report::{self, Style, explain, github, json, jsonl, junit, owners_cell, table};
use crate::sanitize::terminal_safe;
use anyhow::Context as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// The exit-code contract, documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// 0: the command succeeded and, with `--fail-on-unexpected`, nothing shown is unexpected.
    Clean = 0,
    /// 1: the gate failed: `--fail-on-unexpected` was given and at least one listener shown
    /// is unexpected, or `diff --fail-on-change` was given and the scans differ.
    Unexpected = 1,
    /// 2: usage error, bad input, or a scan that could not be done.
    Error = 2,
}

/// The `portghost` binary: parses the command line, runs it and maps the outcome to the
/// exit-code contract, printing `portghost: {err:#}` for an error.
pub(crate) fn main() -> std::process::ExitCode {
    use clap::Parser as _;
    let config = crate::cli::resolve(Cli::parse());
    let code = match run(config) {
        Ok(exit) => exit,
        Err(err) if is_broken_pipe(&err) => Exit::Clean,
        Err(err) => {
            eprintln!("portghost: {err:#}");
            Exit::Error
        }
    };
    std::process::ExitCode::from(code as u8)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}

/// Runs the command `config` describes, writing results to stdout and diagnostics to
/// stderr.
///
/// # Errors
/// Any failure that must end in exit code 2: the socket table could not be read, the
/// embedded registry is broken, or stdout could not be written.
fn run(config: Config) -> anyhow::Result<Exit> {
    let style = config.style;
    match config.action {
        Action::Scan(scan_config) => scan(&scan_config, &style),
        Action::Explain(explain_config) => explain_port(&explain_config, &style),
        Action::Diff(diff_config) => diff_scans(&diff_config, &style),
        Action::Baseline(baseline_config) => write_baseline(&baseline_config),
    }
}

/// `portghost scan` with no flags, as `diff` scans the host now.
fn default_scan() -> ScanConfig {
    ScanConfig {
        options: ScanOptions::default(),
        ports: Vec::new(),
        format: Format::Table,
        unexpected: false,
        fail_on_unexpected: false,
        timings: false,
        require_complete: false,
        policy: None,
    }
}

/// Today's date in UTC, from the system clock.
///
/// # Errors
/// Only if the clock is before 1970 or after 9999.
fn today() -> anyhow::Result<Date> {
    let now = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    Date::from_rfc3339_prefix(&now).with_context(|| format!("the system clock reads {now}, which is not a usable date"))
}

/// Loads the policy file `path` (given or discovered), and says on stderr which one it is.
///
/// # Errors
/// The policy cannot be read or is malformed: the message names the file, line and column.
fn load_policy(path: Option<&Path>) -> anyhow::Result<Option<Policy>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let policy = policy::load(path)?;
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
fn scan_report(
    args: &ScanConfig,
    policy: Option<PolicyContext<'_>>,
) -> anyhow::Result<(Report, ScanTimings, Duration)> {
    let registry = Registry::builtin().context("loading the embedded registry")?;
    let (mut inventory, timings) = inventory::scan(&args.options).context("enumerating listening sockets")?;
    let started = Instant::now();
    if !args.ports.is_empty() {
        inventory.listeners.retain(|l| args.ports.contains(&l.port));
    }
    let mut report = classify_with(inventory, registry, policy);
    if args.unexpected {
        report.retain(|c| c.verdict == Verdict::Unexpected);
    }
    Ok((report, timings, started.elapsed()))
}

fn scan(args: &ScanConfig, style: &Style) -> anyhow::Result<Exit> {
    let policy = load_policy(args.policy.as_deref())?;
    let today = today()?;
    let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
    let (report, timings, classify_time) = scan_report(args, ctx)?;
    let render_start = Instant::now();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        Format::Table => table::render(&mut out, &report, style)?,
        Format::Json => json::render(&mut out, &report, style.tty)?,
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
                "portghost: --require-complete: the scan did not see everything ({} problem{}), so it cannot be trusted; {}",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" },
                completeness_remedy(&report)
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
fn gate_line(c: &Classified) -> String {
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
    let owners = owners_cell(l);
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

/// What would make an incomplete scan complete: scan without `--no-owners` when owners
/// were not looked up, more privilege when portghost has none, and otherwise not
/// privilege (it has it): the problems listed say what hid the owners.
fn completeness_remedy(report: &Report) -> &'static str {
    let not_looked = report
        .listeners
        .iter()
        .any(|c| c.listener.owner_status == OwnerStatus::NotLooked);
    if not_looked {
        "--no-owners was given, so no owner was looked up; scan without --no-owners"
    } else if !report.privileged {
        "run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH"
    } else {
        "portghost already runs with privilege, so more will not help: the problems above say what hid the owners"
    }
}

/// Why the listeners shown and the scan are not the whole truth, one sentence each:
/// listeners whose owner was not seen (hidden, not looked up, or no visible process
/// holds them; see [`OwnerStatus::is_seen`]), and the scan's own warnings. Empty when
/// complete.
fn incompleteness(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report
        .listeners
        .iter()
        .filter(|c| !c.listener.owner_status.is_seen())
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
fn write_baseline(args: &BaselineConfig) -> anyhow::Result<Exit> {
    let scan_args = ScanConfig {
        options: args.options.clone(),
        ports: args.ports.clone(),
        ..default_scan()
    };
    let (report, _, _) = scan_report(&scan_args, None)?;
    let b = baseline::generate(&report, args.mode);
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

fn explain_port(args: &ExplainConfig, style: &Style) -> anyhow::Result<Exit> {
    let registry = Registry::builtin().context("loading the embedded registry")?;
    let port = args.port;
    let live = if args.live {
        let policy = load_policy(args.policy.as_deref())?;
        let today = today()?;
        let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
        let opts = ScanOptions {
            tcp: args.protocols.contains(&Protocol::Tcp),
            udp: args.protocols.contains(&Protocol::Udp),
            owners: true,
            netns: NetnsScope::Own,
            ports: vec![port],
        };
        let (mut inventory, _) = inventory::scan(&opts).context("enumerating listening sockets")?;
        inventory.listeners.retain(|l| l.port == port);
        inventory.sort();
        // Judged exactly as `scan` would judge them, with the same policy.
        Some(classify_with(inventory, registry, ctx).listeners)
    } else {
        None
    };
    let facts: Vec<PortFacts<'_>> = args
        .protocols
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
            live: live.as_ref().map(|listeners| {
                let mut mine: Vec<Classified> = listeners
                    .iter()
                    .filter(|c| c.listener.protocol == protocol)
                    .cloned()
                    .collect();
                mine.sort_by(|a, b| {
                    (a.listener.local_address, a.listener.inode).cmp(&(b.listener.local_address, b.listener.inode))
                });
                mine
            }),
        })
        .collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    explain::render(&mut out, &facts, style)?;
    out.flush()?;
    Ok(Exit::Clean)
}

/// Reads and parses a scan file for `diff`; errors name the file, and line and column where
/// the JSON is at fault.
fn read_snapshot(path: &std::path::Path) -> anyhow::Result<diff::Snapshot> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{name}: cannot read the scan"))?;
    Ok(diff::parse(&name, &text)?)
}

fn diff_scans(args: &DiffConfig, style: &Style) -> anyhow::Result<Exit> {
    let old = read_snapshot(&args.old)?;
    let (new, new_label) = match &args.new {
        Some(path) => (read_snapshot(path)?, path.display().to_string()),
        None => {
            // Scan now and read the result back through the JSON schema, so both sides are
            // compared exactly as `scan --format json` would have written them.
            let (report, _, _) = scan_report(&default_scan(), None)?;
            let mut buf = Vec::new();
            json::render(&mut buf, &report, false)?;
            let text = String::from_utf8(buf).context("scan JSON is not UTF-8")?;
            (diff::parse("this host now", &text)?, "this host now".to_string())
        }
    };
    let d = diff::compare(&old, &args.old.display().to_string(), &new, &new_label);
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match args.format {
        DiffFormat::Text => report::diff::render_text(&mut out, &d, style)?,
        DiffFormat::Json => report::diff::render_json(&mut out, &d, style.tty)?,
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
