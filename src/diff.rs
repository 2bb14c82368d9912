//! The comparison of two scans, for `portghost diff`.
//!
//! Owns the snapshot type read back from `portghost scan --format json` ([`Snapshot`]:
//! only the fields a comparison needs, unknown fields ignored, required ones enforced), its
//! parsing with errors that name `FILE:LINE:COL`, and the pure comparison ([`compare`]) into
//! a [`Diff`]. It does no I/O: callers read the files and render the result.
//!
//! What counts as drift: a listener added or removed; the same (network namespace,
//! protocol, address, port) with different owner process names, executable paths or users;
//! or a listener that moved address (a removed and an added listener with the same
//! protocol, port and process names, e.g. `127.0.0.1:5432` → `0.0.0.0:5432`). PIDs, command
//! lines, systemd units and container IDs change on every restart and are not drift.

use crate::diag::FileError;
use crate::model::{Exposure, Owner, Protocol};
use crate::report::json::SCHEMA_VERSION;
use crate::sanitize::terminal_safe;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// A scan as read back from `portghost scan --format json`: the fields a comparison needs.
/// Unknown fields are ignored, so newer additive fields do not break old readers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a portghost scan object (the output of `portghost scan --format json`)")]
pub struct Snapshot {
    /// Must be [`SCHEMA_VERSION`]; checked by [`parse`] before the rest is read.
    pub schema_version: u32,
    /// Host name, if the file has one.
    #[serde(default)]
    pub host: Option<String>,
    /// RFC 3339 time of the scan, if the file has one.
    #[serde(default)]
    pub scanned_at: Option<String>,
    /// Whether the scan saw every owner, if the file says.
    #[serde(default)]
    pub complete: Option<bool>,
    /// The listeners.
    pub listeners: Vec<SnapshotListener>,
}

/// One listener of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(expecting = "a listener object")]
pub struct SnapshotListener {
    /// Transport protocol.
    pub protocol: Protocol,
    /// Local address.
    pub local_address: IpAddr,
    /// Local port.
    pub port: u16,
    /// True for an IPv6 wildcard socket that also accepts IPv4; false when absent.
    #[serde(default)]
    pub dual_stack: bool,
    /// Every owning process, as `--format json` writes them (`pid` and `name` required).
    pub owners: Vec<Owner>,
    /// `known`, `permission`, `no-process`, `kernel`, `unavailable`, `not-looked`; absent
    /// means `known`.
    #[serde(default)]
    pub owner_status: Option<String>,
    /// The verdict the scan gave, shown next to added listeners.
    #[serde(default)]
    pub verdict: Option<String>,
    /// The network namespace, present in scans that span several.
    #[serde(default)]
    pub netns: Option<SnapshotNetns>,
}

/// The network namespace of a listener, as `--format json` writes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnapshotNetns {
    /// The namespace's inode number.
    #[serde(default)]
    pub inode: Option<u64>,
    /// Its name (`ip netns` name), when it has one.
    #[serde(default)]
    pub name: Option<String>,
    /// True for the host's initial network namespace.
    #[serde(default)]
    pub host: bool,
}

impl SnapshotNetns {
    /// The label that identifies the namespace across scans: none for the host's (so a
    /// scan that recorded no namespace compares with one that did, and a reboot that
    /// renumbers the host's namespace changes nothing), else its name, else its inode.
    pub fn label(&self) -> Option<String> {
        match (&self.name, self.inode) {
            _ if self.host => None,
            (Some(n), _) => Some(n.clone()),
            (None, Some(i)) => Some(i.to_string()),
            (None, None) => None,
        }
    }
}

/// The `schema_version` of a document that must be a JSON object; every other member is
/// skipped unread, so a later-version file is rejected before its shape is judged.
struct VersionProbe(Option<serde_json::Value>);

impl<'de> Deserialize<'de> for VersionProbe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Probe;
        impl<'de> serde::de::Visitor<'de> for Probe {
            type Value = VersionProbe;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a portghost scan object (the output of `portghost scan --format json`)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<VersionProbe, A::Error> {
                let mut version = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "schema_version" {
                        version = Some(map.next_value()?);
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(VersionProbe(version))
            }
        }
        d.deserialize_map(Probe)
    }
}

