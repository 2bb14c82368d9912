//! The JSON output: one object, `schema_version` 1, documented in the README.
//!
//! Owns the wire types, kept apart from the domain types so the schema changes only on
//! purpose, and a formatter that keeps the text inert on a terminal. Writes to any `Write`.
//!
//! Pretty output is the wire types through serde. Compact output, the one programs read and
//! the one that gets large, writes each listener by hand ([`write_listeners`]) from values
//! serialised once ([`SharedJson`]); it is byte for byte what serde writes for the wire
//! types, and the tests hold it to that.

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
use std::hash::{BuildHasherDefault, Hasher};
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
    owners: AddressMap<Owner>,
    services: AddressMap<IanaRecord>,
    namespaces: AddressMap<Netns>,
}

/// Serialised values keyed by the address of what they serialise.
type AddressMap<T> = HashMap<*const T, Box<RawValue>, BuildHasherDefault<AddressHasher>>;

/// The hash of an address for [`AddressMap`]: a multiplication and a rotation (as FxHash
/// does), which spreads distinct heap addresses well and costs far less than SipHash. The
/// keys are our own pointers, so there is no untrusted input to defend against.
#[derive(Debug, Default, Clone, Copy)]
struct AddressHasher(u64);

impl AddressHasher {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
}

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::K);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0 ^ n as u64).wrapping_mul(Self::K);
    }
    fn finish(&self) -> u64 {
        self.0.rotate_left(26)
    }
}

impl SharedJson {
    /// Serialises every distinct owner, IANA record and network namespace of `listeners`
    /// (compact, through [`SafeFormatter`]).
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
///
/// The compact output writes the same object by hand ([`write_listeners`]): a field added
/// here must be added there too, in the same place; `tests/json_fast.rs` compares the two.
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
    /// `known`, `permission`, `no-process`, `kernel`, `unavailable` or `not-looked`.
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
/// serialises each owner, IANA record and namespace once ([`SharedJson`]) and writes the
/// listeners with [`write_listeners`]; the bytes are the same as serde's.
///
/// # Errors
/// Errors from writing to `w`.
pub fn render(w: &mut dyn Write, report: &Report, pretty: bool) -> io::Result<()> {
    if pretty {
        write_json(w, &ScanJson::from_report(report, None), true)
    } else {
        let shared = SharedJson::of(&report.listeners)?;
        let mut buffered = io::BufWriter::with_capacity(64 * 1024, w);
        write_compact(&mut buffered, report, &shared)?;
        buffered.flush()
    }
}

/// `report` as compact JSON and a newline: the bytes [`write_json_to`] writes for
/// [`ScanJson::from_report`], with the listeners written by [`write_listeners`].
fn write_compact<W: Write>(w: &mut W, report: &Report, shared: &SharedJson) -> io::Result<()> {
    // Everything before the listeners goes through serde, with an empty `listeners` array,
    // the last field, which is then cut off and written by hand.
    const EMPTY_TAIL: &[u8] = b"\"listeners\":[]}\n";
    let mut head = ScanJson::from_report(report, Some(shared));
    head.listeners.listeners = &[];
    let mut buf = Vec::with_capacity(1024);
    write_json_to(&mut buf, &head, false)?;
    let Some(prefix) = buf.strip_suffix(EMPTY_TAIL) else {
        return Err(io::Error::other("the scan object does not end with its listeners"));
    };
    w.write_all(prefix)?;
    w.write_all(b"\"listeners\":")?;
    write_listeners(w, &report.listeners, shared)?;
    w.write_all(b"}\n")
}

/// Writes `listeners` as the compact JSON array of [`ListenersJson`], byte for byte what
/// serde writes through [`SafeFormatter`] and [`CompactFormatter`], without its per-field
/// calls: keys are fixed bytes, and owners, IANA records and namespaces are copied from
/// `shared` (serialised on the spot when they are not there). Ghost entries, present on
/// few listeners, go through serde.
///
/// # Errors
/// Errors from writing to `w`.
pub fn write_listeners<W: Write>(w: &mut W, listeners: &[Classified], shared: &SharedJson) -> io::Result<()> {
    w.write_all(b"[")?;
    for (i, c) in listeners.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        write_listener(w, c, shared)?;
    }
    w.write_all(b"]")
}

