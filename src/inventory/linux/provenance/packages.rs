//! Which installed package a file belongs to: the dpkg database, else rpm.
//!
//! Owns reading `/var/lib/dpkg/info/*.list` (once per scan, and only when some path in a
//! place packages install to needs a package: the database has no reverse index, so lists
//! are read, those named like a wanted file first, and matched against the wanted paths
//! until every one has its package) and the one `rpm -qf` call for the paths dpkg did not know, on hosts
//! that have an rpm database and the `rpm` command. It must not: keep the database in
//! memory (lines are matched as they are read, nothing is indexed), read a list larger
//! than [`MAX_LIST`], wait for `rpm` longer than [`RPM_TIMEOUT`] or read more than
//! [`MAX_RPM_OUTPUT`] of its output, or fail: what could not be read becomes a note.

use std::collections::HashMap;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where dpkg keeps one `PACKAGE[:ARCH].list` of installed paths per package.
const DPKG_INFO: &str = "/var/lib/dpkg/info";

/// The largest `.list` file read (the largest on a desktop is a few MiB).
const MAX_LIST: u64 = 64 * 1024 * 1024;

/// The rpm database directory; rpm is asked only when it exists.
const RPM_DB: &str = "/var/lib/rpm";

/// Longest wait for `rpm -qf`.
const RPM_TIMEOUT: Duration = Duration::from_secs(3);

/// Most bytes of `rpm -qf` output read.
const MAX_RPM_OUTPUT: u64 = 1024 * 1024;

/// The directories that merged-`/usr` systems make aliases of `/usr/DIR`: a file dpkg
/// lists as `/sbin/x` runs as `/usr/sbin/x`, and the other way round.
const MERGED: [&str; 6] = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// What the package lookup found, with its notes and the time the dpkg database took.
#[derive(Debug, Default)]
pub(super) struct Found {
    /// Package name (without `:ARCH`) by wanted path.
    pub packages: HashMap<PathBuf, String>,
    /// What could not be read, one sentence each.
    pub notes: Vec<String>,
    /// Time spent reading the dpkg database, when it was read.
    pub dpkg_time: Option<Duration>,
}

/// The package of each of `paths` (canonical, absolute), from dpkg, then rpm for the rest.
pub(super) fn lookup(paths: &[PathBuf]) -> Found {
    let mut found = Found::default();
    if paths.is_empty() {
        return found;
    }
    let paths: Vec<PathBuf> = paths.iter().filter(|p| packaged_place(p)).cloned().collect();
    if paths.is_empty() {
        return found;
    }
    let paths = paths.as_slice();
    let started = Instant::now();
    match dpkg(paths, &mut found) {
        Ok(true) => found.dpkg_time = Some(started.elapsed()),
        Ok(false) => {}
        Err(error) => found.notes.push(format!(
            "the dpkg database ({DPKG_INFO}) could not be read ({error}), so no executable could be matched to a Debian package"
        )),
    }
    let rest: Vec<&PathBuf> = paths.iter().filter(|p| !found.packages.contains_key(*p)).collect();
    if !rest.is_empty()
        && Path::new(RPM_DB).is_dir()
        && let Some(rpm) = on_path("rpm")
    {
        rpm_query(&rpm, &rest, &mut found);
    }
    found
}

/// The directories packages install to: `/usr` (but not `/usr/local`), `/bin`, `/sbin`,
/// `/lib*`, `/etc`, `/opt`, `/var` and `/boot`. Debian policy and the FHS keep packages out
/// of `/usr/local`, `/home`, `/root`, `/tmp` and `/run`, and nothing installs in a
/// directory of its own at the root (`/app`, `/srv/x`, `/work`), so a path elsewhere is not
/// looked up: that spares the dpkg database, which has no index, for a scan whose flagged
/// owners all run from such places.
pub(super) fn packaged_place(path: &Path) -> bool {
    const PLACES: [&str; 11] = [
        "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/etc/", "/opt/", "/var/", "/boot/",
    ];
    let bytes = path.as_os_str().as_bytes();
    PLACES.iter().any(|p| bytes.starts_with(p.as_bytes())) && !bytes.starts_with(b"/usr/local/")
}

