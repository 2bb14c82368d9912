//! The serde writer: the wire types as JSON text, pretty or compact, through a formatter
//! that keeps the text inert on a terminal.
//!
//! Owns [`SafeFormatter`], [`write_json`], the whole-scan and JSON Lines renderings
//! ([`render_scan`], [`render_lines`]) and [`SharedJson`], the owners, records and
//! namespaces serialised once for the compact output. Writes to any `Write`; never decides
//! what goes into a report.

use super::fast;
use super::wire::{ListenerLineJson, NetnsJson, OwnerJson, ScanJson, ServiceJson};
use crate::model::{Classified, IanaRecord, Netns, Owner, Report};
use crate::sanitize::is_dangerous;
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::sync::Arc;

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

/// Any value as compact JSON through [`SafeFormatter`], without a newline.
///
/// # Errors
/// Errors from writing to `w`.
pub fn write_compact_value<W: Write, T: Serialize + ?Sized>(w: &mut W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, SafeFormatter(CompactFormatter));
    value.serialize(&mut ser).map_err(io::Error::other)
}

/// Writes `report` as the scan object ([`ScanJson`]), indented when `pretty`. Compact output
/// serialises each owner, IANA record and namespace once ([`SharedJson`]) and writes the
/// listeners by hand ([`fast::write_listeners`]); the bytes are the same as serde's.
///
/// # Errors
/// Errors from writing to `w`.
pub fn render_scan(w: &mut dyn Write, report: &Report, pretty: bool) -> io::Result<()> {
    if pretty {
        write_json(w, &ScanJson::from_report(report, None), true)
    } else {
        let shared = SharedJson::of(&report.listeners)?;
        let mut buffered = io::BufWriter::with_capacity(64 * 1024, w);
        fast::write_compact(&mut buffered, report, &shared)?;
        buffered.flush()
    }
}

/// Writes `report` as JSON Lines: one compact [`ListenerLineJson`] per listener, in report
/// order, then one [`PortlessLineJson`](super::wire::PortlessLineJson) per portless
/// listener. An empty report writes nothing.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render_lines(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let shared = SharedJson::of(&report.listeners)?;
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, out);
    for c in &report.listeners {
        write_json_to(&mut buffered, &ListenerLineJson::new(report, c, Some(&shared)), false)?;
    }
    for c in &report.portless {
        let line = super::wire::PortlessLineJson {
            schema_version: super::SCHEMA_VERSION,
            host: &report.host,
            scanned_at: &report.scanned_at,
            portless: super::wire::PortlessJson::new(c),
        };
        write_json_to(&mut buffered, &line, false)?;
    }
    buffered.flush()
}

/// Compact JSON of the owners, IANA records and network namespaces in a report, each
/// serialised once and then copied into every listener that refers to it. On a host where
/// 500 processes hold 50,000 sockets, this serialises 500 owners instead of 50,000.
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
                    slot.insert(compact(&OwnerJson::from_owner(owner))?);
                }
            }
            if let Some(service) = c.service
                && let Entry::Vacant(slot) = shared.services.entry(std::ptr::from_ref(service))
            {
                slot.insert(compact(&ServiceJson::from_record(service))?);
            }
            if let Some(netns) = &c.listener.netns
                && let Entry::Vacant(slot) = shared.namespaces.entry(Arc::as_ptr(netns))
            {
                slot.insert(compact(&NetnsJson::from_netns(netns))?);
            }
        }
        Ok(shared)
    }

    /// The serialised JSON of `owner`, if it is here.
    pub fn owner(&self, owner: &Arc<Owner>) -> Option<&RawValue> {
        self.owners.get(&Arc::as_ptr(owner)).map(AsRef::as_ref)
    }

    /// The serialised JSON of `record`, if it is here.
    pub fn service(&self, record: &IanaRecord) -> Option<&RawValue> {
        self.services.get(&std::ptr::from_ref(record)).map(AsRef::as_ref)
    }

    /// The serialised JSON of `netns`, if it is here.
    pub fn netns(&self, netns: &Netns) -> Option<&RawValue> {
        self.namespaces.get(&std::ptr::from_ref(netns)).map(AsRef::as_ref)
    }
}

/// `value` as compact JSON through [`SafeFormatter`].
fn compact<T: Serialize + ?Sized>(value: &T) -> io::Result<Box<RawValue>> {
    let mut buf = Vec::with_capacity(256);
    write_compact_value(&mut buf, value)?;
    let text = String::from_utf8(buf).map_err(io::Error::other)?;
    RawValue::from_string(text).map_err(io::Error::other)
}
