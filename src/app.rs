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
use crate::report::{self, Style, explain, github, gitlab, json, jsonl, junit, owners_cell, sarif, table};
use crate::sanitize::terminal_safe;
use anyhow::Context as _;

mod registry_cmd;
use chrono::{DateTime, Datelike as _, NaiveDate};
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

/// Whether standard output was already closed when the process started (`portghost >&-`).
/// The Rust runtime then opens `/dev/null` on fd 1 before `main`, so writes would succeed
/// into nothing; [`record_stdout_at_start`] notes it first, and [`write_stdout`] fails.
static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Notes whether fd 1 is open. Must run before the Rust runtime starts (the binary calls it
/// from `.init_array`), because the runtime replaces a closed fd 1 with `/dev/null`.
#[cfg(target_os = "linux")]
pub(crate) fn record_stdout_at_start() {
    let closed = rustix::io::fcntl_getfd(io::stdout()).is_err_and(|e| e == rustix::io::Errno::BADF);
    STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// The `portghost` binary: parses the command line, runs it and maps the outcome to the
/// exit-code contract, printing `portghost: {err:#}` (made safe for a terminal) for an
/// error.
pub(crate) fn main() -> std::process::ExitCode {
    let config = crate::cli::resolve(Cli::parse_args());
    let code = match run(config) {
        Ok(exit) => exit,
        Err(err) => {
            eprintln!("portghost: {}", terminal_safe(&format!("{err:#}")));
            Exit::Error
        }
    };
    std::process::ExitCode::from(code as u8)
}

/// Renders to stdout through a buffer with `render` and flushes. Errors are write failures
/// (a closed pipe, a full disk, a closed stdout); the caller still computes the verdict and
/// passes the result to [`finish`].
fn write_stdout(render: impl FnOnce(&mut BufWriter<io::StdoutLock<'static>>) -> io::Result<()>) -> io::Result<()> {
    if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) {
        return Err(io::Error::new(io::ErrorKind::BrokenPipe, "standard output is closed"));
    }
    let mut out = BufWriter::new(io::stdout().lock());
    render(&mut out)?;
    out.flush()
}

/// The exit code of a command whose verdict is `verdict` and whose output was `written`:
/// the verdict when the output was written; when it was not, one stderr line and 2, unless
/// the gate already failed (1). A failed write never exits 0.
fn finish(verdict: Exit, written: &io::Result<()>) -> Exit {
    match written {
        Ok(()) => verdict,
        Err(_) if verdict == Exit::Unexpected => Exit::Unexpected,
        Err(_) => Exit::Error,
    }
}

/// Says on stderr that the output could not be written, once, right when it happened.
fn note_write_failure(written: &io::Result<()>) {
    if let Err(err) = written {
        eprintln!("portghost: cannot write the output: {err}");
    }
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
    let registry = registry()?;
    let mut options = args.options.clone();
    options.ports = resolve_ports(&args.ports, registry)?;
    let users = resolve_users(&args.owners.users)?;
    let (mut inventory, timings) = inventory::scan(&options).context("enumerating listening sockets")?;
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

/// The ports `--port` asks for, sorted and without duplicates: each number and range, and
/// every port the IANA registry in use gives each service name on tcp or udp.
///
/// # Errors
/// A name that IANA gives no tcp or udp port.
fn resolve_ports(selection: &[PortSel], registry: &Registry) -> anyhow::Result<Vec<u16>> {
    let mut ports: Vec<u16> = Vec::new();
    for sel in selection {
        match sel {
            PortSel::Range(from, to) => ports.extend(*from..=*to),
            PortSel::Name(name) => {
                let before = ports.len();
                for r in registry.iana_by_name(name) {
                    if r.protocol.parse::<Protocol>().is_err() {
                        continue;
                    }
                    let (from, to) = r.port.split_once('-').unwrap_or((&r.port, &r.port));
                    if let (Ok(from), Ok(to)) = (from.parse::<u16>(), to.parse::<u16>()) {
                        ports.extend(from..=to);
                    }
                }
                if ports.len() == before {
                    anyhow::bail!(
                        "--port {}: IANA gives no tcp or udp port to a service of that name (IANA registry of {}); give the port number",
                        terminal_safe(name),
                        registry.iana_updated()
                    );
                }
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// One `--user`: a numeric UID, or a name with the UID this system gives it, if any.
#[derive(Debug)]
struct UserMatch {
    /// The name given; `None` when a UID was.
    name: Option<String>,
    /// The UID given, or the one the name has here.
    uid: Option<u32>,
}

impl UserMatch {
    /// Whether `owner` runs as this user: the same UID, or the same user name.
    fn matches(&self, owner: &crate::model::Owner) -> bool {
        (self.uid.is_some() && owner.uid == self.uid) || (self.name.is_some() && owner.user == self.name)
    }
}

/// Resolves `--user` values: numbers are UIDs; names are looked up in this system's user
/// database.
///
/// # Errors
/// A name this system does not know: a typo would otherwise silently show nothing.
fn resolve_users(users: &[String]) -> anyhow::Result<Vec<UserMatch>> {
    users
        .iter()
        .map(|u| {
            if let Ok(uid) = u.trim().parse::<u32>() {
                return Ok(UserMatch {
                    name: None,
                    uid: Some(uid),
                });
            }
            #[cfg(target_os = "linux")]
            let uid = uzers::get_user_by_name(u).map(|user| user.uid());
            #[cfg(not(target_os = "linux"))]
            let uid: Option<u32> = None;
            if uid.is_none() && cfg!(target_os = "linux") {
                anyhow::bail!("--user {}: no such user on this system; give the UID", terminal_safe(u));
            }
            Ok(UserMatch {
                name: Some(u.clone()),
                uid,
            })
        })
        .collect()
}

/// Orders the rows of `report` by `key`, keeping them grouped by network namespace (the
/// host's first). [`SortKey::Verdict`] is the order [`classify_with`] already gives.
fn sort_report(report: &mut Report, key: SortKey) {
    let first_owner = |c: &Classified| c.listener.owners.iter().map(|o| o.name.clone()).min();
    match key {
        SortKey::Verdict => {}
        SortKey::Port => report.listeners.sort_by_cached_key(|c| {
            let l = &c.listener;
            (l.netns_order(), l.port, l.protocol, l.local_address, l.inode)
        }),
        SortKey::Process => report.listeners.sort_by_cached_key(|c| {
            let l = &c.listener;
            let name = first_owner(c);
            (
                l.netns_order(),
                name.is_none(),
                name,
                l.port,
                l.protocol,
                l.local_address,
                l.inode,
            )
        }),
    }
}

/// Renders `report` in `format`.
fn render_scan<W: Write>(
    out: &mut W,
    report: &Report,
    format: Format,
    style: &Style,
    header: bool,
    extras: &RenderExtras<'_>,
) -> io::Result<()> {
    match format {
        Format::Table => table::render_with(out, report, style, header),
        Format::Json => json::render(out, report, style.tty),
        Format::Junit => junit::render_timed(out, report, extras.scan_time),
        Format::Github => {
            github::render_limited(out, report, github::Limits::GITHUB, extras.summary_written).map(|_| ())
        }
        Format::Jsonl => jsonl::render(out, report),
        Format::Gitlab => gitlab::render(out, report, extras.policy, style.tty),
        Format::Sarif => sarif::render(out, report, extras.policy, style.tty),
    }
}

/// What some formats need beyond the report: JUnit the scan's duration, GitLab and SARIF
/// the policy (to point at its rules), GitHub whether the step summary was written.
struct RenderExtras<'a> {
    scan_time: Duration,
    policy: Option<PolicyContext<'a>>,
    summary_written: bool,
}

/// Writes `render`'s output to `--output FILE`, atomically, with a line on stderr when it
/// fails: the error then counts as a failed write ([`finish`]).
fn write_output_file(path: &Path, render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
    let mut bytes = Vec::new();
    let result = render(&mut bytes)
        .map_err(anyhow::Error::from)
        .and_then(|()| replace_file(path, &bytes));
    result.map_err(|err| {
        eprintln!(
            "portghost: cannot write the output: {}",
            terminal_safe(&format!("{err:#}"))
        );
        io::Error::other(format!("{err:#}"))
    })
}

fn scan(args: &ScanConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
    let policy = load_policy(args.policy.as_deref(), trust, args.quiet)?;
    let today = today()?;
    let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
    let scan_start = Instant::now();
    let (report, timings, after) = scan_report(args, ctx)?;
    let scan_time = scan_start.elapsed();
    let render_start = Instant::now();
    let summary_written = match (&args.step_summary, args.format) {
        (Some(path), Format::Github) => append_step_summary(path, &report),
        _ => false,
    };
    let extras = RenderExtras {
        scan_time,
        policy: ctx,
        summary_written,
    };
    // With --output the chosen format goes to the file and stdout shows the table.
    let file_written = match &args.output {
        Some(path) => {
            let plain = Style::plain();
            write_output_file(path, |out| {
                render_scan(out, &report, args.format, &plain, args.header, &extras)
            })
        }
        None => Ok(()),
    };
    let stdout_format = if args.output.is_some() {
        Format::Table
    } else {
        args.format
    };
    let written = if args.quiet {
        Ok(())
    } else {
        write_stdout(|out| render_scan(out, &report, stdout_format, style, args.header, &extras))
    };
    let render_time = render_start.elapsed();
    note_write_failure(&written);
    let written = file_written.and(written);
    let quiet = args.quiet;
    if report.view == Some(View::Container) && !quiet {
        eprintln!("portghost: this view is the container's: its network namespace and its processes only");
    }
    for w in report.warnings.iter().filter(|_| !quiet) {
        eprintln!("portghost: warning: {w}");
    }
    for w in report.policy.iter().flat_map(|p| &p.warnings).filter(|_| !quiet) {
        eprintln!("portghost: warning: {}", terminal_safe(w));
    }
    if report.summary.owners_hidden > 0 && !report.privileged && !quiet {
        eprintln!(
            "portghost: {} listener(s) have hidden owners; run as root, or grant CAP_SYS_PTRACE and \
             CAP_DAC_READ_SEARCH (setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v portghost)), to see every process",
            report.summary.owners_hidden
        );
    }
    if args.timings {
        eprintln!(
            "portghost: timings: dump {:.2} ms, walk {:.2} ms (owner details {:.2} ms of thread time), evidence {:.2} ms, classify {:.2} ms, render {:.2} ms",
            ms(timings.dump),
            ms(timings.walk),
            ms(timings.owners),
            ms(after.evidence),
            ms(after.classify),
            ms(render_time)
        );
    }
    let mut exit = Exit::Clean;
    if args.fail_on_unexpected && report.unexpected_total() > 0 {
        for c in report
            .listeners
            .iter()
            .filter(|c| c.verdict == Verdict::Unexpected && !quiet)
        {
            eprintln!("portghost: unexpected: {}", gate_line(c));
        }
        for c in report
            .portless
            .iter()
            .filter(|c| c.verdict == Verdict::Unexpected && !quiet)
        {
            eprintln!("portghost: unexpected: {}", portless_gate_line(c));
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
    Ok(finish(exit, &written))
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

/// `packet socket (all protocols, any interface) x(42): reason; reason`: one unexpected
/// portless listener and every finding that is more than context, safe for a terminal.
fn portless_gate_line(c: &crate::model::ClassifiedPortless) -> String {
    let reasons: Vec<&str> = c
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .map(|f| f.message.as_str())
        .collect();
    format!("{}: {}", c.listener.kind, terminal_safe(&reasons.join("; ")))
}

/// What would make an incomplete scan complete: scan without `--no-owners` when owners
/// were not looked up, more privilege when portghost has none, and otherwise not
/// privilege (it has it): the problems listed say what hid the owners.
fn completeness_remedy(report: &Report) -> &'static str {
    let not_looked = report
        .listeners
        .iter()
        .any(|c| c.listener.owner_status == OwnerStatus::NotLooked)
        || report
            .portless
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
    out.extend(
        report
            .portless
            .iter()
            .filter(|c| !c.listener.owner_status.is_seen())
            .map(|c| {
                format!(
                    "{} socket {}: {}",
                    c.listener.kind,
                    terminal_safe(&c.listener.endpoint()),
                    c.listener.owner_status.reason()
                )
            }),
    );
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

/// Appends the Markdown summary of `report` to the GitHub step summary file `path`
/// (`$GITHUB_STEP_SUMMARY`), creating it if needed. True when it was written; a failure is
/// said on stderr and does not change the exit code (the annotations still go out).
fn append_step_summary(path: &Path, report: &Report) -> bool {
    let mut text = Vec::new();
    let _ = github::render_summary(&mut text, report);
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .and_then(|mut f| f.write_all(&text));
    match written {
        Ok(()) => true,
        Err(err) => {
            eprintln!(
                "portghost: cannot write the step summary {}: {err}",
                terminal_safe(&path.display().to_string())
            );
            false
        }
    }
}

/// Replaces the file `path` with `bytes`, atomically: they are written to a new temporary
/// file in the same directory (created with `O_EXCL`, so never through a planted link),
/// synced, and renamed over `path`. A write cut short (a full disk, `RLIMIT_FSIZE`) leaves
/// `path` as it was. `path` itself must not be a symbolic link or anything but a regular
/// file: writing through a link would let whoever planted it choose the file replaced.
///
/// # Errors
/// `path` is a symbolic link, a directory or a special file; or the temporary file cannot
/// be created, written, synced or renamed. Messages name `path`, safe for a terminal.
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let shown = terminal_safe(&path.display().to_string()).into_owned();
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(err).with_context(|| format!("writing {shown}")),
    };
    if let Some(meta) = &existing {
        if meta.file_type().is_symlink() {
            anyhow::bail!("refusing to write through the symbolic link {shown}");
        }
        if !meta.is_file() {
            anyhow::bail!("refusing to replace {shown}: it is not a regular file");
        }
    }
    let name = path
        .file_name()
        .with_context(|| format!("writing {shown}: the path names no file"))?;
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    check_file_size_limit(bytes.len(), &shown)?;
    let (tmp, mut file) = create_temporary(dir, name, existing.as_ref())
        .with_context(|| format!("writing {shown}: creating a temporary file in its directory"))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err).with_context(|| format!("writing {shown} (left unchanged)"));
    }
    // Make the rename itself durable; the file is in place whether or not this succeeds.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Refuses, before anything is written, a file larger than the process may write: a write
/// past `RLIMIT_FSIZE` raises `SIGXFSZ`, which would kill portghost with no exit code of the
/// contract.
fn check_file_size_limit(len: usize, shown: &str) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(limit) = rustix::process::getrlimit(rustix::process::Resource::Fsize).current
        && len as u64 > limit
    {
        anyhow::bail!(
            "writing {shown} (left unchanged): {len} bytes are more than the file-size limit (ulimit -f) of {limit} bytes allows"
        );
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (len, shown);
    Ok(())
}

/// A new file `.NAME.PID-N.tmp` in `dir`, created exclusively (`O_CREAT|O_EXCL`: an
/// existing file or link of that name is an error, never followed), with the permissions
/// of the file it will replace, if any.
fn create_temporary(
    dir: &Path,
    name: &std::ffi::OsStr,
    replaces: Option<&std::fs::Metadata>,
) -> io::Result<(std::path::PathBuf, std::fs::File)> {
    let mut attempt = 0u32;
    loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}-{attempt}.tmp", std::process::id()));
        let tmp = dir.join(tmp_name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(if replaces.is_some() { 0o600 } else { 0o666 });
        }
        match options.open(&tmp) {
            Ok(file) => {
                if let Some(meta) = replaces
                    && let Err(err) = file.set_permissions(meta.permissions())
                {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(err);
                }
                return Ok((tmp, file));
            }
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(err) => return Err(err),
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `portghost explain --pid PID`: scans like `scan` (with the policy it finds), keeps the
/// listeners, port or portless, that `pid` holds, and renders them as `scan` would.
fn explain_pid(pid: u32, args: &ExplainConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
    let policy = load_policy(args.policy.as_deref(), trust, false)?;
    let today = today()?;
    let ctx = policy.as_ref().map(|policy| PolicyContext { policy, today });
    let (mut report, _, _) = scan_report(&default_scan(), ctx)?;
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

fn explain_port(args: &ExplainConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
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

/// The largest scan file `diff` reads: 64 MiB (a scan of 100,000 listeners is about 60 MiB
/// of JSON). Documented in the README.
const MAX_SCAN_FILE: u64 = 64 * 1024 * 1024;

/// Checks that `meta` is a regular file of at most [`MAX_SCAN_FILE`] bytes.
fn check_scan_file(name: &str, meta: &std::fs::Metadata) -> anyhow::Result<()> {
    if !meta.is_file() {
        anyhow::bail!(
            "{name}: not a regular file (a device, FIFO, socket or directory); diff reads scans saved with `portghost scan --format json > FILE`"
        );
    }
    if meta.len() > MAX_SCAN_FILE {
        anyhow::bail!(
            "{name}: {} bytes is more than diff reads ({} MiB at most)",
            meta.len(),
            MAX_SCAN_FILE / (1024 * 1024)
        );
    }
    Ok(())
}

/// Reads and parses a scan file for `diff`; errors name the file, and line and column where
/// the JSON is at fault. Only a regular file of at most [`MAX_SCAN_FILE`] bytes is read: the
/// file is checked before it is opened (so a FIFO is never opened and cannot block), checked
/// again once open, and read no further than the limit.
fn read_snapshot(path: &std::path::Path) -> anyhow::Result<Snapshot> {
    if path.as_os_str() == "-" {
        return read_snapshot_stdin();
    }
    let name = path.display().to_string();
    let cannot_read = || format!("{name}: cannot read the scan");
    check_scan_file(&name, &std::fs::metadata(path).with_context(cannot_read)?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // Should the file become a FIFO between the check and the open, do not wait for a writer.
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).with_context(cannot_read)?;
    check_scan_file(&name, &file.metadata().with_context(cannot_read)?)?;
    let mut text = String::new();
    file.take(MAX_SCAN_FILE + 1)
        .read_to_string(&mut text)
        .with_context(cannot_read)?;
    if text.len() as u64 > MAX_SCAN_FILE {
        anyhow::bail!(
            "{name}: more than {} MiB, more than diff reads",
            MAX_SCAN_FILE / (1024 * 1024)
        );
    }
    Ok(drift::parse(&name, &text)?)
}

/// For `diff --netns NAME` against a saved scan of several namespaces: keeps only the
/// saved listeners of the namespace `ns` that was scanned now (matched by name, else
/// inode; the host's by its flag), so the other namespaces' listeners are not reported as
/// removed. A saved scan of one namespace is left as it is.
fn keep_one_namespace(old: &mut Snapshot, ns: &crate::model::Netns) {
    let label = |l: &crate::schema::SnapshotListener| l.netns.as_ref().and_then(crate::schema::SnapshotNetns::label);
    let spans = old.listeners.windows(2).any(|pair| label(&pair[0]) != label(&pair[1]));
    if !spans {
        return;
    }
    let wanted = if ns.host {
        None
    } else {
        Some(ns.name.clone().unwrap_or_else(|| ns.inode.to_string()))
    };
    old.listeners.retain(|l| {
        let n = l.netns.as_ref();
        label(l) == wanted || (n.and_then(|n| n.inode) == Some(ns.inode))
    });
}

/// Reads a scan from standard input (`diff -`), no further than [`MAX_SCAN_FILE`] bytes.
fn read_snapshot_stdin() -> anyhow::Result<Snapshot> {
    let name = "standard input";
    let mut text = String::new();
    io::stdin()
        .lock()
        .take(MAX_SCAN_FILE + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("{name}: cannot read the scan"))?;
    if text.len() as u64 > MAX_SCAN_FILE {
        anyhow::bail!(
            "{name}: more than {} MiB, more than diff reads",
            MAX_SCAN_FILE / (1024 * 1024)
        );
    }
    Ok(drift::parse("-", &text)?)
}

fn diff_scans(args: &DiffConfig, style: &Style) -> anyhow::Result<Exit> {
    if args.old.as_os_str() == "-" && args.new.as_ref().is_some_and(|n| n.as_os_str() == "-") {
        anyhow::bail!("only one of the two scans can be read from standard input (-)");
    }
    let mut old = read_snapshot(&args.old)?;
    let (new, new_label) = match &args.new {
        Some(path) => (read_snapshot(path)?, path.display().to_string()),
        None => {
            // Scan now and take the snapshot straight from the report: the same snapshot that
            // reading back `scan --format json` would give (tests/schema.rs holds them equal).
            let now = ScanConfig {
                options: ScanOptions {
                    netns: args.netns.clone(),
                    ..ScanOptions::default()
                },
                ..default_scan()
            };
            let (report, _, _) = scan_report(&now, None)?;
            if let (NetnsScope::One(_), [ns]) = (&args.netns, report.namespaces.as_slice()) {
                keep_one_namespace(&mut old, ns);
            }
            (Snapshot::from_report(&report), "this host now".to_string())
        }
    };
    let d = drift::compare(&old, &args.old.display().to_string(), &new, &new_label);
    fn render<W: Write>(out: &mut W, d: &drift::Diff, format: DiffFormat, style: &Style) -> io::Result<()> {
        match format {
            DiffFormat::Table => report::diff::render_text(out, d, style),
            DiffFormat::Json => report::diff::render_json(out, d, style.tty),
        }
    }
    // With --output the chosen format goes to the file and stdout shows the text form.
    let file_written = match &args.output {
        Some(path) => {
            let plain = Style::plain();
            write_output_file(path, |out| render(out, &d, args.format, &plain))
        }
        None => Ok(()),
    };
    let stdout_format = if args.output.is_some() {
        DiffFormat::Table
    } else {
        args.format
    };
    let written = if args.quiet {
        Ok(())
    } else {
        write_stdout(|out| render(out, &d, stdout_format, style))
    };
    note_write_failure(&written);
    let written = file_written.and(written);
    if args.fail_on_change && d.summary.not_compared > 0 {
        eprintln!(
            "portghost: cannot tell whether the owners of {} listener(s) changed: their owners are hidden in one of the scans (see the notes); scan as root",
            d.summary.not_compared
        );
        return Ok(Exit::Error);
    }
    if args.fail_on_change && d.summary.drift {
        return Ok(finish(Exit::Unexpected, &written));
    }
    Ok(finish(Exit::Clean, &written))
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
