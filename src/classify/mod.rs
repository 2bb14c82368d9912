//! Pure classification: plain inventory data and the registry in, a [`Report`] out.
//!
//! Owns the rules that turn a listener into a verdict and findings: this module the
//! listener-level ones (unregistered ports, suspicious executables, missing and hidden
//! owners) and the report; `ghost` the evidence table for ghost-registry ports; `evidence`
//! the facts it weighs, from the inventory's provenance; `portless` the judgement of packet
//! and raw sockets, with `bpf` decoding their filters. It must stay pure: no I/O, no
//! clock, no environment, no OS calls. Every function here is total.

pub(crate) mod bpf;
mod evidence;
mod ghost;
pub(crate) mod portless;

use crate::model::IanaRecord;
use crate::model::{Classified, Finding, FindingKind, PolicyInfo, Report, Severity, Summary, Verdict};
use crate::model::{GhostEntry, UnofficialUse, UseKind};
use crate::model::{Inventory, Listener, Owner, OwnerStatus, Platform, Protocol, Provenance};
use crate::policy::{PolicyContext, rules};
use crate::registry::Registry;
use std::net::IpAddr;

/// First port of IANA's Dynamic and/or Private range (RFC 6335), never assigned.
const DYNAMIC_PORTS_START: u16 = 49152;

/// Classifies every listener of `inventory` against `registry` and sorts the result: by
/// network namespace (the host's first), then unexpected first, then by protocol, port and
/// address. The listeners move into the report.
pub fn classify(inventory: Inventory, registry: &Registry) -> Report {
    classify_with(inventory, registry, None)
}

/// Like [`classify`], then judges every listener with the policy in `policy`, if any (see
/// [`rules::Judge::apply`]; the rules are indexed once). The report names the policy and carries its warnings (expired allow
/// rules, as of `policy.today`); `complete` still only says whether the scan saw everything.
pub fn classify_with(inventory: Inventory, registry: &Registry, policy: Option<PolicyContext<'_>>) -> Report {
    // A listener whose owner was not seen (hidden, not looked up, no visible process) makes
    // the scan incomplete, as does any warning.
    let complete = inventory.warnings.is_empty()
        && inventory.listeners.iter().all(|l| l.owner_status.is_seen())
        && inventory.portless.iter().all(|p| p.owner_status.is_seen());
    let sees_all = sees_every_process(&inventory);
    let provenance = inventory.provenance;
    let judge = policy.map(rules::Judge::new);
    let mut listeners: Vec<Classified> = inventory
        .listeners
        .into_iter()
        .map(|l| {
            let mut c = classify_listener(l, registry, sees_all, &provenance);
            if let Some(judge) = &judge {
                judge.apply(&mut c);
            }
            c
        })
        .collect();
    // Each key is computed once and the keys are sorted, not the listeners.
    listeners.sort_by_cached_key(report_order);
    let mut portless: Vec<crate::model::ClassifiedPortless> = inventory
        .portless
        .into_iter()
        .map(|p| {
            let mut c = portless::classify_portless(p, sees_all, &provenance);
            if let Some(ctx) = policy {
                rules::apply_portless(ctx, &mut c);
            }
            c
        })
        .collect();
    portless.sort_by_key(|c| {
        let l = &c.listener;
        (l.netns_order(), c.verdict, l.kind, l.protocol, l.ifindex, l.inode)
    });
    let mut namespaces = inventory.namespaces;
    namespaces.sort_by_key(|n| n.order());
    Report {
        host: inventory.host,
        scanned_at: inventory.scanned_at,
        privileged: inventory.privileged,
        inventory: inventory.kind,
        complete,
        warnings: inventory.warnings,
        view: inventory.view,
        namespaces,
        summary: Summary::of(&listeners),
        listeners,
        portless,
        policy: policy.map(|ctx| PolicyInfo {
            path: ctx.policy.file.clone(),
            mode: ctx.policy.mode,
            allow_rules: ctx.policy.allow.len(),
            deny_rules: ctx.policy.deny.len(),
            warnings: ctx.policy.warnings(ctx.today),
        }),
        registry: registry.info(),
    }
}

