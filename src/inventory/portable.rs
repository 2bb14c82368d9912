//! The portable inventory: `netstat2` lists the sockets with the PIDs that hold them, and
//! `sysinfo` describes those processes. It is the only inventory on every OS but Linux;
//! on Linux `PORTGHOST_INVENTORY=portable` selects it, so that it can be tested against
//! the native one on the same sockets (`tests/portable_parity.rs`).
//!
//! Owns the listing of sockets through netstat2's iterator (an entry it cannot read is
//! counted and skipped, never the end of the scan), what counts as a listener, the merge of
//! every entry of one socket into one row, the owner lookup, and each listener's
//! [`OwnerStatus`] with the warnings that explain it. What netstat2 does not give is asked
//! of the OS through the small per-OS hooks at the end of this file ([`privileged`],
//! [`connected_udp`], [`open_sockets`], [`privilege_hint`]); larger OS-specific code
//! belongs in an OS module of its own that a hook calls.
//!
//! It must not: look up any process with `--no-owners` (not even its own), refresh more
//! processes than the owners found, judge or filter what it finds beyond "is this a
//! listener", or fail because of one process or one table entry.
//!
//! What each OS gives, and the limits that follow:
//! - Linux: one entry per socket with its inode, creator UID and every PID holding it
//!   (from a `/proc/*/fd` walk). netstat2 drops the state and peer of UDP sockets;
//!   [`connected_udp`] reads them from `/proc/net/udp` and `/proc/net/udp6`.
//! - Windows: one entry per socket with one PID. Its UDP tables have no peer address, so
//!   a connected UDP socket cannot be told from a listener there and is listed.
//! - macOS: one entry per process and descriptor, merged here by protocol, address and
//!   port, so two sockets bound to the same address and port (`SO_REUSEPORT`) are one
//!   row with the owners of both. netstat2 drops the peer of UDP sockets, so a connected
//!   UDP socket is listed unless a hook finds its peer.

use super::{Error, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{Inventory, InventoryKind, Listener, Owner, OwnerStatus, Protocol};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo, TcpState};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, Uid, UpdateKind, Users};

/// Enumerates the listeners of portghost's own network namespace and their owners.
///
/// # Errors
/// Fails when `netstat2` cannot start listing the sockets ([`Error::Other`]), or when
/// other network namespaces are asked for ([`Error::Unsupported`]). An entry of the socket
/// table that cannot be read, and a process that cannot be described, are warnings.
pub(super) fn scan(opts: &ScanOptions) -> Result<(Inventory, ScanTimings), Error> {
    if opts.netns != NetnsScope::Own {
        return Err(Error::Unsupported);
    }
    let mut timings = ScanTimings::default();

    // netstat2 finds the PIDs in the same call, so its time is all "dump".
    let started = Instant::now();
    let listed = list_sockets(opts)?;
    timings.dump = started.elapsed();

    let privileged = privileged();
    let started = Instant::now();
    let lookup = if !opts.owners {
        Lookup::Skipped
    } else if !listed.pids_listed {
        Lookup::Unavailable
    } else {
        let mut pids: Vec<u32> = listed.sockets.iter().flat_map(|s| s.pids.iter().copied()).collect();
        pids.sort_unstable();
        pids.dedup();
        Processes::load(&pids).map_or(Lookup::Unavailable, Lookup::Described)
    };
    timings.owners = started.elapsed();

    let mut unseen = Unseen::default();
    let listeners: Vec<Listener> = listed
        .sockets
        .into_iter()
        .map(|s| to_listener(s, &lookup, privileged, &mut unseen))
        .collect();
    let mut warnings = unseen.warnings(privileged, &lookup);
    warnings.extend(listed.unreadable.warning());
    let inventory = Inventory {
        host: System::host_name()
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned()),
        scanned_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        listeners,
        privileged,
        host_pid_namespace: None,
        warnings,
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: InventoryKind::Portable,
    };
    Ok((inventory, timings))
}

// ---------------------------------------------------------------------------------------
// Sockets
// ---------------------------------------------------------------------------------------

/// One socket, merged from every netstat2 entry that describes it.
#[derive(Debug)]
struct Socket {
    protocol: Protocol,
    address: IpAddr,
    port: u16,
    /// The socket's inode, where the OS gives one (Linux).
    inode: Option<u64>,
    /// The UID that created the socket, where the OS gives it (Linux).
    uid: Option<u32>,
    /// Every PID netstat2 found holding it, sorted, without repeats.
    pids: Vec<u32>,
}

