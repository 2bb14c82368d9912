//! `portghost scan`: select, sort, render and gate the classified scan.
//!
//! Owns the scan command's filters (ports by number, range or name; owners by PID, user,
//! process), its sort, which format goes to stdout and which to `--output`, the gate's
//! stderr lines and exit code, and what makes a scan incomplete. Classification and
//! rendering stay in `classify` and `report`.

#[allow(unused_imports)]
use super::*;

/// The ports `--port` asks for, sorted and without duplicates: each number and range, and
/// every port the IANA registry in use gives each service name on tcp or udp.
///
/// # Errors
/// A name that IANA gives no tcp or udp port.
pub(super) fn resolve_ports(selection: &[PortSel], registry: &Registry) -> anyhow::Result<Vec<u16>> {
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
pub(super) struct UserMatch {
    /// The name given; `None` when a UID was.
    name: Option<String>,
    /// The UID given, or the one the name has here.
    uid: Option<u32>,
}

impl UserMatch {
    /// Whether `owner` runs as this user: the same UID, or the same user name.
    pub(super) fn matches(&self, owner: &crate::model::Owner) -> bool {
        (self.uid.is_some() && owner.uid == self.uid) || (self.name.is_some() && owner.user == self.name)
    }
}

/// Resolves `--user` values: numbers are UIDs; names are looked up in this system's user
/// database.
///
/// # Errors
/// A name this system does not know: a typo would otherwise silently show nothing.
pub(super) fn resolve_users(users: &[String]) -> anyhow::Result<Vec<UserMatch>> {
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
pub(super) fn sort_report(report: &mut Report, key: SortKey) {
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
pub(super) fn render_scan<W: Write>(
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
        Format::Prometheus => prometheus::render(out, report, extras.clock),
    }
}

/// What some formats need beyond the report: JUnit and Prometheus the scan's duration (and
/// Prometheus its time), GitLab and SARIF
/// the policy (to point at its rules), GitHub whether the step summary was written.
pub(super) struct RenderExtras<'a> {
    scan_time: Duration,
    /// When the scan finished and how long it took, for Prometheus.
    clock: prometheus::ScanClock,
    policy: Option<PolicyContext<'a>>,
    summary_written: bool,
}

pub(super) fn scan(args: &ScanConfig, style: &Style, trust: &Trust) -> anyhow::Result<Exit> {
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
        clock: scan_clock(SystemTime::now(), scan_time),
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
            "portghost: {} listener(s) have hidden owners; {}, to see every process",
            report.summary.owners_hidden,
            crate::model::Platform::current().privilege_hint()
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
pub(super) fn gate_line(c: &Classified) -> String {
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
pub(super) fn portless_gate_line(c: &crate::model::ClassifiedPortless) -> String {
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
pub(super) fn completeness_remedy(report: &Report) -> &'static str {
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
        crate::model::Platform::current().privilege_remedy()
    } else {
        "portghost already runs with privilege, so more will not help: the problems above say what hid the owners"
    }
}

/// Why the listeners shown and the scan are not the whole truth, one sentence each:
/// listeners whose owner was not seen (hidden, not looked up, or no visible process
/// holds them; see [`OwnerStatus::is_seen`]), and the scan's own warnings. Empty when
/// complete.
pub(super) fn incompleteness(report: &Report) -> Vec<String> {
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

/// The clock values the Prometheus output carries: `now` as seconds since 1970, and the
/// duration.
pub(super) fn scan_clock(now: SystemTime, duration: Duration) -> prometheus::ScanClock {
    prometheus::ScanClock {
        timestamp: now.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        duration: duration.as_secs_f64(),
    }
}
