//! Linux inventory: the `NETLINK_SOCK_DIAG` socket dump, the `/proc/*/fd` owner walk and
//! the details of the owning processes.
//!
//! Owns every Linux-specific read behind [`super::scan`]: the kernel-filtered socket dump
//! of [`super::sockdiag`] in each network namespace asked for (entered through
//! [`super::netns`]); one parallel walk of every process's file descriptors, started with
//! the dump and run beside it, that keeps only the dumped inodes of every namespace (the
//! socket inodes of a process walked before the dump ends are held until it does); and
//! `/proc/PID/{comm,status,cmdline,exe,cgroup}` for the owning
//! PIDs only, with user names from the system's user database (NSS), once per UID. Where
//! portghost itself runs and whether `/proc` hides processes come from [`super::view`].
//!
//! It must not: use `netstat2`, refresh every process (`System::new_all()`), walk `/proc`
//! more than once per scan for owners, read `/proc/*/ns/net` unless other namespaces are
//! asked for, judge or filter what it finds, print anything, or fail because of one
//! process (a process that exits or hides its descriptors mid-scan is skipped, never an
//! error).

use super::netns::{self, Entered};
use super::sockdiag::{RawSocket, dump_sockets};
use super::view::{self, ProcHiding};
use super::{NetnsScope, ScanOptions, ScanTimings, cgroup, parallelism};
use crate::model::{Container, Inventory, Listener, Netns, Owner, OwnerStatus};
use anyhow::{Context, bail};
use rustix::fs::{Mode, OFlags, RawDir};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io;
use std::mem::MaybeUninit;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use sysinfo::System;

/// `CAP_DAC_READ_SEARCH` and `CAP_SYS_PTRACE`: together they let a non-root process read
/// every other process's file descriptors.
const OWNER_CAPS: u64 = (1 << 2) | (1 << 19);

/// `CAP_SYS_ADMIN`: needed to enter another network namespace with `setns`.
const CAP_SYS_ADMIN: u64 = 1 << 21;

/// Most processes of one namespace whose cgroup is read to find its container.
const MAX_CGROUPS_PER_NETNS: usize = 8;

/// Enumerates the listeners of the network namespaces `opts` selects and their owners.
///
/// # Errors
/// Fails when a socket table cannot be dumped, when a namespace other than portghost's
/// own is asked for without `CAP_SYS_ADMIN`, or when `--netns` names no namespace.
pub(super) fn scan(opts: &ScanOptions) -> anyhow::Result<(Inventory, ScanTimings)> {
    let mut timings = ScanTimings::default();
    let status = std::fs::read_to_string("/proc/self/status").ok();
    let host_pid_namespace = in_host_pid_namespace();
    let mut warnings = Vec::new();
    let privileged = match &status {
        Some(status) => privileged_from_status(status),
        // Without /proc only the effective UID can be known.
        None => rustix::process::geteuid().is_root(),
    };
    let hiding = if opts.owners && !privileged {
        view::hiding_from_me()
    } else {
        None
    };

    let dump = |warnings: &mut Vec<String>, timings: &mut ScanTimings| {
        let started = Instant::now();
        let own = OwnNetns::read(host_pid_namespace);
        let placement = view::placement(host_pid_namespace, own.as_ref().map(|o| o.host));
        let dumped = dump_namespaces(opts, status.as_deref(), host_pid_namespace, own, &placement, warnings);
        timings.dump = started.elapsed();
        dumped.map(|dumped| (dumped, placement))
    };
    let started = Instant::now();
    let (dumped, placement, mut lookup) = if opts.owners {
        // The walk starts now and the dump runs alongside it: both are mostly kernel time.
        let (dumped, lookup) = walk_processes(
            || dump(&mut warnings, &mut timings),
            |(dumped, _)| dumped.sockets.iter().map(|s| s.inode).collect(),
        );
        let (dumped, placement) = dumped?;
        (
            dumped,
            placement,
            lookup.map_or_else(Lookup::Unavailable, |mut walk| {
                walk.hiding = hiding;
                Lookup::Walked(walk)
            }),
        )
    } else {
        let (dumped, placement) = dump(&mut warnings, &mut timings)?;
        (dumped, placement, Lookup::Skipped)
    };
    let details = match &mut lookup {
        Lookup::Walked(walk) => {
            timings.owners = walk.details_time;
            timings.walk = started.elapsed();
            name_owners(std::mem::take(&mut walk.details))
        }
        Lookup::Skipped | Lookup::Unavailable(_) => HashMap::new(),
    };

    let listeners: Vec<_> = dumped
        .sockets
        .into_iter()
        .map(|socket| to_listener(socket, &lookup, &details))
        .collect();
    let hidden = listeners
        .iter()
        .filter(|l| l.owner_status == OwnerStatus::Permission)
        .count();
    warnings.extend(lookup.warnings(hidden));
    let inventory = Inventory {
        host: host_name(),
        scanned_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        listeners,
        privileged,
        host_pid_namespace,
        warnings,
        view: placement.view,
        namespaces: dumped.namespaces,
    };
    Ok((inventory, timings))
}

