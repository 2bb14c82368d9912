//! The owner walk: one parallel pass over every process's `/proc/PID/fd`, started with the
//! socket dump and run beside it, that pairs each dumped socket inode with the PIDs
//! holding it.
//!
//! Owns listing `/proc`, reading the descriptor links of every process (raw `getdents64`
//! and `readlinkat` on a reused buffer), the hand-off of the dumped inodes to the walk
//! threads ([`WantedInodes`]; the socket inodes of a process walked before the dump ends
//! are held until it does), and the merge of the threads' findings into one [`Walk`]. Each
//! walk thread has an owner described (by [`procfs::describe_owner`]) as soon as it finds
//! it, while its `/proc` entries are hot.
//!
//! A process whose `/proc/PID/fd` is empty while it has other threads (its thread-group
//! leader exited first) is read through a live thread's `/proc/PID/task/TID/fd`; a refusal
//! from a zombie or a process that is gone is not a lack of privilege. Only `ENOENT` and
//! `ESRCH` mean a process is gone: any other error (`EMFILE`, `ENOMEM`, …) is recorded in
//! [`Walk::failed`], never taken for a vanished process.
//!
//! Given a [`WalkCache`] (a watch keeps one from scan to scan), the walk asks
//! [`procfs::run_stamp`] for each process's stamp before reading its descriptors, and
//! reuses the socket inodes it read last time when the stamp is the same: no thread of the
//! process ran since, so its descriptor table cannot have changed. A process that forked,
//! exec'd, exited, opened, closed or received a descriptor has run, and is read again; a
//! new PID has no entry. Each entry is reused at most [`MAX_REUSES`] times in a row, so
//! every descriptor table is read afresh at least every `MAX_REUSES + 1` walks whatever
//! the stamps say. The owners' details are always read afresh.
//!
//! It must not: walk `/proc` more than once per scan, read any `/proc/PID` file but `fd`,
//! `task` and `task/TID/fd` itself (owner details, the state in `stat` and the run stamp
//! are [`procfs`]'s), dump sockets or enter namespaces, judge or filter what it finds beyond
//! "is a wanted socket", or fail because of one process (a process that exits, hides its
//! descriptors or cannot be read mid-walk is skipped or counted, never an error).

use super::procfs::{self, OwnerScratch, parse_decimal, set_proc_path};
use super::view::ProcHiding;
use crate::inventory::parallelism;
use crate::model::Owner;
use rustix::fs::{AtFlags, Mode, OFlags, RawDir};
use rustix::io::Errno;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// What the walk of every process's descriptors found.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// (inode, PID) for every descriptor that is a wanted socket, sorted and
    /// deduplicated: the owners of one inode are adjacent.
    owners: Vec<(u32, u32)>,
    /// The details of each owning PID, read by the walk thread that found it.
    pub details: Vec<Owner>,
    /// Processes whose descriptors could not be read for lack of privilege.
    pub uninspectable: usize,
    /// Processes whose descriptors could not be read for another reason (`EMFILE`,
    /// `ENOMEM`, …), with the error, in PID order: what they hold is unknown.
    pub failed: Vec<(u32, Errno)>,
    /// Time the walk threads spent reading owner details, added over the threads.
    pub details_time: Duration,
    /// How the `/proc` mount hides other users' processes from this one (`hidepid`): the
    /// walk did not even see them. The walk leaves it `None`; the scan fills it in.
    pub hiding: Option<ProcHiding>,
    /// Processes whose descriptors were not read again: their run stamp was unchanged and
    /// the [`WalkCache`] held what they had.
    pub reused: usize,
    /// What this walk read or reused, for the next walk's cache.
    seen: Vec<(u32, Seen)>,
}

/// How many walks in a row may reuse one process's descriptors on the strength of its
/// run stamp before they are read again anyway.
pub(super) const MAX_REUSES: u8 = 30;

/// What a walk read of one process's descriptors.
#[derive(Debug, Clone)]
struct Seen {
    /// The process's [`procfs::run_stamp`], read before its descriptors.
    stamp: u64,
    /// The inode of every socket it held (wanted or not).
    sockets: Arc<[u32]>,
    /// How many walks in a row reused this instead of reading the descriptors.
    reuses: u8,
}

