//! portghost lists every listening socket on a host with the processes that own it, joins
//! each one against the IANA port registry and a curated registry of ghost ports, and flags
//! the unexpected listeners, each with a reason.
//!
//! The library is the `portghost` command's pipeline, one stage at a time: [`scan`] the
//! host (the only stage that touches the OS), load the [`Registry`], [`classify`] the
//! inventory into a [`model::Report`] (pure, optionally under a [`policy::Policy`] with
//! [`classify_with`]), and write it with one of the [`render`]ers to any `Write`. The JSON
//! contract is [`schema`]; [`compare`] finds drift between two saved scans.
//!
//! ```no_run
//! use portghost::{Registry, ScanOptions, classify, render, scan};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (inventory, _timings) = scan(&ScanOptions::default())?;
//! let registry = Registry::builtin()?;
//! let report = classify(inventory, registry);
//! for c in report.listeners.iter().filter(|c| c.verdict == portghost::model::Verdict::Unexpected) {
//!     println!("{} {}: {}", c.listener.protocol, c.listener.endpoint(), c.reason());
//! }
//! render::table::render(&mut std::io::stdout(), &report, &render::Style::plain())?;
//! # Ok(())
//! # }
//! ```
//!
//! Classification needs no scan: build an [`model::Inventory`] by hand (or deserialise
//! one) and classify it.
//!
//! ```
//! use portghost::model::{Inventory, InventoryKind, Listener, OwnerStatus, Protocol, Verdict};
//! use portghost::{Registry, classify};
//!
//! let listener = Listener {
//!     protocol: Protocol::Tcp,
//!     local_address: "0.0.0.0".parse().unwrap(),
//!     port: 3237,
//!     inode: None,
//!     uid: None,
//!     owners: Vec::new(),
//!     owner_status: OwnerStatus::NotLooked,
//!     v6only: None,
//!     netns: None,
//! };
//! let inventory = Inventory {
//!     host: "web-01".into(),
//!     scanned_at: "2026-12-01T09:00:00Z".into(),
//!     listeners: vec![listener],
//!     privileged: true,
//!     host_pid_namespace: Some(true),
//!     warnings: Vec::new(),
//!     view: None,
//!     namespaces: Vec::new(),
//!     provenance: Default::default(),
//!     portless: Vec::new(),
//!     kind: InventoryKind::Linux,
//! };
//! let report = classify(inventory, Registry::builtin().unwrap());
//! assert_eq!(report.listeners[0].verdict, Verdict::Unexpected);
//! ```

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod app;
mod classify;
mod cli;
mod diag;
mod drift;
mod inventory;
pub mod model;
pub mod policy;
pub mod registry;
mod report;
mod sanitize;
pub mod schema;
pub mod watch;

pub use classify::{classify, classify_with};
pub use diag::FileError;
pub use drift::{
    AddressChanged, Change, Changed, Diff, DiffListener, DiffSummary, ExposureChange, ScanSource, compare,
};
pub use inventory::{
    Error, NetnsScope, OwnerCache, ScanOptions, ScanTimings, gather_provenance, scan, scan_with_cache,
};
pub use registry::Registry;

/// Renderers: each writes a [`model::Report`] (or a [`Diff`], or `explain`'s facts) to any
/// `std::io::Write`, styled by a [`render::Style`]. Every string that came from a process
/// or a file is made terminal-safe first.
pub mod render {
    pub use crate::report::{
        Style, ci, diff, explain, github, gitlab, json, jsonl, junit, owners_cell, portless_owners_cell, prometheus,
        sarif, table,
    };
    pub use crate::sanitize::{is_dangerous, terminal_safe};
}

/// The `portghost` command-line program: parses `std::env::args`, runs the command and
/// returns its exit code (0 clean, 1 the gate failed, 2 error). Not part of the library
/// API; the `portghost` binary is a one-line call to it.
#[doc(hidden)]
pub fn cli_main() -> std::process::ExitCode {
    app::main()
}

/// Notes whether standard output was closed when the process started, so that
/// `portghost >&-` exits 2 instead of writing into the `/dev/null` the Rust runtime puts in
/// its place. The `portghost` binary calls it from `.init_array`, before the runtime
/// starts. Not part of the library API.
#[doc(hidden)]
#[cfg(target_os = "linux")]
pub extern "C" fn record_stdout_at_start() {
    app::record_stdout_at_start();
}