/// What identifies one socket across netstat2's entries: its inode where the OS gives
/// one, else its protocol, local address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SocketKey {
    /// The socket inode (Linux).
    Inode(u64),
    /// Protocol, local address and port.
    Address(Protocol, IpAddr, u16),
}

impl Socket {
    fn key(&self) -> SocketKey {
        match self.inode {
            Some(inode) => SocketKey::Inode(inode),
            None => SocketKey::Address(self.protocol, self.address, self.port),
        }
    }
}

/// The listeners netstat2 listed, and what it could not.
#[derive(Debug, Default)]
struct Listed {
    /// One entry per listening socket.
    sockets: Vec<Socket>,
    /// Whether netstat2 looked for the PIDs holding each socket.
    pids_listed: bool,
    /// Entries of the socket table that could not be read.
    unreadable: Unreadable,
}

/// Entries of the socket table netstat2 could not read.
#[derive(Debug, Default)]
struct Unreadable {
    count: usize,
    /// The first error, as netstat2 words it.
    first: Option<String>,
}

impl Unreadable {
    fn warning(&self) -> Option<String> {
        let first = self.first.as_deref()?;
        Some(format!(
            "{} socket table entr{} could not be read ({first}), so listeners may be missing and this scan is \
             incomplete",
            self.count,
            if self.count == 1 { "y" } else { "ies" }
        ))
    }
}

/// The TCP sockets in LISTEN and the UDP sockets without a peer, for the protocols and
/// ports `opts` asks for, one entry per socket.
fn list_sockets(opts: &ScanOptions) -> Result<Listed, Error> {
    let mut protocols = ProtocolFlags::empty();
    if opts.tcp {
        protocols |= ProtocolFlags::TCP;
    }
    if opts.udp {
        protocols |= ProtocolFlags::UDP;
    }
    if protocols.is_empty() {
        return Ok(Listed::default());
    }
    let families = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    let (entries, pids_listed) = open_sockets(families, protocols, opts.owners).map_err(|source| Error::Other {
        context: "listing sockets with netstat2".to_owned(),
        source: Box::new(source),
    })?;
    let mut listed = Listed {
        pids_listed,
        ..Listed::default()
    };
    let mut found = Vec::new();
    for entry in entries {
        match entry {
            Ok(info) => found.extend(to_socket(info)),
            Err(error) => {
                listed.unreadable.count += 1;
                listed.unreadable.first.get_or_insert_with(|| error.to_string());
            }
        }
    }
    // Read after the listing, so that every UDP socket listed is already there.
    let connected = if opts.udp { connected_udp() } else { None };
    listed.sockets = merge(found, connected.as_ref(), opts.port_filter());
    Ok(listed)
}

/// The sockets of `found` on a `wanted` port, without the UDP sockets in `connected`, with
/// the entries of one socket ([`SocketKey`]) merged into one, its PIDs sorted and unique.
fn merge(found: Vec<Socket>, connected: Option<&HashSet<SocketKey>>, wanted: impl Fn(u16) -> bool) -> Vec<Socket> {
    let mut sockets: Vec<Socket> = Vec::new();
    let mut index: HashMap<SocketKey, usize> = HashMap::new();
    for socket in found {
        if !wanted(socket.port) {
            continue;
        }
        if socket.protocol == Protocol::Udp && connected.is_some_and(|c| c.contains(&socket.key())) {
            continue;
        }
        match index.get(&socket.key()) {
            Some(&i) => sockets[i].pids.extend(socket.pids),
            None => {
                index.insert(socket.key(), sockets.len());
                sockets.push(socket);
            }
        }
    }
    for socket in &mut sockets {
        socket.pids.sort_unstable();
        socket.pids.dedup();
    }
    sockets
}

