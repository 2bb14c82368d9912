//! `portghost watch`: scan every interval until SIGINT or SIGTERM, and write one JSON line
//! (or one journal entry) per change.
//!
//! Owns the loop: the cheap socket dump every cycle, the full scan (owner walk, evidence,
//! classification, through the same [`scan_report`] as `scan`) when the set of sockets
//! changed, the policy file changed, or every `--owner-interval` cycles; re-reading the
//! policy file when it changes; where the events go (stdout, `--events-file`, the systemd
//! journal); the textfile, the failure count and the exit code. What counts as a change is
//! [`crate::watch`]'s.
//!
//! What the loop keeps from one cycle to the next is bounded by what listens now: the last
//! report, the set of socket inodes of the last dump, the policy and its file's stamp.
//! Nothing is kept per listener or process that has gone (a unit test below holds it to
//! that through churn).

#[allow(unused_imports)]
use super::*;
use crate::cli::WatchConfig;
use crate::diag::FileError;
use crate::watch::{JournalEntry, Priority};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The sockets a dump saw: (namespace inode, socket inode) of every port and portless
/// listener.
type SocketSet = BTreeSet<(u64, u64)>;

/// The sockets `inventory` lists, as a [`SocketSet`].
fn socket_set(inventory: &crate::model::Inventory) -> SocketSet {
    let ns = |n: &Option<Arc<crate::model::Netns>>| n.as_ref().map_or(0, |n| n.inode);
    inventory
        .listeners
        .iter()
        .map(|l| (ns(&l.netns), l.inode.unwrap_or(0)))
        .chain(inventory.portless.iter().map(|l| (ns(&l.netns), l.inode)))
        .collect()
}

/// What a cycle asks of the system: the cheap dump and the full, judged scan. The live one
/// is [`Live`]; the tests give synthetic ones.
trait Source {
    /// The sockets listening now (no owners).
    fn sockets(&mut self) -> anyhow::Result<SocketSet>;
    /// A full scan, judged with `policy` when given, and the sockets its dump saw (all of
    /// them, whatever the report's filters keep).
    fn scan(&mut self, policy: Option<&Policy>) -> anyhow::Result<(Report, SocketSet)>;
}

/// The live system, scanned as `scan` would with these options; the owner walk keeps an
/// [`inventory::OwnerCache`] from scan to scan, so a periodic scan of an idle host reads
/// again only the descriptors of the processes that ran since the last one.
struct Live<'a>(&'a ScanConfig, inventory::OwnerCache);

impl Source for Live<'_> {
    fn sockets(&mut self) -> anyhow::Result<SocketSet> {
        let cheap = ScanOptions {
            owners: false,
            ..self.0.options.clone()
        };
        let (dump, _) = inventory::scan(&cheap).context("enumerating listening sockets")?;
        Ok(socket_set(&dump))
    }

    fn scan(&mut self, policy: Option<&Policy>) -> anyhow::Result<(Report, SocketSet)> {
        let today = today()?;
        let ctx = policy.map(|policy| PolicyContext { policy, today });
        let mut sockets = SocketSet::new();
        let report = scan_report_with(self.0, ctx, Some(&mut self.1), &mut |inventory| {
            sockets = socket_set(inventory);
        })?
        .0;
        Ok((report, sockets))
    }
}

/// What identifies a version of the policy file: device, inode, size, modification and
/// status-change times (nanoseconds). A rewrite in place, a rename over it, a `chmod` or
/// `chown` (which the trust check looks at) all change it.
type Stamp = (u64, u64, u64, i128, i128);

/// The stamp of the file at `path` (following symbolic links); `None` when it cannot be
/// read.
#[cfg(unix)]
fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt as _;
    let m = std::fs::metadata(path).ok()?;
    let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
    Some((
        m.dev(),
        m.ino(),
        m.size(),
        ns(m.mtime(), m.mtime_nsec()),
        ns(m.ctime(), m.ctime_nsec()),
    ))
}

