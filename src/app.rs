//! Orchestration of the `portghost` commands: scan, classify, filter, render, exit code.
//!
//! Owns the order of the pipeline, what goes to stderr, the reading of the clock, and the
//! exit-code contract ([`Exit`]). Crate-private. It holds no classification rules and no
//! rendering details, reaches the OS only through [`crate::inventory`], and takes the
//! command line already resolved by [`crate::cli`].

use crate::classify::classify_with;
use crate::cli::{
    Action, BaselineConfig, Cli, Config, DiffConfig, DiffFormat, ExplainConfig, Format, ListFormat, OwnerFilter,
    PortSel, RegistrySources, ScanConfig, SortKey,
};
use crate::drift::{self, Snapshot};
use crate::inventory::{self, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{Classified, OwnerStatus, Protocol, Report, Severity, Verdict, View};
use crate::policy::trust::Trust;
use crate::policy::{self, Policy, PolicyContext, baseline};
use crate::registry::Registry;
use crate::report::explain::PortFacts;
use crate::report::{self, Style, explain, github, gitlab, json, jsonl, junit, owners_cell, prometheus, sarif, table};
use crate::sanitize::terminal_safe;
use anyhow::Context as _;

mod diff_cmd;
mod explain_cmd;
mod output;
mod registry_cmd;
mod scan_cmd;
mod watch_cmd;

use chrono::{DateTime, Datelike as _, NaiveDate};
use diff_cmd::*;
use explain_cmd::*;
#[cfg(target_os = "linux")]
pub(crate) use output::record_stdout_at_start;
use output::*;
use scan_cmd::*;
use std::io::{self, BufWriter, Read as _, Write};
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
/// exit-code contract, printing `portghost: {err:#}` (made safe for a terminal) for an
/// error.
pub(crate) fn main() -> std::process::ExitCode {
    let code = match crate::cli::resolve(Cli::parse_args()).and_then(run) {
        Ok(exit) => exit,
        Err(err) => {
            eprintln!("portghost: {}", terminal_safe(&format!("{err:#}")));
            Exit::Error
        }
    };
    std::process::ExitCode::from(code as u8)
}

/// Runs the command `config` describes, writing results to stdout and diagnostics to
/// stderr.
///
/// # Errors
/// Any failure that must end in exit code 2 before a verdict exists: the socket table could
/// not be read, the embedded registry is broken, an input file is unusable, or the
/// `baseline --output` file could not be written. A failure to write stdout is not an
/// error here: the verdict is still computed and [`finish`] combines the two.
fn run(config: Config) -> anyhow::Result<Exit> {
    let style = config.style;
    let trust = &config.trust;
    let _ = SOURCES.set((config.registry.clone(), config.trust.clone()));
    match config.action {
        Action::Scan(scan_config) => scan(&scan_config, &style, trust),
        Action::Explain(explain_config) => explain_port(&explain_config, &style, trust),
        Action::Diff(diff_config) => diff_scans(&diff_config, &style),
        Action::Baseline(baseline_config) => write_baseline(&baseline_config),
        Action::Watch(watch_config) => watch_cmd::watch(&watch_config, trust),
        Action::RegistryList { status, format } => registry_cmd::list(status.as_deref(), format, &style),
        Action::RegistryCheck(dir) => registry_cmd::check(&dir, trust),
        Action::PolicyCheck(file) => registry_cmd::policy_check(&file, trust),
        Action::Completions(shell) => {
            let written = write_stdout(|out| {
                use clap::CommandFactory as _;
                clap_complete::generate(shell, &mut Cli::command(), "portghost", out);
                Ok(())
            });
            note_write_failure(&written);
            Ok(finish(Exit::Clean, &written))
        }
        Action::Man => {
            let written = write_stdout(|out| {
                use clap::CommandFactory as _;
                clap_mangen::Man::new(Cli::command()).render(out)
            });
            note_write_failure(&written);
            Ok(finish(Exit::Clean, &written))
        }
        Action::Schema(kind) => {
            let text = crate::schema::json_schema::schema_text(kind);
            let written = write_stdout(|out| out.write_all(text.as_bytes()));
            note_write_failure(&written);
            Ok(finish(Exit::Clean, &written))
        }
    }
}

/// The registries the command line asked for, and who may own local registry files; set
/// once by [`run`].
static SOURCES: OnceLock<(RegistrySources, Trust)> = OnceLock::new();

/// The registry to judge with, loaded once per process: the embedded one, with its IANA
/// part replaced by `--iana FILE` (or `PORTGHOST_IANA`), and the local registry files
/// merged in (`/etc/portghost/registry.d/*.toml`, then `--registry-dir`). Says on stderr
/// which IANA file and local files are in use, when any.
///
/// # Errors
/// The embedded registry is broken, the IANA file is unusable (named, with line and
/// column for XML), or a local file is untrusted or malformed (every problem, each named
/// with file, line and column).
fn registry() -> anyhow::Result<&'static Registry> {
    static LOADED: OnceLock<Result<&'static Registry, String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let (sources, trust) = SOURCES.get().cloned().unwrap_or_default();
            load_registry(&sources, &trust).map_err(|e| format!("{e:#}"))
        })
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
}

