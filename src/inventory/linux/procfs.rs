//! Owner details from `/proc`: one typed parser per file, and the description of an
//! owning process built from them.
//!
//! Owns reading and parsing `/proc/PID/{status,comm,cmdline,exe,cgroup}` (the cgroup text
//! itself is parsed by [`cgroup`]), portghost's own `/proc/self/status` (whether it is
//! privileged, whether it may enter other namespaces) and `/proc/self/ns/pid`, the user
//! names of UIDs (NSS, once per UID) and the host name. [`Status`] is the only parser of
//! `/proc/PID/status`.
//!
//! It also owns [`run_stamp`], the fingerprint of what a process has run (`/proc/PID/task`
//! and the `schedstat` of each thread) by which the walk knows a process's descriptors
//! cannot have changed since it last read them.
//!
//! It must not: list `/proc` or read `/proc/PID/fd` (that is the walk's), read the files of
//! any process but the owners the walk found, the few whose cgroup names a namespace's
//! container, and portghost itself (and the run stamps the walk asks for), judge what it reads, or fail: a file that cannot be
//! read (the process exited, or permission) is a missing detail, and only a process gone
//! before its name could be read is no owner at all.

use crate::inventory::cgroup::{self, Attribution};
use crate::inventory::cut_cmdline;
use crate::model::Owner;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use sysinfo::System;

/// `CAP_DAC_READ_SEARCH` and `CAP_SYS_PTRACE`: together they let a non-root process read
/// every other process's file descriptors.
const OWNER_CAPS: u64 = (1 << 2) | (1 << 19);

/// `CAP_SYS_ADMIN`: needed to enter another network namespace with `setns`.
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// What portghost uses of one `/proc/PID/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Status {
    /// `Name:`, as the kernel wrote it: a newline or backslash in the name is escaped (as
    /// `\n`, or octal on older kernels), spaces at its ends are kept.
    pub name: Option<String>,
    /// The effective UID: the second field of `Uid:`.
    pub euid: Option<u32>,
    /// The effective capability set: `CapEff:`, in hex.
    pub cap_eff: Option<u64>,
}

impl Status {
    /// Parses the text of `/proc/PID/status`. The first line of each key counts; a value
    /// that does not parse is `None`. Stops reading once it has all three.
    pub fn parse(text: &[u8]) -> Status {
        let (mut name, mut uid, mut cap_eff) = (None, None, None);
        for line in text.split(|&b| b == b'\n') {
            if name.is_none()
                && let Some(rest) = line.strip_prefix(b"Name:")
            {
                name = Some(rest);
            } else if uid.is_none()
                && let Some(rest) = line.strip_prefix(b"Uid:")
            {
                uid = Some(rest);
            } else if cap_eff.is_none()
                && let Some(rest) = line.strip_prefix(b"CapEff:")
            {
                cap_eff = Some(rest);
            }
            if name.is_some() && uid.is_some() && cap_eff.is_some() {
                break;
            }
        }
        Status {
            // Exactly one tab separates the key; the name itself may have spaces at its ends.
            name: name.map(|rest| String::from_utf8_lossy(rest.strip_prefix(b"\t").unwrap_or(rest)).into_owned()),
            euid: uid.and_then(|ids| {
                ids.split(|b| b.is_ascii_whitespace())
                    .filter(|field| !field.is_empty())
                    .nth(1)
                    .and_then(parse_decimal)
            }),
            cap_eff: cap_eff.and_then(|hex| {
                let hex = std::str::from_utf8(hex.trim_ascii()).ok()?;
                u64::from_str_radix(hex, 16).ok()
            }),
        }
    }

    /// Effective UID 0, or both `CAP_SYS_PTRACE` and `CAP_DAC_READ_SEARCH` in `CapEff`:
    /// enough to read every process's descriptors.
    pub fn privileged(&self) -> bool {
        self.euid == Some(0) || self.cap_eff.unwrap_or(0) & OWNER_CAPS == OWNER_CAPS
    }

    /// `CAP_SYS_ADMIN` in `CapEff`: enough to enter another network namespace.
    pub fn has_sys_admin(&self) -> bool {
        self.cap_eff.unwrap_or(0) & CAP_SYS_ADMIN == CAP_SYS_ADMIN
    }
}

