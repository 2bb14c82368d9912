//! The comparison of two scans, for `portghost diff`.
//!
//! Owns the pure comparison ([`compare`]) of two snapshots read through
//! [`crate::schema::read`] into a [`Diff`], and the diff's own types. It does no I/O, parses
//! nothing and formats nothing: callers read the files (or build a snapshot from a live
//! report with [`Snapshot::from_report`]) and render the result (`report::diff`).
//!
//! What counts as drift: a listener added or removed; the same (network namespace,
//! protocol, address, port) with different owner process names, executable paths or users;
//! or a listener that moved address (a removed and an added listener with the same
//! protocol, port and process names, e.g. `127.0.0.1:5432` → `0.0.0.0:5432`). PIDs, command
//! lines, systemd units and container IDs change on every restart and are not drift.

mod identity;
mod moves;
#[cfg(test)]
mod tests;

pub use identity::Change;
pub use moves::ExposureChange;

use crate::model::{Exposure, Owner, OwnerStatus, Protocol, Verdict};
use crate::sanitize::terminal_safe;
pub use crate::schema::read::{Snapshot, SnapshotListener, SnapshotNetns, parse};
use identity::{Identity, owner_changes};
use moves::pair_moves;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// Which listener: the comparison key is (network namespace, protocol, port, address), in
/// that sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListenerKey {
    /// The namespace label (name, else inode), when the scan recorded one.
    pub netns: Option<String>,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Local port.
    pub port: u16,
    /// Local address.
    pub local_address: IpAddr,
}

impl ListenerKey {
    /// `0.0.0.0:5432` or `[::1]:5432`.
    pub fn endpoint(&self) -> String {
        crate::model::endpoint(self.local_address, self.port)
    }
}

/// A listener as it appears in a [`Diff`]: its key, exposure and owners. Sockets that share
/// a key (`SO_REUSEPORT`) are merged, their owners joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffListener {
    /// Namespace label, or null.
    pub netns: Option<String>,
    /// Transport protocol.
    pub protocol: Protocol,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// How far the address reaches.
    pub exposure: Exposure,
    /// True for an IPv6 wildcard socket that also accepts IPv4.
    pub dual_stack: bool,
    /// Every owner, by PID.
    pub owners: Vec<Owner>,
    /// The owner status the scan recorded (`known` when it recorded none).
    pub owner_status: OwnerStatus,
    /// The verdict the scan gave, if recorded.
    pub verdict: Option<Verdict>,
}

impl DiffListener {
    /// The comparison key.
    pub fn key(&self) -> ListenerKey {
        ListenerKey {
            netns: self.netns.clone(),
            protocol: self.protocol,
            local_address: self.local_address,
            port: self.port,
        }
    }

    /// What can be said about the owners: seen (possibly none, for a socket no process
    /// holds), or hidden from the scan.
    fn identity(&self) -> Option<Identity> {
        match self.owner_status {
            OwnerStatus::Known | OwnerStatus::NoProcess | OwnerStatus::Kernel => Some(Identity::of(&self.owners)),
            _ => None,
        }
    }
}

/// A listener on the same (namespace, protocol, address, port) in both scans whose owners
/// differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The listener in the old scan.
    pub old: DiffListener,
    /// The listener in the new scan.
    pub new: DiffListener,
    /// What differs.
    pub changes: Vec<Change>,
}

/// A listener that moved address: removed from one address and added on another with the
/// same namespace, protocol, port and process names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressChanged {
    /// The listener in the old scan.
    pub old: DiffListener,
    /// The listener in the new scan.
    pub new: DiffListener,
    /// Whether the new address reaches further than the old one.
    pub exposure_change: ExposureChange,
    /// Other differences (exe, user, dual-stack) between the two.
    pub changes: Vec<Change>,
}

/// Where one side of the comparison came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSource {
    /// The file name, or a description such as `this host now`.
    pub source: String,
    /// Host name, if recorded.
    pub host: Option<String>,
    /// Scan time, if recorded.
    pub scanned_at: Option<String>,
    /// Whether the scan saw every owner, if recorded.
    pub complete: Option<bool>,
    /// Number of listeners (after merging sockets that share a key).
    pub listeners: usize,
}

/// Counts over a [`Diff`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiffSummary {
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
    /// Listeners in both whose owners are hidden in either scan, so owner changes cannot
    /// be seen.
    pub not_compared: usize,
    /// True when anything was added, removed or changed.
    pub drift: bool,
}

/// The differences between two scans. Every list is sorted by namespace, protocol, port
/// and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// The earlier scan.
    pub old: ScanSource,
    /// The later scan.
    pub new: ScanSource,
    /// Listeners only in the new scan.
    pub added: Vec<DiffListener>,
    /// Listeners only in the old scan.
    pub removed: Vec<DiffListener>,
    /// Listeners in both whose owners differ.
    pub changed: Vec<Changed>,
    /// Listeners that moved address.
    pub address_changed: Vec<AddressChanged>,
    /// What limits the comparison (incomplete scans, hidden owners, different hosts).
    pub notes: Vec<String>,
    /// Counts.
    pub summary: DiffSummary,
}