/// The descriptors each process held at the last walk, with its run stamp then: what a
/// watch keeps from one scan to the next so that the walk reads again only the processes
/// that ran since. Its size follows the processes alive at the last walk; entries of
/// processes gone are dropped at the next.
#[derive(Debug, Default)]
pub(in crate::inventory) struct WalkCache {
    /// By PID.
    seen: HashMap<u32, Seen>,
}

/// Walks every process's descriptors once, on [`walk_helpers`] threads, while this thread
/// runs `dump`; `wanted` turns the dump's result into the socket inodes whose
/// owners are wanted. This thread joins the walk once the dump is done; the walk threads
/// keep every socket inode they meet until the wanted ones are known, then only those.
///
/// Returns the dump's result and the walk, which fails only when `/proc` itself cannot be
/// listed.
pub(super) fn walk_processes<D, E>(
    dump: impl FnOnce() -> Result<D, E>,
    wanted: impl FnOnce(&D) -> HashSet<u32>,
    cache: Option<&mut WalkCache>,
) -> (Result<D, E>, io::Result<Walk>) {
    let pids = match list_pids() {
        Ok(pids) => pids,
        Err(error) => return (dump(), Err(error)),
    };
    let shared = WalkShared {
        pids,
        next: AtomicUsize::new(0),
        wanted: WantedInodes::default(),
        previous: cache.as_deref().map(|cache| &cache.seen),
    };
    let helpers = walk_helpers(shared.pids.len());
    let walked = std::thread::scope(|scope| {
        let helpers: Vec<_> = (0..helpers)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("portghost-walk".to_owned())
                    .spawn_scoped(scope, || walk_worker(&shared))
                    .ok()
            })
            .collect();
        let dumped = dump();
        let inodes = dumped.as_ref().map(wanted).unwrap_or_default();
        if inodes.is_empty() {
            // No socket to find an owner for, or no scan at all: stop the walk.
            shared.next.store(shared.pids.len(), Ordering::Relaxed);
        }
        shared.wanted.publish(inodes);
        // This thread works too, so the walk completes even if no helper could start.
        let mut parts = vec![walk_worker(&shared)];
        let mut panicked = false;
        for helper in helpers {
            match helper.join() {
                Ok(part) => parts.push(part),
                Err(_) => panicked = true,
            }
        }
        let walk = if panicked {
            Err(io::Error::other("a /proc walk thread panicked"))
        } else {
            Ok(merge_parts(parts))
        };
        (dumped, walk)
    });
    let (dumped, mut walk) = walked;
    if let (Some(cache), Ok(walk)) = (cache, walk.as_mut()) {
        cache.seen = std::mem::take(&mut walk.seen).into_iter().collect();
    }
    (dumped, walk)
}

/// What the walk threads share.
struct WalkShared<'a> {
    /// Every process, in `/proc` order.
    pids: Vec<u32>,
    /// Index of the next process to walk: dynamic scheduling.
    next: AtomicUsize,
    /// The dumped socket inodes, once the dump is done.
    wanted: WantedInodes,
    /// What the last walk saw, when the caller keeps a cache; `None` reads every process
    /// and reads no run stamp.
    previous: Option<&'a HashMap<u32, Seen>>,
}

/// The dumped socket inodes, published once by the dumping thread for the walk threads
/// that started before it finished.
#[derive(Default)]
struct WantedInodes {
    /// The inodes, once published.
    inodes: OnceLock<HashSet<u32>>,
    /// Taken by a thread that waits for them.
    lock: Mutex<()>,
    /// Signalled on publication.
    published: Condvar,
}

impl WantedInodes {
    /// Publishes the inodes and wakes every waiting thread. Only the first call counts.
    fn publish(&self, inodes: HashSet<u32>) {
        let _ = self.inodes.set(inodes);
        // Taking the lock orders this wake-up after any waiter's check.
        drop(self.lock.lock());
        self.published.notify_all();
    }

    /// The inodes if they are published yet; never blocks.
    fn get(&self) -> Option<&HashSet<u32>> {
        self.inodes.get()
    }

