//! The JSON output: one object, `schema_version` 1, documented in the README.
//!
//! Owns the wire types, kept apart from the domain types so the schema changes only on
//! purpose, and a formatter that keeps the text inert on a terminal. Writes to any `Write`.

use crate::model::{Exposure, Family, Listener, Netns, Owner, OwnerStatus, Protocol, View};
use crate::registry::ghosts::{GhostEntry, GhostStatus, UnofficialUse};
use crate::registry::iana::IanaRecord;
use crate::report::{Classified, Finding, PolicyInfo, Report, Summary, Verdict};
use crate::sanitize::is_dangerous;
use serde::Serialize;
use serde::ser::SerializeSeq as _;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::Arc;

/// The version of the JSON schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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
    pub view: Option<View>,
    /// Every network namespace scanned, the host's first.
    pub namespaces: &'a [Arc<Netns>],
    /// The policy the listeners were judged with (`path`, `mode`, `allow_rules`,
    /// `deny_rules`, `warnings`), or null when none was used.
    pub policy: Option<&'a PolicyInfo>,
    /// Counts over `listeners`.
    pub summary: &'a Summary,
    /// The listeners, unexpected first.
    pub listeners: ListenersJson<'a>,
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
        s.collect_seq(
            self.listeners
                .iter()
                .map(|c| ListenerJson::from_classified(c).with_shared(self.shared)),
        )
    }
}

/// Compact JSON of the owners, IANA records and network namespaces in a report, each
/// serialised once and then copied into every listener that refers to it. On a host where 500 processes hold 50,000
/// sockets, this serialises 500 owners instead of 50,000.
#[derive(Debug, Default)]
pub struct SharedJson {
    owners: HashMap<*const Owner, Box<RawValue>>,
    services: HashMap<*const IanaRecord, Box<RawValue>>,
    namespaces: HashMap<*const Netns, Box<RawValue>>,
}

impl SharedJson {
    /// Serialises every distinct owner and IANA record of `listeners` (compact, through
    /// [`SafeFormatter`]).
    ///
    /// # Errors
    /// When a value cannot be serialised (it always can; the error is passed on).
    pub fn of(listeners: &[Classified]) -> io::Result<SharedJson> {
        let mut shared = SharedJson::default();
        for c in listeners {
            for owner in &c.listener.owners {
                if let Entry::Vacant(slot) = shared.owners.entry(Arc::as_ptr(owner)) {
                    slot.insert(compact(owner.as_ref())?);
                }
            }
            if let Some(service) = c.service
                && let Entry::Vacant(slot) = shared.services.entry(std::ptr::from_ref(service))
            {
                slot.insert(compact(service)?);
            }
            if let Some(netns) = &c.listener.netns
                && let Entry::Vacant(slot) = shared.namespaces.entry(Arc::as_ptr(netns))
            {
                slot.insert(compact(netns.as_ref())?);
            }
        }
        Ok(shared)
    }
}

/// `value` as compact JSON through [`SafeFormatter`].
fn compact<T: Serialize + ?Sized>(value: &T) -> io::Result<Box<RawValue>> {
    let mut buf = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, SafeFormatter(CompactFormatter));
    value.serialize(&mut ser).map_err(io::Error::other)?;
    let text = String::from_utf8(buf).map_err(io::Error::other)?;
    RawValue::from_string(text).map_err(io::Error::other)
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
            match self.shared.and_then(|sh| sh.owners.get(&Arc::as_ptr(owner))) {
                Some(raw) => seq.serialize_element(raw)?,
                None => seq.serialize_element(owner.as_ref())?,
            }
        }
        seq.end()
    }
}

/// A listener's network namespace, taken from [`SharedJson`] when it is there.
#[derive(Debug)]
pub struct NetnsJson<'a> {
    /// The namespace.
    pub netns: &'a Netns,
    /// Already-serialised namespaces, if any.
    pub shared: Option<&'a SharedJson>,
}