/// The stamp of the file at `path` off Unix, where there is no inode or status-change
/// time: its size and modification time (nanoseconds since the epoch); `None` when it
/// cannot be read.
#[cfg(not(unix))]
fn stamp(path: &Path) -> Option<Stamp> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
    Some((0, 0, m.len(), modified, 0))
}

/// The policy file in use, re-read when its [`Stamp`] changes.
struct PolicyFile {
    /// The path as given or discovered.
    path: std::path::PathBuf,
    /// Who may own it, as at start.
    trust: Trust,
    /// The stamp of the version last read (whether it loaded or not).
    stamp: Option<Stamp>,
}

impl PolicyFile {
    /// `None` when the file did not change since it was last read; otherwise it is read
    /// again through the same trust checks and parser as at start
    /// ([`crate::policy::load`]).
    fn poll(&mut self) -> Option<Result<Policy, FileError>> {
        let now = stamp(&self.path);
        if now == self.stamp {
            return None;
        }
        // The stamp before the read: a write during it changes the stamp again, and the
        // next cycle reads once more.
        self.stamp = now;
        Some(crate::policy::load(&self.path, &self.trust))
    }
}

/// One event, ready for the sink: its JSON line (with the newline) and, when the sink is
/// the journal, its journal entry.
struct Emitted {
    /// The JSON line.
    line: Vec<u8>,
    /// The journal entry, only for [`Sink::Journal`] (which exists only on Linux).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    journal: Option<JournalEntry>,
}

/// Where events go.
enum Sink {
    /// JSON lines on stdout or appended to `--events-file`.
    Lines(Box<dyn Write>),
    /// The systemd journal (`--journal`).
    #[cfg(target_os = "linux")]
    Journal(systemd_journal_logger::JournalLog),
}

impl Sink {
    /// The sink `args` asks for.
    ///
    /// # Errors
    /// The events file cannot be opened, stdout was closed at start, or the journal cannot
    /// be reached (its socket is missing or nobody listens on it).
    fn open(args: &WatchConfig) -> anyhow::Result<Sink> {
        if args.journal {
            #[cfg(target_os = "linux")]
            {
                let journal = systemd_journal_logger::JournalLog::new()
                    .context("--journal: cannot reach the systemd journal at /run/systemd/journal/socket (is systemd-journald running, and is the socket visible here?)")?
                    .with_syslog_identifier("portghost".to_owned());
                return Ok(Sink::Journal(journal));
            }
            #[cfg(not(target_os = "linux"))]
            anyhow::bail!("--journal: the systemd journal exists only on Linux");
        }
        Ok(Sink::Lines(match &args.events_file {
            Some(path) => Box::new(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(path)
                    .with_context(|| format!("opening {}", terminal_safe(&path.display().to_string())))?,
            ),
            None if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) => anyhow::bail!("standard output is closed"),
            None => Box::new(io::stdout()),
        }))
    }

    /// True when events need their journal entry.
    fn journal(&self) -> bool {
        !matches!(self, Sink::Lines(_))
    }

    /// Sends `events`, in order; the lines are flushed.
    fn send(&mut self, events: &[Emitted]) -> io::Result<()> {
        match self {
            Sink::Lines(out) => {
                for e in events {
                    out.write_all(&e.line)?;
                }
                out.flush()
            }
            #[cfg(target_os = "linux")]
            Sink::Journal(journal) => {
                for entry in events.iter().filter_map(|e| e.journal.as_ref()) {
                    send_to_journal(journal, entry)?;
                }
                Ok(())
            }
        }
    }
}

/// Sends one entry to the journal: `PRIORITY`, `MESSAGE`, `SYSLOG_IDENTIFIER=portghost`
/// and the entry's `PORTGHOST_*` fields (the crate adds `SYSLOG_PID`, `TARGET` and the
/// code location).
#[cfg(target_os = "linux")]
fn send_to_journal(journal: &systemd_journal_logger::JournalLog, entry: &JournalEntry) -> io::Result<()> {
    let level = match entry.priority {
        Priority::Error => log::Level::Error,
        Priority::Warning => log::Level::Warn,
        // The crate maps Info to priority 5, notice.
        Priority::Notice => log::Level::Info,
    };
    let fields: Vec<(&str, &str)> = entry.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let fields: &[(&str, &str)] = &fields;
    journal.journal_send(
        &log::Record::builder()
            .level(level)
            .target("portghost::watch")
            .args(format_args!("{}", entry.message))
            .key_values(&fields)
            .build(),
    )
}

