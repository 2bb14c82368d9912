//! The scan as plain data: sockets, their owners and network namespaces.
//!
//! Owns the shapes of a scan: [`Inventory`], [`Listener`], [`Owner`], [`Netns`] (portless
//! sockets are in `portless`). It holds no logic
//! beyond small accessors and must not read the OS, the clock or the environment.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Transport protocol of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP; a listener is a socket in the LISTEN state.
    Tcp,
    /// UDP; a listener is a bound, unconnected socket.
    Udp,
}

impl Protocol {
    /// The lowercase name, `"tcp"` or `"udp"`, as IANA and `ss` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;

    /// Parses `tcp` or `udp`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            other => Err(format!("unknown transport protocol {other:?} (expected tcp or udp)")),
        }
    }
}

/// Address family of a listener's local address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The family of an IP address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// The lowercase name used in JSON, `"ipv4"` or `"ipv6"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// Most bytes of an owner's command line kept in [`Owner::cmdline`] (4 KiB), before the
/// [`CMDLINE_CUT_MARKER`].
pub const CMDLINE_MAX: usize = 4096;

/// What ends an [`Owner::cmdline`] that was cut to [`CMDLINE_MAX`] bytes: `…`.
pub const CMDLINE_CUT_MARKER: &str = "…";

/// One process that holds a listening socket open.
///
/// Every string here comes from the process itself (its name, its `argv`, its executable
/// path) and is attacker-controlled: renderers must sanitise it before it reaches a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Owner {
    /// Process ID, in the PID namespace portghost runs in.
    pub pid: u32,
    /// Process name as the kernel keeps it (`/proc/PID/comm` on Linux, at most 15 bytes).
    pub name: String,
    /// Absolute path of the executable, when readable.
    pub exe: Option<String>,
    /// Command line, arguments joined by single spaces, when readable. At most
    /// [`CMDLINE_MAX`] bytes of it are kept: a longer one is cut on a character boundary
    /// and ends with [`CMDLINE_CUT_MARKER`] (`…`), as `ps` cuts a long command line, so
    /// that a process cannot make every report that names it huge.
    pub cmdline: Option<String>,
    /// User ID of the process, when known: the effective UID (as `ps` shows it; from
    /// `/proc/PID/status` on Linux, from `sysinfo` in the portable inventory). `None` on
    /// Windows, whose users are SIDs.
    pub uid: Option<u32>,
    /// User name for `uid`, when the user database has one.
    pub user: Option<String>,
    /// The service the process runs as. On Linux the innermost systemd unit it runs in
    /// (`ssh.service`, `session-3.scope`), from its cgroup. On Windows the Win32 services
    /// it hosts, from the service control manager (`Dnscache`; a `svchost.exe` hosting
    /// several gives their names joined by `, ` in sorted order: `BITS, Schedule`). On
    /// macOS, best effort, the label of the launchd job it is (`com.openssh.sshd`), from
    /// `launchctl list`, which names the system daemons only when run as root. `None` when
    /// unknown or when it runs as none. Cgroup names can be chosen by unprivileged users,
    /// so this is untrusted like `name`.
    #[serde(default)]
    pub unit: Option<String>,
    /// When `unit` runs under a user's own service manager (inside `user@UID.service`, as
    /// `systemd-run --user` makes), that user's UID; `None` for a system unit. A user names
    /// their own units freely, so a user unit never passes for a system unit.
    #[serde(default)]
    pub user_unit_uid: Option<u32>,
    /// True when the kernel reports the executable as deleted (`/proc/PID/exe` ends in
    /// ` (deleted)`; `exe` then holds the path without that suffix). Also true for a
    /// process running from a memfd.
    #[serde(default)]
    pub exe_deleted: bool,
    /// The container the process runs in, from its cgroup; `None` when unknown or none.
    #[serde(default)]
    pub container: Option<Container>,
}

/// A container a process runs in, as its cgroup path names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Container {
    /// The runtime: `docker`, `podman`, `containerd`, `cri-o`, or `kubernetes` for a
    /// Kubernetes container whose runtime the path does not name.
    pub runtime: String,
    /// The short ID: the first 12 hex digits, as `docker ps` shows it.
    pub id: String,
    /// The full 64-hex-digit container ID.
    pub full_id: String,
    /// The UID of the Kubernetes pod the container belongs to, with its dashes, if any.
    #[serde(default)]
    pub pod: Option<String>,
}

