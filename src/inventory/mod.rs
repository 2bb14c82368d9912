//! The only seam between portghost and the operating system's socket and process tables.
//!
//! Owns enumeration of listening sockets (TCP in LISTEN, bound unconnected UDP; IPv4 and
//! IPv6; and the portless ones: packet and raw IP sockets), the lookup of every process that holds each one, and the gathering of the
//! evidence a verdict rests on ([`gather_provenance`]). Nothing outside this module
//! may import `netstat2`, `sysinfo` or `netlink-*`, or read `/proc`. It returns plain
//! [`Inventory`] data and makes no judgement about what it finds; a scan that fails says
//! why with a typed [`Error`].

// Pure parsing of cgroup paths: only Linux has cgroups, but its tests run everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub mod cgroup;
mod error;
#[cfg(target_os = "linux")]
mod linux;
// The launchd parser is pure and tested everywhere; only macOS runs `launchctl`.
#[cfg_attr(not(target_os = "macos"), allow(dead_code))]
mod macos;
mod portable;
#[cfg(windows)]
mod windows;

pub use crate::model::InventoryKind;
pub use error::Error;

use crate::model::{Inventory, Protocol, ProvenanceRequest};
use std::time::Duration;

/// Which network namespaces to enumerate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetnsScope {
    /// The namespace portghost runs in (the default; needs no privilege).
    #[default]
    Own,
    /// Every network namespace on the host: those of every process plus those bound under
    /// `/run/netns`. Needs `CAP_SYS_ADMIN` (root).
    All,
    /// One namespace: a name under `/run/netns` (as `ip netns list` shows it), or, when it
    /// contains a `/`, the path of a namespace file such as `/proc/1234/ns/net`. Entering a
    /// namespace other than portghost's own needs `CAP_SYS_ADMIN` (root).
    One(String),
}

/// What to enumerate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// Include TCP listeners.
    pub tcp: bool,
    /// Include bound, unconnected UDP sockets.
    pub udp: bool,
    /// Look up the processes that own each socket. When false every listener gets
    /// [`OwnerStatus::NotLooked`](crate::model::OwnerStatus::NotLooked), which is much cheaper.
    pub owners: bool,
    /// Which network namespaces to enumerate.
    pub netns: NetnsScope,
    /// Only listeners on these ports; empty for every port. Warnings that count
    /// listeners count only these.
    pub ports: Vec<u16>,
    /// Also list portless listeners: packet (`AF_PACKET`) and raw IP sockets, with their
    /// filters (readable as root only) and owners. Only the Linux inventory lists them.
    pub portless: bool,
    /// Which inventory enumerates the sockets: by default the native one of this OS
    /// ([`InventoryKind::native`]). [`InventoryKind::Portable`] works everywhere;
    /// [`InventoryKind::Linux`] only on Linux. The `portghost` binary sets it from
    /// `PORTGHOST_INVENTORY`.
    pub inventory: InventoryKind,
    /// The user's own temporary directories, for the classifier (on Windows the values of
    /// `%TEMP%`, `%TMP%` and `%SystemRoot%\Temp`, which the command line resolves from its
    /// environment; empty elsewhere). The scan copies them into
    /// [`Provenance::temp_dirs`](crate::model::Provenance::temp_dirs) unread.
    pub temp_dirs: Vec<String>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            tcp: true,
            udp: true,
            owners: true,
            netns: NetnsScope::Own,
            ports: Vec::new(),
            portless: true,
            inventory: InventoryKind::native(),
            temp_dirs: Vec::new(),
        }
    }
}

impl ScanOptions {
    /// The test of whether a port is in [`ScanOptions::ports`]: always true when `ports` is
    /// empty, and one bit lookup per socket however many ports were given (`--port 1-65535`
    /// is 65,535 of them).
    pub fn port_filter(&self) -> impl Fn(u16) -> bool + use<> {
        let mut bits = vec![0u64; if self.ports.is_empty() { 0 } else { 1024 }];
        for &p in &self.ports {
            bits[usize::from(p / 64)] |= 1 << (p % 64);
        }
        move |port: u16| bits.is_empty() || bits[usize::from(port / 64)] & (1 << (port % 64)) != 0
    }

    /// Whether `protocol` is wanted.
    pub fn wants(&self, protocol: Protocol) -> bool {
        match protocol {
            Protocol::Tcp => self.tcp,
            Protocol::Udp => self.udp,
        }
    }
}