/// The current time, RFC 3339 to the second.
fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The state the loop keeps from one cycle to the next.
struct Watch<'a, S> {
    args: &'a WatchConfig,
    /// Where the sockets and scans come from.
    source: S,
    /// The policy in use.
    policy: Option<Policy>,
    /// Its file, watched for changes; `None` without a policy.
    policy_file: Option<PolicyFile>,
    /// The last full scan, judged.
    report: Option<Report>,
    /// How long that scan took.
    duration: Duration,
    /// The sockets the last dump saw.
    sockets: Option<SocketSet>,
    /// Cycles since the last full scan.
    since_full: u32,
    /// Where events go.
    sink: Sink,
    /// The `--textfile` text of the last report without its clock lines (the first
    /// `len` bytes), and room for them after it; emptied when the report changes.
    text: TextCache,
}

/// The Prometheus text of the last report, kept from one cycle to the next: every cycle
/// writes it again with a fresh timestamp, and only a new report renders it again.
#[derive(Default)]
struct TextCache {
    /// The rendered report, then the clock lines of the last write.
    bytes: Vec<u8>,
    /// How many bytes of `bytes` the report is; `None` when it must be rendered.
    len: Option<usize>,
}

impl TextCache {
    /// The text of `report` with `clock`, rendering the report only when it is not cached.
    fn text(&mut self, report: &Report, clock: prometheus::ScanClock) -> io::Result<&[u8]> {
        let len = match self.len {
            Some(len) => len,
            None => {
                self.bytes.clear();
                prometheus::render_report(&mut self.bytes, report)?;
                *self.len.insert(self.bytes.len())
            }
        };
        self.bytes.truncate(len);
        prometheus::render_clock(&mut self.bytes, clock)?;
        Ok(&self.bytes)
    }

    /// Forgets the rendered report (the report changed).
    fn clear(&mut self) {
        self.len = None;
    }
}

