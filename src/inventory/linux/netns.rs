//! Network namespaces on Linux: which one portghost runs in, the names `ip netns` gave
//! them, every namespace of the host, and running work inside one.
//!
//! Owns reading `/proc/self/ns/net`, `/proc/PID/ns/net` and the bind mounts under
//! `/run/netns`, and the dedicated thread that enters other namespaces with `setns`. It
//! must not: call `setns` on any thread but the one it spawns (a socket opened on that
//! thread belongs to the namespace it entered; the rest of the process stays where it
//! is), keep a namespace file open longer than its dump, or fail because one namespace
//! disappeared (that is reported as [`Entered::Vanished`]).

use crate::sanitize::terminal_safe;
use rustix::fs::{Mode, OFlags};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where `ip netns add` bind-mounts its namespaces (`/var/run/netns` is a link to it).
const NAMED_DIR: &str = "/run/netns";

/// The inode of the host's initial network namespace on kernels that fix it
/// (`PROC_NET_INIT_INO`, 0xEFFFFFF9; Linux 6.18 has it). Older kernels number it like any
/// other namespace, from 0xF0000000 up, so no other namespace can have this number.
const NET_INIT_INODE: u64 = 0xEFFF_FFF9;

/// The identity of a namespace file: `st_dev` is the same for every namespace (the nsfs
/// superblock), `st_ino` tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NsFile {
    /// Device of the nsfs filesystem.
    pub dev: u64,
    /// The namespace's inode.
    pub inode: u64,
}

/// `stat` of a namespace file, following the `/proc/PID/ns/net` link.
fn stat_ns(path: &Path) -> io::Result<NsFile> {
    let st = rustix::fs::stat(path)?;
    Ok(NsFile {
        dev: st.st_dev,
        inode: st.st_ino,
    })
}

/// The network namespace portghost's main thread runs in; `None` without `/proc`.
pub(super) fn own() -> Option<NsFile> {
    stat_ns(Path::new("/proc/self/ns/net")).ok()
}

/// Tells the host's initial network namespace from the others: by the fixed inode of
/// recent kernels, else as the namespace of PID 1 when portghost runs in the host's PID
/// namespace and may look at it (root). When neither works, no namespace is the host's.
pub(super) struct HostNetns {
    /// The network namespace inode of PID 1, when it was looked at.
    pid1: Option<u64>,
}

impl HostNetns {
    /// Looks at PID 1 only when `in_host_pid_namespace` and `inode` is not the fixed one.
    pub fn for_inode(inode: u64, in_host_pid_namespace: Option<bool>) -> HostNetns {
        let pid1 = if inode == NET_INIT_INODE || in_host_pid_namespace != Some(true) {
            None
        } else {
            stat_ns(Path::new("/proc/1/ns/net")).ok().map(|ns| ns.inode)
        };
        HostNetns { pid1 }
    }

    /// Looks at PID 1 when portghost runs in the host's PID namespace.
    pub fn read(in_host_pid_namespace: Option<bool>) -> HostNetns {
        HostNetns::for_inode(0, in_host_pid_namespace)
    }

    /// True when `inode` is the host's initial network namespace.
    pub fn is_host(&self, inode: u64) -> bool {
        inode == NET_INIT_INODE || self.pid1 == Some(inode)
    }
}

/// Every name under `/run/netns` that is a network namespace, by inode; names of one
/// namespace in byte order. Leftover files (a failed `ip netns del`) are skipped: they are
/// not on the nsfs device `nsfs_dev`.
pub(super) fn names(nsfs_dev: u64) -> BTreeMap<u64, Vec<String>> {
    let mut by_inode: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(NAMED_DIR) else {
        return by_inode;
    };
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if let Ok(ns) = stat_ns(&entry.path())
            && ns.dev == nsfs_dev
        {
            by_inode.entry(ns.inode).or_default().push(name);
        }
    }
    for names in by_inode.values_mut() {
        names.sort();
    }
    by_inode
}

/// A network namespace found on the host, and the files that lead to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Found {
    /// The namespace's inode.
    pub inode: u64,
    /// Its `/run/netns` names, in byte order.
    pub names: Vec<String>,
    /// Processes living in it, in PID order.
    pub pids: Vec<u32>,
}

impl Found {
    /// The files to open to enter it: its named bind mounts first (they live as long as
    /// the name), then `/proc/PID/ns/net` of each process in it.
    fn files(&self) -> impl Iterator<Item = PathBuf> + '_ {
        let named = self.names.iter().map(|name| Path::new(NAMED_DIR).join(name));
        let procs = self.pids.iter().map(|pid| PathBuf::from(format!("/proc/{pid}/ns/net")));
        named.chain(procs)
    }
}

/// The network namespaces of a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Every {
    /// Every namespace found, in inode order.
    pub found: Vec<Found>,
    /// Processes whose namespace could not be read (permission denied): a namespace only
    /// they live in is missing from `found`.
    pub unreadable: Vec<u32>,
}