/// The socket of a netstat2 entry when it may be a listener: a TCP socket in LISTEN, or
/// any UDP socket (those with a peer are removed later, where the OS tells them apart).
fn to_socket(info: SocketInfo) -> Option<Socket> {
    let (inode, uid) = identity(&info);
    let protocol = match &info.protocol_socket_info {
        ProtocolSocketInfo::Tcp(tcp) if tcp.state == TcpState::Listen => Protocol::Tcp,
        ProtocolSocketInfo::Tcp(_) => return None,
        ProtocolSocketInfo::Udp(_) => Protocol::Udp,
    };
    Some(Socket {
        protocol,
        address: info.local_addr(),
        port: info.local_port(),
        inode,
        uid,
        pids: info.associated_pids,
    })
}

/// The inode and creator UID of a socket, which netstat2 gives on Linux only.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn identity(info: &SocketInfo) -> (Option<u64>, Option<u32>) {
    (Some(u64::from(info.inode)), Some(info.uid))
}

/// The inode and creator UID of a socket, which netstat2 gives on Linux only.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn identity(_info: &SocketInfo) -> (Option<u64>, Option<u32>) {
    (None, None)
}

// ---------------------------------------------------------------------------------------
// Owners
// ---------------------------------------------------------------------------------------

/// How the owners of the listed sockets were looked up.
enum Lookup {
    /// Owners were not asked for (`--no-owners`): no process was looked at.
    Skipped,
    /// The OS's process table could not be read.
    Unavailable,
    /// The processes holding the sockets, described.
    Described(Processes),
}

/// Listeners left without some or all of their owners, counted for the warnings.
#[derive(Debug, Default)]
struct Unseen {
    /// Listeners with no visible owner whose owners are hidden (status `permission`).
    hidden: usize,
    /// Listeners with no owner that netstat2 found, while privileged (`no-process`).
    no_process: usize,
    /// Listeners with some owners described and others not.
    partly: usize,
    /// PIDs netstat2 found holding a socket that `sysinfo` could not describe.
    undescribed: HashSet<u32>,
}

impl Unseen {
    /// One sentence per kind of listener whose owners were not all seen.
    fn warnings(&self, privileged: bool, lookup: &Lookup) -> Vec<String> {
        let mut out = Vec::new();
        if matches!(lookup, Lookup::Unavailable) {
            out.push("the process table could not be read, so no socket owner was looked up".to_owned());
            return out;
        }
        let undescribed = self.undescribed.len();
        let processes = if undescribed == 1 { "process" } else { "processes" };
        if self.hidden > 0 {
            let mut text = format!("{} listener(s) have no visible owner", self.hidden);
            if undescribed > 0 {
                text.push_str(&format!(
                    ": {undescribed} {processes} holding sockets could not be inspected (exited during the scan, \
                     or the OS refused to describe them)"
                ));
            }
            if !privileged {
                text.push_str("; ");
                text.push_str(&privilege_hint());
            }
            out.push(text);
        }
        if self.partly > 0 {
            out.push(format!(
                "{} listener(s) may be missing owners: {undescribed} {processes} holding sockets could not be \
                 inspected (exited during the scan, or the OS refused to describe them)",
                self.partly
            ));
        }
        if self.no_process > 0 {
            out.push(format!(
                "{} listener(s) have no owner the portable inventory could find: it cannot tell a socket the \
                 kernel holds from one held by a process it cannot see",
                self.no_process
            ));
        }
        out
    }
}

/// One [`Listener`] with its owners and the status that explains them; counts into
/// `unseen` what it could not see.
fn to_listener(socket: Socket, lookup: &Lookup, privileged: bool, unseen: &mut Unseen) -> Listener {
    let mut owners: Vec<Arc<Owner>> = Vec::new();
    let mut undescribed = 0;
    if let Lookup::Described(processes) = lookup {
        for &pid in &socket.pids {
            match processes.owners.get(&pid) {
                Some(owner) => owners.push(Arc::clone(owner)),
                None => {
                    undescribed += 1;
                    unseen.undescribed.insert(pid);
                }
            }
        }
    }
    let owner_status = match lookup {
        Lookup::Skipped => OwnerStatus::NotLooked,
        Lookup::Unavailable => OwnerStatus::Unavailable,
        Lookup::Described(_) if !owners.is_empty() => {
            if undescribed > 0 {
                unseen.partly += 1;
            }
            OwnerStatus::Known
        }
        // A process holds it but could not be described, or one may hold it that this
        // user cannot see: either way an owner is hidden.
        Lookup::Described(_) if undescribed > 0 || !privileged => {
            unseen.hidden += 1;
            OwnerStatus::Permission
        }
        // Privileged and no process found: the kernel's, or a process netstat2 missed;
        // the portable inventory cannot tell which, so never `kernel`.
        Lookup::Described(_) => {
            unseen.no_process += 1;
            OwnerStatus::NoProcess
        }
    };
    Listener {
        protocol: socket.protocol,
        local_address: socket.address,
        port: socket.port,
        inode: socket.inode,
        uid: socket.uid,
        owners,
        owner_status,
        v6only: None,
        netns: None,
    }
}