/// portghost's own `/proc/self/status`; `None` without `/proc`. It is read as UTF-8 text,
/// so a status that is not (portghost running under a name that is not UTF-8) counts as
/// unreadable too.
pub(super) fn own_status() -> Option<Status> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Status::parse(text.as_bytes()))
}

/// The name in the text of `/proc/PID/comm`, exactly as the process set it.
fn parse_comm(comm: &[u8]) -> String {
    let name = comm.strip_suffix(b"\n").unwrap_or(comm);
    String::from_utf8_lossy(name).into_owned()
}

/// The NUL-separated arguments of `/proc/PID/cmdline` joined by single spaces, cut to
/// [`CMDLINE_MAX`](crate::model::CMDLINE_MAX) bytes (see [`cut_cmdline`]); `None` when
/// there are none (a kernel thread, or a zombie). `raw` may itself be cut short: only its
/// first [`CMDLINE_READ`] bytes are read.
fn join_cmdline(raw: &[u8]) -> Option<String> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return None;
    }
    let longer = raw.len() > crate::model::CMDLINE_MAX;
    let joined: Vec<u8> = raw.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
    let text = String::from_utf8_lossy(&joined).into_owned();
    Some(cut_cmdline(text, longer))
}

/// How much of `/proc/PID/cmdline` is read: the kept length and a few bytes more, so that
/// a character cut by the read is not what decides where the text ends.
const CMDLINE_READ: usize = crate::model::CMDLINE_MAX + 8;

/// The executable of `pid` from `/proc/PID/exe`, and whether the kernel marks it deleted
/// (a trailing ` (deleted)`, which is removed).
///
/// # Errors
/// The errno when unreadable (`EACCES`, `ENOENT` for a kernel thread or a process that
/// exited, …).
fn read_exe(pid: u32) -> Result<(String, bool), Errno> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe"))
        .map_err(|e| e.raw_os_error().map_or(Errno::IO, Errno::from_raw_os_error))?;
    let text = link.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => (path.to_owned(), true),
        None => (text.into_owned(), false),
    })
}

/// The unit and container `/proc/PID/cgroup` names; `None` when it cannot be read.
pub(super) fn read_cgroup(pid: u32, scratch: &mut OwnerScratch) -> Option<Attribution> {
    read_proc_file(pid, "cgroup", scratch, usize::MAX).ok()?;
    Some(cgroup::attribute(&String::from_utf8_lossy(&scratch.buf)))
}

/// Whether this process is in the initial PID namespace (inode 0xEFFFFFFC, fixed by the
/// kernel as `PROC_PID_INIT_INO`), so that the `/proc` walk saw every process of the host.
pub(super) fn in_host_pid_namespace() -> Option<bool> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(link.as_os_str().as_bytes() == b"pid:[4026531836]")
}

/// Buffers reused from owner to owner by one thread.
#[derive(Default)]
pub(super) struct OwnerScratch {
    /// The path of the file being read.
    path: PathBuf,
    /// Its contents.
    buf: Vec<u8>,
}