/// Loads the registry `sources` describe; see [`registry`].
fn load_registry(sources: &RegistrySources, trust: &Trust) -> anyhow::Result<&'static Registry> {
    let builtin = Registry::builtin().context("loading the embedded registry")?;
    let mut files: Vec<(String, String)> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    for (dir, missing_ok) in &sources.dirs {
        match crate::registry::local::read_dir(dir, trust, *missing_ok) {
            Ok(found) => files.extend(found),
            Err(problems) => errors.extend(problems),
        }
    }
    if sources.iana.is_none() && files.is_empty() && errors.is_empty() {
        return Ok(builtin);
    }
    let mut registry = builtin.clone();
    if let Some(path) = &sources.iana {
        let file = crate::registry::iana::load_file(&path.display().to_string())?;
        eprintln!(
            "portghost: IANA registry: {} (updated {}, {} records)",
            terminal_safe(&file.file),
            file.updated,
            file.len()
        );
        registry = registry.with_iana(file);
    }
    for (file, text) in &files {
        match crate::registry::local::parse(file, text) {
            Ok(local) => {
                if let Err(e) = registry.merge_local(&local) {
                    errors.push(e.to_string());
                }
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!("local registry: {}", errors.join("\nportghost: local registry: "));
    }
    if !registry.local_files().is_empty() {
        eprintln!(
            "portghost: local registry: {}",
            terminal_safe(&registry.local_files().join(", "))
        );
    }
    Ok(Box::leak(Box::new(registry)))
}

/// `portghost scan` with no flags, as `diff` scans the host now.
fn default_scan() -> ScanConfig {
    ScanConfig {
        options: ScanOptions::default(),
        ports: Vec::new(),
        format: Format::Table,
        unexpected: false,
        owners: OwnerFilter::default(),
        sort: SortKey::Verdict,
        header: true,
        quiet: false,
        output: None,
        fail_on_unexpected: false,
        timings: false,
        require_complete: false,
        policy: None,
        step_summary: None,
    }
}

/// Today's date in UTC, from the system clock: the one place the policy's idea of today
/// comes from.
///
/// # Errors
/// Only if the clock is before 1970 or after 9999.
fn today() -> anyhow::Result<NaiveDate> {
    utc_date(SystemTime::now())
}

/// The UTC date of `now`, if it is from 1970 to 9999.
fn utc_date(now: SystemTime) -> anyhow::Result<NaiveDate> {
    let since_1970 = now.duration_since(UNIX_EPOCH).ok();
    let date = since_1970
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .map(|t| t.date_naive())
        .filter(|d| d.year() <= 9999);
    date.with_context(|| match since_1970 {
        Some(d) => format!(
            "the system clock reads {} seconds after 1970, which is not a usable date",
            d.as_secs()
        ),
        None => "the system clock reads a time before 1970, which is not a usable date".to_string(),
    })
}

/// Loads the policy file `path` (given or discovered), and says on stderr which one it is.
///
/// # Errors
/// The policy cannot be read or is malformed: the message names the file, line and column.
fn load_policy(path: Option<&Path>, trust: &Trust, quiet: bool) -> anyhow::Result<Option<Policy>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let policy = policy::load(path, trust)?;
    if quiet {
        return Ok(Some(policy));
    }
    eprintln!(
        "portghost: policy: {} ({}, {} rule{})",
        terminal_safe(&policy.file),
        policy.mode,
        policy.rule_count(),
        if policy.rule_count() == 1 { "" } else { "s" }
    );
    Ok(Some(policy))
}

/// Time spent after the scan, for `--timings`.
#[derive(Debug, Clone, Copy, Default)]
struct AfterScan {
    /// Gathering the evidence about flagged listeners' owners and namespaces.
    evidence: Duration,
    /// Filtering and classifying.
    classify: Duration,
}