/// Wall time of each phase of a scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTimings {
    /// Socket dump from the kernel.
    pub dump: Duration,
    /// Walk of every process's file descriptors to find socket owners, including reading
    /// the owners' details (the walk threads describe each owner as they find it). The
    /// walk starts with the dump and runs alongside it, so this includes the dump.
    pub walk: Duration,
    /// Time spent reading name, executable, command line, user and cgroup of the owner
    /// processes, added over the walk threads: part of `walk`, not after it.
    pub owners: Duration,
    /// Processes whose descriptors the walk did not read again because an
    /// [`OwnerCache`] held them and they had not run since (0 without a cache).
    pub reused: usize,
}

/// Most threads a scan uses for its parallel phases: the `/proc` walk, classification and
/// rendering.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub const MAX_THREADS: usize = 4;

/// How many threads portghost's parallel phases use: one per CPU this process may run on,
/// at least 1 and at most [`MAX_THREADS`]. On Linux this is the CPU affinity mask; a CPU
/// quota does not count, since most of a scan is kernel work on behalf of the process.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub fn parallelism() -> usize {
    #[cfg(target_os = "linux")]
    let cpus = linux::cpus();
    #[cfg(not(target_os = "linux"))]
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cpus.clamp(1, MAX_THREADS)
}

/// `cmdline` cut to [`CMDLINE_MAX`](crate::model::CMDLINE_MAX) bytes on a character
/// boundary, with [`CMDLINE_CUT_MARKER`](crate::model::CMDLINE_CUT_MARKER) appended when
/// anything was cut, or when `longer` says the text given is itself only the start of a
/// longer command line.
pub(crate) fn cut_cmdline(mut cmdline: String, longer: bool) -> String {
    use crate::model::{CMDLINE_CUT_MARKER, CMDLINE_MAX};
    if cmdline.len() <= CMDLINE_MAX && !longer {
        return cmdline;
    }
    let mut end = CMDLINE_MAX.min(cmdline.len());
    while !cmdline.is_char_boundary(end) {
        end -= 1;
    }
    cmdline.truncate(end);
    cmdline.push_str(CMDLINE_CUT_MARKER);
    cmdline
}

/// Enumerates the listeners of the network namespaces [`ScanOptions::netns`] selects
/// (by default the one portghost runs in), with their owners, as [`ScanOptions`] asks.
///
/// A socket whose owner cannot be seen is still listed, with an empty owner list and an
/// [`OwnerStatus`](crate::model::OwnerStatus) saying why; a process that exits mid-scan is
/// skipped, not an error. One walk of `/proc` finds the owners in every namespace: socket
/// inodes are unique across the host. A namespace that disappears mid-scan is a warning.
///
/// The listeners come in no particular order; [`Inventory::sort`] puts them in the
/// canonical one, and classification sorts them for a report.
///
/// # Errors
/// Fails when a socket table cannot be read ([`Error::Netlink`], for example when the
/// kernel refuses the `NETLINK_SOCK_DIAG` dump), when `--all-netns` or another namespace's
/// `--netns` lacks `CAP_SYS_ADMIN` ([`Error::NeedsPrivilege`]), when the `--netns` name or
/// path is not a network namespace ([`Error::NamespaceMissing`]), or when namespaces are
/// asked for on an OS or with an inventory without them ([`Error::Unsupported`]), or when
/// the Linux inventory is asked for off Linux ([`Error::InventoryUnavailable`]); see
/// [`Error`] for the rest.
/// Problems with individual processes are never errors.
pub fn scan(opts: &ScanOptions) -> Result<(Inventory, ScanTimings), Error> {
    scan_inner(opts, None)
}

/// What one scan leaves for the next, so that a watch scanning again and again does not
/// redo work whose result cannot have changed. On Linux: the socket inodes each process
/// held at the last owner walk, with a stamp of what the process had run by then
/// (`/proc/PID/task` and the `schedstat` of each of its threads); the next walk reads again the
/// descriptors of every process that ran since (it may have forked, exec'd, opened,
/// closed or received a socket) and of every new process, and reuses the rest, each at
/// most 30 times in a row. Owner details (name, executable, command line, user, unit) are
/// read afresh by every scan. Its size follows the processes alive at the last scan.
/// Elsewhere it holds nothing.
#[derive(Debug, Default)]
pub struct OwnerCache {
    /// The Linux walk's cache.
    #[cfg(target_os = "linux")]
    walk: linux::WalkCache,
}