/// The place of a listener in a report: by network namespace (the host's first, then by
/// inode), verdict (unexpected first), protocol, port, address and socket inode, packed
/// into integers that compare in that order. The inode makes every key distinct, so the
/// order does not depend on the order the listeners came in.
fn report_order(c: &Classified) -> (u128, u128, Option<u64>) {
    let l = &c.listener;
    let (not_host, netns) = l.netns_order();
    let (family, address) = match l.local_address {
        IpAddr::V4(a) => (0_u128, u128::from(u32::from(a))),
        IpAddr::V6(a) => (1, u128::from(a)),
    };
    // Bit 127: not the host's namespace; 63..=126: namespace inode; 61..=62: verdict;
    // 60: protocol; 44..=59: port; 43: address family (IPv4 before IPv6, as IpAddr orders).
    let major = u128::from(not_host) << 127
        | u128::from(netns) << 63
        | (c.verdict as u128) << 61
        | (l.protocol as u128) << 60
        | u128::from(l.port) << 44
        | family << 43;
    (major, address, l.inode)
}

/// True when the scan could see every process on the host: privileged, and in the host's
/// PID namespace. Only then does "no process holds this socket" mean something.
pub fn sees_every_process(inventory: &Inventory) -> bool {
    inventory.privileged && inventory.host_pid_namespace == Some(true)
}

/// Classifies one listener. `sees_all` says whether the scan saw every process of the
/// host ([`sees_every_process`]); `provenance` holds the facts gathered about owners and
/// network namespaces. See the README's "Classification" section for the rules.
pub fn classify_listener(
    listener: Listener,
    registry: &Registry,
    sees_all: bool,
    provenance: &Provenance,
) -> Classified {
    let proto = listener.protocol;
    let service = registry.service(listener.port, proto);
    let ghost = registry.ghost(listener.port, proto);
    let mut findings = Vec::new();
    let mut unexpected = false;

    match ghost {
        Some(g) => {
            let uses: Vec<&UnofficialUse> = registry
                .unofficial_uses(listener.port, proto)
                .into_iter()
                .map(|(_, u)| u)
                .filter(|u| u.kind == UseKind::Software)
                .collect();
            let facts = evidence::Facts::gather(&listener, provenance);
            let (mut f, bad) = ghost::ghost_finding(&listener, g, service, &uses, &facts);
            let known = evidence::best_known_use(&uses, &facts).filter(|_| f.kind == FindingKind::UnofficialUse);
            local_sources(&mut f, g, known.map(|k| k.known));
            findings.push(f);
            unexpected |= bad;
        }
        None if service.is_none() => findings.push(unregistered(&listener)),
        None => {}
    }
    for o in &listener.owners {
        for message in suspicious_executable(o, provenance) {
            findings.push(Finding::new(FindingKind::SuspiciousExecutable, Severity::High, message));
            unexpected = true;
        }
    }
    // A kernel-held socket looks exactly like one held by a process hiding from /proc.
    let no_owner = match listener.owner_status {
        OwnerStatus::Kernel => true,
        OwnerStatus::NoProcess => sees_all,
        _ => false,
    };
    if no_owner {
        findings.push(Finding::new(
            FindingKind::NoOwner,
            Severity::High,
            "no process holds this socket although every process on the host was inspected: \
             a kernel socket (NFS, WireGuard) or a process hiding from /proc",
        ));
        unexpected = true;
    }
    if listener.owner_status.is_hidden() {
        findings.push(Finding::new(
            FindingKind::OwnerHidden,
            Severity::Low,
            listener.owner_status.reason(),
        ));
    }
    findings.sort_by_key(|f| f.severity);
    Classified {
        listener,
        service,
        ghost: ghost.cloned(),
        verdict: if unexpected {
            Verdict::Unexpected
        } else {
            Verdict::Unreviewed
        },
        findings,
    }
}