/// Sockets of a snapshot grouped by key; shared keys merge their owners. A snapshot whose
/// listeners all live in one network namespace is keyed without it, so a scan of one
/// namespace compares with another scan of it whatever each recorded about the namespace.
fn group(s: &Snapshot) -> BTreeMap<ListenerKey, DiffListener> {
    let label = |l: &SnapshotListener| l.netns.as_ref().and_then(SnapshotNetns::label);
    let one_namespace = s.listeners.windows(2).all(|pair| label(&pair[0]) == label(&pair[1]));
    let mut map: BTreeMap<ListenerKey, DiffListener> = BTreeMap::new();
    for l in &s.listeners {
        let netns = if one_namespace { None } else { label(l) };
        let status = l.owner_status.map_or(OwnerStatus::Known, OwnerStatus::from);
        let protocol = Protocol::from(l.protocol);
        let key = ListenerKey {
            netns: netns.clone(),
            protocol,
            local_address: l.local_address,
            port: l.port,
        };
        match map.get_mut(&key) {
            Some(d) => {
                for o in &l.owners {
                    if !d.owners.iter().any(|x| x.pid == o.pid) {
                        d.owners.push(o.to_owner());
                    }
                }
                d.owners.sort_by_key(|o| o.pid);
                d.dual_stack |= l.dual_stack;
                // A socket whose owners are hidden makes the whole key's owners uncertain.
                if d.owner_status == OwnerStatus::Known
                    && !matches!(
                        status,
                        OwnerStatus::Known | OwnerStatus::NoProcess | OwnerStatus::Kernel
                    )
                {
                    d.owner_status = status;
                }
            }
            None => {
                let mut owners: Vec<Owner> = l.owners.iter().map(|o| o.to_owner()).collect();
                owners.sort_by_key(|o| o.pid);
                map.insert(
                    key,
                    DiffListener {
                        netns,
                        protocol,
                        local_address: l.local_address,
                        port: l.port,
                        exposure: Exposure::of(&l.local_address),
                        dual_stack: l.dual_stack,
                        owners,
                        owner_status: status,
                        verdict: l.verdict.map(Verdict::from),
                    },
                );
            }
        }
    }
    map
}

/// One side of the comparison as the diff names it.
fn source(label: &str, s: &Snapshot, listeners: usize) -> ScanSource {
    ScanSource {
        source: label.to_string(),
        host: s.host.clone(),
        scanned_at: s.scanned_at.clone(),
        complete: s.complete,
        listeners,
    }
}

/// `tcp 0.0.0.0:22`, for notes.
fn display(l: &DiffListener) -> String {
    format!("{} {}", l.protocol, l.key().endpoint())
}

/// Compares scan `old` (named `old_label`, e.g. its file name) with scan `new`.
///
/// Pure and total: PIDs, command lines, units and containers are ignored; owners are
/// compared only where both scans saw them (a hidden owner is noted, not reported as a
/// change); an exe or user is compared only where every owner's value was readable.
pub fn compare(old: &Snapshot, old_label: &str, new: &Snapshot, new_label: &str) -> Diff {
    let a = group(old);
    let b = group(new);
    let mut removed: Vec<DiffListener> = a
        .iter()
        .filter(|(k, _)| !b.contains_key(k))
        .map(|(_, l)| l.clone())
        .collect();
    let mut added: Vec<DiffListener> = b
        .iter()
        .filter(|(k, _)| !a.contains_key(k))
        .map(|(_, l)| l.clone())
        .collect();
    let mut changed = Vec::new();
    let mut notes = Vec::new();
    let mut unchanged = 0;
    let mut not_compared = 0;
    for (k, o) in &a {
        let Some(n) = b.get(k) else { continue };
        match (o.identity(), n.identity()) {
            (Some(x), Some(y)) => {
                let changes = owner_changes(o, n, &x, &y, true);
                if changes.is_empty() {
                    unchanged += 1;
                } else {
                    changed.push(Changed {
                        old: o.clone(),
                        new: n.clone(),
                        changes,
                    });
                }
            }
            (x, y) => {
                not_compared += 1;
                let side = match (x, y) {
                    (None, None) => "either scan",
                    (None, _) => "the old scan",
                    _ => "the new scan",
                };
                notes.push(format!(
                    "{}: owners hidden in {side} ({} → {}), so owner changes cannot be seen",
                    display(o),
                    o.owner_status.as_str(),
                    n.owner_status.as_str()
                ));
            }
        }
    }
    let pairs = pair_moves(&removed, &added);
    let mut address_changed: Vec<AddressChanged> = pairs
        .iter()
        .map(|&(i, j)| {
            let (o, n) = (&removed[i], &added[j]);
            let changes = match (o.identity(), n.identity()) {
                (Some(x), Some(y)) => owner_changes(o, n, &x, &y, false),
                _ => Vec::new(),
            };
            AddressChanged {
                old: o.clone(),
                new: n.clone(),
                exposure_change: ExposureChange::between(o.exposure, n.exposure),
                changes,
            }
        })
        .collect();
    let (ri, ai): (BTreeSet<usize>, BTreeSet<usize>) = pairs.iter().copied().unzip();
    removed = removed
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !ri.contains(i))
        .map(|(_, l)| l)
        .collect();
    added = added
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !ai.contains(i))
        .map(|(_, l)| l)
        .collect();
    address_changed.sort_by_key(|c| c.old.key());

    for (label, s) in [(old_label, old), (new_label, new)] {
        if s.complete == Some(false) {
            notes.push(format!(
                "{} was incomplete (some owners hidden or part of the scan failed)",
                terminal_safe(label)
            ));
        }
    }
    if let (Some(h1), Some(h2)) = (&old.host, &new.host)
        && h1 != h2
    {
        notes.push(format!(
            "the scans come from different hosts: {} and {}",
            terminal_safe(h1),
            terminal_safe(h2)
        ));
    }
    let summary = DiffSummary {
        added: added.len(),
        removed: removed.len(),
        changed: changed.len(),
        address_changed: address_changed.len(),
        unchanged,
        not_compared,
        drift: !(added.is_empty() && removed.is_empty() && changed.is_empty() && address_changed.is_empty()),
    };
    Diff {
        old: source(old_label, old, a.len()),
        new: source(new_label, new, b.len()),
        added,
        removed,
        changed,
        address_changed,
        notes,
        summary,
    }
}
