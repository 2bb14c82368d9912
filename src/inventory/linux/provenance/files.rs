//! The files behind an owning process: its executable and, for an interpreter, the jar or
//! script its command line runs; and whether a file and every directory above it belong to
//! root and are writable by no one else.
//!
//! Owns reading `/proc/PID/exe`, `/proc/PID/cmdline`, `/proc/PID/cwd` and `/proc/PID/root`
//! of the requested owners, picking the script out of an interpreter's arguments, and the
//! ownership check ([`RootOwned`]). It must not: look up packages (that is
//! [`super::packages`]'s), give facts about a file that is not the one the process runs
//! (the path as portghost sees it must lead to the same device and inode as the process's
//! own view; a container's `/usr/bin/x` is not the host's), read more than
//! [`MAX_CMDLINE`] bytes of a command line or take a path longer than [`MAX_PATH`], panic
//! on anything a process chose (its arguments, its paths), or fail because a process exited.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Component, Path, PathBuf};

/// Most bytes of `/proc/PID/cmdline` read: the script is among the first arguments.
pub(super) const MAX_CMDLINE: u64 = 64 * 1024;

/// Longest path taken from a command line (Linux's `PATH_MAX`).
pub(super) const MAX_PATH: usize = 4096;

/// Most arguments looked at for the script.
const MAX_ARGS: usize = 256;

/// One file an owner runs, as found in `/proc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Located {
    /// The absolute path, canonical when the file could be verified (lossy UTF-8).
    pub path: String,
    /// The canonical path as bytes, when it is verified to be the very file the process
    /// runs: only then are its package and ownership looked up.
    pub verified: Option<PathBuf>,
}

/// Why an owner's executable gave no facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Missing {
    /// `/proc/PID/exe` could not be read (permission, a kernel thread).
    Unreadable,
    /// The process is gone.
    Exited,
}

/// The files of one owner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct OwnerFiles {
    /// The executable.
    pub exe: Option<Located>,
    /// For an interpreter, the jar or script it runs.
    pub script: Option<Located>,
    /// Why `exe` is `None`.
    pub missing: Option<Missing>,
    /// True when the executable is deleted or is not the file at its path as portghost
    /// sees it (another mount namespace, or replaced since it started).
    pub unverified: bool,
}

/// Reads the executable and script of `pid`.
pub(super) fn owner_files(pid: u32) -> OwnerFiles {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    let mut files = OwnerFiles::default();
    let link = match std::fs::read_link(proc_dir.join("exe")) {
        Ok(link) => link,
        Err(_) => {
            files.missing = Some(if proc_dir.exists() {
                Missing::Unreadable
            } else {
                Missing::Exited
            });
            return files;
        }
    };
    let bytes = link.as_os_str().as_bytes();
    let exe = match bytes.strip_suffix(b" (deleted)") {
        // A deleted executable (or a memfd): the path no longer leads to what runs.
        Some(path) => Located {
            path: String::from_utf8_lossy(path).into_owned(),
            verified: None,
        },
        None => verify(&proc_dir.join("exe"), &link),
    };
    files.unverified = exe.verified.is_none();
    let interpreter = link.file_name().and_then(|n| n.to_str()).and_then(Interpreter::of);
    files.exe = Some(exe);
    if let Some(interpreter) = interpreter
        && let Some(raw) = read_cmdline(&proc_dir)
    {
        let args: Vec<&[u8]> = raw
            .strip_suffix(b"\0")
            .unwrap_or(&raw)
            .split(|&b| b == 0)
            .take(MAX_ARGS)
            .collect();
        if let Some(arg) = script_arg(interpreter, &args)
            && !arg.is_empty()
            && arg.len() <= MAX_PATH
            && !arg.contains(&0)
        {
            files.script = locate_script(&proc_dir, Path::new(OsStr::from_bytes(arg)));
        }
    }
    files
}

