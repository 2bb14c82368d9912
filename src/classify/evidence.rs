//! The facts a registry finding weighs, beyond the port number: what the inventory's
//! [`Provenance`] says about a listener's owners and network namespace, how strongly an
//! owner matches a known use of the port, and the [`Evidence`] list a finding carries.
//!
//! Pure: it reads plain data (the listener, its owners, the provenance gathered at the OS
//! seam, the registry's known uses) and never the OS.

use super::suspicious_executable;
use crate::model::{
    Confidence, Evidence, EvidenceKind, FileProvenance, GhostEntry, Listener, Owner, OwnerStatus, Provenance,
    RpcMapping, Strength, UnofficialUse,
};

/// What is known about one owner of a listener.
pub(super) struct OwnerFacts<'a> {
    /// The process.
    pub owner: &'a Owner,
    /// Its executable, where gathered.
    pub exe: Option<&'a FileProvenance>,
    /// Its executable, then the jar or script its interpreter runs, where gathered.
    pub files: Vec<&'a FileProvenance>,
    /// Why its executable is suspicious; empty when it is not.
    pub suspicious: Vec<String>,
}

impl OwnerFacts<'_> {
    /// `name(pid)`.
    pub fn who(&self) -> String {
        format!("{}({})", self.owner.name, self.owner.pid)
    }
}

/// Everything a registry finding can weigh about one listener.
pub(super) struct Facts<'a> {
    /// The owners, as the inventory found them; empty when they were not seen.
    pub owners: Vec<OwnerFacts<'a>>,
    /// Why the owners were not seen (a short phrase); `None` when they were.
    pub unseen: Option<&'static str>,
    /// The ephemeral port range of the listener's network namespace, when read.
    pub ephemeral: Option<(u16, u16)>,
    /// The namespace's `rpcbind` registration of this port and transport, if any.
    pub rpc: Option<&'a RpcMapping>,
    /// True when the socket is bound to a loopback address.
    pub loopback: bool,
}

impl<'a> Facts<'a> {
    /// Collects the facts about `l` from `provenance`.
    pub fn gather(l: &'a Listener, provenance: &'a Provenance) -> Facts<'a> {
        let unseen = match l.owner_status {
            OwnerStatus::Known if !l.owners.is_empty() => None,
            OwnerStatus::Known => Some("no owning process found"),
            OwnerStatus::Permission => Some("owner hidden"),
            OwnerStatus::NoProcess => Some("no owning process found"),
            OwnerStatus::Kernel => Some("held by the kernel: no process has it open"),
            OwnerStatus::Unavailable => Some("no process table"),
            OwnerStatus::NotLooked => Some("owners not looked up"),
        };
        let owners = if unseen.is_some() {
            Vec::new()
        } else {
            l.owners
                .iter()
                .map(|o| {
                    let p = provenance.owners.get(&o.pid);
                    let files = p
                        .map(|p| p.exe.iter().chain(p.script.iter()).collect())
                        .unwrap_or_default();
                    OwnerFacts {
                        owner: o,
                        exe: p.and_then(|p| p.exe.as_ref()),
                        files,
                        suspicious: suspicious_executable(o, provenance),
                    }
                })
                .collect()
        };
        let netns = l.netns.as_ref().map(|n| n.inode);
        Facts {
            owners,
            unseen,
            ephemeral: provenance.ephemeral.get(&netns).copied(),
            rpc: provenance
                .rpc
                .iter()
                .find(|m| m.netns == netns && m.protocol == l.protocol && m.port == l.port),
            loopback: l.is_loopback(),
        }
    }

    /// The first suspicious reason, if any.
    pub fn first_suspicious(&self) -> Option<&str> {
        self.owners
            .iter()
            .flat_map(|o| o.suspicious.iter())
            .map(String::as_str)
            .next()
    }

    /// True when `port` lies in the namespace's ephemeral port range.
    pub fn in_ephemeral(&self, port: u16) -> bool {
        self.ephemeral.is_some_and(|(lo, hi)| lo <= port && port <= hi)
    }

    /// The first owner executable (not script) that belongs to a package.
    pub fn packaged_exe(&self) -> Option<&'a FileProvenance> {
        self.owners.iter().filter_map(|o| o.exe).find(|f| f.package.is_some())
    }

    /// `name(pid)` of every owner, joined with ", ".
    pub fn whos(&self) -> String {
        self.owners.iter().map(OwnerFacts::who).collect::<Vec<_>>().join(", ")
    }
}

/// An owner that matches a known benign use of the port, and how strongly.
pub(super) struct KnownUse<'a> {
    /// The use.
    pub known: &'a UnofficialUse,
    /// The owner that matches it.
    pub owner: &'a Owner,
    /// How hard the match is to forge.
    pub strength: Strength,
    /// The file that gave the match; `None` when only the process name did.
    pub file: Option<&'a FileProvenance>,
}

