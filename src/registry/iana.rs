//! The IANA Service Name and Transport Protocol Port Number Registry, embedded.
//!
//! Owns lookups by (port, transport protocol) into the unmodified IANA CSV shipped in
//! `registry/service-names-port-numbers.csv`. The build script indexes the byte span of
//! every record; a lookup binary-searches that index and parses only the matching records.
//! The lookups are reached through [`super::Registry`]; this module must not read files
//! at run time and passes no judgement on listeners.

use std::borrow::Cow;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/iana_index.rs"));

/// The embedded CSV, byte for byte as IANA published it.
pub(crate) const IANA_CSV: &str = include_str!("../../registry/service-names-port-numbers.csv");

/// Snapshot date of the embedded CSV: the latest Modification Date it contains.
pub(crate) const IANA_SNAPSHOT: &str = "2026-02-13";

pub use crate::model::{IanaRecord, plain_handles};

fn proto_code(protocol: &str) -> u8 {
    match protocol {
        "tcp" => 1,
        "udp" => 2,
        "sctp" => 3,
        "dccp" => 4,
        _ => 0,
    }
}

/// Splits one RFC 4180 record into its fields; line breaks around it are ignored. A plain
/// field borrows from `text`; a quoted one is unquoted (`""` becomes `"`). The embedded
/// file is validated with the `csv` crate at build time and field by field in the tests.
pub(crate) fn split_record(text: &'static str) -> Vec<Cow<'static, str>> {
    let text = text.trim_matches(['\r', '\n']);
    let mut fields = Vec::with_capacity(12);
    let mut rest = text;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            // Find the closing quote: a quote not followed by another quote.
            let mut value = String::new();
            let mut tail = quoted;
            loop {
                match tail.find('"') {
                    Some(q) if tail[q + 1..].starts_with('"') => {
                        value.push_str(&tail[..=q]);
                        tail = &tail[q + 2..];
                    }
                    Some(q) => {
                        value.push_str(&tail[..q]);
                        tail = &tail[q + 1..];
                        break;
                    }
                    None => {
                        value.push_str(tail);
                        tail = "";
                        break;
                    }
                }
            }
            fields.push(Cow::Owned(value));
            match tail.strip_prefix(',') {
                Some(next) => rest = next,
                None => break,
            }
        } else {
            match rest.find(',') {
                Some(c) => {
                    fields.push(Cow::Borrowed(&rest[..c]));
                    rest = &rest[c + 1..];
                }
                None => {
                    fields.push(Cow::Borrowed(rest));
                    break;
                }
            }
        }
    }
    fields
}

/// Parses record number `idx` of the embedded CSV.
fn parse_record(idx: usize) -> Option<IanaRecord> {
    let &(start, end) = IANA_SPANS.get(idx)?;
    let text = IANA_CSV.get(start as usize..end as usize)?;
    let mut fields = split_record(text).into_iter();
    let mut f = || fields.next().unwrap_or(Cow::Borrowed(""));
    Some(IanaRecord {
        name: f(),
        port: f(),
        protocol: f(),
        description: f(),
        assignee: f(),
        contact: f(),
        registration_date: f(),
        modification_date: f(),
        reference: f(),
        service_code: f(),
        unauthorized_use_reported: f(),
        assignment_notes: f(),
    })
}

/// A lazily parsed record: `None` inside once parsing failed (never, for the embedded file).
type Cell = OnceLock<Option<Box<IanaRecord>>>;

/// Record number `idx`, parsed on first use and kept for the life of the process.
fn record(idx: u16) -> Option<&'static IanaRecord> {
    // One pointer-sized cell per record, so that the first lookup does not pay for
    // 14,499 empty records.
    static PARSED: OnceLock<Box<[Cell]>> = OnceLock::new();
    let cells = PARSED.get_or_init(|| (0..IANA_SPANS.len()).map(|_| OnceLock::new()).collect());
    cells
        .get(usize::from(idx))?
        .get_or_init(|| parse_record(usize::from(idx)).map(Box::new))
        .as_deref()
}

/// `(has a service name, record number)` of every record covering `port`/`protocol`:
/// single-port records first, then ranges, each in registry order.
fn matches(port: u16, protocol: &str) -> impl Iterator<Item = (bool, u16)> {
    let code = proto_code(protocol);
    let first = IANA_SINGLES.partition_point(|e| (e.0, e.1) < (port, code));
    let singles = IANA_SINGLES[first..]
        .iter()
        .take_while(move |e| e.0 == port && e.1 == code)
        .map(|e| (e.2, e.3));
    let ranges = IANA_RANGES
        .iter()
        .filter(move |e| e.0 <= port && port <= e.1 && (e.2 == code || e.2 == 0))
        .map(|e| (e.3, e.4));
    singles.chain(ranges)
}

/// Every IANA record that covers `port` for `protocol` (`"tcp"`, `"udp"`, `"sctp"` or
/// `"dccp"`), in registry order: single-port records first, then ranges (including
/// protocol-less ranges such as `225-241 Reserved`).
///
/// Several records can share a port: 80/tcp has `http`, `www` and `www-http`. The first
/// assigned one is the primary name. An empty vector means the registry says nothing.
pub(crate) fn lookup(port: u16, protocol: &str) -> Vec<&'static IanaRecord> {
    matches(port, protocol).filter_map(|(_, idx)| record(idx)).collect()
}

/// The primary assigned record for `port`/`protocol`: the first record that has a service
/// name, or `None` when the port is unassigned, reserved or absent. Costs a binary search;
/// the record is parsed once per process.
pub(crate) fn service(port: u16, protocol: &str) -> Option<&'static IanaRecord> {
    let code = proto_code(protocol);
    let first = IANA_SINGLES.partition_point(|e| (e.0, e.1) < (port, code));
    let single = IANA_SINGLES[first..]
        .iter()
        .take_while(|e| e.0 == port && e.1 == code)
        .find(|e| e.2)
        .map(|e| e.3);
    // Only a handful of ranges name a service (x11 6000-6063…); skip the rest.
    let idx = single.or_else(|| {
        IANA_RANGES
            .iter()
            .take_while(|e| e.3)
            .find(|e| e.0 <= port && port <= e.1 && (e.2 == code || e.2 == 0))
            .map(|e| e.4)
    })?;
    record(idx)
}

/// Number of data records in the embedded CSV (14,499 in the 2026-02-13 snapshot).
pub(crate) fn record_count() -> usize {
    IANA_SPANS.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_of_every_record_matches_the_csv_crate() {
        let csv_path = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/service-names-port-numbers.csv");
        let mut rdr = csv::Reader::from_path(csv_path).expect("readable");
        let mut pos = 0;
        let text = IANA_CSV;
        // Walk the embedded text record by record with the csv crate's positions, and split
        // each record with portghost's own splitter.
        let mut records = Vec::new();
        for rec in rdr.records() {
            let rec = rec.expect("record");
            records.push((rec.position().expect("position").byte() as usize, rec));
        }
        let mut checked = 0;
        for (i, (start, rec)) in records.iter().enumerate() {
            let end = records.get(i + 1).map_or(text.len(), |r| r.0);
            assert!(*start >= pos);
            pos = *start;
            let fields = split_record(&text[*start..end]);
            let expected: Vec<&str> = rec.iter().collect();
            let got: Vec<&str> = fields.iter().map(|f| &**f).collect();
            assert_eq!(got, expected, "record {i} at byte {start}");
            checked += 1;
        }
        assert_eq!(checked, 14_499);
    }
}
