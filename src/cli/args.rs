//! Command-line syntax, declared with clap derive.
//!
//! Owns the flags and subcommands and nothing else: no defaults that depend on the
//! environment, no I/O. [`super::resolve`] turns them into what the program uses.

use crate::model::Protocol;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `--version`: the crate's version and the date of the embedded IANA registry, which the
/// build script reads from the XML's `<updated>` element.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (IANA registry ",
    env!("PORTGHOST_IANA_UPDATED"),
    ")"
);

/// Lists every listening socket with the processes that own it, and flags the unexpected
/// listeners: ghost ports whose standard was withdrawn or whose vendor is gone, historic
/// protocols, restricted services exposed, and known malware ports.
#[derive(Debug, Parser)]
#[command(
    name = "portghost",
    version = VERSION,
    about,
    long_about = None,
    propagate_version = true
)]
pub(crate) struct Cli {
    /// When to colour the output: auto colours only a terminal, and only when NO_COLOR is unset.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,

    /// Judge with this IANA registry instead of the embedded snapshot: IANA's
    /// service-names-port-numbers.xml or .csv, downloaded by you. Also PORTGHOST_IANA.
    #[arg(long, value_name = "FILE", global = true)]
    pub iana: Option<PathBuf>,

    /// Also read the local registry files (*.toml) in this directory, after those in
    /// /etc/portghost/registry.d.
    #[arg(long, value_name = "DIR", global = true)]
    pub registry_dir: Option<PathBuf>,

    /// The flags of `scan`, which runs when no command is given: `portghost --format json`
    /// is `portghost scan --format json`.
    #[command(flatten)]
    pub scan: ScanArgs,

    /// What to do; `scan` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the command line; exits with clap's message and status 2 on a usage error,
    /// including a scan option given before a command (`portghost --format json explain 22`):
    /// the scan options stand for `scan` only when no command follows. The global options
    /// (`--color`, `--iana`, `--registry-dir`) go anywhere.
    pub(crate) fn parse_args() -> Cli {
        use clap::{CommandFactory as _, FromArgMatches as _, parser::ValueSource};
        let mut command = Cli::command();
        let matches = command.clone().get_matches();
        if let Some((name, _)) = matches.subcommand() {
            let globals = ["color", "iana", "registry_dir"];
            let given = matches
                .ids()
                .map(clap::Id::as_str)
                .find(|id| !globals.contains(id) && matches.value_source(id) == Some(ValueSource::CommandLine));
            if let Some(id) = given {
                let flag = format!("--{}", id.replace('_', "-"));
                command
                    .error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!(
                            "{flag} is a scan option and must follow the command: `portghost {name} {flag} ...`, or give no command to scan"
                        ),
                    )
                    .exit();
            }
        }
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut command).exit())
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the listening sockets of this host and judge each one (the default).
    Scan(ScanArgs),
    /// Print everything the registry knows about a port, and what listens on it now.
    Explain(ExplainArgs),
    /// Compare two JSON scans (or one with this host now): listeners added, removed, or
    /// changed owner, executable, user or address.
    Diff(DiffArgs),
    /// Write a policy that allows exactly what listens now; ghost ports, historic and
    /// restricted services, suspicious executables and hidden owners are written as
    /// commented-out rules for a person to decide.
    Baseline(BaselineArgs),
    /// Watch the listeners until stopped (SIGINT, SIGTERM): scan every --interval and print
    /// one JSON line per change (listener-added, listener-removed, verdict-changed,
    /// owner-changed), after a snapshot of what already listens.
    Watch(WatchArgs),
    /// Show the ghost registry, or check local registry files.
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Check a policy file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print a shell completion script to stdout, e.g.
    /// `portghost completions bash > /usr/share/bash-completion/completions/portghost`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout, e.g.
    /// `portghost man > /usr/local/share/man/man1/portghost.1`.
    Man,
    /// Print the JSON Schema (draft 2020-12) of the JSON output: `scan --format json`, one
    /// line of `--format jsonl`, or `diff --format json`.
    Schema(SchemaArgs),
}

/// Flags of `portghost schema`.
#[derive(Debug, Args, Clone)]
pub(crate) struct SchemaArgs {
    /// Which output the schema describes.
    #[arg(long, value_enum, default_value_t = SchemaKindArg::Scan)]
    pub kind: SchemaKindArg,
}

/// `portghost schema --kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum SchemaKindArg {
    /// `portghost scan --format json`.
    #[default]
    Scan,
    /// One line of `portghost scan --format jsonl`.
    Jsonl,
    /// `portghost diff --format json`.
    Diff,
}

