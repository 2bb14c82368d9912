//! Where portghost's output goes, and the rule that a failed write never passes the gate.
//!
//! Owns writing to stdout ([`write_stdout`]), the exit code of a command whose output could
//! not be written in full ([`finish`]), whether fd 1 was closed at start, atomic file
//! replacement for `--output` and `baseline --output` ([`replace_file`]) and the GitHub step
//! summary. It decides no verdict and renders nothing itself.

#[allow(unused_imports)]
use super::*;

/// Whether standard output was already closed when the process started (`portghost >&-`).
/// The Rust runtime then opens `/dev/null` on fd 1 before `main`, so writes would succeed
/// into nothing; [`record_stdout_at_start`] notes it first, and [`write_stdout`] fails.
pub(super) static STDOUT_CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

/// Notes whether fd 1 is open. Must run before the Rust runtime starts (the binary calls it
/// from `.init_array`), because the runtime replaces a closed fd 1 with `/dev/null`.
#[cfg(target_os = "linux")]
pub(crate) fn record_stdout_at_start() {
    let closed = rustix::io::fcntl_getfd(io::stdout()).is_err_and(|e| e == rustix::io::Errno::BADF);
    STDOUT_CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

/// Renders to stdout through a buffer with `render` and flushes. Errors are write failures
/// (a closed pipe, a full disk, a closed stdout); the caller still computes the verdict and
/// passes the result to [`finish`].
pub(super) fn write_stdout(
    render: impl FnOnce(&mut BufWriter<io::StdoutLock<'static>>) -> io::Result<()>,
) -> io::Result<()> {
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
pub(super) fn finish(verdict: Exit, written: &io::Result<()>) -> Exit {
    match written {
        Ok(()) => verdict,
        Err(_) if verdict == Exit::Unexpected => Exit::Unexpected,
        Err(_) => Exit::Error,
    }
}

/// Says on stderr that the output could not be written, once, right when it happened.
pub(super) fn note_write_failure(written: &io::Result<()>) {
    if let Err(err) = written {
        eprintln!("portghost: cannot write the output: {err}");
    }
}

/// Writes `render`'s output to `--output FILE`, atomically, with a line on stderr when it
/// fails: the error then counts as a failed write ([`finish`]).
pub(super) fn write_output_file(path: &Path, render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<()> {
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

/// Appends the Markdown summary of `report` to the GitHub step summary file `path`
/// (`$GITHUB_STEP_SUMMARY`), creating it if needed. True when it was written; a failure is
/// said on stderr and does not change the exit code (the annotations still go out).
pub(super) fn append_step_summary(path: &Path, report: &Report) -> bool {
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
pub(super) fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
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
pub(super) fn check_file_size_limit(len: usize, shown: &str) -> anyhow::Result<()> {
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
pub(super) fn create_temporary(
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
