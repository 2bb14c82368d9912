//! Linux inventory: orchestration of one scan. It learns portghost's own privileges,
//! dumps the sockets of each network namespace asked for while the owner walk runs beside
//! the dump, and joins the two into an [`Inventory`].
//!
//! Owns the order of the phases and their timings, which namespaces are dumped (portghost's
//! own, one named by `--netns`, or every one for `--all-netns`) and how each is described,
//! turning failures into [`Error`]s, and the join of sockets with owners (each listener's
//! [`OwnerStatus`] and the warnings about owners that could not be seen). The work itself
//! is in its submodules: [`dump`] (the `NETLINK_SOCK_DIAG` dump of one namespace),
//! [`portless`] (its packet and raw sockets, whose inodes join the walk's wanted set), [`walk`]
//! (the one parallel `/proc/*/fd` walk), [`procfs`] (the owners' and portghost's own
//! `/proc` files), [`netns`] (finding and entering namespaces), [`view`] (where
//! portghost runs and whether `/proc` hides processes) and [`provenance`] (the evidence
//! gathered after a scan for the listeners a verdict needs it for).
//!
//! It must not: read `/proc` or netlink itself (only through those submodules), use
//! `netstat2`, refresh every process (`System::new_all()`), walk `/proc` more than once per
//! scan for owners, read `/proc/*/ns/net` unless other namespaces are asked for, judge or
//! filter what it finds, print anything, or fail because of one process (a process that
//! exits or hides its descriptors mid-scan is skipped, never an error).

mod dump;
mod netns;
mod portless;
mod procfs;
mod provenance;
mod view;
mod walk;