/// Flags of `portghost completions`.
#[derive(Debug, Args, Clone)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `portghost registry ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum RegistryCommand {
    /// List the ghost registry (embedded, then local files): port, transports, service,
    /// status, confidence, sources and the file each entry came from.
    List(RegistryListArgs),
    /// Check local registry files: ownership and permissions, strict parsing, and
    /// `[[use]]` tables that have an entry to go to. Exit 0 when all are good, 2 listing
    /// every problem.
    Check(RegistryCheckArgs),
}

/// Flags of `portghost registry list`.
#[derive(Debug, Args, Clone)]
pub(crate) struct RegistryListArgs {
    /// Only entries with this status, e.g. defunct-vendor.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,
}

/// Flags of `portghost registry check`.
#[derive(Debug, Args, Clone)]
pub(crate) struct RegistryCheckArgs {
    /// The directory of *.toml files to check; /etc/portghost/registry.d when omitted.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `portghost policy ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Check a policy file: ownership and permissions, parsing, rules that can never match
    /// (exit 2, listing every problem), and expired allow rules (a warning, exit 0).
    Check(PolicyCheckArgs),
}

/// Flags of `portghost policy check`.
#[derive(Debug, Args, Clone)]
pub(crate) struct PolicyCheckArgs {
    /// The policy file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `--format` of `registry list` and `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ListFormat {
    /// Text for people.
    #[default]
    Table,
    /// JSON, documented in the README.
    Json,
}

/// Flags of `portghost scan`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct ScanArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Which listeners: `--port`, `--tcp`, `--udp`.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Only the unexpected listeners.
    #[arg(long)]
    pub unexpected: bool,

    /// Which owners: `--pid`, `--user`, `--process`.
    #[command(flatten)]
    pub owners: OwnerFilterArgs,

    /// The order of the rows: `verdict` (unexpected first, then by protocol and port),
    /// `port`, or `process` (by owner name). Rows stay grouped by network namespace.
    #[arg(long, value_enum, default_value_t = SortKey::Verdict)]
    pub sort: SortKey,

    /// Leave out the column header line of the table.
    #[arg(long, short = 'H')]
    pub no_header: bool,

    /// Print nothing on stdout (and no notes on stderr): only the exit code says what was
    /// found. Errors are still printed.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Write the output in the chosen `--format` to FILE (replaced atomically); stdout then
    /// shows the table (nothing with `--quiet`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit with status 1 when any listener shown is unexpected.
    #[arg(long)]
    pub fail_on_unexpected: bool,

    /// Do not look up owning processes (faster; no process columns).
    #[arg(long)]
    pub no_owners: bool,

    /// Print how long each phase of the scan took, on stderr. The walk of /proc runs
    /// beside the socket dump, so its time includes the dump's.
    #[arg(long)]
    pub timings: bool,

    /// Scan every network namespace on the host (containers, `ip netns`), not only
    /// portghost's own. Needs root (CAP_SYS_ADMIN).
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,

    /// Scan one network namespace: a name from `ip netns list`, or a path such as
    /// /proc/1234/ns/net. Needs root unless it is portghost's own.
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Option<String>,

    /// Which policy: `--policy`, `--no-policy`.
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Exit with status 2 unless the scan saw everything: every owner of every listener
    /// shown, and every part of the scan.
    #[arg(long)]
    pub require_complete: bool,
}

/// The flags that keep only some owners' listeners (what lsof's `-p`, `-u` and `-c` do).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct OwnerFilterArgs {
    /// Only listeners held by this process ID (repeat the flag or separate with commas).
    #[arg(long, value_name = "PID", value_delimiter = ',')]
    pub pid: Vec<u32>,

    /// Only listeners held by a process of this user: a name or a numeric UID (repeat the
    /// flag or separate with commas).
    #[arg(long, value_name = "NAME|UID", value_delimiter = ',')]
    pub user: Vec<String>,

    /// Only listeners held by a process of this name (`/proc/PID/comm`, exactly; repeat the
    /// flag or separate with commas).
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub process: Vec<String>,
}

/// `--sort` values of `portghost scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum SortKey {
    /// Unexpected first, then unreviewed, then expected; by protocol, port and address
    /// within each.
    #[default]
    Verdict,
    /// By port, then protocol and address.
    Port,
    /// By the name of the first owner (listeners without one last), then port.
    Process,
}