impl Owner {
    /// The systemd unit as shown to people: `nginx.service`, or for a user's own unit
    /// `nginx.service (user unit of uid 1000)`; `None` when the process runs in no unit.
    pub fn unit_label(&self) -> Option<String> {
        let unit = self.unit.as_ref()?;
        Some(match self.user_unit_uid {
            Some(uid) => format!("{unit} (user unit of uid {uid})"),
            None => unit.clone(),
        })
    }
}

impl Container {
    /// `runtime:short-id`, e.g. `docker:3f2a9c1b7d4e`, as `docker ps` users know it.
    pub fn label(&self) -> String {
        format!("{}:{}", self.runtime, self.id)
    }

    /// `runtime:full-id`, with the 64-hex-digit ID.
    pub fn full_label(&self) -> String {
        format!("{}:{}", self.runtime, self.full_id)
    }
}

/// A network namespace: the kernel's separate copy of the network stack (interfaces,
/// routes, sockets) that `ip netns` and container runtimes create.
///
/// Shared between every listener of the namespace. `name` and `container` come from the
/// filesystem and from cgroups, which other users can influence: renderers treat them as
/// untrusted text.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Netns {
    /// The namespace's inode number, as `/proc/PID/ns/net` shows it (`net:[4026531833]`);
    /// unique on the host while the namespace exists.
    pub inode: u64,
    /// The name `ip netns add` gave it (a bind mount under `/run/netns`), if any. When
    /// several names refer to it, the first in byte order.
    #[serde(default)]
    pub name: Option<String>,
    /// The container whose processes live in it, when their cgroup names one.
    #[serde(default)]
    pub container: Option<Container>,
    /// True for the host's initial network namespace (the one PID 1 of the host runs in).
    #[serde(default)]
    pub host: bool,
}

impl Netns {
    /// The order of namespaces in a report: the host's first, then by inode.
    pub fn order(&self) -> (bool, u64) {
        (!self.host, self.inode)
    }

    /// A short name for the namespace that survives restarts as far as possible: `host`
    /// for the host's, else its `ip netns` name, else its container (`docker:3f2a9c1b7d4e`),
    /// else its inode. Untrusted text: sanitise before printing.
    pub fn label(&self) -> String {
        match (&self.name, &self.container) {
            _ if self.host => "host".to_owned(),
            (Some(name), _) => name.clone(),
            (None, Some(c)) => c.label(),
            (None, None) => self.inode.to_string(),
        }
    }
}

/// Whose view of the machine a scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// portghost runs on the host: in its PID namespace, so it can see every process.
    Host,
    /// portghost runs inside a container: it sees the container's network namespace and
    /// processes only.
    Container,
}

impl View {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            View::Host => "host",
            View::Container => "container",
        }
    }
}

/// Why a listener's owners are or are not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerStatus {
    /// At least one owning process was found; `owners` lists all of them.
    Known,
    /// No owner was found, and some processes could not be inspected for lack of
    /// privilege: an owner may exist but is hidden from this user.
    Permission,
    /// No process portghost could see holds the socket, and it cannot tell that none
    /// does: it runs outside the host's PID namespace (a process in another one may hold
    /// it), without privilege, or some processes could not be read. The socket's owner was
    /// not seen, so the scan is not complete ([`OwnerStatus::is_seen`] is false).
    NoProcess,
    /// Held by the kernel: no process has it open (knfsd on 2049, lockd, a WireGuard or
    /// VXLAN interface). Only given when portghost ran privileged in the host's initial PID
    /// namespace and read every process, so that no process can have been missed; the
    /// scan stays complete. There is no owner, so a rule that names an identity (process,
    /// user, …) never matches it. Classification still flags it (`no-owner`): a process
    /// hiding from `/proc` looks the same.
    Kernel,
    /// The process table could not be read at all (for example `/proc` is not mounted).
    Unavailable,
    /// Owners were not looked up (`--no-owners`).
    NotLooked,
}