/// One owner: the name and effective UID from `/proc/PID/status` (the name from
/// `/proc/PID/comm` when `status` had to escape it), the command line from
/// `/proc/PID/cmdline` (cut to [`CMDLINE_MAX`](crate::model::CMDLINE_MAX) bytes), the
/// executable from `/proc/PID/exe`, and the unit and container from `/proc/PID/cgroup`.
/// The user name is filled in afterwards, once per UID, by [`name_owners`].
///
/// `Ok(None)` when the process is gone. A file that cannot be read for lack of privilege
/// is a missing detail; one that cannot be read for any other reason (`EMFILE`,
/// `ENOMEM`, …) is pushed onto `failed` with its error, and the owner still returned
/// when its name could be read.
///
/// # Errors
/// The error that kept its name from being read, when it was neither "gone" nor
/// "permission".
pub(super) fn describe_owner(
    pid: u32,
    scratch: &mut OwnerScratch,
    failed: &mut Vec<(u32, Errno)>,
) -> Result<Option<Owner>, Errno> {
    let mut note = |result: Result<(), Errno>| match result {
        Ok(()) => true,
        Err(errno) if is_failure(errno) => {
            failed.push((pid, errno));
            false
        }
        Err(_) => false,
    };
    let status = match read_proc_file(pid, "status", scratch, usize::MAX) {
        Ok(()) => Status::parse(&scratch.buf),
        Err(errno) if is_failure(errno) => return Err(errno),
        Err(_) => Status::default(),
    };
    // `status` escapes a newline or backslash in the name; only `comm` has it exactly.
    let name = match status.name {
        Some(name) if !name.contains('\\') => name,
        _ => match read_proc_file(pid, "comm", scratch, usize::MAX) {
            Ok(()) => parse_comm(&scratch.buf),
            Err(errno) if is_failure(errno) => return Err(errno),
            Err(_) => return Ok(None),
        },
    };
    let mut owner = Owner {
        pid,
        name,
        exe: None,
        cmdline: None,
        uid: status.euid,
        user: None,
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    };
    if note(read_proc_file(pid, "cmdline", scratch, CMDLINE_READ)) {
        owner.cmdline = join_cmdline(&scratch.buf);
    }
    match read_exe(pid) {
        Ok((exe, deleted)) => {
            owner.exe = Some(exe);
            owner.exe_deleted = deleted;
        }
        Err(errno) => {
            note(Err(errno));
        }
    }
    match read_proc_file(pid, "cgroup", scratch, usize::MAX) {
        Ok(()) => {
            let attribution = cgroup::attribute(&String::from_utf8_lossy(&scratch.buf));
            owner.unit = attribution.unit;
            owner.user_unit_uid = attribution.user_unit_uid;
            owner.container = attribution.container;
        }
        Err(errno) => {
            note(Err(errno));
        }
    }
    Ok(Some(owner))
}

/// True for an error that says neither "the process is gone" (`ENOENT`, `ESRCH`) nor "not
/// allowed" (`EACCES`, `EPERM`), nor "nothing there" (`EINVAL`, `/proc/PID/exe` of a kernel
/// thread): a failure of the scan itself, such as `EMFILE`, `ENFILE` or `ENOMEM`.
pub(super) fn is_failure(errno: Errno) -> bool {
    ![Errno::NOENT, Errno::SRCH, Errno::ACCESS, Errno::PERM, Errno::INVAL].contains(&errno)
}

/// The state letter of `pid` from `/proc/PID/stat` (`R`, `S`, `Z` for a zombie, `X` for a
/// dying process, …).
///
/// # Errors
/// The errno of reading the file (`ENOENT` or `ESRCH` when the process is gone), or
/// `EINVAL` when it does not parse.
pub(super) fn process_state(pid: u32) -> Result<u8, Errno> {
    let mut scratch = OwnerScratch::default();
    read_proc_file(pid, "stat", &mut scratch, usize::MAX)?;
    parse_state(&scratch.buf).ok_or(Errno::INVAL)
}

/// The state letter in the text of `/proc/PID/stat`: the field after the name, which ends
/// at the last `)` (a name may hold `)` and spaces itself).
fn parse_state(stat: &[u8]) -> Option<u8> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).copied().filter(u8::is_ascii_alphabetic)
}

/// A fingerprint of what process `pid` has run since it started, or `None` when part of
/// it cannot be read (the process is gone, permission, or a kernel without
/// `CONFIG_SCHED_INFO`). It covers the inode number and link count of `/proc/PID/task`
/// (procfs makes a new inode for a new process, so a reused PID has another number; the
/// link count is 2 plus the number of threads) and, for each thread, its ID and its
/// `schedstat` line: the CPU time it has run, in nanoseconds, how long it waited to run and
/// how many times it was put on a CPU. A thread that was not put on a CPU made no system
/// call, so two equal stamps, the second read after the first, mean that no thread of the
/// process ran in between: it cannot have opened, closed, received or passed on a
/// descriptor, nor forked or exec'd. The walk reads it before a process's descriptors and
/// reuses what it read last time when the stamp has not changed.
pub(super) fn run_stamp(pid: u32, scratch: &mut OwnerScratch) -> Option<u64> {
    use std::hash::Hasher as _;
    // SipHash with fixed keys: the same input always gives the same stamp.
    let mut hash = std::hash::DefaultHasher::new();
    set_proc_path(&mut scratch.path, pid, "task");
    let task = rustix::fs::statat(rustix::fs::CWD, scratch.path.as_path(), rustix::fs::AtFlags::empty()).ok()?;
    hash.write_u64(task.st_ino);
    hash.write_u64(task.st_nlink);
    if task.st_nlink == 3 {
        // One thread, the leader: its line is /proc/PID/schedstat. A thread started after
        // the link count was read was started by the leader, whose line then changed.
        read_proc_file(pid, "schedstat", scratch, usize::MAX).ok()?;
        hash.write(&scratch.buf);
        return (!scratch.buf.is_empty()).then(|| hash.finish());
    }
    let mut tids: Vec<u32> = std::fs::read_dir(&scratch.path)
        .ok()?
        .filter_map(|entry| parse_decimal(entry.ok()?.file_name().as_bytes()))
        .collect();
    if tids.is_empty() {
        return None;
    }
    tids.sort_unstable();
    let mut path = std::mem::take(&mut scratch.path);
    let mut complete = true;
    for tid in tids {
        hash.write_u32(tid);
        let buf: &mut OsString = path.as_mut_os_string();
        buf.clear();
        let _ = write!(buf, "/proc/{pid}/task/{tid}/schedstat");
        scratch.buf.clear();
        if read_path(&path, &mut scratch.buf).is_err() || scratch.buf.is_empty() {
            complete = false;
            break;
        }
        hash.write(&scratch.buf);
    }
    scratch.path = path;
    complete.then(|| hash.finish())
}