/// The flags that choose the policy file, shared by `scan` and `explain`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct PolicyArgs {
    /// Judge the listeners with this policy file. Without it, ./portghost.toml, then
    /// /etc/portghost/policy.toml, is used when it exists.
    #[arg(long, value_name = "FILE", conflicts_with = "no_policy")]
    pub policy: Option<PathBuf>,

    /// Use no policy file, even when ./portghost.toml or /etc/portghost/policy.toml exists.
    #[arg(long)]
    pub no_policy: bool,
}

/// The flags that narrow which listeners a scan or a baseline covers: `--port`, `--tcp`
/// and `--udp` select port listeners (and so leave portless ones out); `--no-portless`
/// leaves portless ones out.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct SelectArgs {
    /// Only listeners on these ports: numbers, ranges (`8000-8100`) or IANA service names
    /// (`ssh`, every port IANA gives the name on tcp or udp); repeat the flag or separate
    /// with commas.
    #[arg(long, short = 'p', value_name = "PORT|FROM-TO|NAME", value_delimiter = ',')]
    pub port: Vec<PortSel>,

    /// Only TCP listeners.
    #[arg(long, short = 't')]
    pub tcp: bool,

    /// Only UDP sockets.
    #[arg(long, short = 'u')]
    pub udp: bool,
    /// Leave out portless listeners: packet (AF_PACKET) and raw IP sockets, which receive
    /// traffic without a port. They are shown unless this, --port, --tcp or --udp is given.
    #[arg(long)]
    pub no_portless: bool,
}

/// Flags of `portghost baseline`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct BaselineArgs {
    /// Write the policy to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Which listeners: `--port`, `--tcp`, `--udp`.
    #[command(flatten)]
    pub select: SelectArgs,

    /// The mode of the policy written.
    #[arg(long, value_enum, default_value_t = PolicyMode::Allowlist)]
    pub mode: PolicyMode,

    /// Cover every network namespace on the host: each rule then names its namespace
    /// (`netns = "host"`, an `ip netns` name, or an inode). Needs root (CAP_SYS_ADMIN).
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,

    /// Cover one network namespace: a name from `ip netns list`, or a path such as
    /// /proc/1234/ns/net.
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Option<String>,
}

/// Flags of `portghost watch`.
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct WatchArgs {
    /// Seconds between scans (fractions allowed), from 0.01 to 86400.
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_interval, allow_hyphen_values = true)]
    pub interval: std::time::Duration,

    /// Look up owners (walk /proc) at least every this many intervals (1 or more), and
    /// whenever the set of listening sockets changed.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = parse_at_least_one, allow_negative_numbers = true)]
    pub owner_interval: u32,

    /// Append the events to FILE instead of writing them to stdout.
    #[arg(long, value_name = "FILE", conflicts_with = "journal")]
    pub events_file: Option<PathBuf>,

    /// Send the events to the systemd journal instead of stdout, with structured fields
    /// (PORTGHOST_EVENT, PORTGHOST_PORT, PORTGHOST_PROTOCOL, PORTGHOST_VERDICT,
    /// PORTGHOST_JSON, ...). Exits 2 at start when the journal cannot be reached.
    #[arg(long)]
    pub journal: bool,

    /// Rewrite this Prometheus textfile (node_exporter's textfile collector) every interval,
    /// atomically.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,

    /// Do not print the snapshot of what already listens at start.
    #[arg(long)]
    pub quiet_start: bool,

    /// Exit with status 2 after this many failed scans in a row (1 or more).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = parse_at_least_one, allow_negative_numbers = true)]
    pub max_failures: u32,

    /// Which listeners: `--port`, `--tcp`, `--udp`.
    #[command(flatten)]
    pub select: SelectArgs,

    /// Watch every network namespace on the host. Needs root (CAP_SYS_ADMIN).
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,

    /// Watch one network namespace: a name from `ip netns list`, or a path such as
    /// /proc/1234/ns/net.
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Option<String>,

    /// Which policy: `--policy`, `--no-policy`.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// The shortest `watch --interval`: 10 ms.
pub(crate) const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The longest `watch --interval`: one day.
pub(crate) const MAX_INTERVAL: std::time::Duration = std::time::Duration::from_secs(86_400);

/// Parses `watch --interval`: a decimal number of seconds from [`MIN_INTERVAL`] to
/// [`MAX_INTERVAL`].
///
/// # Errors
/// A sentence naming the value when it is not a number (NaN and infinities included), is
/// negative, or lies outside that range.
fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let range = format!(
        "a number of seconds from {} to {}",
        MIN_INTERVAL.as_secs_f64(),
        MAX_INTERVAL.as_secs_f64()
    );
    let seconds: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not {range}"))?;
    if !seconds.is_finite() {
        return Err(format!("{s:?} is not {range}"));
    }
    let interval = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{s:?} is negative; it must be {range}"))?;
    if interval < MIN_INTERVAL {
        return Err(format!("{s} is too short (a busy loop); it must be {range}"));
    }
    if interval > MAX_INTERVAL {
        return Err(format!("{s} is too long; it must be {range}"));
    }
    Ok(interval)
}

