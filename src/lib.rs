//! portghost lists every listening socket on a host with the processes that own it, joins
//! each one against the IANA port registry and a curated registry of ghost ports, and flags
//! the unexpected listeners, each with a reason.
//!
//! The pipeline is `inventory` (the only OS seam) → `classify` (pure) → `report` (renderers
//! over any `Write`), with `registry` holding the embedded data. `app` wires them together
//! for the `portghost` binary; library users can call each stage on its own. `diff` compares
//! two saved scans.

#![deny(missing_docs)]

mod app;
pub mod classify;
mod cli;
pub mod diag;
pub mod diff;
pub mod inventory;
pub mod model;
pub mod policy;
pub mod registry;
pub mod report;
pub mod sanitize;

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
