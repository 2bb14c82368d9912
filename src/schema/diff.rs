//! The wire types of `portghost diff --format json`: one object, the same `schema_version`
//! as the scan.
//!
//! Owns the field names of the diff output. The types hold plain borrowed values and are
//! filled in by the renderer (`report::diff`); they know nothing of how a comparison is
//! made and never import it, so the contract stays below the comparison.

use super::names::{ExposureChangeName, ExposureName, OwnerStatusName, ProtocolName, VerdictName};
use super::wire::OwnerJson;
use serde::Serialize;
use std::net::IpAddr;

/// The top-level object of `portghost diff --format json`.
#[derive(Debug, Serialize)]
pub struct DiffJson<'a> {
    /// Always [`super::SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The earlier scan.
    pub old: ScanSourceJson<'a>,
    /// The later scan.
    pub new: ScanSourceJson<'a>,
    /// Listeners only in the new scan.
    pub added: Vec<DiffListenerJson<'a>>,
    /// Listeners only in the old scan.
    pub removed: Vec<DiffListenerJson<'a>>,
    /// Listeners in both whose owners differ.
    pub changed: Vec<ChangedJson<'a>>,
    /// Listeners that moved address.
    pub address_changed: Vec<AddressChangedJson<'a>>,
    /// What limits the comparison.
    pub notes: &'a [String],
    /// Counts.
    pub summary: DiffSummaryJson,
}

/// Where one side of the comparison came from.
#[derive(Debug, Serialize)]
pub struct ScanSourceJson<'a> {
    /// The file name, or `this host now`.
    pub source: &'a str,
    /// Host name, if recorded.
    pub host: Option<&'a str>,
    /// Scan time, if recorded.
    pub scanned_at: Option<&'a str>,
    /// Whether the scan saw every owner, if recorded.
    pub complete: Option<bool>,
    /// Number of listeners (after merging sockets that share a key).
    pub listeners: usize,
}

/// A listener in the diff output.
#[derive(Debug, Serialize)]
pub struct DiffListenerJson<'a> {
    /// Namespace label, or null.
    pub netns: Option<&'a str>,
    /// `tcp` or `udp`.
    pub protocol: ProtocolName,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// How far the address reaches.
    pub exposure: ExposureName,
    /// True for an IPv6 wildcard socket that also accepts IPv4.
    pub dual_stack: bool,
    /// Every owner, by PID.
    pub owners: Vec<OwnerJson<'a>>,
    /// The owner status the scan recorded.
    pub owner_status: OwnerStatusName,
    /// The verdict the scan gave, or null.
    pub verdict: Option<VerdictName>,
}

/// One aspect of a listener that differs between the scans.
#[derive(Debug, Serialize)]
pub struct ChangeJson<'a> {
    /// `process`, `exe`, `user` or `dual-stack`.
    pub field: &'a str,
    /// The old value.
    pub old: &'a str,
    /// The new value.
    pub new: &'a str,
}

/// A listener whose owners differ.
#[derive(Debug, Serialize)]
pub struct ChangedJson<'a> {
    /// In the old scan.
    pub old: DiffListenerJson<'a>,
    /// In the new scan.
    pub new: DiffListenerJson<'a>,
    /// What differs.
    pub changes: Vec<ChangeJson<'a>>,
}

/// A listener that moved address.
#[derive(Debug, Serialize)]
pub struct AddressChangedJson<'a> {
    /// In the old scan.
    pub old: DiffListenerJson<'a>,
    /// In the new scan.
    pub new: DiffListenerJson<'a>,
    /// `widened`, `narrowed` or `same`.
    pub exposure_change: ExposureChangeName,
    /// Other differences.
    pub changes: Vec<ChangeJson<'a>>,
}

/// Counts over the diff.
#[derive(Debug, Serialize)]
pub struct DiffSummaryJson {
    /// Listeners only in the new scan.
    pub added: usize,
    /// Listeners only in the old scan.
    pub removed: usize,
    /// Listeners in both whose owners differ.
    pub changed: usize,
    /// Listeners that moved address.
    pub address_changed: usize,
    /// Listeners in both with the same owners.
    pub unchanged: usize,
    /// Listeners whose owners are hidden in either scan.
    pub not_compared: usize,
    /// True when anything was added, removed or changed.
    pub drift: bool,
}