impl<S: Source> Watch<'_, S> {
    /// The host name for events that are not about a scan.
    fn host(&self) -> String {
        self.report.as_ref().map(|r| r.host.clone()).unwrap_or_default()
    }

    /// Serialises `json` into an [`Emitted`], with `journal` (called only when the sink is
    /// the journal, with the line).
    fn emitted(
        &self,
        json: &crate::schema::watch::EventJson<'_>,
        journal: impl FnOnce(&str) -> JournalEntry,
    ) -> io::Result<Emitted> {
        let mut line = Vec::new();
        crate::schema::write_json_to(&mut line, json, false)?;
        let journal = self.sink.journal().then(|| journal(&String::from_utf8_lossy(&line)));
        Ok(Emitted { line, journal })
    }

    /// Re-reads the policy file when it changed: a good new policy replaces the old one (a
    /// `policy-reloaded` event; returns true, so the cycle re-judges every listener); a
    /// broken or untrusted one leaves the old in use (an `error` event naming the file, line
    /// and column).
    fn reload_policy(&mut self) -> io::Result<bool> {
        let Some(loaded) = self.policy_file.as_mut().and_then(PolicyFile::poll) else {
            return Ok(false);
        };
        let (time, host) = (now(), self.host());
        let (event, reloaded) = match loaded {
            Ok(policy) => {
                let rules = policy.rule_count();
                let message = format!(
                    "policy {} reloaded ({}, {rules} rule{}); every listener is judged again",
                    policy.file,
                    policy.mode,
                    if rules == 1 { "" } else { "s" }
                );
                let json = crate::schema::watch::EventJson::policy_reloaded(&time, &host, &policy.file, &message);
                let event = self.emitted(&json, |line| {
                    JournalEntry::note(Priority::Notice, "policy-reloaded", &message, line)
                })?;
                self.policy = Some(policy);
                (event, true)
            }
            Err(error) => {
                let message = format!("{error}; keeping the policy read before");
                let json = crate::schema::watch::EventJson::file_error(&time, &host, &message, &error);
                let event = self.emitted(&json, |line| {
                    JournalEntry::note(Priority::Error, "error", &message, line)
                })?;
                (event, false)
            }
        };
        self.sink.send(&[event])?;
        Ok(reloaded)
    }

    /// One cycle: reload the policy if it changed, dump, and scan in full when needed;
    /// write the events and the textfile. When a full scan is due anyway (the first, after
    /// a policy change, every `--owner-interval` cycles) the cheap dump is skipped: the
    /// full scan dumps the sockets too.
    fn cycle(&mut self) -> anyhow::Result<()> {
        let rejudge = self.reload_policy().context("writing the events")?;
        self.since_full += 1;
        let due = self.report.is_none() || rejudge || self.since_full >= self.args.owner_interval;
        let full = due || {
            let sockets = self.source.sockets()?;
            let changed = self.sockets.as_ref() != Some(&sockets);
            self.sockets = Some(sockets);
            changed
        };
        if full {
            let started = Instant::now();
            let (report, sockets) = self.source.scan(self.policy.as_ref())?;
            self.duration = started.elapsed();
            self.sockets = Some(sockets);
            self.since_full = 0;
            let events = match &self.report {
                None if self.args.quiet_start => Vec::new(),
                None => crate::watch::snapshot(&report),
                Some(previous) => crate::watch::changes(previous, &report),
            };
            if crate::watch::added_without_owner(&events) {
                // Opened during the scan: walk /proc again next cycle.
                self.since_full = self.args.owner_interval.saturating_sub(1);
            }
            let mut batch = Vec::with_capacity(events.len());
            for e in &events {
                batch.push(self.emitted(&e.to_json(&report.scanned_at, &report.host), |line| e.journal(line))?);
            }
            drop(events);
            if !batch.is_empty() {
                self.sink.send(&batch).context("writing the events")?;
            }
            self.report = Some(report);
            self.text.clear();
        }
        if let (Some(path), Some(report)) = (&self.args.textfile, &self.report) {
            let text = self.text.text(report, scan_clock(SystemTime::now(), self.duration))?;
            replace_file(path, text)?;
        }
        Ok(())
    }

    /// Writes the `error` event of a failed cycle.
    fn report_failure(&mut self, message: &str) -> io::Result<()> {
        let (time, host) = (now(), self.host());
        let json = crate::schema::watch::EventJson::error(&time, &host, message);
        let event = self.emitted(&json, |line| {
            JournalEntry::note(Priority::Error, "error", message, line)
        })?;
        self.sink.send(&[event])
    }
}

/// The longest the loop sleeps before it looks at the stop flag again, should the signal
/// not interrupt the sleep itself.
const NAP_MAX: Duration = Duration::from_millis(500);

/// Sleeps for `duration`, or on Linux until a signal is handled (SIGINT or SIGTERM wake the
/// loop at once instead of at its next look at the flag, and an idle watch is not woken
/// 20 times a second for nothing).
fn nap(duration: Duration) {
    #[cfg(target_os = "linux")]
    match rustix::thread::Timespec::try_from(duration) {
        // Interrupted or not, the caller looks at the clock and the flag again.
        Ok(request) => drop(rustix::thread::nanosleep(&request)),
        Err(_) => std::thread::sleep(duration),
    }
    #[cfg(not(target_os = "linux"))]
    std::thread::sleep(duration);
}