/// Names the local registry file behind a ghost finding, when the entry or the matched use
/// came from one: "(local registry /etc/portghost/registry.d/acme.toml)".
fn local_sources(f: &mut Finding, g: &GhostEntry, matched: Option<&UnofficialUse>) {
    let use_file = matched.and_then(|u| u.source.as_deref());
    match (g.source.as_deref(), use_file) {
        (Some(a), Some(b)) if a != b => {
            f.message
                .push_str(&format!(" (local registry {a}; known use from {b})"));
        }
        (Some(a), _) => f.message.push_str(&format!(" (local registry {a})")),
        (None, Some(b)) => f.message.push_str(&format!(" (known use from local registry {b})")),
        (None, None) => {}
    }
}

/// Every reason an owner's executable is suspicious; empty when there is none. The
/// temporary directories are those of the platform portghost was built for, plus the
/// user's own that `provenance` names.
pub fn suspicious_executable(o: &Owner, provenance: &Provenance) -> Vec<String> {
    suspicious_executable_on(o, Platform::current(), &provenance.temp_dirs)
}

/// [`suspicious_executable`] with the conventions of `platform`, and `extra` as the
/// user's temporary directories (see [`crate::model::platform::temp_dir_of`]).
pub fn suspicious_executable_on(o: &Owner, platform: Platform, extra: &[String]) -> Vec<String> {
    let Some(exe) = o.exe.as_deref() else {
        return Vec::new();
    };
    let in_temp_dir = crate::model::platform::temp_dir_of(exe, platform, extra);
    let memfd = exe.starts_with("/memfd:");
    if !memfd && in_temp_dir.is_none() && !o.exe_deleted {
        return Vec::new();
    }
    let who = format!("{}({})", o.name, o.pid);
    if memfd {
        return vec![format!(
            "{who} runs from an anonymous memory file ({exe}), with no executable on disk: a fileless-malware technique"
        )];
    }
    let mut reasons = Vec::new();
    if let Some((dir, users_own)) = in_temp_dir {
        reasons.push(if users_own {
            format!("{who} runs {exe} from {dir}, a temporary directory (%TEMP% or %TMP%)")
        } else {
            format!("{who} runs {exe} from {dir}, a world-writable temporary directory")
        });
    }
    if o.exe_deleted {
        reasons.push(format!(
            "{who} runs {exe}, which was deleted after it started (an upgrade without a restart, or a binary removed to hide it)"
        ));
    }
    reasons
}

/// `3237/tcp`.
fn port_proto(l: &Listener) -> PortProto {
    PortProto(l.port, l.protocol)
}

/// A port and transport protocol, displayed as `3237/tcp` without allocating.
struct PortProto(u16, Protocol);

impl std::fmt::Display for PortProto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// `apparenet-tps (appareNet Test Packet Sequencer)`, or a phrase for an unassigned port.
pub(crate) fn registered_to(l: &Listener, g: &GhostEntry, service: Option<&IanaRecord>) -> String {
    match service {
        Some(s) if !s.description.is_empty() => {
            format!("{} is registered to {} ({})", port_proto(l), s.name, s.description)
        }
        Some(s) => format!("{} is registered to {}", port_proto(l), s.name),
        None => match &g.formerly {
            Some(old) => format!("{} is no longer assigned by IANA (formerly {old})", port_proto(l)),
            None => format!("{} is not assigned by IANA", port_proto(l)),
        },
    }
}

/// Where the listener is bound, as a phrase: "all interfaces (wildcard address)".
pub(crate) fn exposure(l: &Listener) -> String {
    if l.is_dual_stack() {
        "all interfaces, IPv4 and IPv6 (dual-stack wildcard address)".to_string()
    } else if l.is_wildcard() {
        "all interfaces (wildcard address)".to_string()
    } else {
        format!("address {}", l.local_address)
    }
}