fn json_error(file: &str, text: &str, err: &serde_json::Error) -> FileError {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let mut message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    if message.starts_with("trailing characters") && text.trim_start().starts_with('{') {
        message.push_str(
            "; diff reads the single object of `portghost scan --format json`, not JSON Lines (`--format jsonl`)",
        );
    }
    FileError {
        file: file.to_string(),
        line: Some(err.line().max(1)),
        column: Some(err.column().max(1)),
        message: terminal_safe(&message).into_owned(),
    }
}

/// Parses the text of a `portghost scan --format json` file named `file`.
///
/// # Errors
/// A [`FileError`] naming `file` and, for syntax and shape errors, the line and column:
/// invalid JSON, a missing required field (`listeners`, `protocol`, `local_address`, `port`,
/// `owners`, an owner's `pid` or `name`), a wrong type; or a missing or different
/// `schema_version`. The message is safe to print on a terminal.
pub fn parse(file: &str, text: &str) -> Result<Snapshot, FileError> {
    let probe: VersionProbe = serde_json::from_str(text).map_err(|e| json_error(file, text, &e))?;
    let at_file = |message: String| FileError {
        file: file.to_string(),
        line: None,
        column: None,
        message,
    };
    match probe.0 {
        None => {
            return Err(at_file(
                "no schema_version: not a portghost scan (expected the output of `portghost scan --format json`)"
                    .to_string(),
            ));
        }
        Some(v) if v.as_u64() == Some(u64::from(SCHEMA_VERSION)) => {}
        Some(v) => {
            return Err(at_file(format!(
                "schema_version {} is not supported: this portghost reads scans with schema_version {SCHEMA_VERSION}",
                terminal_safe(&v.to_string())
            )));
        }
    }
    serde_json::from_str(text).map_err(|e| json_error(file, text, &e))
}

/// Which listener: the comparison key is (network namespace, protocol, port, address), in
/// that sort order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
        match self.local_address {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

/// A listener as it appears in a [`Diff`]: its key, exposure and owners. Sockets that share
/// a key (`SO_REUSEPORT`) are merged, their owners joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// The owner status the scan recorded (`known`, `permission`, …).
    pub owner_status: String,
    /// The verdict the scan gave, if recorded.
    pub verdict: Option<String>,
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
        match self.owner_status.as_str() {
            "known" | "no-process" | "kernel" => Some(Identity::of(&self.owners)),
            _ => None,
        }
    }
}

/// The identity of a listener's owners that matters for drift: process names, executables
/// and users. `None` in `exes` or `users` means some owner's value was unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    names: BTreeSet<String>,
    exes: Option<BTreeSet<String>>,
    users: Option<BTreeSet<String>>,
}

impl Identity {
    fn of(owners: &[Owner]) -> Identity {
        let names = owners.iter().map(|o| o.name.clone()).collect();
        let exes = owners.iter().map(|o| o.exe.clone()).collect();
        let users = owners
            .iter()
            .map(|o| match (&o.user, o.uid) {
                (Some(u), _) => Some(u.clone()),
                (None, Some(uid)) => Some(format!("uid {uid}")),
                (None, None) => None,
            })
            .collect();
        Identity { names, exes, users }
    }
}

/// One aspect of a listener that differs between the scans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `process`, `exe`, `user` or `dual-stack`.
    pub field: &'static str,
    /// The value in the old scan; several owners' values are joined with `, `.
    pub old: String,
    /// The value in the new scan.
    pub new: String,
}

/// A listener on the same (namespace, protocol, address, port) in both scans whose owners
/// differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// The listener in the old scan.
    pub old: DiffListener,
    /// The listener in the new scan.
    pub new: DiffListener,
    /// What differs.
    pub changes: Vec<Change>,
}

/// How the reach of an address changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExposureChange {
    /// It now reaches further (loopback → wildcard, private → public…).
    Widened,
    /// It now reaches less far.
    Narrowed,
    /// Same exposure class (e.g. one loopback address to another).
    Same,
}

/// How far an exposure reaches, for ordering: loopback < link-local < private < public <
/// wildcard (every interface, public ones included).
fn reach(e: Exposure) -> u8 {
    match e {
        Exposure::Loopback => 0,
        Exposure::LinkLocal => 1,
        Exposure::Private => 2,
        Exposure::Public => 3,
        Exposure::Wildcard => 4,
    }
}

impl ExposureChange {
    /// Compares the reach of two exposures.
    pub fn between(old: Exposure, new: Exposure) -> ExposureChange {
        match reach(new).cmp(&reach(old)) {
            std::cmp::Ordering::Greater => ExposureChange::Widened,
            std::cmp::Ordering::Less => ExposureChange::Narrowed,
            std::cmp::Ordering::Equal => ExposureChange::Same,
        }
    }
}