/// The owners of the listed sockets as `sysinfo` describes them, each described once.
struct Processes {
    /// Every PID that could be described; a PID missing here exited or refused.
    owners: HashMap<u32, Arc<Owner>>,
}

impl Processes {
    /// Refreshes exactly `pids` (name, executable, command line, user) and describes
    /// them; `None` when `sysinfo` cannot read the process table at all.
    fn load(pids: &[u32]) -> Option<Processes> {
        let mut system = System::new().ok()?;
        let wanted: Vec<Pid> = pids.iter().map(|&pid| Pid::from_u32(pid)).collect();
        if !wanted.is_empty() {
            let kind = ProcessRefreshKind::nothing()
                .without_tasks()
                .with_exe(UpdateKind::Always)
                .with_cmd(UpdateKind::Always)
                .with_user(UpdateKind::Always);
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&wanted), false, kind);
        }
        let users = if pids.is_empty() {
            None
        } else {
            Users::new_with_refreshed_list().ok()
        };
        let owners = pids
            .iter()
            .filter_map(|&pid| {
                let process = system.process(Pid::from_u32(pid))?;
                Some((pid, Arc::new(describe(pid, process, users.as_ref()))))
            })
            .collect();
        Some(Processes { owners })
    }
}

/// The [`Owner`] `sysinfo` describes as `process`.
fn describe(pid: u32, process: &sysinfo::Process, users: Option<&Users>) -> Owner {
    let uid = owner_uid(process);
    let cmd: Vec<_> = process.cmd().iter().map(|arg| arg.to_string_lossy()).collect();
    Owner {
        pid,
        name: process.name().to_string_lossy().into_owned(),
        exe: process
            .exe()
            .filter(|e| !e.as_os_str().is_empty())
            .map(|e| e.to_string_lossy().into_owned()),
        cmdline: if cmd.is_empty() {
            None
        } else {
            Some(super::cut_cmdline(cmd.join(" "), false))
        },
        uid: uid.and_then(uid_number),
        user: uid.and_then(|u| users?.get_user_by_id(u)).map(|u| u.name().to_owned()),
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    }
}

// ---------------------------------------------------------------------------------------
// Per-OS hooks: what netstat2 and sysinfo do not say the same way everywhere.
// ---------------------------------------------------------------------------------------

/// The netstat2 entries of every socket of `families` and `protocols`, and whether they
/// carry the PIDs holding each socket (`with_pids`, unless the process table cannot be
/// read). Linux lists them without the `/proc` walk when PIDs are not wanted, and when
/// `/proc` cannot be listed (where netstat2 would panic).
///
/// # Errors
/// netstat2's error when the listing cannot start (for example a netlink socket cannot be
/// opened, or the OS's socket table cannot be read).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_sockets(
    families: AddressFamilyFlags,
    protocols: ProtocolFlags,
    with_pids: bool,
) -> Result<Entries, netstat2::error::Error> {
    if with_pids && std::fs::read_dir("/proc").is_ok() {
        Ok((Box::new(netstat2::iterate_sockets_info(families, protocols)?), true))
    } else {
        let entries = netstat2::iterate_sockets_info_without_pids(families, protocols)?;
        Ok((Box::new(entries), false))
    }
}

/// The netstat2 entries of every socket of `families` and `protocols`, with the PIDs
/// holding each (netstat2 has no listing without them here that covers IPv6; they are
/// ignored when `with_pids` is false).
///
/// # Errors
/// netstat2's error when the OS's socket table cannot be read.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_sockets(
    families: AddressFamilyFlags,
    protocols: ProtocolFlags,
    with_pids: bool,
) -> Result<Entries, netstat2::error::Error> {
    let entries = netstat2::iterate_sockets_info(families, protocols)?;
    Ok((Box::new(entries), with_pids))
}