fn unregistered(l: &Listener) -> Finding {
    let message = if l.port >= DYNAMIC_PORTS_START {
        format!(
            "{} is in the dynamic/private range 49152-65535, which IANA never assigns",
            port_proto(l)
        )
    } else {
        format!("{} has no IANA registration", port_proto(l))
    };
    Finding::new(FindingKind::UnregisteredPort, Severity::Info, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Netns, Protocol};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn running(exe: &str) -> Owner {
        Owner {
            pid: 41,
            name: "svc".into(),
            exe: Some(exe.into()),
            cmdline: None,
            uid: None,
            user: None,
            unit: None,
            user_unit_uid: None,
            exe_deleted: false,
            container: None,
        }
    }

    #[test]
    fn temporary_directories_are_the_platforms() {
        let temp = vec![r"C:\Users\bob\AppData\Local\Temp".to_owned()];
        let win = |exe: &str| suspicious_executable_on(&running(exe), Platform::Windows, &temp);
        assert_eq!(
            win(r"C:\Users\Bob\AppData\Local\Temp\7z\svc.exe"),
            vec![
                r"svc(41) runs C:\Users\Bob\AppData\Local\Temp\7z\svc.exe from c:/users/bob/appdata/local/temp/, a temporary directory (%TEMP% or %TMP%)"
                    .to_owned()
            ]
        );
        assert_eq!(win(r"C:\Windows\Temp\svc.exe").len(), 1);
        assert!(win(r"C:\Program Files\svc\svc.exe").is_empty());
        assert!(win("/tmp/svc").is_empty(), "no /tmp on Windows");
        let mac = |exe: &str| suspicious_executable_on(&running(exe), Platform::Macos, &[]);
        assert_eq!(mac("/private/var/folders/x/T/svc").len(), 1);
        assert!(mac("/usr/local/bin/svc").is_empty());
        let linux = |exe: &str| suspicious_executable_on(&running(exe), Platform::Linux, &temp);
        assert_eq!(
            linux("/dev/shm/svc"),
            vec!["svc(41) runs /dev/shm/svc from /dev/shm/, a world-writable temporary directory".to_owned()]
        );
        assert!(linux("/private/tmp/svc").is_empty());
    }

    fn classified(
        netns: Option<(bool, u64)>,
        verdict: u8,
        udp: bool,
        port: u16,
        address: IpAddr,
        inode: Option<u64>,
    ) -> Classified {
        Classified {
            listener: Listener {
                protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
                local_address: address,
                port,
                inode,
                uid: None,
                owners: Vec::new(),
                owner_status: OwnerStatus::NotLooked,
                v6only: None,
                netns: netns.map(|(host, inode)| {
                    Arc::new(Netns {
                        inode,
                        name: None,
                        container: None,
                        host,
                    })
                }),
            },
            service: None,
            ghost: None,
            verdict: [Verdict::Unexpected, Verdict::Unreviewed, Verdict::Expected][usize::from(verdict % 3)],
            findings: Vec::new(),
        }
    }

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from),
            // Few distinct values, so that ties on the address are common.
            (0_u8..3).prop_map(|b| IpAddr::from([127, 0, 0, b])),
            (0_u8..3).prop_map(|b| IpAddr::from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b])),
        ]
    }

    fn listener() -> impl Strategy<Value = Classified> {
        (
            proptest::option::of((any::<bool>(), prop_oneof![any::<u64>(), 0_u64..3])),
            any::<u8>(),
            any::<bool>(),
            prop_oneof![any::<u16>(), 0_u16..3],
            address(),
            proptest::option::of(prop_oneof![any::<u64>(), 0_u64..3]),
        )
            .prop_map(|(netns, verdict, udp, port, address, inode)| {
                classified(netns, verdict, udp, port, address, inode)
            })
    }

    proptest! {
        #[test]
        fn packed_report_order_is_the_documented_order(a in listener(), b in listener()) {
            let documented = |c: &Classified| {
                (
                    c.listener.netns_order(),
                    c.verdict,
                    c.listener.protocol,
                    c.listener.port,
                    c.listener.local_address,
                    c.listener.inode,
                )
            };
            prop_assert_eq!(report_order(&a).cmp(&report_order(&b)), documented(&a).cmp(&documented(&b)));
        }
    }
}
