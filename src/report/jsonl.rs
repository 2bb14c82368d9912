//! The JSON Lines output (`--format jsonl`): one listener per line, then one line per
//! portless listener (told apart by its `socket` field), for log pipelines.
//!
//! A thin renderer: the line shape ([`ListenerLineJson`]: the listener object of
//! `--format json` with `schema_version`, `host` and `scanned_at` added, so each line stands
//! alone) and its writer belong to [`crate::schema`]. No summary line. It must not define
//! fields of its own.

use crate::model::Report;
use std::io::{self, Write};

pub use crate::schema::wire::ListenerLineJson;

/// Renders `report` as JSON Lines: one compact object per listener, in report order
/// (unexpected first). An empty report writes nothing.
///
/// # Errors
/// Errors from writing to `out`.
pub fn render(out: &mut impl Write, report: &Report) -> io::Result<()> {
    crate::schema::render_lines(out, report)
}
