//! Gathering the evidence behind a verdict, on Linux: where the owners of flagged
//! listeners come from, and how their network namespaces hand out ports.
//!
//! Owns [`gather`]: for the owner PIDs of a [`ProvenanceRequest`], their executable and
//! script ([`files`]) with package ([`packages`]) and ownership facts; for its network
//! namespaces, the ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`) and the
//! `rpcbind` registrations ([`rpcbind`]), both read from inside the namespace: on the
//! calling thread for portghost's own namespace, else on the thread [`super::netns`]
//! moves into it (a `net.*` sysctl file and a socket belong to the reader's namespace).
//!
//! It must not: look at anything the request does not name, judge what it finds, print,
//! fail (whatever could not be read becomes one sentence in [`Provenance::notes`]), or
//! move the calling thread to another namespace.

mod files;
mod packages;
mod rpcbind;

use super::netns::{self, Entered, NsFile, Target};
use crate::model::{FileProvenance, Inventory, OwnerProvenance, Protocol, Provenance, ProvenanceRequest, RpcMapping};
use files::{Located, Missing, RootOwned};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The sysctl file of the ephemeral port range; it shows the reader's namespace.
const EPHEMERAL_RANGE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// Most PIDs named in one note.
const PIDS_SHOWN: usize = 5;

/// Fills `inventory.provenance` with what `request` names. Never fails.
pub(in crate::inventory) fn gather(inventory: &mut Inventory, request: &ProvenanceRequest) {
    let mut provenance = Provenance::default();
    owners(request, &mut provenance);
    namespaces(inventory, request, &mut provenance);
    inventory.provenance = provenance;
}

// ---------------------------------------------------------------------------------------
// Owners
// ---------------------------------------------------------------------------------------

