//! Where the owners of flagged listeners come from: the facts beyond a port number that a
//! verdict can rest on.
//!
//! Owns [`Provenance`] (gathered at the OS seam, only for the owners and network
//! namespaces that [`ProvenanceRequest`] names) and its parts. Plain data: it must not
//! read the OS; the inventory fills it and classification reads it.

use super::scan::Protocol;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What classification needs gathered: the owners and network namespaces of the
/// listeners that have a registry finding. Empty when no listener needs more evidence,
/// so such a scan pays nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenanceRequest {
    /// PIDs of the owners to look at.
    pub pids: BTreeSet<u32>,
    /// Network namespaces (by inode; `None` for portghost's own when its inode is
    /// unknown) whose ephemeral port range and rpcbind registrations to read.
    pub netns: BTreeSet<Option<u64>>,
}

impl ProvenanceRequest {
    /// True when nothing needs gathering.
    pub fn is_empty(&self) -> bool {
        self.pids.is_empty() && self.netns.is_empty()
    }
}

/// Facts gathered for the owners and namespaces a [`ProvenanceRequest`] named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// By owner PID.
    #[serde(default)]
    pub owners: BTreeMap<u32, OwnerProvenance>,
    /// The ephemeral port range (`net.ipv4.ip_local_port_range`, inclusive) of each
    /// network namespace, read inside it; key as in [`ProvenanceRequest::netns`].
    #[serde(default)]
    pub ephemeral: BTreeMap<Option<u64>, (u16, u16)>,
    /// Ports that the `rpcbind` (portmapper) of a network namespace has registered to an
    /// RPC program. Empty where no `rpcbind` answered.
    #[serde(default)]
    pub rpc: Vec<RpcMapping>,
    /// What could not be gathered, one sentence each (for example "the dpkg database
    /// could not be read").
    #[serde(default)]
    pub notes: Vec<String>,
    /// The user's own temporary directories, which the caller names (on Windows the values
    /// of `%TEMP%`, `%TMP%` and `%SystemRoot%\Temp`, resolved from portghost's environment;
    /// copied here from [`ScanOptions::temp_dirs`](crate::inventory::ScanOptions::temp_dirs)
    /// by the scan): an owner whose executable lies in one is suspicious, as in the
    /// platform's fixed ones ([`Platform::fixed_temp_dirs`](super::Platform::fixed_temp_dirs)).
    #[serde(default)]
    pub temp_dirs: Vec<String>,
}

/// The facts about one owning process's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerProvenance {
    /// The executable (`/proc/PID/exe`).
    #[serde(default)]
    pub exe: Option<FileProvenance>,
    /// For an interpreter (java, python, node, perl, ruby…), the jar or script its command
    /// line runs, resolved against its working directory.
    #[serde(default)]
    pub script: Option<FileProvenance>,
}

/// Facts about one file on disk.
///
/// `package` and `root_owned` are only ever set for the very file the process runs: the
/// path as portghost sees it must lead to the same device and inode as the process's own
/// view (`/proc/PID/exe`, or the script through `/proc/PID/root` or `/proc/PID/cwd`). A
/// deleted executable, one replaced since the process started, or one in another mount
/// namespace (a container's `/usr/bin/x` is not the host's) keeps its path with no package
/// and `root_owned` false, and the provenance notes say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProvenance {
    /// Absolute path, canonical (no symbolic link in it) when the file could be checked;
    /// as the process sees it otherwise. Lossy UTF-8, at most 4096 bytes for a script.
    pub path: String,
    /// The installed package whose file list contains the path (dpkg, or rpm where
    /// present), if any.
    #[serde(default)]
    pub package: Option<String>,
    /// True when the file and every directory above it are owned by root and writable by
    /// no one else (no group or other write bit).
    #[serde(default)]
    pub root_owned: bool,
}

/// One registration in a network namespace's `rpcbind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcMapping {
    /// Network namespace, as in [`ProvenanceRequest::netns`].
    pub netns: Option<u64>,
    /// RPC program number, e.g. 100024.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Transport protocol.
    pub protocol: Protocol,
    /// The port registered.
    pub port: u16,
    /// The program's name (`status`, `nlockmgr`), from the well-known list, if known.
    #[serde(default)]
    pub name: Option<String>,
}
