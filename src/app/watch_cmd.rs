//! `portghost watch`: scan every interval until SIGINT or SIGTERM, and write one JSON line
//! per change.
//!
//! Owns the loop: the cheap socket dump every cycle, the full scan (owner walk, evidence,
//! classification, through the same [`scan_report`] as `scan`) when the set of sockets
//! changed or every `--owner-interval` cycles, where the events go, the textfile, the
//! failure count and the exit code. What counts as a change is [`crate::watch`]'s.

#[allow(unused_imports)]
use super::*;
use crate::cli::WatchConfig;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The sockets a dump saw: (namespace inode, socket inode) of every port and portless
/// listener.
fn socket_set(inventory: &crate::model::Inventory) -> BTreeSet<(u64, u64)> {
    let ns = |n: &Option<Arc<crate::model::Netns>>| n.as_ref().map_or(0, |n| n.inode);
    inventory
        .listeners
        .iter()
        .map(|l| (ns(&l.netns), l.inode.unwrap_or(0)))
        .chain(inventory.portless.iter().map(|l| (ns(&l.netns), l.inode)))
        .collect()
}

/// The state the loop keeps from one cycle to the next.
struct Watch<'a> {
    args: &'a WatchConfig,
    policy: Option<Policy>,
    /// The last full scan, judged.
    report: Option<Report>,
    /// How long that scan took.
    duration: Duration,
    /// The sockets the last dump saw.
    sockets: Option<BTreeSet<(u64, u64)>>,
    /// Cycles since the last full scan.
    since_full: u32,
    /// Where events go.
    sink: Box<dyn Write>,
}

impl Watch<'_> {
    /// One cycle: dump, and scan in full when needed; write the events and the textfile.
    fn cycle(&mut self) -> anyhow::Result<()> {
        let cheap = ScanOptions {
            owners: false,
            ..self.args.scan.options.clone()
        };
        let (dump, _) = inventory::scan(&cheap).context("enumerating listening sockets")?;
        let sockets = socket_set(&dump);
        drop(dump);
        self.since_full += 1;
        let changed = self.sockets.as_ref() != Some(&sockets);
        self.sockets = Some(sockets);
        if self.report.is_none() || changed || self.since_full >= self.args.owner_interval {
            let today = today()?;
            let ctx = self.policy.as_ref().map(|policy| PolicyContext { policy, today });
            let started = Instant::now();
            let (report, _, _) = scan_report(&self.args.scan, ctx)?;
            self.duration = started.elapsed();
            self.since_full = 0;
            let events = match &self.report {
                None if self.args.quiet_start => Vec::new(),
                None => crate::watch::snapshot(&report),
                Some(previous) => crate::watch::changes(previous, &report),
            };
            let mut lines = Vec::new();
            for e in &events {
                crate::schema::write_json_to(&mut lines, &e.to_json(&report.scanned_at, &report.host), false)?;
            }
            drop(events);
            if !lines.is_empty() {
                self.write_events(&lines)?;
            }
            self.report = Some(report);
        }
        if let (Some(path), Some(report)) = (&self.args.textfile, &self.report) {
            let mut text = Vec::new();
            prometheus::render(&mut text, report, scan_clock(SystemTime::now(), self.duration))?;
            replace_file(path, &text)?;
        }
        Ok(())
    }

    /// Writes event lines to the sink and flushes it.
    fn write_events(&mut self, lines: &[u8]) -> io::Result<()> {
        self.sink.write_all(lines)?;
        self.sink.flush()
    }
}

/// `portghost watch`.
pub(super) fn watch(args: &WatchConfig, trust: &Trust) -> anyhow::Result<Exit> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing the signal handlers")?;
    }
    let policy = load_policy(args.scan.policy.as_deref(), trust, false)?;
    let sink: Box<dyn Write> = match &args.events_file {
        Some(path) => Box::new(
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .with_context(|| format!("opening {}", terminal_safe(&path.display().to_string())))?,
        ),
        None if STDOUT_CLOSED_AT_START.load(Ordering::Relaxed) => anyhow::bail!("standard output is closed"),
        None => Box::new(io::stdout()),
    };
    let mut state = Watch {
        args,
        policy,
        report: None,
        duration: Duration::ZERO,
        sockets: None,
        since_full: 0,
        sink,
    };
    let mut failures = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        match state.cycle() {
            Ok(()) => failures = 0,
            Err(err) => {
                failures += 1;
                let message = terminal_safe(&format!("{err:#}")).into_owned();
                let time = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
                let host = state.report.as_ref().map(|r| r.host.clone()).unwrap_or_default();
                let mut line = Vec::new();
                crate::schema::write_json_to(
                    &mut line,
                    &crate::schema::watch::EventJson::error(&time, &host, &message),
                    false,
                )?;
                if let Err(write_err) = state.write_events(&line) {
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
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
    Ok(Exit::Clean)
}