/// `path` (the process's view of a file, opened through `view`) checked against the same
/// path as portghost sees it: verified when both lead to the same device and inode.
fn verify(view: &Path, path: &Path) -> Located {
    let shown = String::from_utf8_lossy(path.as_os_str().as_bytes()).into_owned();
    let same = match (std::fs::metadata(view), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino() && b.is_file(),
        _ => false,
    };
    if !same {
        return Located {
            path: shown,
            verified: None,
        };
    }
    match std::fs::canonicalize(path) {
        Ok(canonical) if canonical.as_os_str().len() <= MAX_PATH => Located {
            path: String::from_utf8_lossy(canonical.as_os_str().as_bytes()).into_owned(),
            verified: Some(canonical),
        },
        _ => Located {
            path: shown,
            verified: None,
        },
    }
}

/// The script `arg` of the process at `proc_dir`: a relative path is resolved against its
/// working directory; the file is checked through its own root (`/proc/PID/root`).
fn locate_script(proc_dir: &Path, arg: &Path) -> Option<Located> {
    if arg.is_absolute() {
        let relative: PathBuf = arg.components().filter(|c| !matches!(c, Component::RootDir)).collect();
        let view = proc_dir.join("root").join(relative);
        return Some(verify(&view, arg));
    }
    let cwd = std::fs::read_link(proc_dir.join("cwd")).ok()?;
    if cwd.as_os_str().as_bytes().ends_with(b" (deleted)") {
        return None;
    }
    let absolute = cwd.join(arg);
    Some(verify(&proc_dir.join("cwd").join(arg), &absolute))
}

/// The first [`MAX_CMDLINE`] bytes of `/proc/PID/cmdline`, raw; `None` when unreadable
/// or empty.
fn read_cmdline(proc_dir: &Path) -> Option<Vec<u8>> {
    let file = std::fs::File::open(proc_dir.join("cmdline")).ok()?;
    let mut raw = Vec::new();
    file.take(MAX_CMDLINE).read_to_end(&mut raw).ok()?;
    (!raw.is_empty()).then_some(raw)
}

/// An interpreter whose command line names the program it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interpreter {
    /// `java`: the jar after `-jar`.
    Java,
    /// `python`, `python3`, `python3.11`…
    Python,
    /// `node`, `nodejs`.
    Node,
    /// `perl`, `perl5.36.0`.
    Perl,
    /// `ruby`, `ruby3.1`.
    Ruby,
    /// `php`, `php8.2`.
    Php,
}

impl Interpreter {
    /// The interpreter an executable's file name is, ignoring a version suffix of digits
    /// and dots (`python3.11`, `php8.2`); `None` for anything else (`php-fpm8.2`,
    /// `node_exporter`).
    pub fn of(file_name: &str) -> Option<Interpreter> {
        let stem = file_name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match stem {
            "java" => Interpreter::Java,
            "python" => Interpreter::Python,
            "node" | "nodejs" => Interpreter::Node,
            "perl" => Interpreter::Perl,
            "ruby" => Interpreter::Ruby,
            "php" => Interpreter::Php,
            _ => return None,
        })
    }

    /// Options that take the next argument as their value.
    fn takes_value(self, option: &[u8]) -> bool {
        let list: &[&[u8]] = match self {
            Interpreter::Java => &[
                b"-cp",
                b"-classpath",
                b"--class-path",
                b"-p",
                b"--module-path",
                b"--upgrade-module-path",
                b"--add-modules",
            ],
            Interpreter::Python => &[b"--check-hash-based-pycs"],
            Interpreter::Node => &[
                b"-r",
                b"--require",
                b"--import",
                b"--loader",
                b"--experimental-loader",
                b"-C",
                b"--conditions",
                b"--title",
            ],
            Interpreter::Perl => &[],
            Interpreter::Ruby => &[b"-I", b"-r", b"-C", b"-E", b"--encoding"],
            Interpreter::Php => &[b"-c", b"-d", b"-z", b"-t"],
        };
        list.contains(&option)
    }

    /// Options after which no file is run (code on the command line, a module, stdin).
    fn runs_no_file(self, option: &[u8]) -> bool {
        let list: &[&[u8]] = match self {
            Interpreter::Java => &[b"-m", b"--module"],
            Interpreter::Python => &[],
            Interpreter::Node => &[b"-e", b"--eval", b"-p", b"--print", b"-i", b"--interactive"],
            Interpreter::Perl => &[b"-e", b"-E"],
            Interpreter::Ruby => &[b"-e"],
            Interpreter::Php => &[b"-r", b"-R", b"-B", b"-E", b"-S", b"-a"],
        };
        list.contains(&option)
    }
}

