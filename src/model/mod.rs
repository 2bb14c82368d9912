//! Plain data that flows from the inventory to the classifier and the renderers.
//!
//! Owns the shapes of a scan ([`Inventory`], [`Listener`], [`Owner`], [`Netns`]), of the
//! registry's records ([`IanaRecord`], [`GhostEntry`]) and of the judgement ([`Verdict`],
//! [`Finding`], [`Classified`], [`Report`]). It sits at the bottom of the crate: it imports
//! no other module of portghost, holds no logic beyond small accessors, and must not read
//! the OS, the clock or the environment.

mod entry;
mod judgement;
mod provenance;
mod scan;

pub use entry::*;
pub use judgement::*;
pub use provenance::*;
pub use scan::*;
