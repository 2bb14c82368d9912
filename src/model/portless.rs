//! Portless listeners as plain data: packet (`AF_PACKET`) and raw IP (`SOCK_RAW`) sockets,
//! which receive traffic without binding a port, and what classification concludes about
//! them.
//!
//! Owns [`PortlessListener`] and its parts ([`SocketKind`], [`SocketType`], [`Membership`],
//! [`BpfInsn`], [`FilterStatus`]), the judgement of one ([`ClassifiedPortless`],
//! [`DecodedFilter`]) and the registry entry of a program known to need one
//! ([`PortlessProgram`]). Plain data with small accessors: it must not read the OS, the
//! clock or the environment, and holds no classification rule.

use super::judgement::{Finding, Verdict};
use super::scan::{Netns, Owner, OwnerStatus};
use serde::Deserialize;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

/// Which kind of portless socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketKind {
    /// An `AF_PACKET` socket: it sees whole frames (or network-layer packets) of one
    /// interface or of every interface, before the IP stack. `tcpdump`, DHCP clients, BPFDoor.
    Packet,
    /// A raw IP socket (`AF_INET`/`AF_INET6`, `SOCK_RAW`): it receives every packet of one IP
    /// protocol (ICMP, VRRP, OSPF…) that reaches the host. `ping`, keepalived.
    Raw,
}

impl SocketKind {
    /// `packet` or `raw`, as JSON, policies and the table spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketKind::Packet => "packet",
            SocketKind::Raw => "raw",
        }
    }
}

impl fmt::Display for SocketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SocketKind {
    type Err = String;

    /// Parses `packet` or `raw`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "packet" => Ok(SocketKind::Packet),
            "raw" => Ok(SocketKind::Raw),
            other => Err(format!("{other:?} is not \"packet\" or \"raw\"")),
        }
    }
}

/// The socket type a portless socket was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SocketType {
    /// `SOCK_RAW`: a packet socket sees the link-layer header; a raw IP socket the IP header.
    Raw,
    /// `SOCK_DGRAM`: a packet socket that sees packets from the network-layer header on
    /// (the link-layer header removed).
    Dgram,
    /// Another type, by number.
    Other(u8),
}

impl SocketType {
    /// From the kernel's `SOCK_*` number.
    pub fn from_number(n: u8) -> SocketType {
        match n {
            3 => SocketType::Raw,
            2 => SocketType::Dgram,
            other => SocketType::Other(other),
        }
    }

    /// `raw`, `dgram`, or `type-N`.
    pub fn name(self) -> String {
        match self {
            SocketType::Raw => "raw".to_owned(),
            SocketType::Dgram => "dgram".to_owned(),
            SocketType::Other(n) => format!("type-{n}"),
        }
    }
}

/// One membership a packet socket holds on an interface (`PACKET_ADD_MEMBERSHIP`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Membership {
    /// The interface index.
    pub ifindex: u32,
    /// The interface's name in the socket's network namespace, when it could be found.
    #[serde(default)]
    pub interface: Option<String>,
    /// `multicast`, `promiscuous`, `allmulti`, `unicast`, or `type-N`.
    pub kind: String,
    /// The link-layer address of a multicast or unicast membership, as colon-separated
    /// hex (`01:00:5e:00:00:12`); `None` for the others.
    #[serde(default)]
    pub address: Option<String>,
}

/// One classic BPF instruction (`struct sock_filter`), as the kernel returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub struct BpfInsn {
    /// The opcode: class, size, mode, operation and source bits.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// The constant operand (offset, value, or extension selector).
    pub k: u32,
}

/// Whether the socket's classic BPF filter could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterStatus {
    /// A classic BPF filter is attached; [`PortlessListener::filter`] holds it.
    Attached,
    /// No classic filter is attached (an eBPF filter attached with `SO_ATTACH_BPF` would
    /// also look like this: the kernel reports classic filters only).
    None,
    /// The kernel shows filters only to `CAP_NET_ADMIN` (root): not known.
    Hidden,
    /// The kernel does not report filters for this kind of socket (raw IP sockets, or a
    /// packet socket read from `/proc/net/packet` because `packet_diag` is missing).
    Unavailable,
}

impl FilterStatus {
    /// The kebab-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterStatus::Attached => "attached",
            FilterStatus::None => "none",
            FilterStatus::Hidden => "hidden",
            FilterStatus::Unavailable => "unavailable",
        }
    }
}