// ---------------------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------------------

/// The sockets of every namespace scanned, each tagged with its namespace.
#[derive(Debug, Default)]
struct Dumped {
    /// Every socket.
    sockets: Vec<RawSocket>,
    /// The namespaces scanned, known ones only.
    namespaces: Vec<Arc<Netns>>,
}

impl Dumped {
    /// Adds the sockets of one namespace.
    fn add(&mut self, netns: Option<Arc<Netns>>, mut sockets: Vec<RawSocket>) {
        for socket in &mut sockets {
            socket.netns.clone_from(&netns);
        }
        self.sockets.append(&mut sockets);
        self.namespaces.extend(netns);
    }
}

/// Dumps the sockets of the namespaces `opts.netns` selects.
fn dump_namespaces(
    opts: &ScanOptions,
    status: Option<&str>,
    host_pid_namespace: Option<bool>,
    own: Option<OwnNetns>,
    placement: &view::Placement,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Dumped> {
    let mut dumped = Dumped::default();
    match &opts.netns {
        NetnsScope::Own => {
            let sockets = dump_sockets(opts.tcp, opts.udp)?;
            dumped.add(own.map(|own| own.describe(placement)), sockets);
        }
        NetnsScope::All => {
            require_sys_admin(status, "--all-netns")?;
            let own = own
                .context("--all-netns needs /proc: /proc/self/ns/net cannot be read")?
                .file;
            let pids = list_pids().context("listing the processes in /proc")?;
            let every = netns::every(own.dev, &pids);
            warnings.extend(every.warning());
            let found = every.found;
            let host = netns::HostNetns::read(host_pid_namespace);
            let targets: Vec<netns::Target> = found.iter().map(|f| netns::Target::of(f, own.dev)).collect();
            let results = netns::run_inside(&targets, || dump_sockets(opts.tcp, opts.udp))
                .context("entering network namespaces")?;
            for ((found, target), result) in found.iter().zip(&targets).zip(results) {
                let inode = found.inode;
                match result {
                    Entered::Ran(sockets) => {
                        let sockets = sockets.with_context(|| format!("in network namespace {inode}"))?;
                        let is_host = host.is_host(inode);
                        let container = if is_host { None } else { netns_container(&found.pids) };
                        let netns = Netns {
                            inode,
                            name: found.names.first().cloned(),
                            container,
                            host: is_host,
                        };
                        dumped.add(Some(Arc::new(netns)), sockets);
                    }
                    Entered::Vanished => warnings.push(format!(
                        "network namespace {inode} disappeared during the scan, so its sockets are not listed"
                    )),
                    Entered::Refused(error) => {
                        return Err(error).with_context(|| entering(inode, &target.files));
                    }
                }
            }
        }
        NetnsScope::One(arg) => {
            let own = own
                .context("--netns needs /proc: /proc/self/ns/net cannot be read")?
                .file;
            let target = netns::resolve(arg, own.dev).map_err(anyhow::Error::msg)?;
            let inode = target.ns.inode;
            let sockets = if target.ns == own {
                dump_sockets(opts.tcp, opts.udp)?
            } else {
                require_sys_admin(status, "--netns")?;
                let mut results = netns::run_inside(std::slice::from_ref(&target), || dump_sockets(opts.tcp, opts.udp))
                    .context("entering the network namespace")?;
                match results.pop() {
                    Some(Entered::Ran(sockets)) => sockets.with_context(|| format!("in network namespace {inode}"))?,
                    Some(Entered::Refused(error)) if error.raw_os_error() == Some(libc::EINVAL) => {
                        bail!("{arg:?} is not a network namespace (the kernel refused to enter it as one)")
                    }
                    Some(Entered::Refused(error)) => return Err(error).with_context(|| entering(inode, &target.files)),
                    Some(Entered::Vanished) | None => bail!("network namespace {inode} disappeared during the scan"),
                }
            };
            let is_host = netns::HostNetns::for_inode(inode, host_pid_namespace).is_host(inode);
            let container = if is_host {
                None
            } else {
                let pids = list_pids().unwrap_or_default();
                netns::every(own.dev, &pids)
                    .found
                    .iter()
                    .find(|f| f.inode == inode)
                    .and_then(|f| netns_container(&f.pids))
            };
            let netns = Netns {
                inode,
                name: netns::names(own.dev)
                    .remove(&inode)
                    .and_then(|names| names.into_iter().next()),
                container,
                host: is_host,
            };
            dumped.add(Some(Arc::new(netns)), sockets);
        }
    }
    Ok(dumped)
}

/// The context of a failure to enter namespace `inode` through `files`.
fn entering(inode: u64, files: &[PathBuf]) -> String {
    match files.first() {
        Some(file) => format!("entering network namespace {inode} ({})", file.display()),
        None => format!("entering network namespace {inode}"),
    }
}

/// Fails with a message saying root is needed unless this process has `CAP_SYS_ADMIN`.
fn require_sys_admin(status: Option<&str>, flag: &str) -> anyhow::Result<()> {
    let Some(status) = status else {
        bail!("{flag} needs /proc: /proc/self/status cannot be read");
    };
    if cap_eff(status) & CAP_SYS_ADMIN == CAP_SYS_ADMIN {
        return Ok(());
    }
    bail!(
        "{flag} needs root: entering another network namespace takes CAP_SYS_ADMIN \
         (run it as root, e.g. sudo portghost scan {flag} ...)"
    )
}

/// The network namespace portghost runs in.
#[derive(Debug, Clone, Copy)]
struct OwnNetns {
    /// Its namespace file.
    file: netns::NsFile,
    /// Whether it is the host's initial network namespace.
    host: bool,
}

impl OwnNetns {
    /// `None` without `/proc`.
    fn read(host_pid_namespace: Option<bool>) -> Option<OwnNetns> {
        let file = netns::own()?;
        let host = netns::HostNetns::for_inode(file.inode, host_pid_namespace).is_host(file.inode);
        Some(OwnNetns { file, host })
    }

    /// The namespace with its `/run/netns` name and, when it is not the host's, the
    /// container portghost's own cgroup names.
    fn describe(self, placement: &view::Placement) -> Arc<Netns> {
        let inode = self.file.inode;
        Arc::new(Netns {
            inode,
            name: netns::names(self.file.dev)
                .remove(&inode)
                .and_then(|names| names.into_iter().next()),
            container: if self.host { None } else { placement.container.clone() },
            host: self.host,
        })
    }
}

/// The container of the first of `pids` (up to [`MAX_CGROUPS_PER_NETNS`]) whose cgroup
/// names one.
fn netns_container(pids: &[u32]) -> Option<Container> {
    let mut scratch = OwnerScratch::default();
    pids.iter().take(MAX_CGROUPS_PER_NETNS).find_map(|&pid| {
        if !read_proc_file(pid, "cgroup", &mut scratch) {
            return None;
        }
        cgroup::attribute(&String::from_utf8_lossy(&scratch.buf)).container
    })
}

// ---------------------------------------------------------------------------------------
// Owner walk (/proc/PID/fd)
// ---------------------------------------------------------------------------------------

/// How the owners of the dumped sockets were looked up.
enum Lookup {
    /// Owners were not asked for (`--no-owners`).
    Skipped,
    /// `/proc` could not be read.
    Unavailable(io::Error),
    /// The walk ran.
    Walked(Walk),
}

impl Lookup {
    /// The warnings this lookup adds to the inventory, given how many listeners ended up
    /// with hidden owners. Processes that could not be inspected matter only when some
    /// listener has no visible owner.
    fn warnings(&self, hidden: usize) -> Vec<String> {
        match self {
            Lookup::Skipped => Vec::new(),
            Lookup::Unavailable(error) => vec![format!(
                "the process table (/proc) could not be read ({error}), so no socket owner was looked up; \
                 mount procfs on /proc (mount -t proc proc /proc) to see them"
            )],
            Lookup::Walked(walk) => {
                let mut warnings: Vec<String> = walk.hiding.iter().map(ProcHiding::warning).collect();
                if walk.uninspectable > 0 && hidden > 0 {
                    warnings.push(uninspectable_warning(walk.uninspectable, hidden));
                }
                warnings
            }
        }
    }
}

/// The warning for `count` (at least 1) processes whose descriptors were hidden, which
/// left `hidden` listeners without a visible owner.
fn uninspectable_warning(count: usize, hidden: usize) -> String {
    let noun = if count == 1 { "process" } else { "processes" };
    let listeners = if hidden == 1 { "listener has" } else { "listeners have" };
    format!("{count} {noun} could not be inspected without more privilege, so {hidden} {listeners} no visible owner")
}

/// What the walk of every process's descriptors found.
#[derive(Debug, Default)]
struct Walk {
    /// (inode, PID) for every descriptor that is a wanted socket, sorted and
    /// deduplicated: the owners of one inode are adjacent.
    owners: Vec<(u32, u32)>,
    /// The details of each owning PID, read by the walk thread that found it.
    details: Vec<Owner>,
    /// Processes whose descriptors could not be read for lack of privilege.
    uninspectable: usize,
    /// Time the walk threads spent reading owner details, added over the threads.
    details_time: Duration,
    /// How the `/proc` mount hides other users' processes from this one (`hidepid`): the
    /// walk did not even see them.
    hiding: Option<ProcHiding>,
}

/// Walks every process's descriptors once, on [`walk_helpers`] threads, while this thread
/// runs `dump`; `wanted` turns the dump's result into the socket inodes whose
/// owners are wanted. This thread joins the walk once the dump is done; the walk threads
/// keep every socket inode they meet until the wanted ones are known, then only those.
///
/// Returns the dump's result and the walk, which fails only when `/proc` itself cannot be
/// listed.
fn walk_processes<D>(
    dump: impl FnOnce() -> anyhow::Result<D>,
    wanted: impl FnOnce(&D) -> HashSet<u32>,
) -> (anyhow::Result<D>, io::Result<Walk>) {
    let pids = match list_pids() {
        Ok(pids) => pids,
        Err(error) => return (dump(), Err(error)),
    };
    let shared = WalkShared {
        pids,
        next: AtomicUsize::new(0),
        wanted: WantedInodes::default(),
    };
    let helpers = walk_helpers(shared.pids.len());
    std::thread::scope(|scope| {
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
    })
}

/// What the walk threads share.
struct WalkShared {
    /// Every process, in `/proc` order.
    pids: Vec<u32>,
    /// Index of the next process to walk: dynamic scheduling.
    next: AtomicUsize,
    /// The dumped socket inodes, once the dump is done.
    wanted: WantedInodes,
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
pub(super) fn cpus() -> usize {
    rustix::thread::sched_getaffinity(None).map_or(1, |cpus| cpus.count() as usize)
}

/// Every numeric entry of `/proc`. An empty list means `/proc` is not procfs.
fn list_pids() -> io::Result<Vec<u32>> {
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

/// Parses a non-empty run of ASCII digits that fits a `u32`.
fn parse_decimal(digits: &[u8]) -> Option<u32> {
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
    /// Time this thread spent reading owner details.
    details_time: Duration,
}

/// Size of each walk thread's directory-entry buffer: one `getdents64` call fills it with
/// about 1,000 descriptor entries.
const DIRENT_BUFFER_LEN: usize = 32 * 1024;

/// Pulls PIDs from the shared index until none is left. The socket inodes of a process
/// walked before the dump was done are kept, and judged once it is.
fn walk_worker(shared: &WalkShared) -> WalkPart {
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
        if scan_process(pid, &mut path, &mut dirents, &mut sockets) {
            part.uninspectable += 1;
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
        part.details.extend(describe_owner(pid, scratch));
        part.details_time += started.elapsed();
    }
}

/// Reads every descriptor link of `pid`, pushing the inode of each socket onto `sockets`.
/// `dirents` is scratch space for the directory listing, reused from process to process.
/// Returns true when some or all descriptors were hidden for lack of privilege.
fn scan_process(pid: u32, path: &mut PathBuf, dirents: &mut [MaybeUninit<u8>], sockets: &mut Vec<u32>) -> bool {
    set_proc_path(path, pid, "fd");
    // Open the directory once, list it with raw getdents64 into the reused buffer, and read
    // each link relative to it: the kernel then resolves only the descriptor's name, not
    // /proc/PID/fd again for every descriptor. Three syscalls per process besides the links.
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = match rustix::fs::openat(rustix::fs::CWD, path.as_path(), flags, Mode::empty()) {
        Ok(dir) => dir,
        Err(errno) => return is_denied_errno(errno),
    };
    let mut entries = RawDir::new(&dir, dirents);
    // `socket:[4294967295]` is 19 bytes; anything that fills the buffer is not a socket.
    let mut target = [0_u8; 64];
    while let Some(entry) = entries.next() {
        // An error mid-listing means the process is exiting: keep what was read.
        let Ok(entry) = entry else { break };
        let name = entry.file_name();
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        match rustix::fs::readlinkat_raw(&dir, name, &mut target[..]) {
            Ok(len) if len < target.len() => {
                sockets.extend(target.get(..len).and_then(socket_inode));
            }
            Ok(_) => {}
            // Every other descriptor of this process will be refused too.
            Err(errno) if is_denied_errno(errno) => return true,
            Err(_) => {}
        }
    }
    false
}

/// True for "not allowed" (EACCES, EPERM); false for a process that is gone (ENOENT,
/// ESRCH) or anything else.
fn is_denied_errno(errno: rustix::io::Errno) -> bool {
    errno == rustix::io::Errno::ACCESS || errno == rustix::io::Errno::PERM
}

/// Sets `path` to `/proc/PID/FILE`, reusing its allocation.
fn set_proc_path(path: &mut PathBuf, pid: u32, file: &str) {
    let buf: &mut OsString = path.as_mut_os_string();
    buf.clear();
    // Writing to an OsString cannot fail.
    let _ = write!(buf, "/proc/{pid}/{file}");
}

/// Joins the per-thread results into one [`Walk`].
fn merge_parts(parts: Vec<WalkPart>) -> Walk {
    let mut walk = Walk::default();
    for part in parts {
        walk.owners.extend(part.pairs);
        walk.details.extend(part.details);
        walk.uninspectable += part.uninspectable;
        walk.details_time += part.details_time;
    }
    walk.owners.sort_unstable();
    walk.owners.dedup();
    walk
}

impl Walk {
    /// The PIDs holding socket `inode`, ascending.
    fn owners_of(&self, inode: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.owners.partition_point(|&(i, _)| i < inode);
        self.owners
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |&&(i, _)| i == inode)
            .map(|&(_, pid)| pid)
    }
}

// ---------------------------------------------------------------------------------------
// Owner details (/proc/PID/{status,cmdline,exe,cgroup}, for the owning PIDs only)
// ---------------------------------------------------------------------------------------

/// Names the owners' users, once per UID, and indexes the owners by PID.
fn name_owners(mut owners: Vec<Owner>) -> HashMap<u32, Arc<Owner>> {
    let mut user_names: HashMap<u32, Option<String>> = HashMap::new();
    for owner in &mut owners {
        if let Some(uid) = owner.uid {
            owner.user = user_names.entry(uid).or_insert_with(|| user_name(uid)).clone();
        }
    }
    owners.into_iter().map(|owner| (owner.pid, Arc::new(owner))).collect()
}

/// Buffers reused from owner to owner by one details thread.
#[derive(Default)]
struct OwnerScratch {
    path: PathBuf,
    buf: Vec<u8>,
}

/// One owner: the name and effective UID from `/proc/PID/status` (the name from
/// `/proc/PID/comm` when `status` had to escape it), the command line from
/// `/proc/PID/cmdline`, the executable from `/proc/PID/exe`, and the unit and container
/// from `/proc/PID/cgroup`. The user name is filled in afterwards, once per UID. `None`
/// when the process is gone.
fn describe_owner(pid: u32, scratch: &mut OwnerScratch) -> Option<Owner> {
    let (status_name, uid) = if read_proc_file(pid, "status", scratch) {
        parse_status(&scratch.buf)
    } else {
        (None, None)
    };
    // `status` escapes a newline or backslash in the name (as `\n`, or octal on older
    // kernels); only `comm` has it exactly.
    let name = match status_name {
        Some(name) if !name.contains('\\') => name,
        _ if read_proc_file(pid, "comm", scratch) => {
            let name = scratch.buf.strip_suffix(b"\n").unwrap_or(&scratch.buf);
            String::from_utf8_lossy(name).into_owned()
        }
        _ => return None,
    };
    let mut owner = Owner {
        pid,
        name,
        exe: None,
        cmdline: None,
        uid,
        user: None,
        unit: None,
        exe_deleted: false,
        container: None,
    };
    if read_proc_file(pid, "cmdline", scratch) {
        owner.cmdline = join_cmdline(&scratch.buf);
    }
    if let Some((exe, deleted)) = read_exe(pid) {
        owner.exe = Some(exe);
        owner.exe_deleted = deleted;
    }
    if read_proc_file(pid, "cgroup", scratch) {
        let attribution = cgroup::attribute(&String::from_utf8_lossy(&scratch.buf));
        owner.unit = attribution.unit;
        owner.container = attribution.container;
    }
    Some(owner)
}

/// Reads `/proc/PID/FILE` into `scratch.buf`; false when it cannot be read (the process
/// exited, or permission).
fn read_proc_file(pid: u32, file: &str, scratch: &mut OwnerScratch) -> bool {
    set_proc_path(&mut scratch.path, pid, file);
    scratch.buf.clear();
    let flags = OFlags::RDONLY | OFlags::CLOEXEC;
    let Ok(fd) = rustix::fs::openat(rustix::fs::CWD, scratch.path.as_path(), flags, Mode::empty()) else {
        return false;
    };
    // Plain reads until end of file: no fstat or seek first, which tell nothing about a
    // /proc file (its size is always 0).
    loop {
        if scratch.buf.capacity() - scratch.buf.len() < 512 {
            scratch.buf.reserve(4096);
        }
        match rustix::io::read(&fd, rustix::buffer::spare_capacity(&mut scratch.buf)) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

/// The `Name:` and the effective UID (second field of `Uid:`) from the text of
/// `/proc/PID/status`.
fn parse_status(status: &[u8]) -> (Option<String>, Option<u32>) {
    let mut name = None;
    let mut uid = None;
    for line in status.split(|&b| b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"Name:") {
            // Exactly one tab separates the key; the name itself may have spaces at its ends.
            let value = rest.strip_prefix(b"\t").unwrap_or(rest);
            name = Some(String::from_utf8_lossy(value).into_owned());
        } else if let Some(rest) = line.strip_prefix(b"Uid:") {
            uid = rest
                .split(|b| b.is_ascii_whitespace())
                .filter(|field| !field.is_empty())
                .nth(1)
                .and_then(parse_decimal);
            break;
        }
    }
    (name, uid)
}

/// The name of user `uid` from the system's user database (NSS: /etc/passwd, LDAP…).
fn user_name(uid: u32) -> Option<String> {
    uzers::get_user_by_uid(uid).map(|user| user.name().to_string_lossy().into_owned())
}

/// The executable of `pid` from `/proc/PID/exe`, and whether the kernel marks it deleted
/// (a trailing ` (deleted)`, which is removed). `None` when unreadable (permission, a
/// kernel thread, or the process exited).
fn read_exe(pid: u32) -> Option<(String, bool)> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let text = link.to_string_lossy();
    match text.strip_suffix(" (deleted)") {
        Some(path) => Some((path.to_owned(), true)),
        None => Some((text.into_owned(), false)),
    }
}

/// Whether this process is in the initial PID namespace (inode 0xEFFFFFFC, fixed by the
/// kernel as `PROC_PID_INIT_INO`), so that the `/proc` walk saw every process of the host.
fn in_host_pid_namespace() -> Option<bool> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(link.as_os_str().as_bytes() == b"pid:[4026531836]")
}

/// The NUL-separated arguments of `/proc/PID/cmdline` joined by single spaces; `None`
/// when there are none (a kernel thread, or a zombie).
fn join_cmdline(raw: &[u8]) -> Option<String> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return None;
    }
    let joined: Vec<u8> = raw.iter().map(|&b| if b == 0 { b' ' } else { b }).collect();
    Some(String::from_utf8_lossy(&joined).into_owned())
}