impl Serialize for NetnsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self
            .shared
            .and_then(|sh| sh.namespaces.get(&std::ptr::from_ref(self.netns)))
        {
            Some(raw) => raw.serialize(s),
            None => self.netns.serialize(s),
        }
    }
}

/// A listener's IANA record, taken from [`SharedJson`] when it is there.
#[derive(Debug)]
pub struct ServiceJson<'a> {
    /// The record.
    pub service: &'a IanaRecord,
    /// Already-serialised records, if any.
    pub shared: Option<&'a SharedJson>,
}

impl Serialize for ServiceJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self
            .shared
            .and_then(|sh| sh.services.get(&std::ptr::from_ref(self.service)))
        {
            Some(raw) => raw.serialize(s),
            None => self.service.serialize(s),
        }
    }
}

/// One listener in the JSON output.
#[derive(Debug, Serialize)]
pub struct ListenerJson<'a> {
    /// `"tcp"` or `"udp"`.
    pub protocol: Protocol,
    /// `"ipv4"` or `"ipv6"`.
    pub family: Family,
    /// Local address, e.g. `"0.0.0.0"` or `"::1"`.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// `loopback`, `wildcard`, `link-local`, `private` or `public`.
    pub exposure: Exposure,
    /// For IPv6: whether `IPV6_V6ONLY` is set; null for IPv4.
    pub v6only: Option<bool>,
    /// True for an IPv6 wildcard socket that also accepts IPv4.
    pub dual_stack: bool,
    /// Socket inode, or null where the OS has none.
    pub inode: Option<u64>,
    /// UID that created the socket, or null.
    pub uid: Option<u32>,
    /// The network namespace (`inode`, `name`, `container`, `host`), or null.
    pub netns: Option<NetnsJson<'a>>,
    /// Every process holding the socket.
    pub owners: OwnersJson<'a>,
    /// `known`, `permission`, `no-process`, `unavailable` or `not-looked`.
    pub owner_status: OwnerStatus,
    /// A sentence explaining `owner_status`.
    pub owner_reason: &'static str,
    /// The IANA record for the port, or null when unassigned.
    pub service: Option<ServiceJson<'a>>,
    /// The ghost registry entry, or null.
    pub ghost: Option<GhostJson<'a>>,
    /// `unexpected`, `unreviewed` or `expected`.
    pub verdict: Verdict,
    /// The reasons, most severe first.
    pub findings: &'a [Finding],
}

/// The ghost registry entry of a listener's port in the JSON output.
#[derive(Debug, Serialize)]
pub struct GhostJson<'a> {
    /// The status, e.g. `defunct-vendor`.
    pub status: GhostStatus,
    /// Who registered the port.
    pub registrant: &'a str,
    /// One-sentence story.
    pub summary: &'a str,
    /// What happened, as a short clause.
    pub fate: &'a str,
    /// Registration date when known.
    pub registered: Option<&'a str>,
    /// The fact behind the status.
    pub evidence: &'a str,
    /// Where it belongs, for alive-restricted ports.
    pub belongs: Option<&'a str>,
    /// Source URLs.
    pub sources: &'a [String],
    /// Known unofficial uses.
    pub unofficial: &'a [UnofficialUse],
}