/// The argument naming the jar or script that `interpreter` runs, from its arguments
/// (`args[0]` is the program name). `None` when it runs no file: a Java main class, a
/// Python `-m module` or `-c code`, code given with `-e`, or standard input (`-`).
pub(super) fn script_arg<'a>(interpreter: Interpreter, args: &[&'a [u8]]) -> Option<&'a [u8]> {
    let mut rest = args.iter().skip(1);
    while let Some(&arg) = rest.next() {
        if arg == b"--" {
            return match interpreter {
                Interpreter::Php | Interpreter::Java => None,
                _ => rest.next().copied().filter(|a| *a != b"-"),
            };
        }
        if arg == b"-" {
            return None;
        }
        if !arg.starts_with(b"-") {
            // A Java main class is not a file.
            return (interpreter != Interpreter::Java).then_some(arg);
        }
        match interpreter {
            Interpreter::Java if arg == b"-jar" => return rest.next().copied(),
            Interpreter::Php if arg == b"-f" => return rest.next().copied(),
            Interpreter::Python if !arg.starts_with(b"--") => {
                // A cluster of short flags: `-c` and `-m` end it (code, a module), `-W`
                // and `-X` take the rest of it or the next argument as their value.
                for (i, &flag) in arg.iter().enumerate().skip(1) {
                    match flag {
                        b'c' | b'm' => return None,
                        b'W' | b'X' => {
                            if i + 1 == arg.len() {
                                rest.next();
                            }
                            break;
                        }
                        _ => {}
                    }
                }
                continue;
            }
            _ => {}
        }
        if interpreter.runs_no_file(arg) {
            return None;
        }
        if interpreter.takes_value(arg) {
            rest.next();
        }
    }
    None
}

/// Remembers, per directory, whether it belongs to root and is writable by no one else.
#[derive(Debug, Default)]
pub(super) struct RootOwned {
    dirs: HashMap<PathBuf, bool>,
}

impl RootOwned {
    /// True when the file `canonical` (a canonical path: no symbolic link in it) and every
    /// directory above it are owned by UID 0 and have neither the group nor the other
    /// write bit. Anything unreadable counts as not root-owned.
    pub fn check(&mut self, canonical: &Path) -> bool {
        if !safe(canonical) {
            return false;
        }
        canonical.ancestors().skip(1).all(|dir| {
            if let Some(&known) = self.dirs.get(dir) {
                return known;
            }
            let ok = safe(dir);
            self.dirs.insert(dir.to_path_buf(), ok);
            ok
        })
    }
}