/// A listener that moved address: removed from one address and added on another with the
/// same namespace, protocol, port and process names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
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
        let status = l.owner_status.clone().unwrap_or_else(|| "known".to_string());
        let key = ListenerKey {
            netns: netns.clone(),
            protocol: l.protocol,
            local_address: l.local_address,
            port: l.port,
        };
        match map.get_mut(&key) {
            Some(d) => {
                for o in &l.owners {
                    if !d.owners.iter().any(|x| x.pid == o.pid) {
                        d.owners.push(o.clone());
                    }
                }
                d.owners.sort_by_key(|o| o.pid);
                d.dual_stack |= l.dual_stack;
                // A socket whose owners are hidden makes the whole key's owners uncertain.
                if d.owner_status == "known" && status != "known" && status != "no-process" && status != "kernel" {
                    d.owner_status = status;
                }
            }
            None => {
                let mut owners = l.owners.clone();
                owners.sort_by_key(|o| o.pid);
                map.insert(
                    key,
                    DiffListener {
                        netns,
                        protocol: l.protocol,
                        local_address: l.local_address,
                        port: l.port,
                        exposure: Exposure::of(&l.local_address),
                        dual_stack: l.dual_stack,
                        owners,
                        owner_status: status,
                        verdict: l.verdict.clone(),
                    },
                );
            }
        }
    }
    map
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(none)".to_string()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Differences in exe, user and dual-stack between two listeners whose owners are both
/// seen; process names too when `names` is set.
fn owner_changes(old: &DiffListener, new: &DiffListener, a: &Identity, b: &Identity, names: bool) -> Vec<Change> {
    let mut changes = Vec::new();
    if names && a.names != b.names {
        changes.push(Change {
            field: "process",
            old: join(&a.names),
            new: join(&b.names),
        });
    }
    if let (Some(x), Some(y)) = (&a.exes, &b.exes)
        && x != y
    {
        changes.push(Change {
            field: "exe",
            old: join(x),
            new: join(y),
        });
    }
    if let (Some(x), Some(y)) = (&a.users, &b.users)
        && x != y
    {
        changes.push(Change {
            field: "user",
            old: join(x),
            new: join(y),
        });
    }
    if old.dual_stack != new.dual_stack {
        let yes_no = |b: bool| if b { "yes" } else { "no" }.to_string();
        changes.push(Change {
            field: "dual-stack",
            old: yes_no(old.dual_stack),
            new: yes_no(new.dual_stack),
        });
    }
    changes
}

fn source(label: &str, s: &Snapshot, listeners: usize) -> ScanSource {
    ScanSource {
        source: label.to_string(),
        host: s.host.clone(),
        scanned_at: s.scanned_at.clone(),
        complete: s.complete,
        listeners,
    }
}