impl OwnerStatus {
    /// True when the owner list may be missing processes that do hold the socket.
    pub fn is_hidden(self) -> bool {
        matches!(self, OwnerStatus::Permission | OwnerStatus::Unavailable)
    }

    /// True when the scan saw who holds the socket: its owners (`known`), or that the
    /// kernel does (`kernel`). False for hidden owners, owners not looked up, and a socket
    /// no visible process holds (`no-process`): `--require-complete` fails on those.
    pub fn is_seen(self) -> bool {
        matches!(self, OwnerStatus::Known | OwnerStatus::Kernel)
    }

    /// The kebab-case name used in JSON, e.g. `"no-process"`, `"kernel"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OwnerStatus::Known => "known",
            OwnerStatus::Permission => "permission",
            OwnerStatus::NoProcess => "no-process",
            OwnerStatus::Kernel => "kernel",
            OwnerStatus::Unavailable => "unavailable",
            OwnerStatus::NotLooked => "not-looked",
        }
    }

    /// A sentence explaining the status, for the table and JSON.
    pub fn reason(self) -> &'static str {
        match self {
            OwnerStatus::Known => "owning processes found",
            OwnerStatus::Permission => "owner hidden: permission denied inspecting some processes",
            OwnerStatus::NoProcess => {
                "no process visible from this PID namespace holds the socket (a process in another PID namespace, \
                 or one portghost could not read, may hold it)"
            }
            OwnerStatus::Kernel => "held by the kernel: no process has it open",
            OwnerStatus::Unavailable => "the process table could not be read, so no owner could be looked up",
            OwnerStatus::NotLooked => "owners were not looked up (--no-owners)",
        }
    }
}

/// One listening socket: a TCP socket in LISTEN, or a bound unconnected UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Listener {
    /// Transport protocol.
    pub protocol: Protocol,
    /// Local address the socket is bound to; `0.0.0.0` or `::` is the wildcard address.
    pub local_address: IpAddr,
    /// Local port, 0..=65535.
    pub port: u16,
    /// Socket inode number, where the OS exposes it (Linux).
    pub inode: Option<u64>,
    /// User ID that created the socket, where the OS exposes it (Linux).
    pub uid: Option<u32>,
    /// Every process holding the socket open, sorted by PID. Empty when none was found.
    /// Shared: a process that holds many sockets is described once.
    pub owners: Vec<Arc<Owner>>,
    /// Whether `owners` is the whole truth, and if empty, why.
    pub owner_status: OwnerStatus,
    /// For IPv6 sockets: whether `IPV6_V6ONLY` is set. `Some(false)` on the wildcard `::`
    /// means the socket also accepts IPv4. `None` for IPv4 or when the OS does not say.
    #[serde(default)]
    pub v6only: Option<bool>,
    /// The network namespace the socket lives in; `None` where the OS has none or it could
    /// not be identified (no `/proc`). Shared by every listener of that namespace.
    #[serde(default)]
    pub netns: Option<Arc<Netns>>,
}

/// How far a listener's local address reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exposure {
    /// `127.0.0.0/8`, `::1`: this host only.
    Loopback,
    /// `0.0.0.0` or `::`: every interface.
    Wildcard,
    /// `169.254.0.0/16`, `fe80::/10`: the local link only.
    LinkLocal,
    /// RFC 1918, `100.64.0.0/10` (shared CGNAT space) and `fc00::/7` (unique local).
    Private,
    /// Anything else.
    Public,
}