/// netstat2's entries, each a socket or the error that kept one from being read, and
/// whether they carry PIDs.
type Entries = (
    Box<dyn Iterator<Item = Result<SocketInfo, netstat2::error::Error>>>,
    bool,
);

/// The UDP sockets that have a peer (connected client sockets), which are not listeners;
/// `None` where the OS cannot tell, and then every UDP socket is listed.
///
/// Linux: netstat2 drops the state of UDP sockets, so it is read from `/proc/net/udp` and
/// `/proc/net/udp6` (portghost's own network namespace): every socket not in `07`
/// (`TCP_CLOSE`, unconnected) has a peer. Keyed by inode.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn connected_udp() -> Option<HashSet<SocketKey>> {
    let mut connected = HashSet::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let text = std::fs::read_to_string(table).ok()?;
        connected.extend(connected_in_proc_table(&text).map(SocketKey::Inode));
    }
    Some(connected)
}

/// The inodes of the sockets of a `/proc/net/udp` table whose state is not `07`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn connected_in_proc_table(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.lines().skip(1).filter_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let state = *fields.get(3)?;
        let inode = fields.get(9)?.parse::<u64>().ok()?;
        (state != "07").then_some(inode)
    })
}

/// The UDP sockets that have a peer; `None`: this OS's netstat2 backend gives no UDP peer
/// (Windows' UDP tables have none; on macOS the kernel has it but netstat2 drops it), so
/// every UDP socket is listed.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn connected_udp() -> Option<HashSet<SocketKey>> {
    None
}

/// Whether portghost runs with the privilege to see every process's sockets: on Unix,
/// effective UID 0 (read through `sysinfo`; false when it cannot be read).
#[cfg(unix)]
fn privileged() -> bool {
    let me = Pid::from_u32(std::process::id());
    let Ok(mut system) = System::new() else {
        return false;
    };
    let kind = ProcessRefreshKind::nothing()
        .without_tasks()
        .with_user(UpdateKind::Always);
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[me]), false, kind);
    system
        .process(me)
        .and_then(sysinfo::Process::effective_user_id)
        .and_then(uid_number)
        == Some(0)
}

/// Whether portghost runs with the privilege to see every process's sockets: on Windows,
/// the process token's elevation (run as administrator).
#[cfg(windows)]
fn privileged() -> bool {
    super::windows::elevated()
}

/// Whether portghost runs with the privilege to see every process's sockets. An OS with
/// neither an effective UID nor a token says false, the conservative answer: an ownerless
/// socket is then a hidden owner, never "no process".
#[cfg(not(any(unix, windows)))]
fn privileged() -> bool {
    false
}

/// What an unprivileged user can do to see the owners hidden from them, this platform's
/// remedy ("run from an elevated prompt" on Windows) and its reason.
fn privilege_hint() -> String {
    format!(
        "{} to see other users' processes",
        crate::model::Platform::current().privilege_remedy()
    )
}

/// The user an owner runs as: on Unix its effective UID, the identity the kernel checks
/// its access with (as `ps` and the Linux inventory show it).
#[cfg(unix)]
fn owner_uid(process: &sysinfo::Process) -> Option<&Uid> {
    process.effective_user_id()
}

/// The user an owner runs as: off Unix `sysinfo` has no effective UID, and the user of
/// the process's token is the one it acts as.
#[cfg(not(unix))]
fn owner_uid(process: &sysinfo::Process) -> Option<&Uid> {
    process.user_id()
}

/// The numeric UID on Unix systems.
#[cfg(unix)]
fn uid_number(uid: &Uid) -> Option<u32> {
    Some(**uid)
}