/// One portless socket: a packet socket, or a raw IP socket.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PortlessListener {
    /// Packet or raw.
    pub kind: SocketKind,
    /// The socket type.
    pub socket_type: SocketType,
    /// For a packet socket, the Ethernet protocol it receives (`0x0003` ETH_P_ALL,
    /// `0x0800` IPv4, `0x0806` ARP…), in host order; for a raw socket, the IP protocol
    /// number (1 ICMP, 58 ICMPv6, 112 VRRP, 255 IPPROTO_RAW).
    pub protocol: u16,
    /// For a raw socket, the local address it is bound to (`0.0.0.0` or `::` for none);
    /// `None` for a packet socket.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// For a packet socket, the index of the interface it is bound to; 0 for every
    /// interface. For a raw socket, the device it is bound to (`SO_BINDTODEVICE`), 0 for none.
    #[serde(default)]
    pub ifindex: u32,
    /// The name of `ifindex` in the socket's network namespace, when it is not 0 and the
    /// interface exists.
    #[serde(default)]
    pub interface: Option<String>,
    /// Memberships of a packet socket (multicast groups, promiscuous mode); empty when none
    /// or not known.
    #[serde(default)]
    pub memberships: Vec<Membership>,
    /// True when a packet socket has a receive or transmit ring (`PACKET_RX_RING`,
    /// `PACKET_TX_RING`), as capture tools use.
    #[serde(default)]
    pub ring: bool,
    /// The fanout group of a packet socket (`PACKET_FANOUT`): group ID in the low 16 bits,
    /// mode and flags above; `None` when it has none.
    #[serde(default)]
    pub fanout: Option<u32>,
    /// Whether the socket's filter is known (see [`FilterStatus`]).
    pub filter_status: FilterStatus,
    /// The classic BPF filter when [`FilterStatus::Attached`], at most 4096 instructions
    /// (the kernel's `BPF_MAXINSNS`).
    #[serde(default)]
    pub filter: Option<Vec<BpfInsn>>,
    /// Socket inode: the `N` of `socket:[N]` in `/proc/PID/fd`.
    pub inode: u64,
    /// UID that created the socket, when known.
    #[serde(default)]
    pub uid: Option<u32>,
    /// Every process holding the socket, sorted by PID; shared with the port listeners.
    #[serde(default)]
    pub owners: Vec<Arc<Owner>>,
    /// Whether `owners` is the whole truth, and if empty, why.
    pub owner_status: OwnerStatus,
    /// The network namespace the socket lives in, when known.
    #[serde(default)]
    pub netns: Option<Arc<Netns>>,
}

impl PortlessListener {
    /// A short name for the protocol: `all` (ETH_P_ALL), `ipv4`, `ipv6`, `arp`, `icmp`,
    /// `icmpv6`, `vrrp`, …, else the number (`0x88cc` for a packet socket, `103` for raw).
    pub fn protocol_name(&self) -> String {
        match self.kind {
            SocketKind::Packet => match self.protocol {
                0x0003 => "all".to_owned(),
                0x0800 => "ipv4".to_owned(),
                0x86dd => "ipv6".to_owned(),
                0x0806 => "arp".to_owned(),
                0x88cc => "lldp".to_owned(),
                0x88f7 => "ptp".to_owned(),
                0x888e => "eapol".to_owned(),
                0x8863 => "pppoe-discovery".to_owned(),
                0x8864 => "pppoe".to_owned(),
                0 => "none".to_owned(),
                n => format!("0x{n:04x}"),
            },
            SocketKind::Raw => match self.protocol {
                1 => "icmp".to_owned(),
                2 => "igmp".to_owned(),
                6 => "tcp".to_owned(),
                17 => "udp".to_owned(),
                58 => "icmpv6".to_owned(),
                89 => "ospf".to_owned(),
                103 => "pim".to_owned(),
                112 => "vrrp".to_owned(),
                255 => "raw".to_owned(),
                n => n.to_string(),
            },
        }
    }

    /// Where the socket listens, as a phrase for the table: `any interface`, `eth0`,
    /// `ifindex 7`, or for a raw socket its address (`0.0.0.0`, `::1`), with the device
    /// it is bound to.
    pub fn endpoint(&self) -> String {
        let device = match (&self.interface, self.ifindex) {
            (_, 0) => None,
            (Some(name), _) => Some(name.clone()),
            (None, i) => Some(format!("ifindex {i}")),
        };
        match (self.local_address, device) {
            (Some(a), Some(d)) => format!("{a}%{d}"),
            (Some(a), None) => a.to_string(),
            (None, Some(d)) => d,
            (None, None) => "any interface".to_owned(),
        }
    }

    /// True when the socket holds a promiscuous membership on some interface.
    pub fn promiscuous(&self) -> bool {
        self.memberships.iter().any(|m| m.kind == "promiscuous")
    }

    /// The order of this socket's network namespace in a report ([`Netns::order`]).
    pub fn netns_order(&self) -> (bool, u64) {
        self.netns.as_deref().map_or((false, 0), Netns::order)
    }
}

/// A classic BPF filter decoded for people: its instructions as `tcpdump -d` lists them and
/// what it accepts, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFilter {
    /// One line per instruction: `(000) ldh      [12]`.
    pub listing: Vec<String>,
    /// What the filter accepts, in one sentence: "accepts only IPv4 TCP packets whose
    /// payload starts with 0x5293".
    pub summary: String,
    /// True when the filter compares bytes of the payload (beyond the transport header)
    /// with constants, as magic-packet backdoors do.
    pub payload_match: bool,
}

/// A portless listener with its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifiedPortless {
    /// The socket and its owners, as the inventory found them.
    pub listener: PortlessListener,
    /// The filter, decoded, when one could be read.
    pub filter: Option<DecodedFilter>,
    /// The registry's program that matched an owner, if any (its `name`).
    pub program: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The reasons, most severe first; never empty.
    pub findings: Vec<Finding>,
}

impl ClassifiedPortless {
    /// The most severe finding's message.
    pub fn reason(&self) -> String {
        self.findings.first().map(|f| f.message.clone()).unwrap_or_default()
    }
}

/// A program known to need a packet or raw socket, from `registry/portless.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortlessProgram {
    /// The program's name, e.g. `tcpdump`.
    pub name: String,
    /// The absolute paths its executable is installed at.
    pub executables: Vec<String>,
    /// The distribution packages that ship it (Debian names first).
    pub packages: Vec<String>,
    /// Which portless sockets it opens.
    pub sockets: Vec<SocketKind>,
    /// Why it needs them, in a sentence.
    pub why: String,
    /// Where that is documented.
    pub sources: Vec<String>,
}