/// Gathers the evidence `registry` says the verdicts on `inventory` need: nothing at all
/// when no listener is on a ghost port that needs it. Returns the time it took.
fn gather_evidence(inventory: &mut crate::model::Inventory, registry: &Registry) -> Duration {
    let started = Instant::now();
    let request = registry.provenance_request(inventory);
    if !request.is_empty() {
        inventory::gather_provenance(inventory, &request);
    }
    started.elapsed()
}

/// Scans, gathers the evidence its verdicts need, classifies (with `policy`, when given)
/// and filters as `args` asks, without rendering.
///
/// # Errors
/// When the socket table cannot be read or the embedded registry is broken.
fn scan_report(
    args: &ScanConfig,
    policy: Option<PolicyContext<'_>>,
) -> anyhow::Result<(Report, ScanTimings, AfterScan)> {
    scan_report_with(args, policy, None, &mut |_| {})
}

/// [`scan_report`], the owner walk reusing and updating `cache` when given (a watch), and
/// `inspect` shown the inventory as scanned, before any filter.
///
/// # Errors
/// As [`scan_report`].
fn scan_report_with(
    args: &ScanConfig,
    policy: Option<PolicyContext<'_>>,
    cache: Option<&mut inventory::OwnerCache>,
    inspect: &mut dyn FnMut(&crate::model::Inventory),
) -> anyhow::Result<(Report, ScanTimings, AfterScan)> {
    let registry = registry()?;
    let mut options = args.options.clone();
    options.ports = resolve_ports(&args.ports, registry)?;
    let users = resolve_users(&args.owners.users)?;
    let scanned = match cache {
        Some(cache) => inventory::scan_with_cache(&options, cache),
        None => inventory::scan(&options),
    };
    let (mut inventory, timings) = scanned.context("enumerating listening sockets")?;
    inspect(&inventory);
    let mut after = AfterScan::default();
    let started = Instant::now();
    if !options.ports.is_empty() {
        let wanted = options.port_filter();
        inventory.listeners.retain(|l| wanted(l.port));
    }
    if !args.owners.is_empty() {
        let filter = &args.owners;
        inventory.listeners.retain(|l| {
            l.owners.iter().any(|o| {
                (filter.pids.is_empty() || filter.pids.contains(&o.pid))
                    && (filter.processes.is_empty() || filter.processes.contains(&o.name))
                    && (users.is_empty() || users.iter().any(|u| u.matches(o)))
            })
        });
    }
    let filtered = started.elapsed();
    after.evidence = gather_evidence(&mut inventory, registry);
    let started = Instant::now();
    let mut report = classify_with(inventory, registry, policy);
    if args.unexpected {
        report.retain(|c| c.verdict == Verdict::Unexpected);
        report.portless.retain(|c| c.verdict == Verdict::Unexpected);
    }
    sort_report(&mut report, args.sort);
    after.classify = filtered + started.elapsed();
    Ok((report, timings, after))
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
    let (target, written) = match &args.output {
        Some(path) => {
            replace_file(path, b.text.as_bytes())?;
            (terminal_safe(&path.display().to_string()).into_owned(), Ok(()))
        }
        None => {
            let written = write_stdout(|out| out.write_all(b.text.as_bytes()));
            note_write_failure(&written);
            ("stdout".to_string(), written)
        }
    };
    for w in &b.warnings {
        eprintln!("portghost: warning: {}", terminal_safe(w));
    }
    eprintln!(
        "portghost: baseline: {} listener{} -> {} rule{}, {} commented out for review, written to {target}",
        report.listeners.len() + report.portless.len(),
        if report.listeners.len() + report.portless.len() == 1 {
            ""
        } else {
            "s"
        },
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
    Ok(finish(Exit::Clean, &written))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_gives_the_utc_date() {
        let at = |secs: u64| utc_date(UNIX_EPOCH + Duration::from_secs(secs)).map(|d| d.to_string());
        // 2026-11-21T08:28:04Z
        assert_eq!(at(1_795_249_684).ok().as_deref(), Some("2026-11-21"));
        assert_eq!(at(0).ok().as_deref(), Some("1970-01-01"));
        assert_eq!(at(253_402_300_799).ok().as_deref(), Some("9999-12-31"));
        assert!(at(253_402_300_800).is_err());
        assert!(utc_date(UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }
}