    /// The inodes, waiting for their publication.
    fn wait(&self) -> &HashSet<u32> {
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(inodes) = self.inodes.get() {
                return inodes;
            }
            guard = self.published.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// Number of helper threads for a walk of `processes` processes: one per CPU (see
/// [`parallelism`]). The thread that dumps the sockets joins them once the dump is done,
/// so while it dumps every CPU still walks; the kernel work of the walk and the dump
/// leaves room for one thread more than there are CPUs (on 2 CPUs, 3 threads make a
/// 10,000-socket scan about 5 % faster than 2).
fn walk_helpers(processes: usize) -> usize {
    parallelism().min(processes).max(1)
}

/// The CPUs this process may run on, at least 1. Unlike `available_parallelism`, this
/// reads no cgroup files: a CPU quota does not make the kernel-bound walk any slower per
/// thread.
pub(in crate::inventory) fn cpus() -> usize {
    rustix::thread::sched_getaffinity(None).map_or(1, |cpus| cpus.count() as usize)
}

/// Every numeric entry of `/proc`. An empty list means `/proc` is not procfs.
pub(super) fn list_pids() -> io::Result<Vec<u32>> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        if let Some(pid) = parse_pid(entry.file_name().as_bytes()) {
            pids.push(pid);
        }
    }
    if pids.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "/proc lists no process: procfs is not mounted there",
        ));
    }
    Ok(pids)
}

/// A `/proc` entry name made only of ASCII digits, as a PID.
fn parse_pid(name: &[u8]) -> Option<u32> {
    parse_decimal(name)
}

/// The inode of a `socket:[N]` link target, without allocating.
fn socket_inode(link: &[u8]) -> Option<u32> {
    parse_decimal(link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
}

/// What one walk thread found.
#[derive(Debug, Default)]
struct WalkPart {
    /// (inode, pid) for every descriptor that is a wanted socket.
    pairs: Vec<(u32, u32)>,
    /// The details of every owning PID this thread saw.
    details: Vec<Owner>,
    /// Processes this thread could not inspect.
    uninspectable: usize,
    /// Processes whose descriptors could not be read for another reason, with the error.
    failed: Vec<(u32, Errno)>,
    /// Time this thread spent reading owner details.
    details_time: Duration,
    /// Processes whose descriptors this thread reused instead of reading them.
    reused: usize,
    /// What this thread read or reused, for the cache.
    seen: Vec<(u32, Seen)>,
}

/// Size of each walk thread's directory-entry buffer: one `getdents64` call fills it with
/// about 1,000 descriptor entries.
const DIRENT_BUFFER_LEN: usize = 32 * 1024;

/// Pulls PIDs from the shared index until none is left. The socket inodes of a process
/// walked before the dump was done are kept, and judged once it is.
fn walk_worker(shared: &WalkShared<'_>) -> WalkPart {
    let mut part = WalkPart::default();
    let mut path = PathBuf::with_capacity(64);
    let mut dirents = vec![MaybeUninit::<u8>::uninit(); DIRENT_BUFFER_LEN];
    let mut scratch = OwnerScratch::default();
    let mut sockets = Vec::new();
    // Processes walked before the wanted inodes were known: (pid, range in `early`).
    let mut pending: Vec<(u32, std::ops::Range<usize>)> = Vec::new();
    let mut early: Vec<u32> = Vec::new();
    while let Some(&pid) = shared.pids.get(shared.next.fetch_add(1, Ordering::Relaxed)) {
        sockets.clear();
        // The stamp first: a thread that runs after it changes the next one.
        let stamp = shared.previous.and_then(|_| procfs::run_stamp(pid, &mut scratch));
        let reusable = stamp.and_then(|stamp| {
            let seen = shared.previous?.get(&pid)?;
            (seen.stamp == stamp && seen.reuses < MAX_REUSES).then_some(seen)
        });
        if let Some(seen) = reusable {
            sockets.extend_from_slice(&seen.sockets);
            part.reused += 1;
            part.seen.push((
                pid,
                Seen {
                    reuses: seen.reuses + 1,
                    ..seen.clone()
                },
            ));
        } else {
            match scan_process(pid, &mut path, &mut dirents, &mut sockets) {
                Inspected::Read => {
                    if let Some(stamp) = stamp {
                        let sockets = Arc::from(sockets.as_slice());
                        part.seen.push((
                            pid,
                            Seen {
                                stamp,
                                sockets,
                                reuses: 0,
                            },
                        ));
                    }
                }
                Inspected::Gone => {}
                Inspected::Denied => part.uninspectable += 1,
                Inspected::Failed(errno) => part.failed.push((pid, errno)),
            }
        }
        if sockets.is_empty() {
            continue;
        }
        match shared.wanted.get() {
            Some(wanted) => keep_owned(pid, &sockets, wanted, &mut part, &mut scratch),
            None => {
                let start = early.len();
                early.extend_from_slice(&sockets);
                pending.push((pid, start..early.len()));
            }
        }
    }
    if !pending.is_empty() {
        let wanted = shared.wanted.wait();
        for (pid, range) in pending {
            let sockets = early.get(range).unwrap_or_default();
            keep_owned(pid, sockets, wanted, &mut part, &mut scratch);
        }
    }
    part
}

/// Records `pid` as an owner of each of its `sockets` that is `wanted`, and, if it owns
/// any, describes it right away, on this thread, while its `/proc` entries are hot.
fn keep_owned(pid: u32, sockets: &[u32], wanted: &HashSet<u32>, part: &mut WalkPart, scratch: &mut OwnerScratch) {
    let before = part.pairs.len();
    part.pairs.extend(
        sockets
            .iter()
            .filter(|inode| wanted.contains(inode))
            .map(|&inode| (inode, pid)),
    );
    if part.pairs.len() > before {
        let started = Instant::now();
        match procfs::describe_owner(pid, scratch, &mut part.failed) {
            Ok(owner) => part.details.extend(owner),
            Err(errno) => part.failed.push((pid, errno)),
        }
        part.details_time += started.elapsed();
    }
}

/// What reading one process's descriptors came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Inspected {
    /// Its descriptors were read (there may be none).
    Read,
    /// It exited, or is a zombie whose threads have all exited: it holds no descriptor.
    Gone,
    /// Its descriptors are hidden from portghost for lack of privilege.
    Denied,
    /// Reading them failed for another reason (`EMFILE`, `ENFILE`, `ENOMEM`, …): what the
    /// process holds is unknown, and it must not be taken for gone.
    Failed(Errno),
}