/// Every network namespace of the host: the distinct namespaces of the processes `pids`
/// plus those bound under `/run/netns`, in inode order. A process that exits meanwhile is
/// skipped; one whose namespace cannot be read is listed in [`Every::unreadable`].
pub(super) fn every(nsfs_dev: u64, pids: &[u32]) -> Every {
    fn slot(found: &mut BTreeMap<u64, Found>, inode: u64) -> &mut Found {
        found.entry(inode).or_insert_with(|| Found {
            inode,
            names: Vec::new(),
            pids: Vec::new(),
        })
    }
    let mut found: BTreeMap<u64, Found> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let mut path = String::with_capacity(32);
    for &pid in pids {
        path.clear();
        // Writing to a String cannot fail.
        let _ = write!(path, "/proc/{pid}/ns/net");
        match stat_ns(Path::new(&path)) {
            Ok(ns) if ns.dev == nsfs_dev => slot(&mut found, ns.inode).pids.push(pid),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::PermissionDenied => unreadable.push(pid),
            Err(_) => {}
        }
    }
    for (inode, names) in names(nsfs_dev) {
        slot(&mut found, inode).names = names;
    }
    Every {
        found: found.into_values().collect(),
        unreadable,
    }
}

impl Every {
    /// The warning for [`Every::unreadable`], if any process's namespace was unreadable.
    pub fn warning(&self) -> Option<String> {
        const SHOWN: usize = 5;
        let count = self.unreadable.len();
        if count == 0 {
            return None;
        }
        let mut pids: Vec<String> = self.unreadable.iter().take(SHOWN).map(u32::to_string).collect();
        if count > SHOWN {
            pids.push(format!("+{}", count - SHOWN));
        }
        let (noun, pronoun) = if count == 1 {
            ("process", "it")
        } else {
            ("processes", "they")
        };
        Some(format!(
            "the network namespace of {count} {noun} (PID {}) could not be read (permission denied), \
             so a namespace only {pronoun} use{} may be missing",
            pids.join(", "),
            if count == 1 { "s" } else { "" }
        ))
    }
}

/// Opens a namespace file for `setns`, checking that it still is namespace `want` (a PID
/// may have been reused by a process elsewhere).
fn open_checked(path: &Path, want: NsFile) -> io::Result<OwnedFd> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let st = rustix::fs::fstat(&fd)?;
    if st.st_dev != want.dev || st.st_ino != want.inode {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "now refers to another namespace",
        ));
    }
    Ok(fd)
}

/// A namespace to enter: its identity and the files that lead to it, best first.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// The namespace.
    pub ns: NsFile,
    /// Files that refer to it.
    pub files: Vec<PathBuf>,
}

impl Target {
    /// A target for a namespace found on the host.
    pub fn of(found: &Found, nsfs_dev: u64) -> Target {
        Target {
            ns: NsFile {
                dev: nsfs_dev,
                inode: found.inode,
            },
            files: found.files().collect(),
        }
    }
}

/// What happened when portghost tried to work inside one namespace.
#[derive(Debug)]
pub(super) enum Entered<T> {
    /// The work ran inside the namespace and returned this.
    Ran(T),
    /// Every file that led to the namespace is gone: it was deleted mid-scan.
    Vanished,
    /// The kernel refused to enter it (the error of `open` or `setns`).
    Refused(io::Error),
}

/// Runs `work` inside each of `targets`, in order, on one dedicated thread that moves from
/// namespace to namespace with `setns`. The calling thread never changes namespace.
///
/// # Errors
/// Only when the thread cannot be started or panics.
pub(super) fn run_inside<T: Send>(targets: &[Target], work: impl Fn() -> T + Sync) -> io::Result<Vec<Entered<T>>> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("portghost-netns".to_owned())
            .spawn_scoped(scope, || {
                targets.iter().map(|target| enter_and_run(target, &work)).collect()
            })?;
        worker
            .join()
            .map_err(|_| io::Error::other("the network-namespace thread panicked"))
    })
}