impl<'a> GhostJson<'a> {
    /// Borrows a ghost entry for output.
    pub fn from_entry(g: &'a GhostEntry) -> GhostJson<'a> {
        GhostJson {
            status: g.status,
            registrant: &g.registrant,
            summary: &g.summary,
            fate: &g.fate,
            registered: g.registered.as_deref(),
            evidence: &g.evidence,
            belongs: g.belongs.as_deref(),
            sources: &g.sources,
            unofficial: &g.unofficial,
        }
    }
}

impl<'a> ListenerJson<'a> {
    /// Borrows a classified listener for output.
    pub fn from_classified(c: &'a Classified) -> ListenerJson<'a> {
        let l: &Listener = &c.listener;
        ListenerJson {
            protocol: l.protocol,
            family: l.family(),
            local_address: l.local_address,
            port: l.port,
            exposure: l.exposure(),
            v6only: l.v6only,
            dual_stack: l.is_dual_stack(),
            inode: l.inode,
            uid: l.uid,
            netns: l.netns.as_deref().map(|netns| NetnsJson { netns, shared: None }),
            owners: OwnersJson {
                owners: &l.owners,
                shared: None,
            },
            owner_status: l.owner_status,
            owner_reason: l.owner_status.reason(),
            service: c.service.map(|service| ServiceJson { service, shared: None }),
            ghost: c.ghost.as_deref().map(GhostJson::from_entry),
            verdict: c.verdict,
            findings: &c.findings,
        }
    }

    /// Takes owners and IANA records from `shared` where they are there: the same JSON,
    /// serialised once.
    pub fn with_shared(mut self, shared: Option<&'a SharedJson>) -> ListenerJson<'a> {
        self.owners.shared = shared;
        if let Some(netns) = &mut self.netns {
            netns.shared = shared;
        }
        if let Some(service) = &mut self.service {
            service.shared = shared;
        }
        self
    }
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
            view: r.view,
            namespaces: &r.namespaces,
            policy: r.policy.as_ref(),
            summary: &r.summary,
            listeners: ListenersJson {
                listeners: &r.listeners,
                shared,
            },
        }
    }
}

/// A JSON formatter around `F` (pretty or compact) that also escapes DEL, C1 controls and
/// bidirectional overrides as `\uXXXX`. The decoded value is unchanged; the text is safe on
/// a terminal.
pub struct SafeFormatter<F>(pub F);

impl<F: Formatter> Formatter for SafeFormatter<F> {
    fn write_string_fragment<W: ?Sized + Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        // Printable ASCII, the common case, needs no scan by character.
        if fragment.bytes().all(|b| b != 0x7f && b < 0x80) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if is_dangerous(c) {
                w.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    write!(w, "\\u{u:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Writes `value` as JSON through [`SafeFormatter`], followed by a newline: indented when
/// `pretty` (for a person at a terminal), on one line otherwise (for programs).
///
/// # Errors
/// Errors from writing to `w`.
pub fn write_json<T: Serialize + ?Sized>(w: &mut dyn Write, value: &T, pretty: bool) -> io::Result<()> {
    // serde_json writes many small pieces; buffer them here, where the writer's type is
    // known, so that `w` is called once per 64 KiB rather than once per piece.
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, w);
    write_json_to(&mut buffered, value, pretty)?;
    buffered.flush()
}

/// [`write_json`] into a writer of known type, without buffering of its own: give it a
/// `BufWriter` or a `Vec` when writing many values.
///
/// # Errors
/// Errors from writing to `w`.
pub fn write_json_to<W: Write, T: Serialize + ?Sized>(w: &mut W, value: &T, pretty: bool) -> io::Result<()> {
    if pretty {
        let mut ser = serde_json::Serializer::with_formatter(&mut *w, SafeFormatter(PrettyFormatter::new()));
        value.serialize(&mut ser).map_err(io::Error::other)?;
    } else {
        let mut ser = serde_json::Serializer::with_formatter(&mut *w, SafeFormatter(CompactFormatter));
        value.serialize(&mut ser).map_err(io::Error::other)?;
    }
    writeln!(w)
}

/// Renders `report` as the documented JSON object, indented when `pretty`. Compact output
/// serialises each owner and IANA record once ([`SharedJson`]); the result is the same.
///
/// # Errors
/// Errors from writing to `w`.
pub fn render(w: &mut dyn Write, report: &Report, pretty: bool) -> io::Result<()> {
    if pretty {
        write_json(w, &ScanJson::from_report(report, None), true)
    } else {
        let shared = SharedJson::of(&report.listeners)?;
        write_json(w, &ScanJson::from_report(report, Some(&shared)), false)
    }
}