/// Reads every descriptor link of `pid`, pushing the inode of each socket onto `sockets`.
/// `dirents` is scratch space for the directory listing, reused from process to process.
///
/// A process whose thread-group leader has exited (a zombie leader, `pthread_exit` in
/// `main`) shows an empty or refused `/proc/PID/fd` while its other threads still hold
/// the descriptor table: then the table is read through a live thread,
/// `/proc/PID/task/TID/fd`. A refusal from a process that is exiting or a zombie is not
/// a lack of privilege: it holds nothing.
fn scan_process(pid: u32, path: &mut PathBuf, dirents: &mut [MaybeUninit<u8>], sockets: &mut Vec<u32>) -> Inspected {
    set_proc_path(path, pid, "fd");
    match read_fd_dir(path, dirents, sockets) {
        // No descriptor at all: a kernel thread, or a leader that exited before its
        // threads. Only the latter has other threads, which `/proc/PID/task`'s link count
        // tells with one `stat` (2 + the number of threads).
        Ok(0) if has_other_threads(pid, path) => scan_tasks(pid, path, dirents, sockets),
        Ok(_) => Inspected::Read,
        Err(errno) if is_gone_errno(errno) => Inspected::Gone,
        Err(errno) if is_denied_errno(errno) => match procfs::process_state(pid) {
            Err(errno) if is_gone_errno(errno) => Inspected::Gone,
            // A zombie or dying process: its descriptors are gone with it, unless the
            // zombie is a thread-group leader whose other threads still run.
            Ok(b'Z' | b'X' | b'x') => match scan_tasks(pid, path, dirents, sockets) {
                Inspected::Denied if !procfs::process_exists(pid) => Inspected::Gone,
                other => other,
            },
            // It may have exited between the refusal and now.
            _ if !procfs::process_exists(pid) => Inspected::Gone,
            _ => Inspected::Denied,
        },
        Err(errno) => Inspected::Failed(errno),
    }
}