/// Windows identifies users by SID, which has no numeric UID.
#[cfg(not(unix))]
fn uid_number(_uid: &Uid) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn connected_udp_sockets_are_those_not_in_close() {
        let table = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
            \x20 1: 0100007F:0DBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1001 2 0000000000000000 0\n\
            \x20 2: 0100007F:0DBE 0100007F:0DBD 01 00000000:00000000 00:00000000 00000000     0        0 1002 2 0000000000000000 0\n\
            \x20 3: garbage\n";
        assert_eq!(connected_in_proc_table(table).collect::<Vec<_>>(), vec![1002]);
    }

    fn socket(pids: Vec<u32>) -> Socket {
        Socket {
            protocol: Protocol::Tcp,
            address: IpAddr::from([127, 0, 0, 1]),
            port: 3237,
            inode: None,
            uid: None,
            pids,
        }
    }

    fn owner(pid: u32) -> Arc<Owner> {
        crate::model::fixtures::owner(pid, "x")
    }

    #[test]
    fn owner_statuses_never_call_a_hidden_owner_seen() {
        let described = || {
            Lookup::Described(Processes {
                owners: HashMap::from([(10, owner(10))]),
            })
        };
        let status = |pids: Vec<u32>, lookup: &Lookup, privileged: bool| {
            let mut unseen = Unseen::default();
            let l = to_listener(socket(pids), lookup, privileged, &mut unseen);
            (
                l.owner_status,
                l.owners.iter().map(|o| o.pid).collect::<Vec<_>>(),
                unseen,
            )
        };
        // --no-owners: nothing is looked at, not even a PID netstat2 gave.
        let (s, owners, _) = status(vec![10], &Lookup::Skipped, true);
        assert_eq!((s, owners), (OwnerStatus::NotLooked, vec![]));
        let (s, _, _) = status(vec![10], &Lookup::Unavailable, true);
        assert_eq!(s, OwnerStatus::Unavailable);
        let (s, owners, u) = status(vec![10], &described(), false);
        assert_eq!((s, owners, u.partly), (OwnerStatus::Known, vec![10], 0));
        // One owner described, one not: known, but the scan says owners may be missing.
        let (s, owners, u) = status(vec![10, 11], &described(), true);
        assert_eq!((s, owners, u.partly), (OwnerStatus::Known, vec![10], 1));
        assert!(!u.warnings(true, &described()).is_empty());
        // A holder that could not be described is hidden even when privileged.
        let (s, _, u) = status(vec![11], &described(), true);
        assert_eq!((s, u.hidden), (OwnerStatus::Permission, 1));
        // No holder found: hidden without privilege, "no process" with it, never kernel.
        let (s, _, _) = status(vec![], &described(), false);
        assert_eq!(s, OwnerStatus::Permission);
        let (s, _, u) = status(vec![], &described(), true);
        assert_eq!((s, u.no_process), (OwnerStatus::NoProcess, 1));
        assert!(!s.is_seen());
    }

    #[test]
    fn entries_of_one_socket_become_one_row() {
        let entry = |protocol, port, inode, pid| Socket {
            protocol,
            address: IpAddr::from([0, 0, 0, 0]),
            port,
            inode,
            uid: None,
            pids: vec![pid],
        };
        // macOS and Windows: one entry per process (or per socket), no inode.
        let found = vec![
            entry(Protocol::Tcp, 80, None, 12),
            entry(Protocol::Udp, 80, None, 30),
            entry(Protocol::Tcp, 80, None, 11),
            entry(Protocol::Tcp, 80, None, 12),
            entry(Protocol::Tcp, 81, None, 13),
        ];
        let merged = merge(found, None, |port| port == 80);
        let rows: Vec<_> = merged.iter().map(|s| (s.protocol, s.port, s.pids.clone())).collect();
        assert_eq!(
            rows,
            vec![(Protocol::Tcp, 80, vec![11, 12]), (Protocol::Udp, 80, vec![30])]
        );
        // Linux: by inode, so two sockets on one port stay two rows; a connected UDP
        // socket is dropped.
        let found = vec![
            entry(Protocol::Udp, 53, Some(7), 1),
            entry(Protocol::Udp, 53, Some(8), 2),
            entry(Protocol::Udp, 53, Some(9), 3),
        ];
        let connected = HashSet::from([SocketKey::Inode(9)]);
        let merged = merge(found, Some(&connected), |_| true);
        let rows: Vec<_> = merged.iter().map(|s| (s.inode, s.pids.clone())).collect();
        assert_eq!(rows, vec![(Some(7), vec![1]), (Some(8), vec![2])]);
    }

    #[test]
    fn unreadable_entries_are_a_warning() {
        assert_eq!(Unreadable::default().warning(), None);
        let u = Unreadable {
            count: 2,
            first: Some("Failed to call ffi".into()),
        };
        let text = u.warning().expect("warning");
        assert!(
            text.starts_with("2 socket table entries could not be read (Failed to call ffi)"),
            "{text}"
        );
    }
}
