//! The wire types of `scan --format json` and `--format jsonl`: the shape of every object,
//! field by field, in output order.
//!
//! Owns the field names of the schema. Each type borrows from the model ([`ScanJson::from_report`],
//! [`ListenerJson::new`]…) and serialises itself; no model type's own serde derive is used, so
//! renaming a model field cannot change the output. The nested objects, which the reader
//! ([`super::read`]) takes back too, are in [`super::objects`] and re-exported here. No I/O
//! here, and no decisions.

use super::SCHEMA_VERSION;
use super::names::{
    ExposureName, FamilyName, FilterStatusName, InventoryName, OwnerStatusName, ProtocolName, SocketKindName,
    VerdictName, ViewName,
};
pub use super::objects::{
    ContainerJson, FindingJson, GhostJson, NetnsJson, OwnerJson, PolicyJson, ServiceJson, SummaryJson, Text,
    UnofficialJson,
};
use super::write::SharedJson;
use crate::model::{BpfInsn, Classified, ClassifiedPortless, Finding, Membership, Netns, Owner, Report};
use serde::Serialize;
use serde::ser::SerializeSeq as _;
use serde_json::value::RawValue;
use std::net::IpAddr;
use std::sync::Arc;

/// The top-level JSON object of `portghost scan --format json`.
#[derive(Debug, Serialize)]
pub struct ScanJson<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Host name.
    pub host: &'a str,
    /// RFC 3339 time of the scan.
    pub scanned_at: &'a str,
    /// False when any owner was hidden or any part of the scan failed.
    pub complete: bool,
    /// Whether the scan could see every process (root or the needed capabilities).
    pub privileged: bool,
    /// `"linux"` or `"portable"`: the inventory that enumerated the sockets and owners.
    /// Added in version 1 (readers that do not know it ignore it).
    pub inventory: InventoryName,
    /// Problems that made the scan less than complete.
    pub warnings: &'a [String],
    /// `"host"` or `"container"`: whose view of the machine this is; null when unknown.
    pub view: Option<ViewName>,
    /// Every network namespace scanned, the host's first.
    pub namespaces: NamespacesJson<'a>,
    /// The policy the listeners were judged with, or null when none was used.
    pub policy: Option<PolicyJson<'a>>,
    /// The registries the listeners were judged with.
    pub registry: RegistryJson<'a>,
    /// Counts over `listeners`.
    pub summary: SummaryJson,
    /// The portless listeners (packet and raw IP sockets), unexpected first. Added in
    /// version 1 (readers that do not know it ignore it). Before `listeners`, which the
    /// compact writer keeps last.
    pub portless: PortlessListJson<'a>,
    /// The listeners, unexpected first.
    pub listeners: ListenersJson<'a>,
}

impl<'a> ScanJson<'a> {
    /// Borrows a report for output; `shared` holds already-serialised owners and records.
    pub fn from_report(r: &'a Report, shared: Option<&'a SharedJson>) -> ScanJson<'a> {
        ScanJson {
            schema_version: SCHEMA_VERSION,
            host: &r.host,
            scanned_at: &r.scanned_at,
            complete: r.complete,
            privileged: r.privileged,
            inventory: InventoryName::from(r.inventory),
            warnings: &r.warnings,
            view: r.view.map(ViewName::from),
            namespaces: NamespacesJson(&r.namespaces),
            policy: r.policy.as_ref().map(PolicyJson::from_info),
            registry: RegistryJson {
                iana_updated: &r.registry.iana_updated,
                iana_file: r.registry.iana_file.as_deref(),
                local_files: &r.registry.local_files,
            },
            summary: SummaryJson::from(r.summary),
            portless: PortlessListJson(&r.portless),
            listeners: ListenersJson {
                listeners: &r.listeners,
                shared,
            },
        }
    }
}

/// The `registry` object: which registries judged the listeners.
#[derive(Debug, Serialize)]
pub struct RegistryJson<'a> {
    /// Date of the IANA registry, `YYYY-MM-DD`, read from the registry itself.
    pub iana_updated: &'a str,
    /// The IANA file given with `--iana` or `PORTGHOST_IANA`, or null for the embedded one.
    pub iana_file: Option<&'a str>,
    /// The local registry files merged in, in the order they were read.
    pub local_files: &'a [String],
}

