//! Renderers, and nothing else.
//!
//! Owns the output formats in the submodules, each of which writes a
//! [`Report`](crate::model::Report) (or a drift, or `explain`'s facts) to any
//! `std::io::Write`, and [`text`], the one home of the text they share. Renderers never
//! scan, never classify, never read the environment or the terminal (colour and width
//! arrive in a [`Style`]), and write JSON only through [`crate::schema`].

pub mod ci;
pub mod diff;
pub mod explain;
pub mod github;
pub mod gitlab;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod prometheus;
pub mod sarif;
pub mod table;
mod text;

pub use text::{Style, owners_cell, portless_owners_cell};