/// Pairs removed and added listeners that moved address: same namespace, protocol, port
/// and (seen, non-empty) process names; the same address family is preferred. Returns the
/// pairs as (removed index, added index).
fn pair_moves(removed: &[DiffListener], added: &[DiffListener]) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    let mut used_r = vec![false; removed.len()];
    let mut used_a = vec![false; added.len()];
    for same_family_only in [true, false] {
        for (i, r) in removed.iter().enumerate() {
            if used_r[i] {
                continue;
            }
            let Some(ri) = r.identity().filter(|id| !id.names.is_empty()) else {
                continue;
            };
            let found = added.iter().enumerate().find(|(j, a)| {
                !used_a[*j]
                    && a.netns == r.netns
                    && a.protocol == r.protocol
                    && a.port == r.port
                    && (!same_family_only || a.local_address.is_ipv4() == r.local_address.is_ipv4())
                    && a.identity().is_some_and(|ai| ai.names == ri.names)
            });
            if let Some((j, _)) = found {
                used_r[i] = true;
                used_a[j] = true;
                pairs.push((i, j));
            }
        }
    }
    pairs.sort_unstable();
    pairs
}

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
                    o.owner_status,
                    n.owner_status
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
        schema_version: SCHEMA_VERSION,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(pid: u32, name: &str, exe: &str, user: &str) -> Owner {
        Owner {
            pid,
            name: name.into(),
            exe: Some(exe.into()),
            cmdline: Some(format!("{name} --pid {pid}")),
            uid: Some(0),
            user: Some(user.into()),
            unit: None,
            exe_deleted: false,
            container: None,
        }
    }

    fn listener(proto: Protocol, addr: &str, port: u16, owners: Vec<Owner>) -> SnapshotListener {
        SnapshotListener {
            protocol: proto,
            local_address: addr.parse().expect("address"),
            port,
            dual_stack: false,
            owners,
            owner_status: Some("known".into()),
            verdict: Some("unreviewed".into()),
            netns: None,
        }
    }

    fn snap(listeners: Vec<SnapshotListener>) -> Snapshot {
        Snapshot {
            schema_version: 1,
            host: Some("web-01".into()),
            scanned_at: Some("2026-11-21T08:00:00Z".into()),
            complete: Some(true),
            listeners,
        }
    }

    fn base() -> Vec<SnapshotListener> {
        vec![
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                22,
                vec![owner(812, "sshd", "/usr/sbin/sshd", "root")],
            ),
            listener(
                Protocol::Tcp,
                "127.0.0.1",
                5432,
                vec![owner(
                    900,
                    "postgres",
                    "/usr/lib/postgresql/16/bin/postgres",
                    "postgres",
                )],
            ),
            listener(
                Protocol::Tcp,
                "0.0.0.0",
                80,
                vec![
                    owner(1000, "nginx", "/usr/sbin/nginx", "root"),
                    owner(1001, "nginx", "/usr/sbin/nginx", "www-data"),
                ],
            ),
            listener(
                Protocol::Udp,
                "0.0.0.0",
                53,
                vec![owner(700, "dnsmasq", "/usr/sbin/dnsmasq", "nobody")],
            ),
        ]
    }

    #[test]
    fn identical_scans_have_no_drift() {
        let d = compare(&snap(base()), "old", &snap(base()), "new");
        assert!(!d.summary.drift);
        assert_eq!(d.summary.unchanged, 4);
        assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() && d.address_changed.is_empty());
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn new_pids_commands_and_units_are_not_drift() {
        let mut new = base();
        for l in &mut new {
            for o in &mut l.owners {
                o.pid += 10_000;
                o.cmdline = Some("restarted".into());
                o.unit = Some("other.service".into());
            }
        }
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(!d.summary.drift, "{d:#?}");
        assert_eq!(d.summary.unchanged, 4);
    }

    #[test]
    fn added_and_removed_listeners() {
        let mut new = base();
        new.retain(|l| l.port != 53);
        new.push(listener(
            Protocol::Tcp,
            "0.0.0.0",
            9090,
            vec![owner(4242, "python3", "/usr/bin/python3.11", "root")],
        ));
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(d.summary.drift);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.added[0].port, 9090);
        assert_eq!(d.added[0].owners[0].name, "python3");
        assert_eq!(d.removed.len(), 1);
        assert_eq!((d.removed[0].protocol, d.removed[0].port), (Protocol::Udp, 53));
        assert!(d.changed.is_empty() && d.address_changed.is_empty());
        assert_eq!(d.summary.unchanged, 3);
    }

    #[test]
    fn owner_name_exe_and_user_changes_are_reported() {
        let mut new = base();
        new[0].owners = vec![owner(812, "sshd", "/tmp/sshd", "nobody")];
        new[3].owners = vec![owner(700, "python3", "/usr/bin/python3.11", "nobody")];
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert_eq!(d.summary.changed, 2);
        let ssh = d.changed.iter().find(|c| c.old.port == 22).expect("22 changed");
        assert_eq!(
            ssh.changes,
            vec![
                Change {
                    field: "exe",
                    old: "/usr/sbin/sshd".into(),
                    new: "/tmp/sshd".into()
                },
                Change {
                    field: "user",
                    old: "root".into(),
                    new: "nobody".into()
                },
            ]
        );
        let dns = d.changed.iter().find(|c| c.old.port == 53).expect("53 changed");
        assert_eq!(dns.changes[0].field, "process");
        assert_eq!(
            (dns.changes[0].old.as_str(), dns.changes[0].new.as_str()),
            ("dnsmasq", "python3")
        );
        assert_eq!(
            dns.changes.iter().map(|c| c.field).collect::<Vec<_>>(),
            ["process", "exe"]
        );
    }

    #[test]
    fn a_new_worker_with_the_same_identity_is_not_drift() {
        let mut new = base();
        new[2].owners.push(owner(1002, "nginx", "/usr/sbin/nginx", "www-data"));
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(!d.summary.drift, "{d:#?}");
    }

    #[test]
    fn loopback_to_wildcard_is_an_address_change_that_widens_exposure() {
        let mut new = base();
        new[1].local_address = "0.0.0.0".parse().expect("ip");
        new[1].owners[0].pid = 901;
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(d.added.is_empty() && d.removed.is_empty(), "{d:#?}");
        assert_eq!(d.address_changed.len(), 1);
        let m = &d.address_changed[0];
        assert_eq!(m.old.local_address.to_string(), "127.0.0.1");
        assert_eq!(m.new.local_address.to_string(), "0.0.0.0");
        assert_eq!(
            (m.old.exposure, m.new.exposure),
            (Exposure::Loopback, Exposure::Wildcard)
        );
        assert_eq!(m.exposure_change, ExposureChange::Widened);
        assert!(m.changes.is_empty());
        assert!(d.summary.drift);
    }

    #[test]
    fn a_different_process_on_another_address_is_not_a_move() {
        let mut new = base();
        new[1].local_address = "0.0.0.0".parse().expect("ip");
        new[1].owners = vec![owner(901, "python3", "/usr/bin/python3.11", "root")];
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(d.address_changed.is_empty());
        assert_eq!((d.added.len(), d.removed.len()), (1, 1));
    }

    #[test]
    fn moves_pair_within_the_same_family_first() {
        let pg = || vec![owner(900, "postgres", "/usr/bin/postgres", "postgres")];
        let old = vec![
            listener(Protocol::Tcp, "127.0.0.1", 5432, pg()),
            listener(Protocol::Tcp, "::1", 5432, pg()),
        ];
        let new = vec![
            listener(Protocol::Tcp, "::", 5432, pg()),
            listener(Protocol::Tcp, "0.0.0.0", 5432, pg()),
        ];
        let d = compare(&snap(old), "old", &snap(new), "new");
        assert_eq!(d.address_changed.len(), 2);
        for m in &d.address_changed {
            assert_eq!(m.old.local_address.is_ipv4(), m.new.local_address.is_ipv4(), "{m:#?}");
            assert_eq!(m.exposure_change, ExposureChange::Widened);
        }
    }

    #[test]
    fn narrowing_is_marked() {
        assert_eq!(
            ExposureChange::between(Exposure::Wildcard, Exposure::Loopback),
            ExposureChange::Narrowed
        );
        assert_eq!(
            ExposureChange::between(Exposure::Private, Exposure::Public),
            ExposureChange::Widened
        );
        assert_eq!(
            ExposureChange::between(Exposure::Loopback, Exposure::Loopback),
            ExposureChange::Same
        );
    }

    #[test]
    fn hidden_owners_are_noted_not_reported_as_changes() {
        let mut new = base();
        new[0].owners.clear();
        new[0].owner_status = Some("permission".into());
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(!d.summary.drift, "{d:#?}");
        assert_eq!(d.summary.not_compared, 1);
        assert!(
            d.notes[0].starts_with("tcp 0.0.0.0:22: owners hidden in the new scan"),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn unreadable_exe_is_not_a_change() {
        let mut new = base();
        new[0].owners[0].exe = None;
        let d = compare(&snap(base()), "old", &snap(new), "new");
        assert!(!d.summary.drift, "{d:#?}");
    }

    #[test]
    fn a_kernel_socket_that_gains_a_process_is_a_change() {
        let mut old = base();
        old[3].owners.clear();
        old[3].owner_status = Some("no-process".into());
        let d = compare(&snap(old), "old", &snap(base()), "new");
        assert_eq!(d.summary.changed, 1);
        assert_eq!(d.changed[0].changes[0].old, "(none)");
    }

    #[test]
    fn reuseport_sockets_merge_into_one_listener() {
        let mut old = base();
        old.push(listener(
            Protocol::Tcp,
            "0.0.0.0",
            80,
            vec![owner(1002, "nginx", "/usr/sbin/nginx", "www-data")],
        ));
        let d = compare(&snap(old), "old", &snap(base()), "new");
        assert!(!d.summary.drift, "{d:#?}");
        assert_eq!(d.old.listeners, 4);
    }

    #[test]
    fn namespaces_keep_listeners_apart() {
        let mut old = base();
        let mut extra = old[0].clone();
        extra.netns = Some(SnapshotNetns {
            inode: Some(4026532301),
            name: Some("lab1".into()),
            host: false,
        });
        old.push(extra);
        let d = compare(&snap(old), "old", &snap(base()), "new");
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].netns.as_deref(), Some("lab1"));
    }

    #[test]
    fn the_hosts_namespace_matches_a_scan_that_recorded_none() {
        // A scan from before listeners carried their namespace, against one that says
        // "the host's" (whose inode a reboot may renumber on older kernels).
        let old = base();
        let mut new = base();
        for l in &mut new {
            l.netns = Some(SnapshotNetns {
                inode: Some(4026531833),
                name: None,
                host: true,
            });
        }
        let d = compare(&snap(old), "old", &snap(new), "new");
        assert!(!d.summary.drift, "{d:#?}");
    }

    #[test]
    fn a_scan_of_one_namespace_is_compared_without_it() {
        let in_lab = |mut ls: Vec<SnapshotListener>| {
            for l in &mut ls {
                l.netns = Some(SnapshotNetns {
                    inode: Some(4026532301),
                    name: Some("lab1".into()),
                    host: false,
                });
            }
            ls
        };
        let d = compare(&snap(base()), "old", &snap(in_lab(base())), "new");
        assert!(!d.summary.drift, "{d:#?}");
        let mut new = in_lab(base());
        new.pop();
        let d = compare(&snap(in_lab(base())), "old", &snap(new), "new");
        assert_eq!(d.removed.len(), 1);
        assert_eq!(d.removed[0].netns, None, "one namespace: no label to show");
    }

    #[test]
    fn parse_reads_a_scan_and_ignores_unknown_fields() {
        let text = r#"{"schema_version":1,"host":"h","future":{"x":1},"listeners":[
            {"protocol":"tcp","local_address":"::1","port":3517,"owners":[{"pid":1,"name":"x","new_field":true}],
             "owner_status":"known","netns":{"inode":5,"name":null,"container":null}}]}"#;
        let s = parse("scan.json", text).expect("parses");
        assert_eq!(s.listeners[0].port, 3517);
        assert_eq!(
            s.listeners[0].netns.as_ref().and_then(SnapshotNetns::label).as_deref(),
            Some("5")
        );
        assert!(s.listeners[0].owners[0].exe.is_none());
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let text = "{\"schema_version\": 1,\n \"listeners\": [\n  {\"protocol\": \"tcp\", \"local_address\": \"0.0.0.0\", \"owners\": []}\n ]\n}";
        let e = parse("old.json", text).expect_err("port is missing");
        assert_eq!((e.line, e.column), (Some(3), Some(63)));
        assert_eq!(e.to_string(), "old.json:3:63: missing field `port`");

        let e = parse("old.json", "{\"schema_version\": 1,\n  \"listeners\": [,]}").expect_err("syntax");
        assert_eq!(e.to_string(), "old.json:2:17: expected value");

        let e = parse("old.json", "").expect_err("empty");
        assert_eq!(e.to_string(), "old.json:1:1: EOF while parsing a value");

        let e = parse("old.json", "[1]").expect_err("array");
        assert!(
            e.to_string()
                .starts_with("old.json:1:1: invalid type: sequence, expected a portghost scan object"),
            "{e}"
        );

        let e = parse(
            "x.json",
            "{\"schema_version\":1,\"listeners\":[{\"protocol\":\"sctp\\u001b[2J\"}]}",
        )
        .expect_err("bad protocol");
        assert!(!e.to_string().contains('\x1b'), "{e}");
        assert!(e.to_string().contains("unknown variant `sctp\\x1b[2J`"), "{e}");
    }

    #[test]
    fn parse_rejects_other_schema_versions_and_jsonl() {
        let e = parse("new.json", r#"{"schema_version": 2, "listeners": []}"#).expect_err("v2");
        assert_eq!(
            e.to_string(),
            "new.json: schema_version 2 is not supported: this portghost reads scans with schema_version 1"
        );
        let e = parse("new.json", r#"{"listeners": []}"#).expect_err("no version");
        assert!(e.to_string().starts_with("new.json: no schema_version"), "{e}");
        let lines = "{\"schema_version\":1,\"port\":1}\n{\"schema_version\":1,\"port\":2}\n";
        let e = parse("scan.jsonl", lines).expect_err("jsonl");
        assert!(e.to_string().starts_with("scan.jsonl:2:1: trailing characters"), "{e}");
        assert!(e.to_string().contains("not JSON Lines"), "{e}");
    }
}
