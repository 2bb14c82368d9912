//! The JSON contract: `scan --format json`, `--format jsonl` and `diff --format json`, and
//! the reader of saved scans. Documented in the README.
//!
//! Owns the schema in one place: the version ([`SCHEMA_VERSION`], [`READABLE_VERSIONS`]),
//! the vocabularies ([`names`]), the wire types ([`wire`] for the scan and its lines, [`objects`] for the nested objects
//! both written and read, [`diff`] for the diff), the
//! serde writer ([`write`](mod@write)), the fast hand-written compact writer ([`fast`]) and the typed
//! reader ([`read`]). It borrows from the model but never uses a model type's serde derive
//! for output, so a renamed model field or variant cannot change the JSON. It must not scan,
//! classify, compare or import `report`, `drift` or `app`.
//!
//! Versioning rule: adding a field keeps `schema_version` (readers ignore fields they do not
//! know); changing or removing a field, or the meaning or vocabulary of a value, bumps it.
//! The reader accepts every version written so far. `tests/fixtures/schema/v1-keys.txt`
//! lists every key path and value type of version 1, and `tests/schema.rs` fails when the
//! output stops matching it.

pub mod diff;
pub mod fast;
pub mod json_schema;
pub mod names;
pub mod objects;
pub mod read;
pub mod sarif;
pub mod watch;
pub mod wire;
pub mod write;

/// The version of the JSON schema written; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Every `schema_version` the reader accepts: each version written so far.
pub const READABLE_VERSIONS: &[u32] = &[1];

pub use fast::write_listeners;
pub use read::{Snapshot, SnapshotListener, SnapshotNetns, parse};
pub use wire::{GhostJson, ListenerJson, ListenerLineJson, ListenersJson, NetnsJson, OwnerJson, ScanJson, ServiceJson};
pub use write::{SafeFormatter, SharedJson, render_lines, render_scan, write_json, write_json_to};
