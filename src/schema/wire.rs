//! The wire types of `scan --format json` and `--format jsonl`: the shape of every object,
//! field by field, in output order.
//!
//! Owns the field names of the schema. Each type borrows from the model ([`ScanJson::from_report`],
//! [`ListenerJson::new`]…) and serialises itself; no model type's own serde derive is used, so
//! renaming a model field cannot change the output. The nested objects, which the reader
//! ([`super::read`]) takes back too, are in [`super::objects`] and re-exported here. No I/O
//! here, and no decisions.

use super::SCHEMA_VERSION;
use super::names::{ExposureName, FamilyName, OwnerStatusName, ProtocolName, VerdictName, ViewName};
pub use super::objects::{
    ContainerJson, FindingJson, GhostJson, NetnsJson, OwnerJson, PolicyJson, ServiceJson, SummaryJson, Text,
    UnofficialJson,
};
use super::write::SharedJson;
use crate::model::{Classified, Finding, Netns, Owner, Report};
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