/// Opens the first file of `target` that still leads to it, enters it and runs `work`.
fn enter_and_run<T>(target: &Target, work: &impl Fn() -> T) -> Entered<T> {
    let mut refused = None;
    for file in &target.files {
        match open_checked(file, target.ns) {
            Ok(fd) => {
                return match move_into_link_name_space(fd.as_fd(), Some(LinkNameSpaceType::Network)) {
                    Ok(()) => Entered::Ran(work()),
                    Err(errno) => Entered::Refused(errno.into()),
                };
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => refused = Some(error),
        }
    }
    refused.map_or(Entered::Vanished, Entered::Refused)
}

/// The namespace a `--netns` argument names: a name under `/run/netns`, or (when it
/// contains a `/`) a path to a namespace file. `Err` holds a message for the user.
pub(super) fn resolve(arg: &str, nsfs_dev: u64) -> Result<Target, String> {
    let path = if arg.contains('/') {
        PathBuf::from(arg)
    } else {
        if arg.is_empty() || arg == "." || arg == ".." {
            return Err(format!("{arg:?} is not a network namespace name"));
        }
        Path::new(NAMED_DIR).join(arg)
    };
    let ns = match stat_ns(&path) {
        Ok(ns) => ns,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !arg.contains('/') => {
            return Err(format!(
                "no network namespace named {arg:?}: {} does not exist (`ip netns list` shows the names)",
                terminal_safe(&path.display().to_string())
            ));
        }
        Err(error) => return Err(format!("{}: {error}", terminal_safe(&path.display().to_string()))),
    };
    if ns.dev != nsfs_dev {
        return Err(format!(
            "{} is not a namespace file (expected a name from `ip netns list` or a path such as /proc/PID/ns/net)",
            terminal_safe(&path.display().to_string())
        ));
    }
    Ok(Target { ns, files: vec![path] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_ns() -> NsFile {
        own().expect("/proc/self/ns/net is readable where the tests run")
    }

    #[test]
    fn every_finds_this_process_in_its_namespace() {
        let own = own_ns();
        let me = std::process::id();
        let every = every(own.dev, &[me, u32::MAX]);
        assert!(every.unreadable.is_empty());
        assert_eq!(every.warning(), None);
        let mine = every
            .found
            .iter()
            .find(|f| f.inode == own.inode)
            .expect("own namespace found");
        assert_eq!(mine.pids, vec![me], "a PID that does not exist is skipped");
        assert!(mine.files().any(|f| f == Path::new(&format!("/proc/{me}/ns/net"))));
    }

    #[test]
    fn unreadable_namespaces_are_named_in_a_warning() {
        let one = Every {
            found: Vec::new(),
            unreadable: vec![1],
        };
        assert_eq!(
            one.warning().as_deref(),
            Some(
                "the network namespace of 1 process (PID 1) could not be read (permission denied), \
                 so a namespace only it uses may be missing"
            )
        );
        let many = Every {
            found: Vec::new(),
            unreadable: (1..=7).collect(),
        };
        let w = many.warning().expect("warning");
        assert!(
            w.starts_with("the network namespace of 7 processes (PID 1, 2, 3, 4, 5, +2)"),
            "{w}"
        );
        assert!(w.ends_with("only they use may be missing"), "{w}");
    }

    #[test]
    fn a_namespace_whose_files_are_gone_has_vanished() {
        let target = Target {
            ns: NsFile { dev: 0, inode: 1 },
            files: vec![PathBuf::from("/nonexistent/portghost/ns/net")],
        };
        let results = run_inside(&[target], || 7).expect("thread runs");
        assert!(matches!(results[..], [Entered::Vanished]), "{results:?}");
    }

    #[test]
    fn a_file_that_now_leads_elsewhere_is_not_entered() {
        // The PID of a process that lived in the namespace was reused by one elsewhere.
        let own = own_ns();
        let target = Target {
            ns: NsFile {
                dev: own.dev,
                inode: own.inode + 1,
            },
            files: vec![PathBuf::from("/proc/self/ns/net")],
        };
        let results = run_inside(&[target], || 7).expect("thread runs");
        assert!(matches!(results[..], [Entered::Vanished]), "{results:?}");
    }

    #[test]
    fn work_runs_on_a_thread_inside_the_namespace() {
        let own = own_ns();
        let target = Target {
            ns: own,
            files: vec![PathBuf::from("/proc/self/ns/net")],
        };
        let thread_ns = || stat_ns(Path::new("/proc/thread-self/ns/net")).map(|ns| ns.inode).ok();
        let results = run_inside(&[target], thread_ns).expect("thread runs");
        let root = rustix::process::geteuid().is_root();
        match &results[..] {
            [Entered::Ran(inode)] => assert_eq!(*inode, Some(own.inode)),
            [Entered::Refused(error)] => assert!(!root, "root may enter its own namespace: {error}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(own_ns(), own, "the calling thread never moves");
    }

    #[test]
    fn resolve_checks_names_and_paths() {
        let own = own_ns();
        let err = resolve("portghost-no-such-namespace", own.dev).expect_err("unknown name");
        assert!(
            err.starts_with("no network namespace named \"portghost-no-such-namespace\""),
            "{err}"
        );
        assert!(resolve("", own.dev).is_err());
        assert!(resolve("..", own.dev).is_err());
        let err = resolve("/etc/hostname", own.dev).expect_err("not a namespace");
        assert!(err.contains("is not a namespace file"), "{err}");
        let target = resolve("/proc/self/ns/net", own.dev).expect("own namespace");
        assert_eq!(target.ns, own);
    }

    #[test]
    fn the_fixed_initial_inode_is_the_host() {
        let host = HostNetns { pid1: None };
        assert!(host.is_host(NET_INIT_INODE));
        assert!(!host.is_host(4_026_532_301));
        let old_kernel = HostNetns {
            pid1: Some(4_026_531_840),
        };
        assert!(old_kernel.is_host(4_026_531_840));
    }
}