/// Like [`scan`], reusing and updating `cache` (see [`OwnerCache`]): the same listeners
/// and owners as [`scan`] would find, for less work when most processes did not run since
/// the last scan with this cache.
///
/// # Errors
/// As [`scan`].
pub fn scan_with_cache(opts: &ScanOptions, cache: &mut OwnerCache) -> Result<(Inventory, ScanTimings), Error> {
    scan_inner(opts, Some(cache))
}

/// [`scan`], with or without a cache.
#[cfg_attr(not(target_os = "linux"), allow(unused_variables))]
fn scan_inner(opts: &ScanOptions, cache: Option<&mut OwnerCache>) -> Result<(Inventory, ScanTimings), Error> {
    let scanned = match opts.inventory {
        #[cfg(target_os = "linux")]
        InventoryKind::Linux => linux::scan(opts, cache.map(|c| &mut c.walk)),
        #[cfg(not(target_os = "linux"))]
        InventoryKind::Linux => Err(Error::InventoryUnavailable(InventoryKind::Linux)),
        InventoryKind::Portable => portable::scan(opts),
    };
    scanned.map(|(mut inventory, timings)| {
        inventory.provenance.temp_dirs.clone_from(&opts.temp_dirs);
        #[cfg(any(windows, target_os = "macos"))]
        if opts.owners {
            add_service_names(&mut inventory);
        }
        (inventory, timings)
    })
}

/// Fills [`Owner::unit`](crate::model::Owner::unit) where the OS names the service a
/// process runs as: on Windows the services it hosts (from the service control manager),
/// on macOS its launchd label (best effort, from `launchctl list`). An owner shared by
/// several listeners stays shared.
#[cfg(any(windows, target_os = "macos"))]
fn add_service_names(inventory: &mut Inventory) {
    use crate::model::Owner;
    use std::collections::HashMap;
    use std::sync::Arc;
    if inventory.listeners.iter().all(|l| l.owners.is_empty()) {
        return;
    }
    #[cfg(windows)]
    let label = {
        let services = windows::services_by_pid();
        move |pid: u32| windows::service_label(&services, pid)
    };
    #[cfg(target_os = "macos")]
    let label = {
        let labels = macos::launchd_labels();
        move |pid: u32| labels.get(&pid).cloned()
    };
    let mut described: HashMap<u32, Arc<Owner>> = HashMap::new();
    for owner in inventory.listeners.iter_mut().flat_map(|l| l.owners.iter_mut()) {
        if owner.unit.is_some() {
            continue;
        }
        let done = described.entry(owner.pid).or_insert_with(|| match label(owner.pid) {
            Some(unit) => {
                let mut named = Owner::clone(owner);
                named.unit = Some(unit);
                Arc::new(named)
            }
            None => Arc::clone(owner),
        });
        *owner = Arc::clone(done);
    }
}

/// Gathers what `request` names into `inventory.provenance`: for each owner PID, its
/// executable (`/proc/PID/exe`) and, for an interpreter (java, python, node, perl, ruby,
/// php), the jar or script its command line runs, each with the installed package that
/// contains it (the dpkg database `/var/lib/dpkg/info/*.list`, read once and only when a
/// path needs it; else one `rpm -qf` call where an rpm database exists) and whether it and
/// every directory above it belong to root and are writable by no one else; for each
/// network namespace, its ephemeral port range (`net.ipv4.ip_local_port_range`) and the
/// ports its `rpcbind` registered (`PMAPPROC_DUMP` over TCP to `127.0.0.1:111`, at most
/// 100 ms to connect and 300 ms to answer), both read from inside that namespace.
///
/// Call it after [`scan`] (and after filtering the listeners) with the request
/// [`Registry::provenance_request`](crate::Registry::provenance_request) makes; skip it
/// when the request is empty. Entering another namespace needs `CAP_SYS_ADMIN`.
///
/// Never fails: what could not be read is one sentence in
/// [`Provenance::notes`](crate::model::Provenance::notes); a namespace with no `rpcbind`
/// simply has no registrations. On operating systems other than Linux nothing is
/// gathered and a note says so.
pub fn gather_provenance(inventory: &mut Inventory, request: &ProvenanceRequest) {
    if request.is_empty() {
        return;
    }
    #[cfg(target_os = "linux")]
    linux::gather_provenance(inventory, request);
    #[cfg(not(target_os = "linux"))]
    inventory
        .provenance
        .notes
        .push("evidence about owners and namespaces is gathered on Linux only".to_owned());
}
