//! `portghost diff OLD [NEW]`: compare a saved scan with another or with this host now.
//!
//! Owns reading saved scans with bounds (regular files and stdin only, at most
//! [`MAX_SCAN_FILE`] bytes), the live scan's snapshot, and the exit code of
//! `--fail-on-change`. The comparison itself is `drift`'s.

#[allow(unused_imports)]
use super::*;

/// The largest scan file `diff` reads: 64 MiB (a scan of 100,000 listeners is about 60 MiB
/// of JSON). Documented in the README.
pub(super) const MAX_SCAN_FILE: u64 = 64 * 1024 * 1024;

/// Checks that `meta` is a regular file of at most [`MAX_SCAN_FILE`] bytes.
pub(super) fn check_scan_file(name: &str, meta: &std::fs::Metadata) -> anyhow::Result<()> {
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
pub(super) fn read_snapshot(path: &std::path::Path) -> anyhow::Result<Snapshot> {
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
pub(super) fn keep_one_namespace(old: &mut Snapshot, ns: &crate::model::Netns) {
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
pub(super) fn read_snapshot_stdin() -> anyhow::Result<Snapshot> {
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

pub(super) fn diff_scans(args: &DiffConfig, style: &Style) -> anyhow::Result<Exit> {
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
                    inventory: args.inventory,
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
            "portghost: cannot tell whether the owners of {} listener(s) changed: their owners are hidden in one of the scans (see the notes); {}",
            d.summary.not_compared,
            crate::model::Platform::current()
                .privilege_remedy()
                .replacen("run", "scan", 1)
        );
        return Ok(Exit::Error);
    }
    if args.fail_on_change && d.summary.drift {
        return Ok(finish(Exit::Unexpected, &written));
    }
    Ok(finish(Exit::Clean, &written))
}