/// Whether `/proc/PID` still exists: false once the process is reaped.
pub(super) fn process_exists(pid: u32) -> bool {
    let mut path = PathBuf::new();
    set_proc_path(&mut path, pid, "");
    !matches!(
        rustix::fs::statat(rustix::fs::CWD, path.as_path(), rustix::fs::AtFlags::empty()),
        Err(Errno::NOENT | Errno::SRCH)
    )
}

/// Names the owners' users, once per UID, and indexes the owners by PID.
pub(super) fn name_owners(mut owners: Vec<Owner>) -> HashMap<u32, Arc<Owner>> {
    let mut user_names: HashMap<u32, Option<String>> = HashMap::new();
    for owner in &mut owners {
        if let Some(uid) = owner.uid {
            owner.user = user_names.entry(uid).or_insert_with(|| user_name(uid)).clone();
        }
    }
    owners.into_iter().map(|owner| (owner.pid, Arc::new(owner))).collect()
}

/// The name of user `uid` from the system's user database (NSS: /etc/passwd, LDAP…).
fn user_name(uid: u32) -> Option<String> {
    uzers::get_user_by_uid(uid).map(|user| user.name().to_string_lossy().into_owned())
}

/// The host name, or `unknown`.
pub(super) fn host_name() -> String {
    System::host_name()
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Reads `/proc/PID/FILE` into `scratch.buf`, stopping once it holds at least `limit`
/// bytes.
///
/// # Errors
/// The errno of opening or reading it: `ENOENT` or `ESRCH` when the process exited,
/// `EACCES` or `EPERM` for permission, anything else (`EMFILE`, `ENOMEM`, …) a failure.
fn read_proc_file(pid: u32, file: &str, scratch: &mut OwnerScratch, limit: usize) -> Result<(), Errno> {
    set_proc_path(&mut scratch.path, pid, file);
    scratch.buf.clear();
    read_path_to(&scratch.path, &mut scratch.buf, limit)
}

/// Appends the whole file at `path` to `buf`.
fn read_path(path: &std::path::Path, buf: &mut Vec<u8>) -> Result<(), Errno> {
    read_path_to(path, buf, usize::MAX)
}

/// Appends the file at `path` to `buf`, stopping once `buf` holds at least `limit` bytes.
fn read_path_to(path: &std::path::Path, buf: &mut Vec<u8>, limit: usize) -> Result<(), Errno> {
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty())?;
    // Plain reads until end of file: no fstat or seek first, which tell nothing about a
    // /proc file (its size is always 0).
    while buf.len() < limit {
        if buf.capacity() - buf.len() < 512 {
            buf.reserve(4096);
        }
        match rustix::io::read(&fd, rustix::buffer::spare_capacity(buf)) {
            Ok(0) => return Ok(()),
            Ok(_) | Err(Errno::INTR) => {}
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// Sets `path` to `/proc/PID/FILE`, reusing its allocation.
pub(super) fn set_proc_path(path: &mut PathBuf, pid: u32, file: &str) {
    let buf: &mut OsString = path.as_mut_os_string();
    buf.clear();
    // Writing to an OsString cannot fail.
    let _ = write!(buf, "/proc/{pid}/{file}");
}

/// Parses a non-empty run of ASCII digits that fits a `u32`.
pub(super) fn parse_decimal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0_u32, |n, &d| {
        let digit = if d.is_ascii_digit() {
            u32::from(d - b'0')
        } else {
            return None;
        };
        n.checked_mul(10)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Status {
        Status::parse(text.as_bytes())
    }

    #[test]
    fn privilege_from_status() {
        let root = "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n";
        assert!(parse(root).privileged());
        let setuid_root = "Uid:\t1000\t0\t0\t0\nCapEff:\t0\n";
        assert!(parse(setuid_root).privileged());
        let user = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n";
        assert!(!parse(user).privileged());
        let caps = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000080004\n";
        assert!(parse(caps).privileged());
        let ptrace_only = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000080000\n";
        assert!(!parse(ptrace_only).privileged());
        assert!(!parse("").privileged());
    }

    #[test]
    fn sys_admin_from_status() {
        assert!(parse("Uid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n").has_sys_admin());
        assert!(!parse("Uid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n").has_sys_admin());
        assert!(
            !parse("Uid:\t0\t0\t0\t0\n").has_sys_admin(),
            "no CapEff line: no capability"
        );
    }

    #[test]
    fn status_gives_name_and_effective_uid() {
        let status = "Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nUid:\t0\t33\t33\t33\n\
                      Gid:\t0\t33\t33\t33\nCapEff:\t0000000000000400\n";
        assert_eq!(
            parse(status),
            Status {
                name: Some("nginx".to_owned()),
                euid: Some(33),
                cap_eff: Some(0x400),
            }
        );
        let name_only = |name: &str| Status {
            name: Some(name.to_owned()),
            ..Status::default()
        };
        assert_eq!(parse("Name:\tx\n"), name_only("x"));
        assert_eq!(parse("Name:\t x \n"), name_only(" x "));
        assert_eq!(parse("Uid:\tgarbage\n"), Status::default());
        assert_eq!(parse("CapEff:\tnot hex\n"), Status::default());
    }

    #[test]
    fn comm_keeps_the_name_exactly() {
        assert_eq!(parse_comm(b"a\\b\n"), "a\\b");
        assert_eq!(parse_comm(b"two\nlines\n"), "two\nlines");
        assert_eq!(parse_comm(b""), "");
    }

    #[test]
    fn cmdline_joins_with_spaces() {
        assert_eq!(join_cmdline(b""), None);
        assert_eq!(join_cmdline(b"\0"), None);
        assert_eq!(join_cmdline(b"python3\0-c\0pass\0").as_deref(), Some("python3 -c pass"));
        // A process that rewrote its arguments without NULs ("nginx: master process").
        assert_eq!(
            join_cmdline(b"nginx: master process /usr/sbin/nginx").as_deref(),
            Some("nginx: master process /usr/sbin/nginx")
        );
    }

    #[test]
    fn state_follows_the_last_parenthesis() {
        assert_eq!(parse_state(b"29766 (zl) Z 1 29722"), Some(b'Z'));
        assert_eq!(parse_state(b"7 (a) b) S 1"), Some(b'S'));
        assert_eq!(parse_state(b"7 (x"), None);
        assert_eq!(parse_state(b""), None);
    }

    #[test]
    fn long_cmdlines_are_cut_on_a_character_boundary() {
        let long = "é".repeat(3000);
        let raw = long.as_bytes().get(..CMDLINE_READ).unwrap_or_default();
        let cut = join_cmdline(raw).unwrap_or_default();
        assert!(cut.len() <= crate::model::CMDLINE_MAX + crate::model::CMDLINE_CUT_MARKER.len());
        assert!(cut.ends_with(crate::model::CMDLINE_CUT_MARKER), "{cut:?}");
        assert!(
            cut.trim_end_matches(crate::model::CMDLINE_CUT_MARKER)
                .chars()
                .all(|c| c == 'é')
        );
        assert_eq!(
            join_cmdline(b"a\0b\0").as_deref(),
            Some("a b"),
            "short ones are untouched"
        );
    }

    #[test]
    fn decimal_is_digits_that_fit() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_decimal(b"4294967296"), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b""), None);
    }
}
