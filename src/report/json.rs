//! The JSON output (`--format json`): one object, `schema_version` 1, documented in the
//! README.
//!
//! A thin renderer: the wire types, the writers and the escaping belong to
//! [`crate::schema`], re-exported here for library users and tests. It must not define
//! fields of its own.

use crate::model::Report;
use std::io::{self, Write};

pub use crate::schema::fast::write_listeners;
pub use crate::schema::wire::{GhostJson, ListenerJson, ListenersJson, OwnersJson, ScanJson};
pub use crate::schema::{SCHEMA_VERSION, SafeFormatter, SharedJson, write_json, write_json_to};

/// Renders `report` as the documented JSON object, indented when `pretty`. Compact output
/// is written by the fast writer, byte for byte what serde writes.
///
/// # Errors
/// Errors from writing to `w`.
pub fn render(w: &mut dyn Write, report: &Report, pretty: bool) -> io::Result<()> {
    crate::schema::render_scan(w, report, pretty)
}