impl KnownUse<'_> {
    /// `name(pid)` of the owner.
    pub fn who(&self) -> String {
        format!("{}({})", self.owner.name, self.owner.pid)
    }

    /// The fact the match rests on, as a phrase: "/usr/sbin/rpc.statd from package
    /// nfs-common", "/usr/local/bin/geckodriver in a root-owned directory tree", "process
    /// name ircd only, which any process can set".
    pub fn basis(&self) -> String {
        match (self.file, self.strength) {
            (Some(f), Strength::Strong) => package_phrase(f),
            (Some(f), Strength::Medium) => root_owned_phrase(f),
            (Some(f), Strength::Weak) => not_root_owned_phrase(f),
            (None, _) => format!("process name {} only, which any process can set", self.owner.name),
        }
    }
}

/// The strongest match between an owner and one of `uses` (benign uses covering the
/// port), the first use winning a tie:
///
/// - strong: an executable or script belongs to a package listed by the use, or to any
///   package and its path or file name matches the use's `executables`;
/// - medium: an executable or script in a root-owned tree whose path or file name
///   matches the use's `executables`;
/// - weak: the same path match outside a root-owned tree, or the process name matching
///   the use's `processes`.
pub(super) fn best_known_use<'a>(uses: &[&'a UnofficialUse], facts: &Facts<'a>) -> Option<KnownUse<'a>> {
    let mut best: Option<KnownUse<'a>> = None;
    for &u in uses {
        for o in &facts.owners {
            let mut candidates: Vec<KnownUse<'a>> = Vec::new();
            for &f in &o.files {
                let named = matches_executable(u, &f.path);
                let strength = match &f.package {
                    Some(p) if named || u.packages.iter().any(|q| q == p) => Some(Strength::Strong),
                    _ if named && f.root_owned => Some(Strength::Medium),
                    _ if named => Some(Strength::Weak),
                    _ => None,
                };
                if let Some(strength) = strength {
                    candidates.push(KnownUse {
                        known: u,
                        owner: o.owner,
                        strength,
                        file: Some(f),
                    });
                }
            }
            if u.matches_process(&o.owner.name) {
                candidates.push(KnownUse {
                    known: u,
                    owner: o.owner,
                    strength: Strength::Weak,
                    file: None,
                });
            }
            for c in candidates {
                if best.as_ref().is_none_or(|b| c.strength < b.strength) {
                    best = Some(c);
                }
            }
        }
    }
    best
}

/// True when `path` matches one of the use's `executables`: a pattern with a `/` against
/// the whole path, any other against the file name; `*` matches any run of characters,
/// case-sensitively.
pub(super) fn matches_executable(u: &UnofficialUse, path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    u.executables.iter().any(|p| {
        if p.contains('/') {
            wildcard_match(p, path)
        } else {
            wildcard_match(p, name)
        }
    })
}