/// `portghost watch`.
pub(super) fn watch(args: &WatchConfig, trust: &Trust) -> anyhow::Result<Exit> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing the signal handlers")?;
    }
    let policy_file = args.scan.policy.as_ref().map(|path| PolicyFile {
        path: path.clone(),
        trust: trust.clone(),
        stamp: stamp(path),
    });
    let policy = load_policy(args.scan.policy.as_deref(), trust, false)?;
    let sink = Sink::open(args)?;
    let mut state = Watch {
        args,
        source: Live(&args.scan, inventory::OwnerCache::default()),
        policy,
        policy_file,
        report: None,
        duration: Duration::ZERO,
        sockets: None,
        since_full: 0,
        sink,
        text: TextCache::default(),
    };
    let mut failures = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match state.cycle() {
            Ok(()) => failures = 0,
            Err(err) => {
                failures += 1;
                let message = terminal_safe(&format!("{err:#}")).into_owned();
                if let Err(write_err) = state.report_failure(&message) {
                    eprintln!("portghost: cannot write the events: {write_err}");
                    return Ok(Exit::Error);
                }
                if failures >= args.max_failures {
                    eprintln!("portghost: watch: {failures} cycles in a row failed; the last: {message}");
                    return Ok(Exit::Error);
                }
            }
        }
        while !stop.load(Ordering::Relaxed) {
            let left = args.interval.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            nap(left.min(NAP_MAX));
        }
    }
    Ok(Exit::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::listener;
    use crate::model::{Inventory, Owner, Provenance};
    use std::cell::Cell;
    use std::rc::Rc;

    /// A host where every cycle a listener closes and another opens (new socket inode, new
    /// PID), and sshd's worker PID changes: the churn the loop must not accumulate.
    struct Churn {
        cycle: u64,
        /// Whether `sockets` moved to the next cycle since the last scan.
        dumped: bool,
    }

    fn owner(pid: u64, name: &str) -> Arc<Owner> {
        crate::model::fixtures::owner(u32::try_from(pid).expect("pid"), name)
    }

    impl Source for Churn {
        fn sockets(&mut self) -> anyhow::Result<SocketSet> {
            self.cycle += 1;
            self.dumped = true;
            Ok(self.set())
        }

        fn scan(&mut self, _policy: Option<&Policy>) -> anyhow::Result<(Report, SocketSet)> {
            // A cycle that scans without the cheap dump is a new cycle too.
            if !std::mem::take(&mut self.dumped) {
                self.cycle += 1;
            }
            let inventory = Inventory {
                kind: crate::model::InventoryKind::Linux,
                host: "h".to_owned(),
                scanned_at: "2026-11-21T08:28:04Z".to_owned(),
                listeners: vec![
                    listener(22, 1, vec![owner(10, "sshd"), owner(100_000 + self.cycle, "sshd")]),
                    listener(3237, 1_000_000 + self.cycle, vec![owner(200_000 + self.cycle, "ghost")]),
                ],
                privileged: true,
                host_pid_namespace: Some(true),
                warnings: Vec::new(),
                view: None,
                namespaces: Vec::new(),
                provenance: Provenance::default(),
                portless: Vec::new(),
            };
            Ok((crate::classify::classify(inventory, registry()?), self.set()))
        }
    }

    impl Churn {
        /// The sockets of this cycle.
        fn set(&self) -> SocketSet {
            [(0, 1), (0, 1_000_000 + self.cycle)].into()
        }
    }

    /// Counts the lines written to it.
    struct Lines(Rc<Cell<usize>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.set(self.0.get() + buf.iter().filter(|&&b| b == b'\n').count());
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn config() -> WatchConfig {
        use clap::Parser as _;
        let cli = crate::cli::Cli::try_parse_from(["portghost", "watch", "--no-policy"]).expect("parse");
        match crate::cli::resolve(cli).expect("resolve").action {
            crate::cli::Action::Watch(config) => config,
            _ => panic!("not a watch"),
        }
    }

    #[test]
    fn the_state_does_not_grow_with_churn() {
        let args = config();
        let lines = Rc::new(Cell::new(0));
        let mut state = Watch {
            args: &args,
            source: Churn {
                cycle: 0,
                dumped: false,
            },
            policy: None,
            policy_file: None,
            report: None,
            duration: Duration::ZERO,
            sockets: None,
            since_full: 0,
            sink: Sink::Lines(Box::new(Lines(Rc::clone(&lines)))),
            text: TextCache::default(),
        };
        // Warm up: the registry, the glob cache and the first report are built here.
        for _ in 0..50 {
            state.cycle().expect("cycle");
        }
        // The snapshot (2 lines), then per cycle: ghost removed, ghost added, sshd's owners changed.
        assert_eq!(lines.get(), 2 + 49 * 3);
        const CYCLES: u64 = 2_000;
        let info = allocation_counter::measure(|| {
            for _ in 0..CYCLES {
                state.cycle().expect("cycle");
            }
        });
        assert_eq!(lines.get(), 2 + (49 + 2_000) * 3);
        // Each cycle allocates its report and frees the previous one; what stays must not
        // grow with the cycles: 8 bytes kept per churned listener would be 16,000 bytes.
        assert!(
            info.bytes_current.abs() < 4_096,
            "the watch state grew by {} bytes over {CYCLES} cycles of churn ({} allocations kept)",
            info.bytes_current,
            info.count_current
        );
        assert!(info.count_total > CYCLES, "the cycles ran: {info:?}");
        let report = state.report.as_ref().expect("report");
        assert_eq!(report.listeners.len(), 2);
        assert_eq!(state.sockets.as_ref().map(BTreeSet::len), Some(2));
    }

    #[test]
    fn the_cached_textfile_is_what_render_writes_with_a_fresh_clock() {
        let mut churn = Churn {
            cycle: 0,
            dumped: false,
        };
        let (first, _) = churn.scan(None).expect("scan");
        let (mut second, _) = churn.scan(None).expect("scan");
        // The ghost is gone in the second.
        second.listeners.truncate(1);
        let clock = |timestamp: f64| prometheus::ScanClock {
            timestamp,
            duration: 0.25,
        };
        let rendered = |report: &Report, at: f64| {
            let mut text = Vec::new();
            prometheus::render(&mut text, report, clock(at)).expect("render");
            text
        };
        let mut cache = TextCache::default();
        assert_eq!(cache.text(&first, clock(1.0)).expect("text"), rendered(&first, 1.0));
        // The same report later: the cached part and a new clock.
        assert_eq!(cache.text(&first, clock(2.5)).expect("text"), rendered(&first, 2.5));
        // Until cleared, the report is not rendered again.
        assert_ne!(rendered(&first, 3.0), rendered(&second, 3.0));
        assert_eq!(cache.text(&second, clock(3.0)).expect("text"), rendered(&first, 3.0));
        cache.clear();
        assert_eq!(cache.text(&second, clock(3.0)).expect("text"), rendered(&second, 3.0));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_policy_file_is_read_again_only_when_it_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("policy.toml");
        std::fs::write(&path, "version = 1\n").expect("write");
        let trust = Trust {
            uids: vec![rustix::process::geteuid().as_raw()],
        };
        let mut file = PolicyFile {
            path: path.clone(),
            trust,
            stamp: stamp(&path),
        };
        assert!(file.poll().is_none(), "unchanged");
        std::fs::write(&path, "version = 1\n\n[[allow]]\nport = 22\n").expect("rewrite");
        let policy = file.poll().expect("changed").expect("a good policy");
        assert_eq!(policy.rule_count(), 1);
        assert!(file.poll().is_none(), "read once per change");
        std::fs::write(&path, "version = 1\n\n[[allow]]\nport = \"x\"\n").expect("break it");
        let error = file.poll().expect("changed").expect_err("a broken policy");
        assert_eq!((error.line, error.column.is_some()), (Some(4), true), "{error}");
        assert!(file.poll().is_none(), "one error per change, not one per cycle");
        std::fs::remove_file(&path).expect("remove");
        let error = file.poll().expect("gone").expect_err("a missing policy");
        assert!(error.message.contains("cannot read"), "{error}");
        assert!(file.poll().is_none());
    }
}