// ---------------------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------------------

/// One [`Listener`] with its owners and the status that explains them.
fn to_listener(socket: RawSocket, lookup: &Lookup, details: &HashMap<u32, Arc<Owner>>) -> Listener {
    let owners: Vec<Arc<Owner>> = match lookup {
        Lookup::Walked(walk) => walk
            .owners_of(socket.inode)
            .filter_map(|pid| details.get(&pid).cloned())
            .collect(),
        Lookup::Skipped | Lookup::Unavailable(_) => Vec::new(),
    };
    let owner_status = owner_status(!owners.is_empty(), lookup);
    Listener {
        protocol: socket.protocol,
        local_address: socket.address,
        port: socket.port,
        inode: Some(u64::from(socket.inode)),
        uid: Some(socket.uid),
        owners,
        owner_status,
        v6only: socket.v6only,
        netns: socket.netns,
    }
}

/// Why a listener has the owners it has.
fn owner_status(has_owners: bool, lookup: &Lookup) -> OwnerStatus {
    match lookup {
        _ if has_owners => OwnerStatus::Known,
        Lookup::Skipped => OwnerStatus::NotLooked,
        Lookup::Unavailable(_) => OwnerStatus::Unavailable,
        Lookup::Walked(walk) if walk.uninspectable > 0 || walk.hiding.is_some() => OwnerStatus::Permission,
        Lookup::Walked(_) => OwnerStatus::NoProcess,
    }
}

