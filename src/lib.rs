//! portghost lists every listening socket on a host with the processes that own it, joins
//! each one against the IANA port registry and a curated registry of ghost ports, and flags
//! the unexpected listeners, each with a reason.
//!
//! The pipeline is `inventory` (the only OS seam) → `classify` (pure) → `report` (renderers
//! over any `Write`), with `registry` holding the embedded data. `app` wires them together
//! for the `portghost` binary; library users can call each stage on its own. `schema` is the
//! JSON contract (the wire types, their writers and the reader of saved scans); `drift`
//! compares two scans read through it.

#![deny(missing_docs)]

pub mod app;
pub mod classify;
pub mod cli;
pub mod diag;
pub mod drift;
pub mod inventory;
pub mod model;
pub mod policy;
pub mod registry;
pub mod report;
pub mod sanitize;
pub mod schema;
pub mod settings;
