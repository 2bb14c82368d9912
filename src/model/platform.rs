//! The operating system a scan describes, and the conventions that differ by it: how an
//! executable path is written, which directories are temporary, what limits a process
//! name, and what a user does to see every process.
//!
//! Owns [`Platform`] and the pure path helpers the policy and the classifier share. It
//! takes the platform as a value ([`Platform::current`] for the one portghost was built
//! for), so every rule here is testable on any machine. No I/O, no environment: the
//! temporary directories a user's environment names are resolved by the command line and
//! passed in as data.

use std::borrow::Cow;

/// An operating system family portghost knows the conventions of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// Linux: `/proc`, netlink, systemd units, namespaces.
    Linux,
    /// Windows: drive-letter paths, services, elevation instead of root.
    Windows,
    /// macOS: `/private` behind `/tmp` and `/var`, launchd.
    Macos,
    /// Any other Unix-like system (FreeBSD and the rest).
    Other,
}

impl Platform {
    /// The platform this portghost was built for.
    pub const fn current() -> Platform {
        if cfg!(target_os = "linux") {
            Platform::Linux
        } else if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::Macos
        } else {
            Platform::Other
        }
    }

    /// Whether the kernel cuts process names to 15 bytes (Linux's `/proc/PID/comm`), so a
    /// longer `process` name in a policy could never match.
    pub fn limits_process_names(self) -> bool {
        self == Platform::Linux
    }

    /// The fixed temporary directories of the platform, normalised as [`normalize_exe`]
    /// writes paths and each ending in `/`: directories any user can write to, where no
    /// program that serves the network should be installed. On Windows, `%TEMP%` and
    /// `%TMP%` come on top (see [`temp_dir_of`]).
    pub fn fixed_temp_dirs(self) -> &'static [&'static str] {
        match self {
            Platform::Linux => &["/tmp/", "/var/tmp/", "/dev/shm/"],
            Platform::Windows => &["c:/windows/temp/"],
            // /tmp and /var are symbolic links into /private: an executable's path shows
            // the real one.
            Platform::Macos => &[
                "/tmp/",
                "/var/tmp/",
                "/private/tmp/",
                "/private/var/tmp/",
                "/private/var/folders/",
            ],
            Platform::Other => &["/tmp/", "/var/tmp/"],
        }
    }

    /// What to do to see every process's owner, in full, for a message: on Linux root or
    /// two capabilities (with the `setcap` line), on Windows an elevated prompt.
    pub fn privilege_hint(self) -> &'static str {
        match self {
            Platform::Linux => {
                "run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH \
                 (setcap cap_sys_ptrace,cap_dac_read_search+ep $(command -v portghost))"
            }
            Platform::Windows => {
                "run portghost from an elevated prompt (right-click the terminal, \"Run as administrator\")"
            }
            Platform::Macos | Platform::Other => "run as root (sudo portghost ...)",
        }
    }

    /// The same remedy, short, for a list of remedies.
    pub fn privilege_remedy(self) -> &'static str {
        match self {
            Platform::Linux => "run as root, or grant CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH",
            Platform::Windows => "run from an elevated prompt (Run as administrator)",
            Platform::Macos | Platform::Other => "run as root",
        }
    }

    /// The shortest remedy, appended to a finding: "; run as root".
    pub fn privilege_suffix(self) -> &'static str {
        match self {
            Platform::Windows => "; run from an elevated prompt",
            _ => "; run as root",
        }
    }
}

/// True when `path` starts with a Windows drive (`C:\` or `C:/`, any letter case).
pub fn is_drive_path(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/')
}