/// The names under which dpkg may list `path`: itself, and on merged-`/usr` systems its
/// alias with or without the `/usr` prefix.
pub(super) fn aliases(path: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![path.to_vec()];
    for dir in MERGED {
        let bare = format!("/{dir}/");
        let usr = format!("/usr/{dir}/");
        if let Some(rest) = path.strip_prefix(usr.as_bytes()) {
            out.push([bare.as_bytes(), rest].concat());
        } else if let Some(rest) = path.strip_prefix(bare.as_bytes()) {
            out.push([usr.as_bytes(), rest].concat());
        }
    }
    out
}

/// The package a dpkg list file is named after: `libc6:amd64.list` is `libc6`. `None`
/// for any other file.
pub(super) fn package_of_list(file_name: &[u8]) -> Option<String> {
    let stem = file_name.strip_suffix(b".list")?;
    let name = stem.split(|&b| b == b':').next()?;
    if name.is_empty() {
        return None;
    }
    Some(String::from_utf8_lossy(name).into_owned())
}

/// Reads every dpkg list once, matching each line against the wanted paths and their
/// aliases. `Ok(false)` when there is no dpkg database.
fn dpkg(paths: &[PathBuf], found: &mut Found) -> std::io::Result<bool> {
    let entries = match std::fs::read_dir(DPKG_INFO) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    // Alias -> index of the wanted path; and which line lengths can match at all.
    let mut wanted: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut lengths = vec![false; super::files::MAX_PATH + 16];
    for (i, path) in paths.iter().enumerate() {
        for alias in aliases(path.as_os_str().as_bytes()) {
            if let Some(slot) = lengths.get_mut(alias.len()) {
                *slot = true;
                wanted.entry(alias).or_insert(i);
            }
        }
    }
    let mut unresolved = paths.len();
    let mut result: Vec<Option<String>> = vec![None; paths.len()];
    let mut unreadable = 0usize;
    let mut lists: Vec<(String, PathBuf)> = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                if let Some(package) = package_of_list(entry.file_name().as_bytes()) {
                    lists.push((package, entry.path()));
                }
            }
            Err(_) => unreadable += 1,
        }
    }
    // Lists of packages named like a wanted file first (`python3.11` is in
    // `python3.11-minimal`, `rpcbind` in `rpcbind`): the reading stops once every path has
    // its package, so the usual case reads a few lists, not all of them.
    let stems: Vec<&[u8]> = paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.as_bytes())
        .filter(|n| n.len() >= 3)
        .collect();
    lists.sort_by_key(|(package, _)| {
        let package = package.as_bytes();
        !stems.iter().any(|s| package.starts_with(s) || s.starts_with(package))
    });
    let mut buf = Vec::new();
    for (package, list) in lists {
        buf.clear();
        let read = std::fs::File::open(&list).and_then(|f| f.take(MAX_LIST).read_to_end(&mut buf));
        if read.is_err() {
            unreadable += 1;
            continue;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', &buf).chain(std::iter::once(buf.len())) {
            let line = &buf[start..end];
            start = end + 1;
            if !lengths.get(line.len()).copied().unwrap_or(false) {
                continue;
            }
            if let Some(&i) = wanted.get(line)
                && result[i].is_none()
            {
                result[i] = Some(package.clone());
                unresolved -= 1;
            }
        }
        if unresolved == 0 {
            break;
        }
    }
    if unreadable > 0 {
        found.notes.push(format!(
            "{unreadable} file list{} of the dpkg database could not be read, so some packages may be missing",
            if unreadable == 1 { "" } else { "s" }
        ));
    }
    for (path, package) in paths.iter().zip(result) {
        if let Some(package) = package {
            found.packages.insert(path.clone(), package);
        }
    }
    Ok(true)
}

/// `name` in one of the system's own program directories, if there is an executable file
/// there. `$PATH` is not consulted: whoever sets the environment must not choose the
/// program that vouches for a package.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|dir| std::path::Path::new(dir).join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// One `rpm -qf --queryformat '%{NAME}\n' PATH…` for `paths`.
fn rpm_query(rpm: &Path, paths: &[&PathBuf], found: &mut Found) {
    let child = Command::new(rpm)
        .args(["-qf", "--queryformat", "%{NAME}\\n"])
        .args(paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            found.notes.push(format!(
                "rpm could not be run ({error}), so no executable could be matched to an rpm package"
            ));
            return;
        }
    };
    let Some(stdout) = child.stdout.take() else {
        return;
    };
    // The read ends when rpm exits or is killed.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.take(MAX_RPM_OUTPUT).read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + RPM_TIMEOUT;
    let finished = loop {
        match child.try_wait() {
            Ok(Some(_)) => break true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => break false,
        }
    };
    if !finished {
        let _ = child.kill();
        let _ = child.wait();
        found.notes.push(format!(
            "rpm did not answer within {} s, so no executable could be matched to an rpm package",
            RPM_TIMEOUT.as_secs()
        ));
        return;
    }
    let out = reader.join().unwrap_or_default();
    match parse_rpm(&out, paths.len()) {
        Some(names) => {
            for (path, name) in paths.iter().zip(names) {
                if let Some(name) = name {
                    found.packages.insert((*path).clone(), name);
                }
            }
        }
        None => found.notes.push(
            "rpm's answer could not be matched to the files asked about, so rpm packages are not shown".to_owned(),
        ),
    }
}

