//! Plain data that flows from the inventory to the classifier and the renderers.
//!
//! Owns the shapes of a scan ([`Inventory`], [`Listener`], [`Owner`], [`Netns`]), of the
//! registry's records ([`IanaRecord`], [`GhostEntry`], [`PortlessProgram`]), of portless
//! listeners ([`PortlessListener`], [`ClassifiedPortless`]) and of the judgement ([`Verdict`],
//! [`Finding`], [`Classified`], [`Report`]), and the conventions that differ by operating
//! system ([`platform`]: Windows path normalisation, temporary directories, privilege
//! hints), which the policy and the classifier share. It sits at the bottom of the crate:
//! it imports no other module of portghost, holds no logic beyond small accessors and those
//! pure conventions, and must not read the OS, the clock or the environment.
//!
//! The JSON output never uses these types' serde derives: its field names and vocabularies
//! are `schema`'s. `Deserialize` remains for the inventory format (test fixtures, the
//! `classify_inventory` example) and the registry's files; the few enums that keep
//! `Serialize` keep it so tests can hold `as_str` to the serde name.

mod entry;
#[cfg(test)]
pub(crate) mod fixtures;
mod judgement;
pub mod platform;
mod portless;
mod provenance;
mod scan;

pub use entry::*;
pub use judgement::*;
pub use platform::Platform;
pub use portless::*;
pub use provenance::*;
pub use scan::*;
