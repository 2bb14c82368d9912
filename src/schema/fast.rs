//! The fast compact writer: the scan object with its listeners written by hand.
//!
//! Owns [`write_listeners`], which writes exactly the bytes serde writes for
//! [`ListenersJson`](super::wire::ListenersJson) through [`SafeFormatter`] and
//! [`CompactFormatter`], without serde's per-field calls. It must follow the wire types
//! field for field (`tests/json_fast.rs` holds it to that) and decide nothing of its own.

use super::names::{
    EvidenceKindName, ExposureName, FamilyName, FindingKindName, OwnerStatusName, ProtocolName, SeverityName,
    StrengthName, VerdictName,
};
use super::wire::{GhostJson, NetnsJson, OwnerJson, ScanJson, ServiceJson};
use super::write::{SafeFormatter, SharedJson, write_compact_value, write_json_to};
use crate::model::{Classified, Report};
use serde_json::ser::CompactFormatter;
use std::io::{self, Write};
use std::net::IpAddr;

/// `report` as compact JSON and a newline: the bytes [`write_json_to`] writes for
/// [`ScanJson::from_report`], with the listeners written by [`write_listeners`].
///
/// # Errors
/// Errors from writing to `w`.
pub fn write_compact<W: Write>(w: &mut W, report: &Report, shared: &SharedJson) -> io::Result<()> {
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

/// Writes `listeners` as the compact JSON array of
/// [`ListenersJson`](super::wire::ListenersJson), byte for byte what serde writes through
/// [`SafeFormatter`] and [`CompactFormatter`], without its per-field calls: keys are fixed
/// bytes, and owners, IANA records and namespaces are copied from `shared` (serialised on the
/// spot when they are not there). Ghost entries, present on few listeners, go through serde.
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

/// One listener as the compact JSON of [`ListenerJson`](super::wire::ListenerJson), fields
/// in declaration order.
fn write_listener<W: Write>(w: &mut W, c: &Classified, shared: &SharedJson) -> io::Result<()> {
    let l = &c.listener;
    let mut num = itoa::Buffer::new();
    w.write_all(b"{\"protocol\":")?;
    write_name(w, ProtocolName::from(l.protocol).as_str())?;
    w.write_all(b",\"family\":")?;
    write_name(w, FamilyName::from(l.family()).as_str())?;
    w.write_all(b",\"local_address\":")?;
    write_ip(w, l.local_address)?;
    w.write_all(b",\"port\":")?;
    w.write_all(num.format(l.port).as_bytes())?;
    w.write_all(b",\"exposure\":")?;
    write_name(w, ExposureName::from(l.exposure()).as_str())?;
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
        Some(netns) => match shared.netns(netns) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_compact_value(w, &NetnsJson::from_netns(netns))?,
        },
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"owners\":[")?;
    for (i, owner) in l.owners.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        match shared.owner(owner) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_compact_value(w, &OwnerJson::from_owner(owner))?,
        }
    }
    w.write_all(b"],\"owner_status\":")?;
    write_name(w, OwnerStatusName::from(l.owner_status).as_str())?;
    w.write_all(b",\"owner_reason\":")?;
    write_str(w, l.owner_status.reason())?;
    w.write_all(b",\"service\":")?;
    match c.service {
        Some(service) => match shared.service(service) {
            Some(raw) => w.write_all(raw.get().as_bytes())?,
            None => write_compact_value(w, &ServiceJson::from_record(service))?,
        },
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"ghost\":")?;
    match c.ghost.as_deref() {
        Some(ghost) => write_compact_value(w, &GhostJson::from_entry(ghost))?,
        None => w.write_all(b"null")?,
    }
    w.write_all(b",\"verdict\":")?;
    write_name(w, VerdictName::from(c.verdict).as_str())?;
    w.write_all(b",\"findings\":[")?;
    for (i, f) in c.findings.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"{\"kind\":")?;
        write_name(w, FindingKindName::from(f.kind).as_str())?;
        w.write_all(b",\"severity\":")?;
        write_name(w, SeverityName::from(f.severity).as_str())?;
        w.write_all(b",\"message\":")?;
        write_str(w, &f.message)?;
        w.write_all(b",\"evidence\":[")?;
        for (j, e) in f.evidence.iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            w.write_all(b"{\"kind\":")?;
            write_name(w, EvidenceKindName::from(e.kind).as_str())?;
            w.write_all(b",\"strength\":")?;
            match e.strength {
                Some(s) => write_name(w, StrengthName::from(s).as_str())?,
                None => w.write_all(b"null")?,
            }
            w.write_all(b",\"detail\":")?;
            write_str(w, &e.detail)?;
            w.write_all(b"}")?;
        }
        w.write_all(b"]}")?;
    }
    w.write_all(b"]}")
}

/// A vocabulary name, in quotes. The names are lowercase ASCII letters and dashes, which
/// JSON writes as they are.
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
