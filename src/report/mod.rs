//! The classified scan and its renderers.
//!
//! Owns the renderers in the submodules, each of which writes to any `std::io::Write`, and
//! re-exports the judgement they render ([`Report`], what `classify` produces, lives in
//! [`crate::model`]). Renderers never scan, never classify and never read the environment:
//! colour and width arrive as plain values.

pub mod diff;
pub mod explain;
pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod table;
mod text;

pub use text::{Style, owners_cell};