/// The package of each of `count` paths from `rpm -qf --queryformat '%{NAME}\n'` output:
/// one line per path, `file … is not owned by any package` for none. `None` when the
/// lines do not match the paths one to one (a file owned by two packages).
pub(super) fn parse_rpm(out: &[u8], count: usize) -> Option<Vec<Option<String>>> {
    let text = String::from_utf8_lossy(out);
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != count {
        return None;
    }
    Some(
        lines
            .into_iter()
            .map(|line| {
                let unowned = line.starts_with("file ") && line.ends_with("is not owned by any package");
                (!unowned && !line.is_empty() && !line.contains(char::is_whitespace)).then(|| line.to_owned())
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_usr_aliases() {
        let a = |p: &str| -> Vec<String> {
            aliases(p.as_bytes())
                .into_iter()
                .map(|v| String::from_utf8(v).expect("utf-8"))
                .collect()
        };
        assert_eq!(a("/usr/sbin/rpc.statd"), ["/usr/sbin/rpc.statd", "/sbin/rpc.statd"]);
        assert_eq!(a("/sbin/rpcbind"), ["/sbin/rpcbind", "/usr/sbin/rpcbind"]);
        assert_eq!(
            a("/usr/lib/x86_64-linux-gnu/x"),
            ["/usr/lib/x86_64-linux-gnu/x", "/lib/x86_64-linux-gnu/x"]
        );
        assert_eq!(a("/usr/local/bin/x"), ["/usr/local/bin/x"]);
        assert_eq!(a("/opt/x"), ["/opt/x"]);
        assert_eq!(a("/usr/libexec/x"), ["/usr/libexec/x"]);
    }

    #[test]
    fn only_places_packages_install_to_are_looked_up() {
        assert!(packaged_place(Path::new("/usr/sbin/rpc.statd")));
        assert!(packaged_place(Path::new("/opt/google/chrome/chrome")));
        assert!(packaged_place(Path::new("/sbin/x")));
        assert!(!packaged_place(Path::new("/usr/local/bin/geckodriver")));
        assert!(!packaged_place(Path::new("/tmp/x")));
        assert!(!packaged_place(Path::new(
            "/root/.pyenv/versions/3.12.0/bin/python3.12"
        )));
        assert!(!packaged_place(Path::new("/home/u/app.py")));
        assert!(!packaged_place(Path::new("/usr")));
    }

    #[test]
    fn package_names_from_list_files() {
        assert_eq!(package_of_list(b"nfs-common.list").as_deref(), Some("nfs-common"));
        assert_eq!(package_of_list(b"libc6:amd64.list").as_deref(), Some("libc6"));
        assert_eq!(package_of_list(b"libc6:amd64.md5sums"), None);
        assert_eq!(package_of_list(b".list"), None);
    }

    #[test]
    fn rpm_output_one_line_per_path() {
        let out = b"openssh-server\nfile /usr/local/bin/x is not owned by any package\n";
        assert_eq!(parse_rpm(out, 2), Some(vec![Some("openssh-server".to_owned()), None]));
        assert_eq!(parse_rpm(b"a\nb\nc\n", 2), None, "a file of two packages is ambiguous");
        assert_eq!(parse_rpm(b"", 0), Some(vec![]));
    }

    #[test]
    fn dpkg_finds_the_shell() {
        // Every Debian system has /bin/sh (from dash or bash) in its database.
        if !Path::new(DPKG_INFO).is_dir() {
            eprintln!("skipped: no dpkg database");
            return;
        }
        let sh = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
        let found = lookup(std::slice::from_ref(&sh));
        assert!(found.packages.contains_key(&sh), "{found:?}");
        assert!(found.dpkg_time.is_some());
        assert!(lookup(&[PathBuf::from("/nonexistent/portghost")]).packages.is_empty());
    }
}