/// Case-sensitive match of `text` against `pattern`, where `*` matches any run of
/// characters (including none) and every other character matches itself.
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*`: the whole text must be the pattern.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// "/usr/sbin/rpc.statd from package nfs-common".
fn package_phrase(f: &FileProvenance) -> String {
    match &f.package {
        Some(p) => format!("{} from package {p}", f.path),
        None => f.path.clone(),
    }
}

/// "/usr/local/bin/geckodriver in a root-owned directory tree".
fn root_owned_phrase(f: &FileProvenance) -> String {
    format!("{} in a root-owned directory tree", f.path)
}

/// "/home/u/ircd outside any root-owned directory tree".
fn not_root_owned_phrase(f: &FileProvenance) -> String {
    format!(
        "{} outside any root-owned directory tree (someone other than root could have put it there)",
        f.path
    )
}

/// The registry fact: "defunct-vendor entry, reported: only secondary sources report this".
pub(super) fn registry_phrase(g: &GhostEntry) -> String {
    match g.confidence {
        Confidence::Confirmed => format!("{} entry, confirmed by a primary source", g.status),
        Confidence::Reported => format!("{} entry, reported: only secondary sources report this", g.status),
    }
}

/// "registered with rpcbind as 100024 status v1".
pub(super) fn rpc_phrase(m: &RpcMapping) -> String {
    match &m.name {
        Some(name) => format!("registered with rpcbind as {} {name} v{}", m.program, m.version),
        None => format!("registered with rpcbind as program {} v{}", m.program, m.version),
    }
}

/// "inside this network namespace's ephemeral port range 32768-60999, where the kernel
/// picks ports for programs that bind port 0".
pub(super) fn ephemeral_phrase(range: (u16, u16), inside: bool) -> String {
    if inside {
        format!(
            "inside this network namespace's ephemeral port range {}-{}, where the kernel picks ports for programs that bind port 0",
            range.0, range.1
        )
    } else {
        format!(
            "outside this network namespace's ephemeral port range {}-{}",
            range.0, range.1
        )
    }
}

/// "listens on loopback only (127.0.0.1)", "listens on all interfaces (wildcard address)".
pub(super) fn exposure_phrase(l: &Listener) -> String {
    if l.is_loopback() {
        format!(
            "listens on loopback only ({}), not reachable from the network",
            l.local_address
        )
    } else if l.is_dual_stack() {
        "listens on all interfaces, IPv4 and IPv6 (dual-stack wildcard address)".to_string()
    } else if l.is_wildcard() {
        "listens on all interfaces (wildcard address)".to_string()
    } else {
        format!("listens on address {} ({})", l.local_address, l.exposure().as_str())
    }
}

/// Every fact weighed for the ghost entry `g` of listener `l`, in this order: the registry
/// entry (status and confidence, what contradicts it, the known use matched), each owner's
/// files and process name, suspicious executables, unseen owners, rpcbind, the ephemeral
/// range and the exposure.
pub(super) fn weighed(
    l: &Listener,
    g: &GhostEntry,
    uses: &[&UnofficialUse],
    facts: &Facts<'_>,
    known: Option<&KnownUse<'_>>,
) -> Vec<Evidence> {
    let mut ev = vec![Evidence::new(EvidenceKind::Registry, None, registry_phrase(g))];
    if let Some(c) = &g.contradicted {
        ev.push(Evidence::new(
            EvidenceKind::Registry,
            None,
            format!("contradicted: {c}"),
        ));
    }
    if let Some(k) = known {
        ev.push(Evidence::new(
            EvidenceKind::Registry,
            Some(k.strength),
            format!("known use: {}", k.known.name),
        ));
    }
    for o in &facts.owners {
        if o.files.is_empty() {
            ev.push(Evidence::new(
                EvidenceKind::OwnerUnseen,
                None,
                format!("where {}'s executable comes from was not examined", o.who()),
            ));
        }
        for &f in &o.files {
            ev.push(if f.package.is_some() {
                Evidence::new(EvidenceKind::Package, Some(Strength::Strong), package_phrase(f))
            } else if f.root_owned {
                Evidence::new(
                    EvidenceKind::RootOwnedPath,
                    Some(Strength::Medium),
                    root_owned_phrase(f),
                )
            } else {
                Evidence::new(
                    EvidenceKind::UserWritablePath,
                    Some(Strength::Weak),
                    not_root_owned_phrase(f),
                )
            });
        }
        if let Some(u) = uses.iter().find(|u| u.matches_process(&o.owner.name)) {
            ev.push(Evidence::new(
                EvidenceKind::ProcessName,
                Some(Strength::Weak),
                format!(
                    "process name of {} matches {}; any process can set its name",
                    o.who(),
                    u.name
                ),
            ));
        }
        for s in &o.suspicious {
            ev.push(Evidence::new(EvidenceKind::SuspiciousExecutable, None, s.clone()));
        }
    }
    if let Some(why) = facts.unseen {
        ev.push(Evidence::new(
            EvidenceKind::OwnerUnseen,
            None,
            format!("{why}: {}", l.owner_status.reason()),
        ));
    }
    if let Some(m) = facts.rpc {
        ev.push(Evidence::new(EvidenceKind::Rpc, None, rpc_phrase(m)));
    }
    if let Some(range) = facts.ephemeral {
        ev.push(Evidence::new(
            EvidenceKind::EphemeralRange,
            None,
            ephemeral_phrase(range, facts.in_ephemeral(l.port)),
        ));
    }
    ev.push(Evidence::new(EvidenceKind::Exposure, None, exposure_phrase(l)));
    ev
}

#[cfg(test)]
mod tests {
    use super::wildcard_match;

    #[test]
    fn wildcards_match_runs_case_sensitively() {
        assert!(wildcard_match("geckodriver", "geckodriver"));
        assert!(!wildcard_match("geckodriver", "Geckodriver"));
        assert!(!wildcard_match("geckodriver", "geckodriver2"));
        assert!(wildcard_match("selenium-server*.jar", "selenium-server-4.21.0.jar"));
        assert!(wildcard_match("selenium-server*.jar", "selenium-server.jar"));
        assert!(!wildcard_match("selenium-server*.jar", "selenium-server.jar.bak"));
        assert!(wildcard_match("wsrep_sst_*", "wsrep_sst_rsync"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "abc"));
        assert!(!wildcard_match("a*b*c", "acb"));
        assert!(!wildcard_match("ab*ba", "aba"));
        assert!(wildcard_match(
            "/usr/sap/*/exe/disp+work",
            "/usr/sap/PRD/D01/exe/disp+work"
        ));
    }
}