/// The executable and script of each requested owner, with their packages and ownership.
fn owners(request: &ProvenanceRequest, provenance: &mut Provenance) {
    let mut unreadable = Vec::new();
    let mut unverified = Vec::new();
    let mut located: BTreeMap<u32, (Option<Located>, Option<Located>)> = BTreeMap::new();
    for &pid in &request.pids {
        let found = files::owner_files(pid);
        match found.missing {
            Some(Missing::Unreadable) => unreadable.push(pid),
            Some(Missing::Exited) => continue,
            None if found.unverified => unverified.push(pid),
            None => {}
        }
        located.insert(pid, (found.exe, found.script));
    }
    let mut wanted: Vec<PathBuf> = located
        .values()
        .flat_map(|(exe, script)| [exe, script])
        .filter_map(|l| l.as_ref()?.verified.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    wanted.shrink_to_fit();
    let found = packages::lookup(&wanted);
    provenance.notes.extend(found.notes);
    let mut root_owned = RootOwned::default();
    let mut facts = |located: Option<Located>| {
        located.map(|l| {
            let (package, root) = match &l.verified {
                Some(path) => (found.packages.get(path).cloned(), root_owned.check(path)),
                None => (None, false),
            };
            FileProvenance {
                path: l.path,
                package,
                root_owned: root,
            }
        })
    };
    for (pid, (exe, script)) in located {
        let owner = OwnerProvenance {
            exe: facts(exe),
            script: facts(script),
        };
        provenance.owners.insert(pid, owner);
    }
    if !unreadable.is_empty() {
        provenance.notes.push(format!(
            "the executable of {} could not be read (permission denied), so where it comes from is unknown",
            processes(&unreadable)
        ));
    }
    if !unverified.is_empty() {
        provenance.notes.push(format!(
            "the executable of {} is deleted or is not the file at its path as portghost sees it \
             (replaced since it started, or in another mount namespace such as a container's), \
             so its package and owner were not checked",
            processes(&unverified)
        ));
    }
}

/// `process 12` or `3 processes (PID 1, 2, 3)`, with at most [`PIDS_SHOWN`] PIDs.
fn processes(pids: &[u32]) -> String {
    if let [pid] = pids {
        return format!("process {pid}");
    }
    let mut shown = String::new();
    for (i, pid) in pids.iter().take(PIDS_SHOWN).enumerate() {
        if i > 0 {
            shown.push_str(", ");
        }
        let _ = write!(shown, "{pid}");
    }
    if pids.len() > PIDS_SHOWN {
        let _ = write!(shown, ", +{}", pids.len() - PIDS_SHOWN);
    }
    format!("{} processes (PID {shown})", pids.len())
}

// ---------------------------------------------------------------------------------------
// Network namespaces
// ---------------------------------------------------------------------------------------

/// What was read inside one namespace.
#[derive(Debug)]
struct Inside {
    /// The ephemeral port range, or why it could not be read.
    ephemeral: Result<(u16, u16), String>,
    /// What the namespace's `rpcbind` answered.
    rpc: rpcbind::Answer,
}

/// Reads the facts of the calling thread's network namespace.
fn read_inside() -> Inside {
    let ephemeral = std::fs::read(EPHEMERAL_RANGE)
        .map_err(|e| e.to_string())
        .and_then(|bytes| parse_range(&bytes).ok_or_else(|| "it holds no valid range".to_owned()));
    Inside {
        ephemeral,
        rpc: rpcbind::dump(),
    }
}

/// The `LOW HIGH` text of `ip_local_port_range` (tab-separated, a newline after).
pub(super) fn parse_range(bytes: &[u8]) -> Option<(u16, u16)> {
    let text = std::str::from_utf8(bytes.get(..bytes.len().min(64))?).ok()?;
    let mut fields = text.split_ascii_whitespace();
    let low: u16 = fields.next()?.parse().ok()?;
    let high: u16 = fields.next()?.parse().ok()?;
    (fields.next().is_none() && low <= high).then_some((low, high))
}

/// The ephemeral range and `rpcbind` registrations of every requested namespace.
fn namespaces(inventory: &Inventory, request: &ProvenanceRequest, provenance: &mut Provenance) {
    if request.netns.is_empty() {
        return;
    }
    let own = netns::own();
    let mut others: Vec<(Option<u64>, Target)> = Vec::new();
    for &key in &request.netns {
        match (key, own) {
            (None, _) => record(key, read_inside(), provenance),
            (Some(inode), Some(own)) if inode == own.inode => record(key, read_inside(), provenance),
            (Some(inode), Some(own)) => others.push((key, target(inventory, inode, own))),
            (Some(inode), None) => provenance.notes.push(format!(
                "network namespace {inode} could not be entered without /proc, so its ephemeral port range and rpcbind registrations are unknown"
            )),
        }
    }
    if others.is_empty() {
        return;
    }
    let targets: Vec<Target> = others.iter().map(|(_, t)| t.clone()).collect();
    match netns::run_inside(&targets, read_inside) {
        Ok(results) => {
            for ((key, _), result) in others.iter().zip(results) {
                let inode = key.unwrap_or_default();
                match result {
                    Entered::Ran(inside) => record(*key, inside, provenance),
                    Entered::Vanished => provenance.notes.push(format!(
                        "network namespace {inode} disappeared before its ephemeral port range and rpcbind registrations were read"
                    )),
                    Entered::Refused(error) => provenance.notes.push(format!(
                        "network namespace {inode} could not be entered ({error}), so its ephemeral port range and rpcbind registrations are unknown"
                    )),
                }
            }
        }
        Err(error) => provenance.notes.push(format!(
            "other network namespaces could not be entered ({error}), so their ephemeral port ranges and rpcbind registrations are unknown"
        )),
    }
}

/// The files that lead to namespace `inode`: its `/run/netns` names, then
/// `/proc/PID/ns/net` of the owners of its listeners (each checked before use).
fn target(inventory: &Inventory, inode: u64, own: NsFile) -> Target {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut names: BTreeSet<&str> = BTreeSet::new();
    names.extend(
        inventory
            .namespaces
            .iter()
            .filter(|n| n.inode == inode)
            .filter_map(|n| n.name.as_deref()),
    );
    let listed = netns::names(own.dev).remove(&inode).unwrap_or_default();
    files.extend(
        names
            .iter()
            .filter(|n| !n.contains('/') && **n != ".." && **n != ".")
            .map(|n| Path::new("/run/netns").join(n)),
    );
    files.extend(
        listed
            .iter()
            .filter(|n| !names.contains(n.as_str()))
            .map(|n| Path::new("/run/netns").join(n)),
    );
    let pids: BTreeSet<u32> = inventory
        .listeners
        .iter()
        .filter(|l| l.netns.as_ref().is_some_and(|n| n.inode == inode))
        .flat_map(|l| l.owners.iter().map(|o| o.pid))
        .collect();
    files.extend(pids.into_iter().map(|pid| PathBuf::from(format!("/proc/{pid}/ns/net"))));
    Target {
        ns: NsFile { dev: own.dev, inode },
        files,
    }
}

/// Adds what was read inside namespace `key`.
fn record(key: Option<u64>, inside: Inside, provenance: &mut Provenance) {
    let which = match key {
        Some(inode) => format!("network namespace {inode}"),
        None => "portghost's own network namespace".to_owned(),
    };
    match inside.ephemeral {
        Ok(range) => {
            provenance.ephemeral.insert(key, range);
        }
        Err(error) => provenance.notes.push(format!(
            "the ephemeral port range of {which} could not be read ({error})"
        )),
    }
    match inside.rpc {
        rpcbind::Answer::NoRpcbind => {}
        rpcbind::Answer::Mappings(mappings) => {
            provenance.rpc.extend(mappings.into_iter().filter_map(|m| {
                let protocol = match m.protocol {
                    6 => Protocol::Tcp,
                    17 => Protocol::Udp,
                    _ => return None,
                };
                Some(RpcMapping {
                    netns: key,
                    program: m.program,
                    version: m.version,
                    protocol,
                    port: u16::try_from(m.port).ok()?,
                    name: rpcbind::program_name(m.program).map(str::to_owned),
                })
            }));
        }
        rpcbind::Answer::Failed(why) => provenance.notes.push(format!(
            "something listens on 127.0.0.1:111 in {which} but it did not answer as rpcbind: {why}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_strictly() {
        assert_eq!(parse_range(b"32768\t60999\n"), Some((32768, 60999)));
        assert_eq!(parse_range(b"3000 3999"), Some((3000, 3999)));
        assert_eq!(parse_range(b"4000 3999"), None);
        assert_eq!(parse_range(b"1 2 3"), None);
        assert_eq!(parse_range(b"70000 80000"), None);
        assert_eq!(parse_range(b"\xff"), None);
        assert_eq!(parse_range(b""), None);
    }

    #[test]
    fn pids_in_notes_are_bounded() {
        assert_eq!(processes(&[7]), "process 7");
        assert_eq!(processes(&[1, 2]), "2 processes (PID 1, 2)");
        assert_eq!(
            processes(&(1..=8).collect::<Vec<_>>()),
            "8 processes (PID 1, 2, 3, 4, 5, +3)"
        );
    }

    #[test]
    fn own_namespace_is_read_directly() {
        let mut inventory = Inventory {
            host: String::new(),
            scanned_at: String::new(),
            listeners: Vec::new(),
            privileged: false,
            host_pid_namespace: None,
            warnings: Vec::new(),
            view: None,
            namespaces: Vec::new(),
            provenance: Provenance::default(),
            portless: Vec::new(),
            kind: crate::model::InventoryKind::Linux,
        };
        let request = ProvenanceRequest {
            pids: [std::process::id()].into(),
            netns: [None].into(),
        };
        gather(&mut inventory, &request);
        let p = &inventory.provenance;
        let range = p.ephemeral.get(&None).copied().expect("own range");
        assert!(range.0 <= range.1);
        let me = p.owners.get(&std::process::id()).expect("own process");
        assert!(me.exe.is_some());
    }
}