impl Exposure {
    /// The exposure of `addr`; an IPv4-mapped IPv6 address is judged by its IPv4 part.
    pub fn of(addr: &IpAddr) -> Exposure {
        match addr {
            IpAddr::V4(a) => Exposure::of_v4(*a),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Exposure::of_v4(v4),
                None if a.is_unspecified() => Exposure::Wildcard,
                None if a.is_loopback() => Exposure::Loopback,
                None if a.is_unicast_link_local() => Exposure::LinkLocal,
                None if a.is_unique_local() => Exposure::Private,
                None => Exposure::Public,
            },
        }
    }

    fn of_v4(a: std::net::Ipv4Addr) -> Exposure {
        let [o1, o2, ..] = a.octets();
        if a.is_unspecified() {
            Exposure::Wildcard
        } else if a.is_loopback() {
            Exposure::Loopback
        } else if a.is_link_local() {
            Exposure::LinkLocal
        } else if a.is_private() || (o1 == 100 && (64..128).contains(&o2)) {
            Exposure::Private
        } else {
            Exposure::Public
        }
    }

    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Exposure::Loopback => "loopback",
            Exposure::Wildcard => "wildcard",
            Exposure::LinkLocal => "link-local",
            Exposure::Private => "private",
            Exposure::Public => "public",
        }
    }
}

impl Listener {
    /// Address family of the local address.
    pub fn family(&self) -> Family {
        Family::of(&self.local_address)
    }

    /// The order of this listener's network namespace in a report ([`Netns::order`]);
    /// listeners without one sort first.
    pub fn netns_order(&self) -> (bool, u64) {
        self.netns.as_deref().map_or((false, 0), Netns::order)
    }

    /// True when bound to the wildcard address (`0.0.0.0` or `::`).
    pub fn is_wildcard(&self) -> bool {
        self.local_address.is_unspecified()
    }

    /// True for an IPv6 wildcard socket without `IPV6_V6ONLY`: it accepts IPv4 too.
    pub fn is_dual_stack(&self) -> bool {
        matches!(self.local_address, IpAddr::V6(a) if a.is_unspecified()) && self.v6only == Some(false)
    }

    /// How far the local address reaches.
    pub fn exposure(&self) -> Exposure {
        Exposure::of(&self.local_address)
    }

    /// True when bound to a loopback address (`127.0.0.0/8`, `::1`, or an IPv4-mapped loopback).
    pub fn is_loopback(&self) -> bool {
        match self.local_address {
            IpAddr::V4(a) => a.is_loopback(),
            IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
        }
    }

    /// `address:port`, with IPv6 addresses in brackets (`[::1]:3517`); a dual-stack
    /// wildcard socket is `[::]:22 (+ipv4)`.
    pub fn endpoint(&self) -> String {
        let e = endpoint(self.local_address, self.port);
        if self.is_dual_stack() {
            format!("{e} (+ipv4)")
        } else {
            e
        }
    }
}

/// Owners grouped by `key` (a name, or a name and placement), in the order first seen, each
/// group with its PIDs in the order given: the one grouping every owner list uses.
pub fn group_owners<'a, K: PartialEq>(
    owners: impl IntoIterator<Item = &'a Owner>,
    key: impl Fn(&'a Owner) -> K,
) -> Vec<(K, Vec<u32>)> {
    let mut groups: Vec<(K, Vec<u32>)> = Vec::new();
    for o in owners {
        let k = key(o);
        match groups.iter_mut().find(|g| g.0 == k) {
            Some(g) => g.1.push(o.pid),
            None => groups.push((k, vec![o.pid])),
        }
    }
    groups
}

/// `address:port`, with an IPv6 address in brackets: `0.0.0.0:5432`, `[::1]:5432`.
pub fn endpoint(address: IpAddr, port: u16) -> String {
    match address {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

/// Which inventory (socket and process enumerator) produced a scan.
///
/// Linux has two: the native one ([`InventoryKind::Linux`]: `NETLINK_SOCK_DIAG` and
/// `/proc`, with network namespaces, containers and portless sockets) and the portable
/// one ([`InventoryKind::Portable`]: `netstat2` and `sysinfo`, the only one on every other
/// OS). The JSON report names it in its top-level `inventory` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InventoryKind {
    /// The native Linux inventory (`"linux"`), available on Linux only.
    Linux,
    /// The portable inventory (`"portable"`): `netstat2` lists the sockets and their PIDs,
    /// `sysinfo` describes the owners. Lists no portless sockets and sees only portghost's
    /// own network namespace.
    Portable,
}

impl InventoryKind {
    /// The inventory this OS uses unless told otherwise: [`InventoryKind::Linux`] on Linux,
    /// [`InventoryKind::Portable`] everywhere else.
    pub const fn native() -> InventoryKind {
        if cfg!(target_os = "linux") {
            InventoryKind::Linux
        } else {
            InventoryKind::Portable
        }
    }

    /// The lowercase name, `"linux"` or `"portable"`, as the JSON report and
    /// `PORTGHOST_INVENTORY` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryKind::Linux => "linux",
            InventoryKind::Portable => "portable",
        }
    }
}

