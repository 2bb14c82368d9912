//! Resolution of the parsed command line into a [`Config`], done once at start-up.
//!
//! Owns the reads of `NO_COLOR`, `SUDO_UID`, `PORTGHOST_IANA`, `PORTGHOST_INVENTORY` and `GITHUB_STEP_SUMMARY`, of the effective UID, of
//! the terminal (is stdout one, how wide) and of the current directory (which policy file
//! discovery finds). It must not scan, read the
//! clock, or open the policy it finds: `app` does that.

use super::args::{
    BaselineArgs, Cli, ColorWhen, Command, DiffArgs, DiffFormat, ExplainArgs, Format, ListFormat, OwnerFilterArgs,
    PolicyArgs, PolicyCommand, PolicyMode, PortSel, RegistryCommand, ScanArgs, SchemaKindArg, SelectArgs, SortKey,
    Target, WatchArgs,
};
use crate::inventory::{InventoryKind, NetnsScope, ScanOptions};
use crate::model::{Mode, Protocol};
use crate::policy;
use crate::policy::trust::Trust;
use crate::report::Style;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Everything the program needs from its command line and environment.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// How output is styled: colour, width, indentation.
    pub style: Style,
    /// What to do.
    pub action: Action,
    /// Who may own the policy file, the local registry files and the directories above them.
    pub trust: Trust,
    /// Which registries to judge with, besides the embedded one.
    pub registry: RegistrySources,
}

/// The registries given on the command line or in the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistrySources {
    /// `--iana FILE`, else `PORTGHOST_IANA`: an IANA registry to use instead of the embedded one.
    pub iana: Option<PathBuf>,
    /// The local registry directories in order, each with whether it may be missing:
    /// `/etc/portghost/registry.d` (may be missing), then `--registry-dir` (may not).
    pub dirs: Vec<(PathBuf, bool)>,
}

/// The command to run, with its resolved options.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// `portghost scan` (also when no command is given).
    Scan(ScanConfig),
    /// `portghost explain PORT`.
    Explain(ExplainConfig),
    /// `portghost diff OLD [NEW]`.
    Diff(DiffConfig),
    /// `portghost baseline`.
    Baseline(BaselineConfig),
    /// `portghost watch`.
    Watch(WatchConfig),
    /// `portghost registry list`.
    RegistryList {
        /// Only this status.
        status: Option<String>,
        /// Output format.
        format: ListFormat,
    },
    /// `portghost registry check [DIR]`: the directory to check.
    RegistryCheck(PathBuf),
    /// `portghost policy check FILE`.
    PolicyCheck(PathBuf),
    /// `portghost completions SHELL`.
    Completions(clap_complete::Shell),
    /// `portghost man`.
    Man,
    /// `portghost schema --kind KIND`.
    Schema(crate::schema::json_schema::SchemaKind),
}