/// Lists the descriptor directory at `path`, pushing the inode of each socket onto
/// `sockets`; returns how many descriptors it has.
///
/// # Errors
/// The errno of opening or listing the directory, or of reading a link when it is not
/// `ENOENT` (a descriptor closed meanwhile).
fn read_fd_dir(path: &Path, dirents: &mut [MaybeUninit<u8>], sockets: &mut Vec<u32>) -> Result<usize, Errno> {
    // Open the directory once, list it with raw getdents64 into the reused buffer, and read
    // each link relative to it: the kernel then resolves only the descriptor's name, not
    // /proc/PID/fd again for every descriptor. Three syscalls per process besides the links.
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(rustix::fs::CWD, path, flags, Mode::empty())?;
    let mut entries = RawDir::new(&dir, dirents);
    // `socket:[4294967295]` is 19 bytes; anything that fills the buffer is not a socket.
    let mut target = [0_u8; 64];
    let mut count = 0;
    while let Some(entry) = entries.next() {
        let entry = match entry {
            Ok(entry) => entry,
            // The process is exiting: keep what was read.
            Err(errno) if is_gone_errno(errno) => break,
            Err(errno) => return Err(errno),
        };
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        count += 1;
        match rustix::fs::readlinkat_raw(&dir, name, &mut target[..]) {
            Ok(len) if len < target.len() => {
                sockets.extend(target.get(..len).and_then(socket_inode));
            }
            Ok(_) => {}
            Err(errno) if is_gone_errno(errno) => {}
            // Every other descriptor of this process will be refused too.
            Err(errno) => return Err(errno),
        }
    }
    Ok(count)
}

/// Whether `pid` has threads besides its leader: the link count of `/proc/PID/task` is 2
/// plus the number of threads. Uses `path` as scratch.
fn has_other_threads(pid: u32, path: &mut PathBuf) -> bool {
    set_proc_path(path, pid, "task");
    rustix::fs::statat(rustix::fs::CWD, path.as_path(), AtFlags::empty()).is_ok_and(|stat| stat.st_nlink > 3)
}

/// Reads the descriptor table of `pid` through the first of its threads other than the
/// leader that can be read (`/proc/PID/task/TID/fd`; threads share one table).
fn scan_tasks(pid: u32, path: &mut PathBuf, dirents: &mut [MaybeUninit<u8>], sockets: &mut Vec<u32>) -> Inspected {
    set_proc_path(path, pid, "task");
    let tids: Vec<u32> = match std::fs::read_dir(&*path) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter_map(|e| parse_pid(e.file_name().as_bytes()))
            .filter(|&tid| tid != pid)
            .collect(),
        Err(error) => {
            return match error.raw_os_error().map(Errno::from_raw_os_error) {
                Some(errno) if is_gone_errno(errno) => Inspected::Gone,
                Some(errno) if is_denied_errno(errno) => Inspected::Denied,
                Some(errno) => Inspected::Failed(errno),
                None => Inspected::Failed(Errno::IO),
            };
        }
    };
    // Every other thread exited too: nothing holds the table.
    let mut outcome = Inspected::Gone;
    for tid in tids {
        set_task_fd_path(path, pid, tid);
        let before = sockets.len();
        match read_fd_dir(path, dirents, sockets) {
            Ok(_) => return Inspected::Read,
            Err(errno) if is_gone_errno(errno) => sockets.truncate(before),
            Err(errno) if is_denied_errno(errno) => {
                sockets.truncate(before);
                outcome = Inspected::Denied;
            }
            Err(errno) => {
                sockets.truncate(before);
                return Inspected::Failed(errno);
            }
        }
    }
    outcome
}

/// Sets `path` to `/proc/PID/task/TID/fd`.
fn set_task_fd_path(path: &mut PathBuf, pid: u32, tid: u32) {
    let buf = path.as_mut_os_string();
    buf.clear();
    // Writing to an OsString cannot fail.
    let _ = write!(buf, "/proc/{pid}/task/{tid}/fd");
}