/// The `namespaces` array: each namespace as a [`NetnsJson`].
#[derive(Debug)]
pub struct NamespacesJson<'a>(pub &'a [Arc<Netns>]);

impl Serialize for NamespacesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|n| NetnsJson::from_netns(n)))
    }
}

/// The `listeners` array, serialised one listener at a time without collecting.
#[derive(Debug)]
pub struct ListenersJson<'a> {
    /// The listeners.
    pub listeners: &'a [Classified],
    /// Values shared by many listeners, already serialised; `None` to serialise each time.
    pub shared: Option<&'a SharedJson>,
}

impl Serialize for ListenersJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.listeners.iter().map(|c| ListenerJson::new(c, self.shared)))
    }
}

/// A value written as it is, or copied from its JSON serialised earlier ([`SharedJson`]).
#[derive(Debug)]
pub enum Cached<'a, T> {
    /// Serialised earlier.
    Raw(&'a RawValue),
    /// To serialise now.
    Value(T),
}

impl<T: Serialize> Serialize for Cached<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cached::Raw(raw) => raw.serialize(s),
            Cached::Value(v) => v.serialize(s),
        }
    }
}

/// One listener in the JSON output.
///
/// The compact output writes the same object by hand ([`super::fast::write_listeners`]): a
/// field added here must be added there too, in the same place; `tests/json_fast.rs`
/// compares the two.
#[derive(Debug, Serialize)]
pub struct ListenerJson<'a> {
    /// `"tcp"` or `"udp"`.
    pub protocol: ProtocolName,
    /// `"ipv4"` or `"ipv6"`.
    pub family: FamilyName,
    /// Local address, e.g. `"0.0.0.0"` or `"::1"`.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// `loopback`, `wildcard`, `link-local`, `private` or `public`.
    pub exposure: ExposureName,
    /// For IPv6: whether `IPV6_V6ONLY` is set; null for IPv4.
    pub v6only: Option<bool>,
    /// True for an IPv6 wildcard socket that also accepts IPv4.
    pub dual_stack: bool,
    /// Socket inode, or null where the OS has none.
    pub inode: Option<u64>,
    /// UID that created the socket, or null.
    pub uid: Option<u32>,
    /// The network namespace, or null.
    pub netns: Option<Cached<'a, NetnsJson<'a>>>,
    /// Every process holding the socket.
    pub owners: OwnersJson<'a>,
    /// `known`, `permission`, `no-process`, `unavailable` or `not-looked`.
    pub owner_status: OwnerStatusName,
    /// A sentence explaining `owner_status`.
    pub owner_reason: &'static str,
    /// The IANA record for the port, or null when unassigned.
    pub service: Option<Cached<'a, ServiceJson<'a>>>,
    /// The ghost registry entry, or null.
    pub ghost: Option<GhostJson<'a>>,
    /// `unexpected`, `unreviewed` or `expected`.
    pub verdict: VerdictName,
    /// The reasons, most severe first.
    pub findings: FindingsJson<'a>,
}

impl<'a> ListenerJson<'a> {
    /// Borrows a classified listener for output, taking owners, namespaces and IANA records
    /// from `shared` where they are there: the same JSON, serialised once.
    pub fn new(c: &'a Classified, shared: Option<&'a SharedJson>) -> ListenerJson<'a> {
        let l = &c.listener;
        ListenerJson {
            protocol: l.protocol.into(),
            family: l.family().into(),
            local_address: l.local_address,
            port: l.port,
            exposure: l.exposure().into(),
            v6only: l.v6only,
            dual_stack: l.is_dual_stack(),
            inode: l.inode,
            uid: l.uid,
            netns: l.netns.as_deref().map(|n| match shared.and_then(|sh| sh.netns(n)) {
                Some(raw) => Cached::Raw(raw),
                None => Cached::Value(NetnsJson::from_netns(n)),
            }),
            owners: OwnersJson {
                owners: &l.owners,
                shared,
            },
            owner_status: l.owner_status.into(),
            owner_reason: l.owner_status.reason(),
            service: c.service.map(|r| match shared.and_then(|sh| sh.service(r)) {
                Some(raw) => Cached::Raw(raw),
                None => Cached::Value(ServiceJson::from_record(r)),
            }),
            ghost: c.ghost.as_deref().map(GhostJson::from_entry),
            verdict: c.verdict.into(),
            findings: FindingsJson(&c.findings),
        }
    }

    /// Borrows a classified listener for output, serialising everything on the spot.
    pub fn from_classified(c: &'a Classified) -> ListenerJson<'a> {
        ListenerJson::new(c, None)
    }
}