use super::{Error, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{
    Container, FilterStatus, Inventory, InventoryKind, Listener, Netns, Owner, OwnerStatus, PortlessListener,
};
use dump::{DumpError, RawSocket, dump_sockets};
use netns::Entered;
use portless::{RawPortless, dump_portless};
use procfs::{OwnerScratch, Status};
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use view::ProcHiding;
use walk::{Walk, list_pids, walk_processes};

pub(super) use provenance::gather as gather_provenance;
pub(super) use walk::{WalkCache, cpus};

/// Most processes of one namespace whose cgroup is read to find its container.
const MAX_CGROUPS_PER_NETNS: usize = 8;

/// Enumerates the listeners of the network namespaces `opts` selects and their owners.
/// With `cache`, the owner walk reuses what it read last time of the processes that have
/// not run since (see [`walk`]) and leaves what it read now in it.
///
/// # Errors
/// Fails when a socket table cannot be dumped, when a namespace other than portghost's
/// own is asked for without `CAP_SYS_ADMIN`, or when `--netns` names no namespace.
pub(super) fn scan(opts: &ScanOptions, cache: Option<&mut WalkCache>) -> Result<(Inventory, ScanTimings), Error> {
    let mut timings = ScanTimings::default();
    let status = procfs::own_status();
    let host_pid_namespace = procfs::in_host_pid_namespace();
    let mut warnings = Vec::new();
    let privileged = match &status {
        Some(status) => status.privileged(),
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
        let dumped = dump_namespaces(opts, status.as_ref(), host_pid_namespace, own, &placement, warnings);
        timings.dump = started.elapsed();
        dumped.map(|mut dumped| {
            if !opts.ports.is_empty() {
                let wanted = opts.port_filter();
                dumped.sockets.retain(|s| wanted(s.port));
            }
            (dumped, placement)
        })
    };
    let started = Instant::now();
    let (mut dumped, placement, mut lookup) = if opts.owners {
        // The walk starts now and the dump runs alongside it: both are mostly kernel time.
        let (dumped, lookup) = walk_processes(
            || dump(&mut warnings, &mut timings),
            |(dumped, _)| {
                let ports = dumped.sockets.iter().map(|s| s.inode);
                ports.chain(dumped.portless.iter().map(|p| p.inode)).collect()
            },
            cache,
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
            timings.reused = walk.reused;
            timings.walk = started.elapsed();
            procfs::name_owners(std::mem::take(&mut walk.details))
        }
        Lookup::Skipped | Lookup::Unavailable(_) => HashMap::new(),
    };

    // Only then can a socket no process holds be the kernel's.
    let sees_all = privileged && host_pid_namespace == Some(true);
    let listeners: Vec<_> = dumped
        .sockets
        .into_iter()
        .map(|socket| to_listener(socket, &lookup, &details, sees_all))
        .collect();
    let portless: Vec<PortlessListener> = dumped
        .portless
        .into_iter()
        .map(|socket| to_portless(socket, &lookup, &details, sees_all))
        .collect();
    let count = |status| {
        listeners.iter().filter(|l| l.owner_status == status).count()
            + portless.iter().filter(|p| p.owner_status == status).count()
    };
    let unseen = Unseen {
        hidden: count(OwnerStatus::Permission),
        no_process: count(OwnerStatus::NoProcess),
        privileged,
        host_pid_namespace,
    };
    warnings.extend(lookup.warnings(&unseen));
    warnings.append(&mut dumped.notes);
    let hidden_filters = portless
        .iter()
        .filter(|p| p.filter_status == FilterStatus::Hidden)
        .count();
    if hidden_filters > 0 {
        warnings.push(format!(
            "the filters of {hidden_filters} packet socket(s) could not be read: the kernel shows socket filters only \
             to root (CAP_NET_ADMIN), so a magic-packet filter would go unseen"
        ));
    }
    let inventory = Inventory {
        host: procfs::host_name(),
        scanned_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        listeners,
        privileged,
        host_pid_namespace,
        warnings,
        view: placement.view,
        namespaces: dumped.namespaces,
        provenance: Default::default(),
        portless,
        kind: InventoryKind::Linux,
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
    /// Every packet and raw socket.
    portless: Vec<RawPortless>,
    /// What could not be read about portless sockets, one sentence each.
    notes: Vec<String>,
}

/// What one namespace's dump found.
type NsDump = (Vec<RawSocket>, Vec<RawPortless>, Vec<String>);

/// Dumps one namespace, in the caller's: the port listeners `opts` asks for, then, when
/// `opts.portless`, the packet and raw sockets (whose failure is a note, not an error).
fn dump_ns(opts: &ScanOptions) -> Result<NsDump, DumpError> {
    let sockets = dump_sockets(opts.tcp, opts.udp)?;
    let (portless, notes) = if opts.portless {
        dump_portless()
    } else {
        (Vec::new(), Vec::new())
    };
    Ok((sockets, portless, notes))
}

impl Dumped {
    /// Adds the sockets of one namespace.
    fn add(&mut self, netns: Option<Arc<Netns>>, (mut sockets, mut portless, notes): NsDump) {
        for socket in &mut sockets {
            socket.netns.clone_from(&netns);
        }
        for socket in &mut portless {
            socket.netns.clone_from(&netns);
        }
        self.sockets.append(&mut sockets);
        self.portless.append(&mut portless);
        let label = netns.as_ref().map(|n| n.label());
        self.notes.extend(notes.into_iter().map(|n| match &label {
            Some(label) if self.namespaces.len() > 1 || !self.namespaces.is_empty() => format!("netns {label}: {n}"),
            _ => n,
        }));
        self.namespaces.extend(netns);
    }
}

/// Dumps the sockets of the namespaces `opts.netns` selects.
fn dump_namespaces(
    opts: &ScanOptions,
    status: Option<&Status>,
    host_pid_namespace: Option<bool>,
    own: Option<OwnNetns>,
    placement: &view::Placement,
    warnings: &mut Vec<String>,
) -> Result<Dumped, Error> {
    let mut dumped = Dumped::default();
    match &opts.netns {
        NetnsScope::Own => {
            let sockets = dump_ns(opts).map_err(|e| e.into_error(None))?;
            dumped.add(own.map(|own| own.describe(placement)), sockets);
        }
        NetnsScope::All => {
            require_sys_admin(status, "--all-netns")?;
            let own = own.ok_or_else(|| needs_own_netns("--all-netns"))?.file;
            let pids = list_pids().map_err(|source| Error::Io {
                context: "listing the processes in /proc".to_owned(),
                source,
            })?;
            let every = netns::every(own.dev, &pids);
            warnings.extend(every.warning());
            let found = every.found;
            let host = netns::HostNetns::read(host_pid_namespace);
            let targets: Vec<netns::Target> = found.iter().map(|f| netns::Target::of(f, own.dev)).collect();
            let results = netns::run_inside(&targets, || dump_ns(opts)).map_err(|source| Error::Io {
                context: "entering network namespaces".to_owned(),
                source,
            })?;
            for ((found, target), result) in found.iter().zip(&targets).zip(results) {
                let inode = found.inode;
                match result {
                    Entered::Ran(sockets) => {
                        let sockets = sockets.map_err(|e| e.into_error(Some(inode)))?;
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
                    Entered::Refused(source) => return Err(refused(inode, &target.files, source)),
                }
            }
        }
        NetnsScope::One(arg) => {
            let own = own.ok_or_else(|| needs_own_netns("--netns"))?.file;
            let missing = |reason: String| Error::NamespaceMissing {
                name: arg.clone(),
                reason,
            };
            let target = netns::resolve(arg, own.dev).map_err(missing)?;
            let inode = target.ns.inode;
            let sockets = if target.ns == own {
                dump_ns(opts).map_err(|e| e.into_error(None))?
            } else {
                require_sys_admin(status, "--netns")?;
                let mut results =
                    netns::run_inside(std::slice::from_ref(&target), || dump_ns(opts)).map_err(|source| Error::Io {
                        context: "entering the network namespace".to_owned(),
                        source,
                    })?;
                match results.pop() {
                    Some(Entered::Ran(sockets)) => sockets.map_err(|e| e.into_error(Some(inode)))?,
                    Some(Entered::Refused(error)) if error.raw_os_error() == Some(libc::EINVAL) => {
                        return Err(missing(format!(
                            "{arg:?} is not a network namespace (the kernel refused to enter it as one)"
                        )));
                    }
                    Some(Entered::Refused(source)) => return Err(refused(inode, &target.files, source)),
                    Some(Entered::Vanished) | None => {
                        return Err(missing(format!(
                            "network namespace {inode} disappeared during the scan"
                        )));
                    }
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

/// The kernel refused to let portghost enter namespace `inode` through `files`.
fn refused(inode: u64, files: &[PathBuf], source: io::Error) -> Error {
    Error::NamespaceRefused {
        inode,
        path: files.first().cloned(),
        source,
    }
}

/// `flag` needs portghost's own namespace file, which cannot be read.
fn needs_own_netns(flag: &str) -> Error {
    Error::NeedsProc {
        what: flag.to_owned(),
        path: PathBuf::from("/proc/self/ns/net"),
    }
}

/// Fails with [`Error::NeedsPrivilege`] unless this process has `CAP_SYS_ADMIN` (judged
/// from its `status`; [`Error::NeedsProc`] when that could not be read).
fn require_sys_admin(status: Option<&Status>, flag: &str) -> Result<(), Error> {
    let Some(status) = status else {
        return Err(Error::NeedsProc {
            what: flag.to_owned(),
            path: PathBuf::from("/proc/self/status"),
        });
    };
    if status.has_sys_admin() {
        return Ok(());
    }
    Err(Error::NeedsPrivilege { what: flag.to_owned() })
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
    pids.iter()
        .take(MAX_CGROUPS_PER_NETNS)
        .find_map(|&pid| procfs::read_cgroup(pid, &mut scratch)?.container)
}

// ---------------------------------------------------------------------------------------
// Owners
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

/// The listeners of a scan left without a visible owner, and what portghost could see.
#[derive(Debug, Clone, Copy, Default)]
struct Unseen {
    /// Listeners whose owner is hidden for lack of privilege.
    hidden: usize,
    /// Listeners no process visible to portghost holds, that it cannot call the kernel's.
    no_process: usize,
    /// Whether portghost is privileged.
    privileged: bool,
    /// Whether it runs in the host's PID namespace.
    host_pid_namespace: Option<bool>,
}

impl Lookup {
    /// The warnings this lookup adds to the inventory, given the listeners left without a
    /// visible owner. Processes that could not be inspected matter only when some listener
    /// has no visible owner; processes that could not be read for another reason always
    /// do, since a listener may show the wrong owners.
    fn warnings(&self, unseen: &Unseen) -> Vec<String> {
        match self {
            Lookup::Skipped => Vec::new(),
            Lookup::Unavailable(error) if error.kind() == io::ErrorKind::NotFound => vec![format!(
                "the process table (/proc) could not be read ({error}), so no socket owner was looked up; \
                 mount procfs on /proc (mount -t proc proc /proc) to see them"
            )],
            Lookup::Unavailable(error) => vec![format!(
                "the process table (/proc) could not be read ({error}), so no socket owner was looked up"
            )],
            Lookup::Walked(walk) => {
                let mut warnings: Vec<String> = walk.hiding.iter().map(ProcHiding::warning).collect();
                if walk.uninspectable > 0 && unseen.hidden > 0 {
                    warnings.push(uninspectable_warning(
                        walk.uninspectable,
                        unseen.hidden,
                        unseen.privileged,
                    ));
                }
                warnings.extend(failed_warning(&walk.failed));
                if unseen.no_process > 0 {
                    warnings.push(no_process_warning(unseen));
                }
                warnings
            }
        }
    }
}

/// The warning for `count` (at least 1) processes whose descriptors were hidden, which
/// left `hidden` listeners without a visible owner. A privileged portghost is told that
/// privilege is not what it lacks.
fn uninspectable_warning(count: usize, hidden: usize, privileged: bool) -> String {
    let noun = if count == 1 { "process" } else { "processes" };
    let listeners = if hidden == 1 { "listener has" } else { "listeners have" };
    if privileged {
        format!(
            "{count} {noun} refused inspection even to portghost's privileges (a security module, or a process \
             with capabilities portghost lacks), so {hidden} {listeners} no visible owner"
        )
    } else {
        format!(
            "{count} {noun} could not be inspected without more privilege, so {hidden} {listeners} no visible owner"
        )
    }
}

/// The warning for processes whose descriptors or details could not be read for a reason
/// other than "gone" or "permission", naming the errors; `None` when there are none.
fn failed_warning(failed: &[(u32, rustix::io::Errno)]) -> Option<String> {
    let &(first, _) = failed.first()?;
    let mut pids: Vec<u32> = failed.iter().map(|&(pid, _)| pid).collect();
    pids.dedup();
    let mut errors: Vec<String> = Vec::new();
    for &(_, errno) in failed {
        let text = io::Error::from(errno).to_string();
        if !errors.contains(&text) {
            errors.push(text);
        }
    }
    let count = pids.len();
    let noun = if count == 1 { "process" } else { "processes" };
    Some(format!(
        "reading /proc failed for {count} {noun} (first PID {first}): {}; the sockets they hold may be missing \
         owners, so this scan is incomplete",
        errors.join(", ")
    ))
}

/// The warning for listeners that no visible process holds while portghost cannot tell
/// that none holds them: outside the host's PID namespace, or unprivileged.
fn no_process_warning(unseen: &Unseen) -> String {
    let n = unseen.no_process;
    let why = if unseen.host_pid_namespace != Some(true) {
        "portghost runs outside the host's PID namespace, so processes outside its own are not seen"
    } else if !unseen.privileged {
        "without privilege portghost cannot tell a kernel socket from a process it may not see"
    } else {
        "some processes could not be read"
    };
    format!("{n} listener(s) have no owner visible from this PID namespace: {why}")
}

// ---------------------------------------------------------------------------------------
// Assembly
// ---------------------------------------------------------------------------------------

/// One [`Listener`] with its owners and the status that explains them.
fn to_listener(socket: RawSocket, lookup: &Lookup, details: &HashMap<u32, Arc<Owner>>, sees_all: bool) -> Listener {
    let owners: Vec<Arc<Owner>> = match lookup {
        Lookup::Walked(walk) => walk
            .owners_of(socket.inode)
            .filter_map(|pid| details.get(&pid).cloned())
            .collect(),
        Lookup::Skipped | Lookup::Unavailable(_) => Vec::new(),
    };
    let owner_status = owner_status(!owners.is_empty(), lookup, sees_all);
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

/// One [`PortlessListener`] with its owners, found by the same walk as the port listeners'.
fn to_portless(
    socket: RawPortless,
    lookup: &Lookup,
    details: &HashMap<u32, Arc<Owner>>,
    sees_all: bool,
) -> PortlessListener {
    let owners: Vec<Arc<Owner>> = match lookup {
        Lookup::Walked(walk) => walk
            .owners_of(socket.inode)
            .filter_map(|pid| details.get(&pid).cloned())
            .collect(),
        Lookup::Skipped | Lookup::Unavailable(_) => Vec::new(),
    };
    let owner_status = owner_status(!owners.is_empty(), lookup, sees_all);
    PortlessListener {
        kind: socket.kind,
        socket_type: socket.socket_type,
        protocol: socket.protocol,
        local_address: socket.local_address,
        ifindex: socket.ifindex,
        interface: socket.interface,
        memberships: socket.memberships,
        ring: socket.ring,
        fanout: socket.fanout,
        filter_status: socket.filter_status,
        filter: socket.filter,
        inode: u64::from(socket.inode),
        uid: socket.uid,
        owners,
        owner_status,
        netns: socket.netns,
    }
}

/// Why a listener has the owners it has. `sees_all`: portghost is privileged and in the
/// host's PID namespace, so a walk that read every process saw every process on the
/// host, and a socket none of them holds is the kernel's.
fn owner_status(has_owners: bool, lookup: &Lookup, sees_all: bool) -> OwnerStatus {
    match lookup {
        _ if has_owners => OwnerStatus::Known,
        Lookup::Skipped => OwnerStatus::NotLooked,
        Lookup::Unavailable(_) => OwnerStatus::Unavailable,
        Lookup::Walked(walk) if walk.uninspectable > 0 || walk.hiding.is_some() => OwnerStatus::Permission,
        Lookup::Walked(walk) if sees_all && walk.failed.is_empty() => OwnerStatus::Kernel,
        Lookup::Walked(_) => OwnerStatus::NoProcess,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rules() {
        let walked = |uninspectable| {
            let mut walk = Walk::default();
            walk.uninspectable = uninspectable;
            Lookup::Walked(walk)
        };
        assert_eq!(owner_status(true, &walked(3), true), OwnerStatus::Known);
        assert_eq!(owner_status(false, &walked(3), true), OwnerStatus::Permission);
        assert_eq!(owner_status(false, &walked(0), false), OwnerStatus::NoProcess);
        assert_eq!(owner_status(false, &walked(0), true), OwnerStatus::Kernel);
        let mut failed = Walk::default();
        failed.failed.push((7, rustix::io::Errno::MFILE));
        assert_eq!(
            owner_status(false, &Lookup::Walked(failed), true),
            OwnerStatus::NoProcess,
            "a walk that failed to read a process cannot call a socket the kernel's"
        );
        assert_eq!(owner_status(false, &Lookup::Skipped, true), OwnerStatus::NotLooked);
        let unavailable = Lookup::Unavailable(io::Error::from(io::ErrorKind::NotFound));
        assert_eq!(owner_status(false, &unavailable, true), OwnerStatus::Unavailable);
        let none = Unseen::default();
        assert_eq!(unavailable.warnings(&none).len(), 1);
        assert!(
            walked(3).warnings(&none).is_empty(),
            "no warning when every listener has an owner"
        );
        let hidden = Unseen { hidden: 2, ..none };
        assert_eq!(walked(3).warnings(&hidden).len(), 1);
        let no_process = Unseen {
            no_process: 2,
            host_pid_namespace: Some(false),
            privileged: true,
            ..none
        };
        let w = walked(0).warnings(&no_process);
        assert_eq!(w.len(), 1);
        assert!(
            w[0].starts_with("2 listener(s) have no owner visible from this PID namespace"),
            "{w:?}"
        );
    }

    #[test]
    fn failures_are_named() {
        use rustix::io::Errno;
        assert_eq!(failed_warning(&[]), None);
        let w = failed_warning(&[(7, Errno::MFILE), (7, Errno::MFILE), (9, Errno::NOMEM)]).unwrap_or_default();
        assert!(
            w.starts_with("reading /proc failed for 2 processes (first PID 7): Too many open files"),
            "{w}"
        );
        assert!(w.contains("Cannot allocate memory"), "{w}");
    }

    #[test]
    fn warning_counts_processes() {
        assert_eq!(
            uninspectable_warning(3, 2, false),
            "3 processes could not be inspected without more privilege, so 2 listeners have no visible owner"
        );
        assert!(uninspectable_warning(1, 1, false).starts_with("1 process could not"));
        let root = uninspectable_warning(1, 1, true);
        assert!(
            !root.contains("without more privilege"),
            "root is not told to get more privilege: {root}"
        );
    }
}