/// One path's own owner and mode, not following a link.
fn safe(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == 0 && m.mode() & 0o022 == 0 && !m.file_type().is_symlink())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arg(i: Interpreter, line: &str) -> Option<&str> {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        script_arg(i, &args).map(|a| std::str::from_utf8(a).expect("utf-8"))
    }

    #[test]
    fn interpreters_by_file_name() {
        assert_eq!(Interpreter::of("python3.11"), Some(Interpreter::Python));
        assert_eq!(Interpreter::of("python3"), Some(Interpreter::Python));
        assert_eq!(Interpreter::of("java"), Some(Interpreter::Java));
        assert_eq!(Interpreter::of("nodejs"), Some(Interpreter::Node));
        assert_eq!(Interpreter::of("perl5.36.0"), Some(Interpreter::Perl));
        assert_eq!(Interpreter::of("php8.2"), Some(Interpreter::Php));
        assert_eq!(Interpreter::of("ruby3.1"), Some(Interpreter::Ruby));
        assert_eq!(Interpreter::of("node_exporter"), None);
        assert_eq!(Interpreter::of("php-fpm8.2"), None);
        assert_eq!(Interpreter::of("javac"), None);
        assert_eq!(Interpreter::of(""), None);
    }

    #[test]
    fn the_script_on_the_command_line() {
        use Interpreter::*;
        assert_eq!(
            arg(
                Java,
                "java -Xmx1g -cp lib/x.jar -jar /opt/selenium/selenium-server.jar standalone"
            ),
            Some("/opt/selenium/selenium-server.jar")
        );
        assert_eq!(arg(Java, "java -cp app.jar com.example.Main"), None);
        assert_eq!(arg(Java, "java -m mod/main.Class"), None);
        assert_eq!(
            arg(Python, "python3 -u -W ignore server.py --port 1"),
            Some("server.py")
        );
        assert_eq!(arg(Python, "python3 -Wignore -X dev app.py"), Some("app.py"));
        assert_eq!(arg(Python, "python3 -m http.server 3237"), None);
        assert_eq!(arg(Python, "python3 -um http.server"), None);
        assert_eq!(arg(Python, "python3 -c import"), None);
        assert_eq!(arg(Python, "python3 - x"), None);
        assert_eq!(arg(Python, "python3 -- -weird.py"), Some("-weird.py"));
        assert_eq!(arg(Python, "python3"), None);
        assert_eq!(
            arg(Node, "node --inspect=9229 -r dotenv/config dist/main.js"),
            Some("dist/main.js")
        );
        assert_eq!(arg(Node, "node -e code"), None);
        assert_eq!(
            arg(Perl, "perl -w -Ilib /usr/bin/script.pl"),
            Some("/usr/bin/script.pl")
        );
        assert_eq!(arg(Perl, "perl -e 1"), None);
        assert_eq!(arg(Ruby, "ruby -I lib app.rb"), Some("app.rb"));
        assert_eq!(arg(Php, "php -d x=1 -f index.php"), Some("index.php"));
        assert_eq!(arg(Php, "php -S 0.0.0.0:8000 -t public"), None);
        assert_eq!(arg(Php, "php artisan serve"), Some("artisan"));
    }

    proptest! {
        #[test]
        fn any_arguments_give_one_of_them_or_none(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..12), which in 0usize..6) {
            let interpreter = [Interpreter::Java, Interpreter::Python, Interpreter::Node, Interpreter::Perl, Interpreter::Ruby, Interpreter::Php][which];
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            if let Some(found) = script_arg(interpreter, &refs) {
                prop_assert!(refs.iter().skip(1).any(|a| std::ptr::eq(*a, found)));
            }
        }
    }

    #[test]
    fn root_owned_paths() {
        let mut check = RootOwned::default();
        let root = rustix::process::geteuid().is_root();
        let sh = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
        // /bin/sh belongs to root on every system the tests run on.
        assert!(check.check(&sh));
        assert!(!check.check(Path::new("/nonexistent/portghost/x")));
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("x");
        std::fs::write(&file, b"x").expect("write");
        let canonical = std::fs::canonicalize(&file).expect("canonical");
        // Under /tmp (world-writable) or owned by an ordinary user: never root-owned.
        assert!(!check.check(&canonical), "root={root}");
    }

    #[test]
    fn this_process_is_located() {
        let files = owner_files(std::process::id());
        let exe = files.exe.expect("own exe");
        assert!(exe.verified.is_some(), "{exe:?}");
        assert!(files.script.is_none());
        let gone = owner_files(u32::MAX);
        assert_eq!(gone.missing, Some(Missing::Exited));
    }
}
