//! Inventory for every OS but Linux: `netstat2` lists the sockets with their PIDs, and
//! `sysinfo` describes the owning processes.
//!
//! Owns the non-Linux implementation of [`super::scan`]. It must not refresh every
//! process (only the owners, plus this process to learn whether it runs as root), and it
//! must not judge or filter what it finds beyond "is this a listener". `netstat2` gives no
//! state or peer for UDP sockets here, so every UDP socket is listed, connected or not.

use super::{Error, NetnsScope, ScanOptions, ScanTimings};
use crate::model::{Inventory, Listener, Owner, OwnerStatus, Protocol};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo, TcpState, get_sockets_info};
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, Uid, UpdateKind, Users};

/// Enumerates the listeners of this host and their owners.
///
/// # Errors
/// Fails when `netstat2` cannot list the sockets, or when network namespaces are asked
/// for (only Linux has them).
pub(super) fn scan(opts: &ScanOptions) -> Result<(Inventory, ScanTimings), Error> {
    if opts.netns != NetnsScope::Own {
        return Err(Error::Unsupported);
    }
    let mut timings = ScanTimings::default();

    // netstat2 finds the PIDs in the same call, so its time is all "dump".
    let started = Instant::now();
    let mut sockets = list_sockets(opts)?;
    if !opts.ports.is_empty() {
        let wanted = opts.port_filter();
        sockets.retain(|s| wanted(s.local_port()));
    }
    timings.dump = started.elapsed();

    let started = Instant::now();
    let mut pids: Vec<u32> = sockets.iter().flat_map(|s| s.associated_pids.iter().copied()).collect();
    if !opts.owners {
        pids.clear();
    }
    let processes = Processes::load(&pids);
    timings.owners = started.elapsed();

    #[cfg(not(windows))]
    let privileged = processes.is_root();
    #[cfg(windows)]
    let privileged = super::windows::elevated();
    let listeners: Vec<Listener> = sockets
        .iter()
        .map(|s| to_listener(s, opts, privileged, &processes))
        .collect();
    let hidden = listeners
        .iter()
        .filter(|l| l.owner_status == OwnerStatus::Permission)
        .count();
    let mut inventory = Inventory {
        host: System::host_name()
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown".to_owned()),
        scanned_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        listeners,
        privileged,
        host_pid_namespace: None,
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
    };
    if hidden > 0 {
        inventory.warnings.push(format!(
            "{hidden} listeners have no visible owner; {} to see other users' processes",
            crate::model::Platform::current().privilege_remedy()
        ));
    }
    Ok((inventory, timings))
}

/// TCP sockets in LISTEN and every UDP socket, for the wanted protocols.
fn list_sockets(opts: &ScanOptions) -> Result<Vec<SocketInfo>, Error> {
    let mut protocols = ProtocolFlags::empty();
    if opts.tcp {
        protocols |= ProtocolFlags::TCP;
    }
    if opts.udp {
        protocols |= ProtocolFlags::UDP;
    }
    if protocols.is_empty() {
        return Ok(Vec::new());
    }
    let families = AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6;
    let sockets = get_sockets_info(families, protocols).map_err(|source| Error::Other {
        context: "listing sockets with netstat2".to_owned(),
        source: Box::new(source),
    })?;
    Ok(sockets.into_iter().filter(is_listener).collect())
}

/// A TCP socket in LISTEN, or any UDP socket.
fn is_listener(socket: &SocketInfo) -> bool {
    match &socket.protocol_socket_info {
        ProtocolSocketInfo::Tcp(tcp) => tcp.state == TcpState::Listen,
        ProtocolSocketInfo::Udp(_) => true,
    }
}

/// One [`Listener`] with its owners and the status that explains them.
fn to_listener(socket: &SocketInfo, opts: &ScanOptions, privileged: bool, processes: &Processes) -> Listener {
    let protocol = match socket.protocol_socket_info {
        ProtocolSocketInfo::Tcp(_) => Protocol::Tcp,
        ProtocolSocketInfo::Udp(_) => Protocol::Udp,
    };
    let mut pids = socket.associated_pids.clone();
    pids.sort_unstable();
    pids.dedup();
    let owners: Vec<Arc<Owner>> = pids
        .into_iter()
        .filter_map(|pid| processes.owner(pid))
        .map(Arc::new)
        .collect();
    let owner_status = if !owners.is_empty() {
        OwnerStatus::Known
    } else if !opts.owners {
        OwnerStatus::NotLooked
    } else if !privileged {
        OwnerStatus::Permission
    } else {
        OwnerStatus::NoProcess
    };
    Listener {
        protocol,
        local_address: socket.local_addr(),
        port: socket.local_port(),
        inode: None,
        uid: None,
        owners,
        owner_status,
        v6only: None,
        netns: None,
    }
}

/// `sysinfo` views of the owner PIDs and of this process.
struct Processes {
    system: Option<System>,
    users: Option<Users>,
}

impl Processes {
    /// Refreshes exactly `pids` and this process: name, executable, command line, user.
    fn load(pids: &[u32]) -> Processes {
        let mut wanted: Vec<Pid> = pids.iter().map(|&pid| Pid::from_u32(pid)).collect();
        wanted.push(Pid::from_u32(std::process::id()));
        wanted.sort_unstable();
        wanted.dedup();
        let kind = ProcessRefreshKind::nothing()
            .without_tasks()
            .with_exe(UpdateKind::Always)
            .with_cmd(UpdateKind::Always)
            .with_user(UpdateKind::Always);
        let system = System::new().ok().map(|mut system| {
            system.refresh_processes_specifics(ProcessesToUpdate::Some(&wanted), false, kind);
            system
        });
        let users = if pids.is_empty() {
            None
        } else {
            Users::new_with_refreshed_list().ok()
        };
        Processes { system, users }
    }

    /// Whether this process runs with effective UID 0.
    #[cfg_attr(windows, allow(dead_code))]
    fn is_root(&self) -> bool {
        let me = self
            .system
            .as_ref()
            .and_then(|s| s.process(Pid::from_u32(std::process::id())));
        me.and_then(|p| p.effective_user_id()).and_then(uid_number) == Some(0)
    }

    /// The owner `pid`, or `None` when it exited before it could be described.
    fn owner(&self, pid: u32) -> Option<Owner> {
        let process = self.system.as_ref()?.process(Pid::from_u32(pid))?;
        let uid = process.user_id();
        let cmd: Vec<_> = process.cmd().iter().map(|arg| arg.to_string_lossy()).collect();
        Some(Owner {
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
            user: uid
                .and_then(|u| self.users.as_ref()?.get_user_by_id(u))
                .map(|u| u.name().to_owned()),
            unit: None,
            user_unit_uid: None,
            exe_deleted: false,
            container: None,
        })
    }
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