/// True when `path` is absolute on some platform: it starts with `/`, or with a Windows
/// drive (see [`is_drive_path`]).
pub fn is_absolute_path(path: &str) -> bool {
    path.starts_with('/') || is_drive_path(path.strip_prefix(r"\\?\").unwrap_or(path))
}

/// An executable path as policies match it: a Windows path (`C:\Program Files\x.exe`,
/// also with the `\\?\` prefix Windows APIs may add) becomes `c:/Program Files/x.exe`: the
/// drive letter lower-case and every `\` a `/`. Every other path is returned unchanged, so
/// on Linux and macOS this costs nothing.
pub fn normalize_exe(path: &str) -> Cow<'_, str> {
    let path_ = path.strip_prefix(r"\\?\").unwrap_or(path);
    if !is_drive_path(path_) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path_.len());
    out.push(path_.as_bytes()[0].to_ascii_lowercase() as char);
    out.push_str(&path_[1..].replace('\\', "/"));
    Cow::Owned(out)
}

/// A policy's `exe` glob as it is compiled: a glob that starts with a drive and a `\`
/// (`C:\Program Files\*\nginx.exe`) has every `\` read as a separator, since Windows users
/// write paths that way, and its drive letter lower-cased; one that starts with a drive and
/// a `/` (`C:/Program Files/*/nginx.exe`, as `portghost baseline` writes them) only has its
/// drive letter lower-cased and keeps `\` as the glob escape. Any other glob is unchanged.
pub fn normalize_exe_glob(glob: &str) -> Cow<'_, str> {
    if !is_drive_path(glob) {
        return Cow::Borrowed(glob);
    }
    let mut out = String::with_capacity(glob.len());
    out.push(glob.as_bytes()[0].to_ascii_lowercase() as char);
    if glob.as_bytes()[2] == b'\\' {
        out.push_str(&glob[1..].replace('\\', "/"));
    } else {
        out.push_str(&glob[1..]);
    }
    Cow::Owned(out)
}

