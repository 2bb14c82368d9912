//! Whether a policy file may be trusted, checked as OpenSSH checks its configuration
//! (`StrictModes`, `secure_path`).
//!
//! Owns the ownership and permission rules for policy files: the file must belong to root
//! or to a trusted user (the invoking user, or under `sudo` the user in `SUDO_UID`) and be
//! writable by no one else; every directory above it must belong to root or that same user
//! and not be writable by group or others, except a directory with the sticky bit (such as
//! `/tmp`), which is accepted when the file itself passes. It reads file metadata only; the
//! trusted UIDs arrive from the command line's resolution (it reads no environment).

use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

/// Who may own a policy file and the directories above it, besides root (UID 0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// Trusted UIDs other than 0: the effective UID portghost runs as and, under `sudo`,
    /// the UID of the user who ran `sudo` (`SUDO_UID`).
    pub uids: Vec<u32>,
}

impl Trust {
    /// True when files and directories owned by `uid` may be trusted.
    pub fn trusts(&self, uid: u32) -> bool {
        uid == 0 || self.uids.contains(&uid)
    }

    /// `root` or `root or uid 1000`, for messages.
    #[cfg(unix)]
    fn owners(&self) -> String {
        let mut names = vec!["root".to_string()];
        names.extend(self.uids.iter().filter(|&&u| u != 0).map(|u| format!("uid {u}")));
        names.join(" or ")
    }
}

/// Checks that the policy at `path` may be trusted.
///
/// # Errors
/// A sentence naming the offending path and the fix: the file or a directory above it is
/// owned by an untrusted user, the file is writable by group or others, a directory above it
/// is writable by group or others without the sticky bit, the file is not a regular file,
/// or its metadata cannot be read.
pub fn check(path: &Path, trust: &Trust) -> Result<(), String> {
    check_file(path, trust, "policy")
}

/// Checks that the file at `path`, which holds a `what` (`policy`, `registry file`), may be
/// trusted, by the rules of [`check`]: local registry files are held to the same rules as
/// policy files, since they decide verdicts too.
///
/// # Errors
/// As [`check`]; the messages name `what`.
#[cfg(unix)]
pub fn check_file(path: &Path, trust: &Trust, what: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let shown = |p: &Path| crate::sanitize::terminal_safe(&p.display().to_string()).into_owned();
    let real = std::fs::canonicalize(path).map_err(|e| format!("cannot read the {what}: {e}"))?;
    let meta = std::fs::metadata(&real).map_err(|e| format!("cannot read the {what}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", shown(&real)));
    }
    if !trust.trusts(meta.uid()) {
        return Err(format!(
            "untrusted {what}: {} is owned by uid {}, not by {}; whoever owns it decides what passes the gate (fix: chown root {})",
            shown(&real),
            meta.uid(),
            trust.owners(),
            shown(&real)
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "untrusted {what}: {} is writable by group or others (mode {:o}), so anyone in them decides what passes the gate (fix: chmod go-w {})",
            shown(&real),
            meta.mode() & 0o7777,
            shown(&real)
        ));
    }
    let mut dir: Option<PathBuf> = real.parent().map(Path::to_path_buf);
    while let Some(d) = dir {
        let m = std::fs::metadata(&d).map_err(|e| format!("cannot check {}: {e}", shown(&d)))?;
        if !trust.trusts(m.uid()) {
            return Err(format!(
                "untrusted {what}: its directory {} is owned by uid {}, not by {}, who could replace the {what} (fix: move the {what} to a directory {} owns)",
                shown(&d),
                m.uid(),
                trust.owners(),
                trust.owners()
            ));
        }
        let sticky = m.mode() & 0o1000 != 0;
        if m.mode() & 0o022 != 0 && !sticky {
            return Err(format!(
                "untrusted {what}: its directory {} is writable by group or others (mode {:o}), so anyone in them could replace the {what} (fix: chmod go-w {})",
                shown(&d),
                m.mode() & 0o7777,
                shown(&d)
            ));
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    Ok(())
}

/// On systems without Unix mode bits (Windows) nothing is checked: the policy is trusted as
/// the file system's access control lists allow. The README says so.
#[cfg(not(unix))]
pub fn check_file(_path: &Path, _trust: &Trust, _what: &str) -> Result<(), String> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn set_mode(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn modes_and_owners_decide() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("portghost.toml");
        std::fs::write(&file, "version = 1\n").expect("write");
        set_mode(&file, 0o644);
        // The directory this test just made is the effective user's.
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(dir.path()).expect("stat"));
        let trust = Trust { uids: vec![me] };
        assert_eq!(check(&file, &trust), Ok(()));
        set_mode(&file, 0o664);
        let err = check(&file, &trust).expect_err("group-writable file");
        assert!(
            err.contains("writable by group or others") && err.contains("chmod go-w"),
            "{err}"
        );
        set_mode(&file, 0o644);
        set_mode(dir.path(), 0o777);
        let err = check(&file, &trust).expect_err("world-writable directory");
        assert!(err.contains("its directory") && err.contains("chmod go-w"), "{err}");
        set_mode(dir.path(), 0o1777);
        assert_eq!(check(&file, &trust), Ok(()), "a sticky directory is accepted");
        set_mode(dir.path(), 0o700);
        if me != 0 {
            let err = check(&file, &Trust::default()).expect_err("owned by someone untrusted");
            assert!(err.contains("is owned by uid"), "{err}");
        }
    }
}