/// A listener's owners, each taken from [`SharedJson`] when it is there.
#[derive(Debug)]
pub struct OwnersJson<'a> {
    /// The owners.
    pub owners: &'a [Arc<Owner>],
    /// Already-serialised owners, if any.
    pub shared: Option<&'a SharedJson>,
}

impl Serialize for OwnersJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.owners.len()))?;
        for owner in self.owners {
            match self.shared.and_then(|sh| sh.owner(owner)) {
                Some(raw) => seq.serialize_element(raw)?,
                None => seq.serialize_element(&OwnerJson::from_owner(owner))?,
            }
        }
        seq.end()
    }
}

/// A listener's `findings` array.
#[derive(Debug)]
pub struct FindingsJson<'a>(pub &'a [Finding]);

impl Serialize for FindingsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(FindingJson::from_finding))
    }
}

/// One line of `--format jsonl`: a listener with the scan it came from.
#[derive(Debug, Serialize)]
pub struct ListenerLineJson<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Host name of the machine scanned.
    pub host: &'a str,
    /// RFC 3339 time of the scan.
    pub scanned_at: &'a str,
    /// The listener, with exactly the fields of a `listeners[]` element of `--format json`.
    #[serde(flatten)]
    pub listener: ListenerJson<'a>,
}

impl<'a> ListenerLineJson<'a> {
    /// Borrows one listener of `report` for output; `shared` holds already-serialised
    /// owners and IANA records ([`SharedJson`]), if any.
    pub fn new(report: &'a Report, c: &'a Classified, shared: Option<&'a SharedJson>) -> ListenerLineJson<'a> {
        ListenerLineJson {
            schema_version: SCHEMA_VERSION,
            host: &report.host,
            scanned_at: &report.scanned_at,
            listener: ListenerJson::new(c, shared),
        }
    }
}

/// The `portless` array: each portless listener as a [`PortlessJson`].
#[derive(Debug)]
pub struct PortlessListJson<'a>(pub &'a [ClassifiedPortless]);

impl Serialize for PortlessListJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(PortlessJson::new))
    }
}

/// One portless listener (packet or raw IP socket) in the JSON output.
#[derive(Debug, Serialize)]
pub struct PortlessJson<'a> {
    /// `"packet"` or `"raw"`.
    pub socket: SocketKindName,
    /// `"raw"`, `"dgram"`, or `"type-N"`.
    pub socket_type: String,
    /// EtherType (packet: 3 is ETH_P_ALL, 2048 IPv4) or IP protocol number (raw: 1 ICMP).
    pub protocol: u16,
    /// The protocol's short name: `all`, `ipv4`, `arp`, `icmp`, `vrrp`, or the number.
    pub protocol_name: String,
    /// For a raw socket, its local address; null for a packet socket.
    pub local_address: Option<IpAddr>,
    /// The interface index it is bound to; 0 for every interface.
    pub ifindex: u32,
    /// The interface's name in its namespace, or null.
    pub interface: Option<&'a str>,
    /// True when the socket holds a promiscuous membership.
    pub promiscuous: bool,
    /// Memberships (multicast groups, promiscuous, allmulti).
    pub memberships: Vec<MembershipJson<'a>>,
    /// True when the socket has a receive or transmit ring.
    pub ring: bool,
    /// The fanout group (ID in the low 16 bits, mode and flags above), or null.
    pub fanout: Option<u32>,
    /// `attached`, `none`, `hidden` (root only) or `unavailable` (not reported).
    pub filter_status: FilterStatusName,
    /// The classic BPF filter, decoded, when `filter_status` is `attached`.
    pub filter: Option<FilterJson<'a>>,
    /// Socket inode.
    pub inode: u64,
    /// UID that created the socket, or null.
    pub uid: Option<u32>,
    /// The network namespace, or null.
    pub netns: Option<NetnsJson<'a>>,
    /// Every process holding the socket.
    pub owners: OwnersJson<'a>,
    /// As for a listener.
    pub owner_status: OwnerStatusName,
    /// A sentence explaining `owner_status`.
    pub owner_reason: &'static str,
    /// The portless registry's program an owner matched (with its package), or null.
    pub program: Option<&'a str>,
    /// `unexpected`, `unreviewed` or `expected`.
    pub verdict: VerdictName,
    /// The reasons, most severe first.
    pub findings: FindingsJson<'a>,
}