/// Parses a count that must be 1 or more (`--owner-interval`, `--max-failures`).
///
/// # Errors
/// A sentence naming the value when it is not a whole number from 1 to 4294967295.
fn parse_at_least_one(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(0) => Err("0 is not allowed; it must be 1 or more".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number from 1 to {}", u32::MAX)),
    }
}

/// `--mode` values of `portghost baseline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum PolicyMode {
    /// Anything the policy does not allow is unexpected.
    #[default]
    Allowlist,
    /// Only registry findings and deny rules make a listener unexpected.
    Ghosts,
}

/// Flags of `portghost explain`.
#[derive(Debug, Args, Clone)]
pub(crate) struct ExplainArgs {
    /// The port, optionally with its transport (`3237`, `3237/tcp`, `3416/udp`), or an IANA
    /// service name (`ssh`, `apparenet-tps`), which stands for every port IANA gives it.
    #[arg(
        value_name = "PORT[/tcp|/udp]|NAME",
        required_unless_present = "pid",
        conflicts_with = "pid"
    )]
    pub port: Option<Target>,
    /// Instead of a port: every listener, port or portless (packet and raw sockets), that
    /// the process PID holds, judged as `scan` judges it.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,

    /// Output format: `table` (text) or `json`.
    #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
    pub format: ListFormat,

    /// Only show the registry; do not look at what listens on this host.
    #[arg(long)]
    pub no_live: bool,

    /// The policy the live listeners are judged with, found as `scan` finds it.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Flags of `portghost diff`.
#[derive(Debug, Args, Clone)]
pub(crate) struct DiffArgs {
    /// The earlier scan: a file written by `portghost scan --format json` (or
    /// `--format jsonl`), or `-` for standard input.
    #[arg(value_name = "OLD.json")]
    pub old: std::path::PathBuf,

    /// The later scan (a file, or `-` for standard input); when omitted, this host is
    /// scanned now (with owners, like `scan`).
    #[arg(value_name = "NEW.json")]
    pub new: Option<std::path::PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,

    /// Exit with status 1 when anything changed, and 2 when owners hidden in one of the
    /// scans cannot be compared.
    #[arg(long)]
    pub fail_on_change: bool,

    /// Write the output in the chosen `--format` to FILE (replaced atomically); stdout then
    /// shows the text form (nothing with `--quiet`).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print nothing on stdout: only the exit code says whether anything changed.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// When scanning this host now: scan every network namespace, to compare with a scan
    /// saved with `scan --all-netns`. Needs root.
    #[arg(long, conflicts_with = "netns")]
    pub all_netns: bool,

    /// When scanning this host now: scan this network namespace (a name from
    /// `ip netns list`, or a path such as /proc/1234/ns/net).
    #[arg(long, value_name = "NAME|PATH")]
    pub netns: Option<String>,
}

/// `portghost diff --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum DiffFormat {
    /// A readable list of the changes, then a summary line (`text` is an alias).
    #[default]
    #[value(alias = "text")]
    Table,
    /// One JSON object of the changes (schema_version 1), documented in the README.
    Json,
}

/// What `explain` is asked about: a port or a service name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A port, with an optional transport.
    Port(PortSpec),
    /// An IANA service name, with an optional transport (`ssh`, `ssh/tcp`).
    Name(String, Option<Protocol>),
}

impl std::str::FromStr for Target {
    type Err = String;

    /// A port spec when the part before any `/` is all digits; otherwise a service name of
    /// letters, digits, `-`, `_`, `.`, `+`, `*` or `/` (as IANA's older names have).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let head = s.split('/').next().unwrap_or(s).trim();
        if !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map(Target::Port);
        }
        let (name, proto) = match s.rsplit_once('/') {
            Some((n, t)) if t.parse::<Protocol>().is_ok() => (n, t.parse::<Protocol>().ok()),
            _ => (s, None),
        };
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.+*/".contains(c);
        if name.is_empty() || name.len() > 64 || !name.chars().all(ok) {
            return Err(format!(
                "invalid port or service name {s:?}: expected a port (3237, 3237/tcp) or an IANA service name (ssh)"
            ));
        }
        Ok(Target::Name(name.to_string(), proto))
    }
}

