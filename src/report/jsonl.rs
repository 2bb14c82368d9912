//! The JSON Lines output (`--format jsonl`): one listener per line, for log pipelines.
//!
//! Owns the line shape: the listener object of `--format json` ([`ListenerJson`]) with
//! `schema_version`, `host` and `scanned_at` added, so each line stands alone. No summary
//! line. Strings go through the same [`SafeFormatter`](super::json::SafeFormatter) escaping
//! as the JSON output. Writes to any `Write`.

use crate::report::json::{ListenerJson, SCHEMA_VERSION, SharedJson, write_json_to};
use crate::report::{Classified, Report};
use serde::Serialize;
use std::io::{self, Write};

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
            listener: ListenerJson::from_classified(c).with_shared(shared),
        }
    }
}

/// Renders `report` as JSON Lines: one compact object per listener, in report order
/// (unexpected first). An empty report writes nothing.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    let shared = SharedJson::of(&report.listeners)?;
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, out);
    for c in &report.listeners {
        write_json_to(&mut buffered, &ListenerLineJson::new(report, c, Some(&shared)), false)?;
    }
    buffered.flush()
}