/// The host name, or `unknown`.
fn host_name() -> String {
    System::host_name()
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Effective UID 0, or both `CAP_SYS_PTRACE` and `CAP_DAC_READ_SEARCH` in `CapEff`,
/// judged from the text of `/proc/self/status`.
fn privileged_from_status(status: &str) -> bool {
    let euid = field(status, "Uid:")
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse::<u32>().ok());
    euid == Some(0) || cap_eff(status) & OWNER_CAPS == OWNER_CAPS
}

/// The effective capability set (`CapEff:`) in the text of `/proc/self/status`; 0 when
/// missing.
fn cap_eff(status: &str) -> u64 {
    field(status, "CapEff:")
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .unwrap_or(0)
}

/// The value of the `/proc/PID/status` line that starts with `name`, trimmed.
fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|line| line.strip_prefix(name)).map(str::trim)
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

    #[test]
    fn privilege_from_status() {
        let root = "Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t0000000000000000\n";
        assert!(privileged_from_status(root));
        let setuid_root = "Uid:\t1000\t0\t0\t0\nCapEff:\t0\n";
        assert!(privileged_from_status(setuid_root));
        let user = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n";
        assert!(!privileged_from_status(user));
        let caps = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000080004\n";
        assert!(privileged_from_status(caps));
        let ptrace_only = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000080000\n";
        assert!(!privileged_from_status(ptrace_only));
        assert!(!privileged_from_status(""));
    }

    #[test]
    fn status_rules() {
        let walked = |uninspectable| {
            Lookup::Walked(Walk {
                uninspectable,
                ..Walk::default()
            })
        };
        assert_eq!(owner_status(true, &walked(3)), OwnerStatus::Known);
        assert_eq!(owner_status(false, &walked(3)), OwnerStatus::Permission);
        assert_eq!(owner_status(false, &walked(0)), OwnerStatus::NoProcess);
        assert_eq!(owner_status(false, &Lookup::Skipped), OwnerStatus::NotLooked);
        let unavailable = Lookup::Unavailable(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(owner_status(false, &unavailable), OwnerStatus::Unavailable);
        assert_eq!(unavailable.warnings(0).len(), 1);
        assert!(
            walked(3).warnings(0).is_empty(),
            "no warning when every listener has an owner"
        );
        assert_eq!(walked(3).warnings(2).len(), 1);
    }

    #[test]
    fn warning_counts_processes() {
        assert_eq!(
            uninspectable_warning(3, 2),
            "3 processes could not be inspected without more privilege, so 2 listeners have no visible owner"
        );
        assert!(uninspectable_warning(1, 1).starts_with("1 process could not"));
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
            exe_deleted: false,
            container: None,
        }
    }

    #[test]
    fn merge_sorts_and_dedups_owners() {
        let a = WalkPart {
            pairs: vec![(7, 30), (7, 10), (8, 10)],
            details: vec![owner(10)],
            uninspectable: 1,
            details_time: Duration::from_millis(2),
        };
        let b = WalkPart {
            pairs: vec![(7, 20), (7, 10)],
            details: vec![owner(20)],
            uninspectable: 2,
            details_time: Duration::from_millis(3),
        };
        let walk = merge_parts(vec![a, b]);
        assert_eq!(walk.owners_of(7).collect::<Vec<_>>(), [10, 20, 30]);
        assert_eq!(walk.owners_of(8).collect::<Vec<_>>(), [10]);
        assert_eq!(walk.owners_of(9).count(), 0);
        assert_eq!(walk.uninspectable, 3);
        assert_eq!(walk.details.len(), 2);
        assert_eq!(walk.details_time, Duration::from_millis(5));
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
    fn status_gives_name_and_effective_uid() {
        let status =
            b"Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t812\nUid:\t0\t33\t33\t33\nGid:\t0\t33\t33\t33\n";
        assert_eq!(parse_status(status), (Some("nginx".to_owned()), Some(33)));
        assert_eq!(parse_status(b"Name:\tx\n"), (Some("x".to_owned()), None));
        assert_eq!(parse_status(b"Name:\t x \n"), (Some(" x ".to_owned()), None));
        assert_eq!(parse_status(b"Uid:\tgarbage\n"), (None, None));
    }
}