/// The temporary directory `exe` lies in, on `platform`, if any: one of
/// [`Platform::fixed_temp_dirs`], or on Windows one of `extra` (the values of `%TEMP%`
/// and `%TMP%`, however written). Returns the directory as it is listed (with a trailing
/// `/`) and whether it came from `extra`. On Windows the comparison ignores letter case
/// and separators, as the file system does. An `extra` entry that is not an absolute path,
/// or is a drive's root, is ignored.
pub fn temp_dir_of(exe: &str, platform: Platform, extra: &[String]) -> Option<(String, bool)> {
    let windows = platform == Platform::Windows;
    let exe: Cow<'_, str> = if windows {
        Cow::Owned(normalize_exe(exe).to_ascii_lowercase())
    } else {
        Cow::Borrowed(exe)
    };
    if let Some(d) = platform.fixed_temp_dirs().iter().find(|d| exe.starts_with(**d)) {
        return Some(((*d).to_owned(), false));
    }
    if !windows {
        return None;
    }
    extra.iter().find_map(|dir| {
        if !is_absolute_path(dir) {
            return None;
        }
        let mut d = normalize_exe(dir).to_ascii_lowercase();
        while d.ends_with('/') {
            d.pop();
        }
        // A drive's root ("c:") or "/" would make every program suspicious.
        if d.len() <= 2 {
            return None;
        }
        d.push('/');
        exe.starts_with(&d).then_some((d, true))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_paths_normalise_separators_and_drive_case() {
        assert_eq!(
            normalize_exe(r"C:\Program Files\nginx\nginx.exe"),
            "c:/Program Files/nginx/nginx.exe"
        );
        assert_eq!(
            normalize_exe("C:/Program Files/nginx/nginx.exe"),
            "c:/Program Files/nginx/nginx.exe"
        );
        assert_eq!(normalize_exe(r"\\?\D:\svc\a.exe"), "d:/svc/a.exe");
        // Unix paths, and things that only look a little like drives, are left alone.
        assert_eq!(normalize_exe(r"/usr/sbin/back\slash"), r"/usr/sbin/back\slash");
        assert_eq!(normalize_exe("C:"), "C:");
        assert_eq!(normalize_exe(r"1:\x"), r"1:\x");
        assert!(matches!(normalize_exe("/usr/bin/x"), Cow::Borrowed(_)));
    }

    #[test]
    fn exe_globs_read_backslashes_as_separators_only_after_a_drive_and_backslash() {
        assert_eq!(
            normalize_exe_glob(r"C:\Program Files\*\nginx.exe"),
            "c:/Program Files/*/nginx.exe"
        );
        // After `C:/` a backslash stays the glob escape (baseline writes these).
        assert_eq!(normalize_exe_glob(r"C:/a\[1\]/x.exe"), r"c:/a\[1\]/x.exe");
        assert_eq!(normalize_exe_glob(r"/opt/a\*b"), r"/opt/a\*b");
        assert_eq!(normalize_exe_glob("**/nginx.exe"), "**/nginx.exe");
    }

    #[test]
    fn absolute_paths_on_either_family() {
        assert!(is_absolute_path("/usr/bin/x"));
        assert!(is_absolute_path(r"C:\x"));
        assert!(is_absolute_path("c:/x"));
        assert!(is_absolute_path(r"\\?\C:\x"));
        assert!(!is_absolute_path("C:x"));
        assert!(!is_absolute_path(r"x\y"));
        assert!(!is_absolute_path("nginx.exe"));
    }

    #[test]
    fn temp_directories_by_platform() {
        let none: &[String] = &[];
        assert_eq!(
            temp_dir_of("/tmp/x", Platform::Linux, none),
            Some(("/tmp/".into(), false))
        );
        assert_eq!(
            temp_dir_of("/dev/shm/x", Platform::Linux, none),
            Some(("/dev/shm/".into(), false))
        );
        assert_eq!(temp_dir_of("/private/tmp/x", Platform::Linux, none), None);
        assert_eq!(
            temp_dir_of("/private/tmp/x", Platform::Macos, none),
            Some(("/private/tmp/".into(), false))
        );
        assert_eq!(
            temp_dir_of("/private/var/folders/zz/abc/T/x", Platform::Macos, none),
            Some(("/private/var/folders/".into(), false))
        );
        assert_eq!(temp_dir_of("/usr/sbin/sshd", Platform::Macos, none), None);
        // Windows: any case, any separator; the environment's directories count too.
        assert_eq!(
            temp_dir_of(r"C:\WINDOWS\Temp\svc.exe", Platform::Windows, none),
            Some(("c:/windows/temp/".into(), false))
        );
        let env = vec![
            r"C:\Users\bob\AppData\Local\Temp\".to_owned(),
            "relative".to_owned(),
            r"C:\".to_owned(),
        ];
        assert_eq!(
            temp_dir_of(r"c:\users\BOB\appdata\local\temp\x\y.exe", Platform::Windows, &env),
            Some(("c:/users/bob/appdata/local/temp/".into(), true))
        );
        // The root given as %TEMP% does not make every program suspicious, nor does a
        // directory that only shares a prefix.
        assert_eq!(temp_dir_of(r"C:\Program Files\x.exe", Platform::Windows, &env), None);
        assert_eq!(
            temp_dir_of(r"C:\Users\bob\AppData\Local\Temporary\x.exe", Platform::Windows, &env),
            None
        );
        // The environment's directories are Windows's only.
        assert_eq!(
            temp_dir_of("/home/bob/tmp/x", Platform::Linux, &["/home/bob/tmp".to_owned()]),
            None
        );
    }

    #[test]
    fn hints_name_the_platform_remedy() {
        assert!(Platform::Linux.privilege_hint().contains("setcap"));
        assert!(Platform::Windows.privilege_hint().contains("elevated"));
        assert!(!Platform::Windows.privilege_hint().contains("setcap"));
        assert!(!Platform::Windows.privilege_remedy().contains("root"));
        assert!(Platform::Linux.limits_process_names());
        assert!(!Platform::Windows.limits_process_names());
        assert!(!Platform::Macos.limits_process_names());
    }
}