/// True for "not allowed" (EACCES, EPERM).
fn is_denied_errno(errno: Errno) -> bool {
    errno == Errno::ACCESS || errno == Errno::PERM
}

/// True for "the process (or descriptor) is gone" (ENOENT, ESRCH): the only errors that
/// mean so. Anything else (`EMFILE`, `ENOMEM`, …) is a failure of the scan.
fn is_gone_errno(errno: Errno) -> bool {
    errno == Errno::NOENT || errno == Errno::SRCH
}

/// Joins the per-thread results into one [`Walk`].
fn merge_parts(parts: Vec<WalkPart>) -> Walk {
    let mut walk = Walk::default();
    for part in parts {
        walk.owners.extend(part.pairs);
        walk.details.extend(part.details);
        walk.uninspectable += part.uninspectable;
        walk.failed.extend(part.failed);
        walk.details_time += part.details_time;
        walk.reused += part.reused;
        walk.seen.extend(part.seen);
    }
    walk.owners.sort_unstable();
    walk.owners.dedup();
    walk.failed.sort_unstable_by_key(|&(pid, _)| pid);
    walk
}

impl Walk {
    /// The PIDs holding socket `inode`, ascending.
    pub fn owners_of(&self, inode: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.owners.partition_point(|&(i, _)| i < inode);
        self.owners
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&(i, _)| i == inode)
            .map(|&(_, pid)| pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_inode_parses_only_socket_links() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"socket:[0]"), Some(0));
        assert_eq!(socket_inode(b"socket:[4294967295]"), Some(u32::MAX));
        assert_eq!(socket_inode(b"socket:[4294967296]"), None);
        assert_eq!(socket_inode(b"socket:[]"), None);
        assert_eq!(socket_inode(b"socket:[12a]"), None);
        assert_eq!(socket_inode(b"socket:[+12]"), None);
        assert_eq!(socket_inode(b"socket:[12"), None);
        assert_eq!(socket_inode(b"pipe:[12]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
        assert_eq!(socket_inode(b""), None);
    }

    #[test]
    fn parse_pid_takes_digits_only() {
        assert_eq!(parse_pid(b"1"), Some(1));
        assert_eq!(parse_pid(b"4194304"), Some(4_194_304));
        assert_eq!(parse_pid(b"self"), None);
        assert_eq!(parse_pid(b"+1"), None);
        assert_eq!(parse_pid(b""), None);
    }

    fn owner(pid: u32) -> Owner {
        Owner {
            pid,
            name: "x".into(),
            exe: None,
            cmdline: None,
            uid: None,
            user: None,
            unit: None,
            user_unit_uid: None,
            exe_deleted: false,
            container: None,
        }
    }

    /// A `sleep` child, killed and reaped on drop.
    struct Sleeper(std::process::Child);

    impl Sleeper {
        fn start() -> Sleeper {
            let child = std::process::Command::new("sleep")
                .arg("60")
                .spawn()
                .expect("spawn sleep");
            let sleeper = Sleeper(child);
            // Asleep in nanosleep once its state is S: it runs no more until signalled.
            sleeper.wait_for_state(b'S');
            sleeper
        }

        fn pid(&self) -> u32 {
            self.0.id()
        }

        fn wait_for_state(&self, state: u8) {
            for _ in 0..500 {
                if procfs::process_state(self.pid()) == Ok(state) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("sleep {} never reached state {}", self.pid(), char::from(state));
        }
    }

    impl Drop for Sleeper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn the_run_stamp_changes_only_when_the_process_runs() {
        let sleeper = Sleeper::start();
        let mut scratch = OwnerScratch::default();
        let stamp = procfs::run_stamp(sleeper.pid(), &mut scratch).expect("a stamp of an idle process");
        assert_eq!(
            procfs::run_stamp(sleeper.pid(), &mut scratch),
            Some(stamp),
            "it did not run"
        );
        // Stopping takes a run of its own: the signal is handled in the process.
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(sleeper.pid().try_into().expect("pid")).expect("pid"),
            rustix::process::Signal::STOP,
        )
        .expect("SIGSTOP");
        sleeper.wait_for_state(b'T');
        let stopped = procfs::run_stamp(sleeper.pid(), &mut scratch).expect("a stamp of a stopped process");
        assert_ne!(stopped, stamp, "it ran to stop");
        let pid = sleeper.pid();
        drop(sleeper);
        assert_eq!(procfs::run_stamp(pid, &mut scratch), None, "gone");
    }

    /// The inode of the socket behind `fd`.
    fn socket_inode_of(fd: &impl std::os::fd::AsFd) -> u32 {
        u32::try_from(rustix::fs::fstat(fd).expect("fstat").st_ino).expect("a 32-bit inode")
    }

    #[test]
    fn a_cached_walk_finds_the_same_owners_and_reads_again_what_ran() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let inode = socket_inode_of(&listener);
        let sleeper = Sleeper::start();
        let me = std::process::id();
        let mut cache = WalkCache::default();
        let walk = |cache: &mut WalkCache| {
            let (_, walk) = walk_processes(|| Ok::<(), ()>(()), |_| HashSet::from([inode]), Some(cache));
            walk.expect("walk")
        };
        let first = walk(&mut cache);
        assert_eq!(first.owners_of(inode).collect::<Vec<_>>(), [me]);
        assert_eq!(
            cache.seen.get(&sleeper.pid()).map(|s| s.reuses),
            Some(0),
            "read and kept"
        );
        let second = walk(&mut cache);
        assert_eq!(
            second.owners_of(inode).collect::<Vec<_>>(),
            [me],
            "this process runs: read again"
        );
        assert!(second.reused >= 1, "{second:?}");
        assert_eq!(
            cache.seen.get(&sleeper.pid()).map(|s| s.reuses),
            Some(1),
            "idle: reused"
        );
        // A listener opened since: this process ran, so it is found.
        let other = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let other_inode = socket_inode_of(&other);
        let (_, third) = walk_processes(
            || Ok::<(), ()>(()),
            |_| HashSet::from([inode, other_inode]),
            Some(&mut cache),
        );
        let third = third.expect("walk");
        assert_eq!(third.owners_of(other_inode).collect::<Vec<_>>(), [me]);
        rustix::process::kill_process(
            rustix::process::Pid::from_raw(sleeper.pid().try_into().expect("pid")).expect("pid"),
            rustix::process::Signal::STOP,
        )
        .expect("SIGSTOP");
        sleeper.wait_for_state(b'T');
        walk(&mut cache);
        assert_eq!(
            cache.seen.get(&sleeper.pid()).map(|s| s.reuses),
            Some(0),
            "it ran: read again"
        );
        // However idle, no entry is reused more than MAX_REUSES times in a row.
        let reuses: Vec<Option<u8>> = (0..=MAX_REUSES)
            .map(|_| {
                walk(&mut cache);
                cache.seen.get(&sleeper.pid()).map(|s| s.reuses)
            })
            .collect();
        let expected: Vec<Option<u8>> = (1..=MAX_REUSES).chain([0]).map(Some).collect();
        assert_eq!(reuses, expected);
        let pid = sleeper.pid();
        drop(sleeper);
        walk(&mut cache);
        assert!(!cache.seen.contains_key(&pid), "gone: dropped from the cache");
    }

    #[test]
    fn merge_sorts_and_dedups_owners() {
        let a = WalkPart {
            pairs: vec![(7, 30), (7, 10), (8, 10)],
            details: vec![owner(10)],
            uninspectable: 1,
            failed: vec![(9, Errno::MFILE)],
            details_time: Duration::from_millis(2),
            ..WalkPart::default()
        };
        let b = WalkPart {
            pairs: vec![(7, 20), (7, 10)],
            details: vec![owner(20)],
            uninspectable: 2,
            failed: Vec::new(),
            details_time: Duration::from_millis(3),
            ..WalkPart::default()
        };
        let walk = merge_parts(vec![a, b]);
        assert_eq!(walk.owners_of(7).collect::<Vec<_>>(), [10, 20, 30]);
        assert_eq!(walk.owners_of(8).collect::<Vec<_>>(), [10]);
        assert_eq!(walk.owners_of(9).count(), 0);
        assert_eq!(walk.uninspectable, 3);
        assert_eq!(walk.details.len(), 2);
        assert_eq!(walk.details_time, Duration::from_millis(5));
    }
}