impl<'a> PortlessJson<'a> {
    /// Borrows a classified portless listener for output.
    pub fn new(c: &'a ClassifiedPortless) -> PortlessJson<'a> {
        let l = &c.listener;
        PortlessJson {
            socket: l.kind.into(),
            socket_type: l.socket_type.name(),
            protocol: l.protocol,
            protocol_name: l.protocol_name(),
            local_address: l.local_address,
            ifindex: l.ifindex,
            interface: l.interface.as_deref(),
            promiscuous: l.promiscuous(),
            memberships: l.memberships.iter().map(MembershipJson::from_membership).collect(),
            ring: l.ring,
            fanout: l.fanout,
            filter_status: l.filter_status.into(),
            filter: c.filter.as_ref().map(|d| FilterJson {
                summary: &d.summary,
                payload_match: d.payload_match,
                listing: &d.listing,
                instructions: l
                    .filter
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(InsnJson::from_insn)
                    .collect(),
            }),
            inode: l.inode,
            uid: l.uid,
            netns: l.netns.as_deref().map(NetnsJson::from_netns),
            owners: OwnersJson {
                owners: &l.owners,
                shared: None,
            },
            owner_status: l.owner_status.into(),
            owner_reason: l.owner_status.reason(),
            program: c.program.as_deref(),
            verdict: c.verdict.into(),
            findings: FindingsJson(&c.findings),
        }
    }
}

/// One membership of a packet socket.
#[derive(Debug, Serialize)]
pub struct MembershipJson<'a> {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name, or null.
    pub interface: Option<&'a str>,
    /// `multicast`, `promiscuous`, `allmulti`, `unicast` or `type-N`.
    pub kind: &'a str,
    /// Link-layer address (`01:00:5e:00:00:12`), or null.
    pub address: Option<&'a str>,
}

impl<'a> MembershipJson<'a> {
    /// Borrows a membership for output.
    pub fn from_membership(m: &'a Membership) -> MembershipJson<'a> {
        MembershipJson {
            ifindex: m.ifindex,
            interface: m.interface.as_deref(),
            kind: &m.kind,
            address: m.address.as_deref(),
        }
    }
}

/// A socket's classic BPF filter, decoded.
#[derive(Debug, Serialize)]
pub struct FilterJson<'a> {
    /// What the filter accepts, in one sentence.
    pub summary: &'a str,
    /// True when it compares payload bytes with constants (a magic-packet trigger).
    pub payload_match: bool,
    /// The instructions as `tcpdump -d` lists them, one string each.
    pub listing: &'a [String],
    /// The instructions as the kernel holds them.
    pub instructions: Vec<InsnJson>,
}

/// One `struct sock_filter`.
#[derive(Debug, Serialize)]
pub struct InsnJson {
    /// Opcode.
    pub code: u16,
    /// Jump offset when true.
    pub jt: u8,
    /// Jump offset when false.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

impl InsnJson {
    /// One instruction for output.
    pub fn from_insn(i: &BpfInsn) -> InsnJson {
        InsnJson {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

/// One portless line of `--format jsonl`: a portless listener with the scan it came from.
/// The `socket` field (`packet`/`raw`) tells these lines from listener lines.
#[derive(Debug, Serialize)]
pub struct PortlessLineJson<'a> {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Host name of the machine scanned.
    pub host: &'a str,
    /// RFC 3339 time of the scan.
    pub scanned_at: &'a str,
    /// The portless listener, with the fields of a `portless[]` element of `--format json`.
    #[serde(flatten)]
    pub portless: PortlessJson<'a>,
}