/// A resolved `portghost scan`.
#[derive(Debug, Clone)]
pub(crate) struct ScanConfig {
    /// What the inventory should enumerate; its `ports` are filled in by `app` from
    /// [`ScanConfig::ports`], which may name services.
    pub options: ScanOptions,
    /// Only these ports, ranges and service names; empty for every port.
    pub ports: Vec<PortSel>,
    /// Output format.
    pub format: Format,
    /// Only the unexpected listeners.
    pub unexpected: bool,
    /// Only listeners some owner of which matches these.
    pub owners: OwnerFilter,
    /// The order of the rows.
    pub sort: SortKey,
    /// Print the table's column header.
    pub header: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Write the chosen format to this file, and the table to stdout.
    pub output: Option<PathBuf>,
    /// Exit 1 when any listener shown is unexpected.
    pub fail_on_unexpected: bool,
    /// Print phase timings on stderr.
    pub timings: bool,
    /// Exit 2 unless the scan saw everything.
    pub require_complete: bool,
    /// The policy file to judge with, given or discovered; `None` for no policy.
    pub policy: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY` when set and not empty: with `--format github`, the file the
    /// Markdown table of every listener is appended to.
    pub step_summary: Option<PathBuf>,
}

/// A resolved `portghost watch`.
#[derive(Debug, Clone)]
pub(crate) struct WatchConfig {
    /// How each cycle scans: the scan options, the ports and the policy file.
    pub scan: ScanConfig,
    /// Time between scans, from 10 ms to a day (checked when parsed).
    pub interval: std::time::Duration,
    /// Walk /proc at least every this many cycles; 1 or more.
    pub owner_interval: u32,
    /// Append events here instead of stdout.
    pub events_file: Option<PathBuf>,
    /// Send events to the systemd journal instead of stdout.
    pub journal: bool,
    /// Rewrite this Prometheus textfile every cycle.
    pub textfile: Option<PathBuf>,
    /// No snapshot events at start.
    pub quiet_start: bool,
    /// Exit 2 after this many failed cycles in a row; 1 or more.
    pub max_failures: u32,
}

/// `--pid`, `--user` and `--process`: a listener is kept when one of its owners matches
/// every list that is not empty.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerFilter {
    /// Process IDs.
    pub pids: Vec<u32>,
    /// User names or numeric UIDs, as given.
    pub users: Vec<String>,
    /// Process names.
    pub processes: Vec<String>,
}

impl OwnerFilter {
    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty() && self.users.is_empty() && self.processes.is_empty()
    }
}

/// A resolved `portghost explain`.
#[derive(Debug, Clone)]
pub(crate) struct ExplainConfig {
    /// The port; 0 when `name` is given (the ports are found in the registry).
    pub port: u16,
    /// The IANA service name asked about, instead of a port.
    pub name: Option<String>,
    /// Output format.
    pub format: ListFormat,
    /// The transports to explain, tcp before udp.
    pub protocols: Vec<Protocol>,
    /// Whether to look at what listens on this host now.
    pub live: bool,
    /// The policy the live listeners are judged with, as for `scan`.
    pub policy: Option<PathBuf>,
    /// `--pid`: explain what this process holds instead of a port.
    pub pid: Option<u32>,
    /// The inventory the live scan uses (`PORTGHOST_INVENTORY`).
    pub inventory: InventoryKind,
    /// The user's temporary directories, for the live scan (see [`ScanOptions::temp_dirs`]).
    pub temp_dirs: Vec<String>,
}

/// A resolved `portghost diff`.
#[derive(Debug, Clone)]
pub(crate) struct DiffConfig {
    /// The earlier scan file.
    pub old: PathBuf,
    /// The later scan file; `None` to scan this host now.
    pub new: Option<PathBuf>,
    /// Output format.
    pub format: DiffFormat,
    /// Exit 1 on drift, 2 when owners cannot be compared.
    pub fail_on_change: bool,
    /// Write the chosen format to this file, and the text form to stdout.
    pub output: Option<PathBuf>,
    /// Print nothing but errors.
    pub quiet: bool,
    /// Which namespaces to scan when `new` is `None`.
    pub netns: NetnsScope,
    /// The inventory that scans when `new` is `None` (`PORTGHOST_INVENTORY`).
    pub inventory: InventoryKind,
}

/// A resolved `portghost baseline`.
#[derive(Debug, Clone)]
pub(crate) struct BaselineConfig {
    /// What the inventory should enumerate.
    pub options: ScanOptions,
    /// Only these ports, ranges and service names; empty for every port.
    pub ports: Vec<PortSel>,
    /// Where to write the policy; `None` for stdout.
    pub output: Option<PathBuf>,
    /// The mode of the policy written.
    pub mode: Mode,
}

/// Resolves `cli` against the environment, the terminal and the current directory.
///
/// # Errors
/// `PORTGHOST_INVENTORY` is unusable (see [`inventory_kind`]) for a command that scans.
pub(crate) fn resolve(cli: Cli) -> anyhow::Result<Config> {
    let style = resolve_style(cli.color, std::io::stdout().is_terminal(), |name| {
        std::env::var_os(name)
    });
    // Read only by the commands that scan this host, so that a bad value cannot stop
    // `portghost schema` or `registry list`.
    let inventory = || inventory_kind(std::env::var_os("PORTGHOST_INVENTORY").as_deref());
    let action = match cli.command {
        None => Action::Scan(scan_config(cli.scan, inventory()?)),
        Some(Command::Scan(args)) => Action::Scan(scan_config(args, inventory()?)),
        Some(Command::Explain(args)) => {
            let scans = !args.no_live || args.pid.is_some();
            let kind = if scans { inventory()? } else { InventoryKind::native() };
            Action::Explain(explain_config(args, kind))
        }
        Some(Command::Diff(args)) => {
            let kind = if args.new.is_some() {
                InventoryKind::native()
            } else {
                inventory()?
            };
            Action::Diff(diff_config(args, kind))
        }
        Some(Command::Baseline(args)) => Action::Baseline(baseline_config(args, inventory()?)),
        Some(Command::Watch(args)) => Action::Watch(watch_config(args, inventory()?)),
        Some(Command::Registry(RegistryCommand::List(args))) => Action::RegistryList {
            status: args.status,
            format: args.format,
        },
        Some(Command::Registry(RegistryCommand::Check(args))) => Action::RegistryCheck(
            args.dir
                .unwrap_or_else(|| PathBuf::from(crate::registry::local::SYSTEM_DIR)),
        ),
        Some(Command::Policy(PolicyCommand::Check(args))) => Action::PolicyCheck(args.file),
        Some(Command::Completions(args)) => Action::Completions(args.shell),
        Some(Command::Man) => Action::Man,
        Some(Command::Schema(args)) => Action::Schema(match args.kind {
            SchemaKindArg::Scan => crate::schema::json_schema::SchemaKind::Scan,
            SchemaKindArg::Jsonl => crate::schema::json_schema::SchemaKind::Jsonl,
            SchemaKindArg::Diff => crate::schema::json_schema::SchemaKind::Diff,
        }),
    };
    let iana = cli.iana.or_else(|| {
        std::env::var_os("PORTGHOST_IANA")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    let mut dirs = vec![(PathBuf::from(crate::registry::local::SYSTEM_DIR), true)];
    dirs.extend(cli.registry_dir.map(|d| (d, false)));
    Ok(Config {
        style,
        action,
        trust: resolve_trust(),
        registry: RegistrySources { iana, dirs },
    })
}

/// The inventory `PORTGHOST_INVENTORY` (`value`) selects: unset or empty for the native
/// one of this OS, `portable` for netstat2 and sysinfo, `linux` for the native Linux one.
///
/// # Errors
/// An unknown value, or `linux` off Linux; the message names the variable.
fn inventory_kind(value: Option<&std::ffi::OsStr>) -> anyhow::Result<InventoryKind> {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return Ok(InventoryKind::native());
    };
    match value.to_str() {
        Some("portable") => Ok(InventoryKind::Portable),
        Some("linux") if cfg!(target_os = "linux") => Ok(InventoryKind::Linux),
        Some("linux") => anyhow::bail!(
            "PORTGHOST_INVENTORY=linux: the Linux inventory is available on Linux only; unset \
             PORTGHOST_INVENTORY or set it to portable"
        ),
        _ => anyhow::bail!(
            "PORTGHOST_INVENTORY={:?} is not an inventory: expected linux or portable (or unset it for the \
             native one)",
            value.to_string_lossy()
        ),
    }
}

/// Root, the effective user, and under `sudo` (effective UID 0) the user in `SUDO_UID`.
fn resolve_trust() -> Trust {
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut uids = Vec::new();
    #[cfg(target_os = "linux")]
    {
        let euid = rustix::process::geteuid().as_raw();
        if euid != 0 {
            uids.push(euid);
        } else if let Some(sudo) = std::env::var("SUDO_UID").ok().and_then(|v| v.parse::<u32>().ok()) {
            uids.push(sudo);
        }
    }
    Trust { uids }
}

/// `--color auto` by the usual conventions, first match wins: `NO_COLOR` set and not empty
/// turns colour off; `CLICOLOR_FORCE` set, not empty and not `0` turns it on (even into a
/// pipe); `CLICOLOR=0` or `TERM=dumb` turns it off; otherwise colour when stdout is a
/// terminal. `--color always` and `--color never` override them all. `env` reads one
/// environment variable.
fn resolve_style(color: ColorWhen, tty: bool, env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Style {
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    let color = match color {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            if set("NO_COLOR").is_some() {
                false
            } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
                true
            } else if set("CLICOLOR").is_some_and(|v| v == "0") || set("TERM").is_some_and(|v| v == "dumb") {
                false
            } else {
                tty
            }
        }
    };
    let width = if tty {
        terminal_size::terminal_size().map(|(w, _)| w.0)
    } else {
        None
    };
    Style { color, width, tty }
}

/// The inventory options for `select` with owners looked up unless `no_owners`; portless
/// listeners are listed unless `select` narrows to ports or transports, or leaves them out.
fn scan_options(select: &SelectArgs, no_owners: bool, netns: NetnsScope, inventory: InventoryKind) -> ScanOptions {
    let both = select.tcp == select.udp;
    ScanOptions {
        tcp: both || select.tcp,
        udp: both || select.udp,
        owners: !no_owners,
        netns,
        ports: Vec::new(),
        portless: !(select.no_portless || select.tcp || select.udp || !select.port.is_empty()),
        inventory,
        temp_dirs: temp_dirs(),
    }
}

/// The user's temporary directories the classifier adds to the platform's fixed ones: on
/// Windows the values of `%TEMP%`, `%TMP%` and `%SystemRoot%\Temp` (empty or unset ones
/// left out); nothing elsewhere, where the fixed `/tmp` and friends are the whole list.
pub(crate) fn temp_dirs() -> Vec<String> {
    if !cfg!(windows) {
        return Vec::new();
    }
    let mut dirs: Vec<String> = ["TEMP", "TMP"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .chain(std::env::var("SystemRoot").ok().map(|root| format!("{root}\\Temp")))
        .filter(|d| !d.is_empty())
        .collect();
    dirs.dedup();
    dirs
}

fn scan_config(args: ScanArgs, inventory: InventoryKind) -> ScanConfig {
    let netns = match (&args.netns, args.all_netns) {
        (Some(netns), _) => NetnsScope::One(netns.clone()),
        (None, true) => NetnsScope::All,
        (None, false) => NetnsScope::Own,
    };
    ScanConfig {
        options: scan_options(&args.select, args.no_owners, netns, inventory),
        ports: args.select.port,
        format: args.format,
        unexpected: args.unexpected,
        owners: owner_filter(args.owners),
        sort: args.sort,
        header: !args.no_header,
        quiet: args.quiet,
        output: args.output,
        fail_on_unexpected: args.fail_on_unexpected,
        timings: args.timings,
        require_complete: args.require_complete,
        policy: policy_path(&args.policy),
        step_summary: step_summary(),
    }
}

fn watch_config(args: WatchArgs, inventory: InventoryKind) -> WatchConfig {
    let scan = scan_config(
        ScanArgs {
            select: args.select,
            all_netns: args.all_netns,
            netns: args.netns,
            policy: args.policy,
            quiet: true,
            ..ScanArgs::default()
        },
        inventory,
    );
    WatchConfig {
        scan,
        interval: args.interval,
        owner_interval: args.owner_interval,
        events_file: args.events_file,
        journal: args.journal,
        textfile: args.textfile,
        quiet_start: args.quiet_start,
        max_failures: args.max_failures,
    }
}

/// `$GITHUB_STEP_SUMMARY`, the file GitHub Actions shows as the step's summary, when set
/// and not empty.
fn step_summary() -> Option<PathBuf> {
    std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn explain_config(args: ExplainArgs, inventory: InventoryKind) -> ExplainConfig {
    let (port, name, protocol) = match args.port {
        Some(Target::Port(spec)) => (spec.port, None, spec.protocol),
        Some(Target::Name(name, protocol)) => (0, Some(name), protocol),
        None => (0, None, None),
    };
    ExplainConfig {
        port,
        name,
        format: args.format,
        protocols: match protocol {
            Some(p) => vec![p],
            None => vec![Protocol::Tcp, Protocol::Udp],
        },
        live: !args.no_live,
        policy: if args.no_live { None } else { policy_path(&args.policy) },
        pid: args.pid,
        inventory,
        temp_dirs: temp_dirs(),
    }
}

fn diff_config(args: DiffArgs, inventory: InventoryKind) -> DiffConfig {
    DiffConfig {
        old: args.old,
        new: args.new,
        format: args.format,
        fail_on_change: args.fail_on_change,
        netns: match (args.netns, args.all_netns) {
            (Some(netns), _) => NetnsScope::One(netns),
            (None, true) => NetnsScope::All,
            (None, false) => NetnsScope::Own,
        },
        output: args.output,
        quiet: args.quiet,
        inventory,
    }
}

fn owner_filter(args: OwnerFilterArgs) -> OwnerFilter {
    OwnerFilter {
        pids: args.pid,
        users: args.user,
        processes: args.process,
    }
}

fn baseline_config(args: BaselineArgs, inventory: InventoryKind) -> BaselineConfig {
    let netns = match (&args.netns, args.all_netns) {
        (Some(netns), _) => NetnsScope::One(netns.clone()),
        (None, true) => NetnsScope::All,
        (None, false) => NetnsScope::Own,
    };
    BaselineConfig {
        options: scan_options(&args.select, false, netns, inventory),
        ports: args.select.port,
        output: args.output,
        mode: match args.mode {
            PolicyMode::Allowlist => Mode::Allowlist,
            PolicyMode::Ghosts => Mode::Ghosts,
        },
    }
}

/// The policy file to use: `--policy FILE`, nothing with `--no-policy`, else the first of
/// [`policy::DISCOVERY_PATHS`] that exists.
fn policy_path(args: &PolicyArgs) -> Option<PathBuf> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn colour(when: ColorWhen, tty: bool, vars: &[(&str, &str)]) -> bool {
        let env = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| OsString::from(v));
        resolve_style(when, tty, env).color
    }

    #[test]
    fn colour_follows_the_environment_conventions() {
        use ColorWhen::{Always, Auto, Never};
        assert!(colour(Auto, true, &[]));
        assert!(!colour(Auto, false, &[]));
        assert!(!colour(Auto, true, &[("TERM", "dumb")]));
        assert!(colour(Auto, true, &[("TERM", "xterm-256color")]));
        assert!(!colour(Auto, true, &[("NO_COLOR", "1")]));
        assert!(colour(Auto, true, &[("NO_COLOR", "")]), "an empty NO_COLOR is unset");
        assert!(colour(Auto, false, &[("CLICOLOR_FORCE", "1")]));
        assert!(colour(Auto, true, &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]));
        assert!(!colour(Auto, false, &[("CLICOLOR_FORCE", "0")]));
        assert!(!colour(Auto, false, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
        assert!(!colour(Auto, true, &[("CLICOLOR", "0")]));
        assert!(colour(Always, false, &[("NO_COLOR", "1"), ("TERM", "dumb")]));
        assert!(!colour(Never, true, &[("CLICOLOR_FORCE", "1")]));
    }

    #[test]
    fn inventory_follows_portghost_inventory() {
        let kind = |v: Option<&str>| inventory_kind(v.map(std::ffi::OsStr::new)).map_err(|e| e.to_string());
        assert_eq!(kind(None).ok(), Some(InventoryKind::native()));
        assert_eq!(kind(Some("")).ok(), Some(InventoryKind::native()), "empty is unset");
        assert_eq!(kind(Some("portable")).ok(), Some(InventoryKind::Portable));
        if cfg!(target_os = "linux") {
            assert_eq!(kind(Some("linux")).ok(), Some(InventoryKind::Linux));
        } else {
            assert!(
                kind(Some("linux"))
                    .expect_err("off Linux")
                    .starts_with("PORTGHOST_INVENTORY=linux")
            );
        }
        let err = kind(Some("Portable")).expect_err("case matters");
        assert!(
            err.starts_with("PORTGHOST_INVENTORY=\"Portable\" is not an inventory"),
            "{err}"
        );
    }
}