/// One item of `--port`: a port, a range of ports, or an IANA service name, which
/// the command resolves with the registry it judges with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortSel {
    /// `FROM-TO`, both included; a single port is `FROM == TO`.
    Range(u16, u16),
    /// An IANA service name, e.g. `ssh`.
    Name(String),
}

impl std::str::FromStr for PortSel {
    type Err = String;

    /// `22`, `8000-8100` or `ssh`. Port 0 and a range whose end is below its start are
    /// errors: no listener has port 0, and a reversed range would match nothing.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let number = |p: &str| -> Result<u16, String> {
            match p.trim().parse::<u16>() {
                Ok(0) => Err("port 0 is not a port a socket listens on; ports are 1 to 65535".to_string()),
                Ok(n) => Ok(n),
                Err(_) => Err(format!("invalid port {p:?}: expected a number from 1 to 65535")),
            }
        };
        let digits = |p: &str| !p.trim().is_empty() && p.trim().bytes().all(|b| b.is_ascii_digit());
        if digits(s) {
            let port = number(s)?;
            return Ok(PortSel::Range(port, port));
        }
        if let Some((from, to)) = s.split_once('-')
            && digits(from)
            && digits(to)
        {
            let (from, to) = (number(from)?, number(to)?);
            if to < from {
                return Err(format!("reversed range {s:?}: write it {to}-{from}"));
            }
            return Ok(PortSel::Range(from, to));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.+*/".contains(c);
        if s.is_empty() || s.len() > 64 || !s.chars().all(ok) || !s.chars().any(|c| c.is_ascii_alphabetic()) {
            return Err(format!(
                "invalid port {s:?}: expected a port (22), a range (8000-8100) or an IANA service name (ssh)"
            ));
        }
        Ok(PortSel::Name(s.to_string()))
    }
}

/// A port with an optional transport, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortSpec {
    /// The port.
    pub port: u16,
    /// The transport, or `None` for both.
    pub protocol: Option<Protocol>,
}

impl std::str::FromStr for PortSpec {
    type Err = String;

    /// Parses `PORT` or `PORT/tcp` or `PORT/udp`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (p, proto) = match s.split_once('/') {
            Some((p, t)) => (p, Some(t.parse::<Protocol>()?)),
            None => (s, None),
        };
        let port = p
            .trim()
            .parse::<u16>()
            .map_err(|_| format!("invalid port {p:?}: expected a number from 0 to 65535"))?;
        Ok(PortSpec { port, protocol: proto })
    }
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum ColorWhen {
    /// Colour when stdout is a terminal and NO_COLOR is unset or empty.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Format {
    /// A table for people.
    #[default]
    Table,
    /// One JSON object (schema_version 1), documented in the README.
    Json,
    /// JUnit XML for CI test reports: one test case per listener, a failure per unexpected one.
    Junit,
    /// GitHub Actions workflow commands: an ::error per unexpected listener, ::warning for
    /// scan warnings and hidden owners, and a closing ::notice.
    Github,
    /// JSON Lines for log pipelines: one listener per line, each with host and scanned_at.
    Jsonl,
    /// GitLab Code Quality: a JSON array of issues (unexpected listeners, hidden owners),
    /// each pointing at the policy rule that allowed or would allow the listener.
    Gitlab,
    /// SARIF 2.1.0 for code-scanning dashboards: a result per unexpected listener (and per
    /// hidden owner), each pointing at the policy rule.
    Sarif,
    /// Prometheus text format for node_exporter's textfile collector (write it with
    /// `--output DIR/portghost.prom`): listeners by verdict, findings, one info series per
    /// listener, whether the scan was complete, its time and duration.
    Prometheus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn intervals_are_bounded_and_counts_start_at_one() {
        assert_eq!(parse_interval("1"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("0.01"), Ok(MIN_INTERVAL));
        assert_eq!(parse_interval("86400"), Ok(MAX_INTERVAL));
        assert_eq!(parse_interval(" 0.25 "), Ok(Duration::from_millis(250)));
        for bad in ["0", "0.009", "-0.5", "-0", "NaN", "inf", "-inf", "86400.5", "1s", ""] {
            assert!(parse_interval(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_at_least_one("1"), Ok(1));
        assert_eq!(parse_at_least_one("4294967295"), Ok(u32::MAX));
        for bad in ["0", "-1", "4294967296", "x"] {
            assert!(parse_at_least_one(bad).is_err(), "{bad:?}");
        }
    }
}