impl Default for InventoryKind {
    /// [`InventoryKind::native`].
    fn default() -> InventoryKind {
        InventoryKind::native()
    }
}

/// The result of enumerating the listeners of one host: one network namespace, or several
/// with `--all-netns`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Inventory {
    /// Host name of the machine scanned.
    pub host: String,
    /// When the scan was taken, as an RFC 3339 UTC timestamp.
    pub scanned_at: String,
    /// Every listener found, sorted by protocol, port, address.
    pub listeners: Vec<Listener>,
    /// Whether the scan ran with the privilege to see every process (root, or
    /// `CAP_SYS_PTRACE` + `CAP_DAC_READ_SEARCH`).
    pub privileged: bool,
    /// Whether portghost runs in the host's (initial) PID namespace, so that every process
    /// on the machine was visible to the walk. `None` when unknown.
    #[serde(default)]
    pub host_pid_namespace: Option<bool>,
    /// Problems that did not stop the scan but make it less than complete,
    /// one sentence each.
    pub warnings: Vec<String>,
    /// Whether portghost ran on the host or inside a container; `None` when it could not
    /// tell (for example without `/proc`).
    #[serde(default)]
    pub view: Option<View>,
    /// Every network namespace whose sockets were enumerated, in report order (the host's
    /// first). Empty where the OS has none or the namespace could not be identified.
    #[serde(default)]
    pub namespaces: Vec<Arc<Netns>>,
    /// Facts about where the owners of flagged listeners come from; empty until
    /// gathered for a [`ProvenanceRequest`](super::ProvenanceRequest).
    #[serde(default)]
    pub provenance: super::Provenance,
    /// Every packet and raw IP socket found (see [`PortlessListener`](super::PortlessListener)),
    /// in no particular order until sorted; empty when they were not asked for.
    #[serde(default)]
    pub portless: Vec<super::PortlessListener>,
    /// The inventory that enumerated the sockets and owners; the native one of this OS
    /// when not given.
    #[serde(default)]
    pub kind: InventoryKind,
}

impl Inventory {
    /// Sorts listeners into the canonical order: network namespace (the host's first),
    /// protocol, port, address, inode; and the namespaces the same way.
    pub fn sort(&mut self) {
        self.listeners
            .sort_by_key(|l| (l.netns_order(), l.protocol, l.port, l.local_address, l.inode));
        self.namespaces.sort_by_key(|n| n.order());
        self.portless
            .sort_by_key(|p| (p.netns_order(), p.kind, p.protocol, p.ifindex, p.inode));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposure_of_addresses() {
        let cases = [
            ("127.0.0.1", Exposure::Loopback),
            ("127.8.9.10", Exposure::Loopback),
            ("::1", Exposure::Loopback),
            ("::ffff:127.0.0.1", Exposure::Loopback),
            ("0.0.0.0", Exposure::Wildcard),
            ("::", Exposure::Wildcard),
            ("169.254.1.2", Exposure::LinkLocal),
            ("fe80::1", Exposure::LinkLocal),
            ("10.1.2.3", Exposure::Private),
            ("172.16.0.1", Exposure::Private),
            ("172.31.255.1", Exposure::Private),
            ("192.168.1.1", Exposure::Private),
            ("100.64.0.1", Exposure::Private),
            ("fd00::1", Exposure::Private),
            ("::ffff:10.0.0.1", Exposure::Private),
            ("172.32.0.1", Exposure::Public),
            ("100.128.0.1", Exposure::Public),
            ("8.8.8.8", Exposure::Public),
            ("2001:db8::1", Exposure::Public),
        ];
        for (addr, expected) in cases {
            let ip: IpAddr = addr.parse().expect("address");
            assert_eq!(Exposure::of(&ip), expected, "{addr}");
        }
    }
}