/// One listener as the compact JSON of [`ListenerJson`], fields in declaration order.
fn write_listener<W: Write>(w: &mut W, c: &Classified, shared: &SharedJson) -> io::Result<()> {
    let l = &c.listener;
    let mut num = itoa::Buffer::new();
    w.write_all(b"{\"protocol\":")?;
    write_name(w, l.protocol.as_str())?;
    w.write_all(b",\"family\":")?;
    write_name(w, l.family().as_str())?;
    w.write_all(b",\"local_address\":")?;
    write_ip(w, l.local_address)?;
    w.write_all(b",\"port\":")?;
    w.write_all(num.format(l.port).as_bytes())?;
    w.write_all(b",\"exposure\":")?;
    write_name(w, l.exposure().as_str())?;
    w.write_all(b",\"v6only\":")?;
    w.write_all(match l.v6only {
        Some(true) => b"true",
        Some(false) => b"false",
        None => b"null",
    })?;
    w.write_all(if l.is_dual_stack() {
        b",\"dual_stack\":true"
    } else {
        b",\"dual_stack\":false"
    })?;
    w.write_all(b",\"inode\":")?;
    match l.inode {
        Some(inode) => w.write_all(num.format(inode).as_bytes())?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"uid\":")?;
    match l.uid {
        Some(uid) => w.write_all(num.format(uid).as_bytes())?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"netns\":")?;
    match l.netns.as_deref() {
        Some(netns) => match shared.namespaces.get(&std::ptr::from_ref(netns)) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_serde(w, netns)?,
        },
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"owners\":[")?;
    for (i, owner) in l.owners.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        match shared.owners.get(&Arc::as_ptr(owner)) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_serde(w, owner.as_ref())?,
        }
    }
    w.write_all(b"],\"owner_status\":")?;
    write_name(w, l.owner_status.as_str())?;
    w.write_all(b",\"owner_reason\":")?;
    write_str(w, l.owner_status.reason())?;
    w.write_all(b",\"service\":")?;
    match c.service {
        Some(service) => match shared.services.get(&std::ptr::from_ref(service)) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_serde(w, service)?,
        },
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"ghost\":")?;
    match c.ghost.as_deref() {
        Some(ghost) => write_serde(w, &GhostJson::from_entry(ghost))?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"verdict\":")?;
    write_name(w, c.verdict.as_str())?;
    w.write_all(b",\"findings\":[")?;
    for (i, f) in c.findings.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"kind\":")?;
        write_name(w, f.kind.as_str())?;
        w.write_all(b",\"severity\":")?;
        write_name(w, f.severity.as_str())?;
        w.write_all(b",\"message\":")?;
        write_str(w, &f.message)?;
        w.write_all(b"}")?;
    }
    w.write_all(b"]}")
}

/// A unit variant's serde name, in quotes. The names are lowercase ASCII letters and
/// dashes, which JSON writes as they are.
fn write_name<W: Write>(w: &mut W, name: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    w.write_all(name.as_bytes())?;
    w.write_all(b"\"")
}

/// An IP address as a JSON string, as its `Display` (and so serde) writes it.
fn write_ip<W: Write>(w: &mut W, addr: IpAddr) -> io::Result<()> {
    match addr {
        IpAddr::V4(a) => {
            let mut num = itoa::Buffer::new();
            for (i, octet) in a.octets().into_iter().enumerate() {
                w.write_all(if i == 0 { b"\"" } else { b"." })?;
                w.write_all(num.format(octet).as_bytes())?;
            }
            w.write_all(b"\"")
        }
        IpAddr::V6(a) => write!(w, "\"{a}\""),
    }
}

/// A string, escaped exactly as serde_json escapes it through [`SafeFormatter`].
fn write_str<W: Write>(w: &mut W, s: &str) -> io::Result<()> {
    // Printable ASCII other than `"` and `\` is written as it is by both serde_json and
    // SafeFormatter: one branch-free pass, which the compiler can vectorise, instead of their
    // two passes byte by byte.
    let plain = s.bytes().fold(true, |plain, b| {
        plain & (b' '..=b'~').contains(&b) & (b != b'"') & (b != b'\\')
    });
    if plain {
        w.write_all(b"\"")?;
        w.write_all(s.as_bytes())?;
        return w.write_all(b"\"");
    }
    let mut ser = serde_json::Serializer::with_formatter(w, SafeFormatter(CompactFormatter));
    serde::Serializer::serialize_str(&mut ser, s).map_err(io::Error::other)
}

/// Any value as compact JSON through [`SafeFormatter`], without a newline.
fn write_serde<W: Write, T: Serialize + ?Sized>(w: &mut W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, SafeFormatter(CompactFormatter));
    value.serialize(&mut ser).map_err(io::Error::other)
}
