//! The verdict on a listener whose port is in the ghost registry: the rows of the README's
//! evidence table, first match wins.
//!
//! Owns [`ghost_finding`]: the registry entry's status and confidence give a base
//! severity, and the facts of [`Facts`] (the owners' files and names, rpcbind, the
//! ephemeral range, the exposure) raise, lower or clear it. Pure.

use super::evidence::{self, Facts, KnownUse};
use super::{exposure, registered_to};
use crate::model::{Confidence, Finding, FindingKind, GhostEntry, GhostStatus, IanaRecord, Listener, Severity};
use crate::model::{Strength, UnofficialUse};

/// The finding kind a status gives when no known use explains the listener.
fn status_kind(s: GhostStatus) -> FindingKind {
    match s {
        GhostStatus::HistoricProtocol => FindingKind::HistoricProtocol,
        GhostStatus::AliveRestricted => FindingKind::AliveRestricted,
        GhostStatus::CommonSquatter => FindingKind::CommonSquatter,
        _ => FindingKind::GhostPort,
    }
}

/// The severity and verdict the entry alone gives: high for the ghost statuses when
/// confirmed by a primary source, medium when only reported; medium for a historic
/// protocol; alive-restricted medium when exposed, info on loopback; common-squatter info.
fn base(l: &Listener, g: &GhostEntry) -> (Severity, bool) {
    match g.status {
        s if s.is_ghost() => match g.confidence {
            Confidence::Confirmed => (Severity::High, true),
            Confidence::Reported => (Severity::Medium, true),
        },
        GhostStatus::HistoricProtocol => (Severity::Medium, true),
        GhostStatus::AliveRestricted if l.is_loopback() => (Severity::Info, false),
        GhostStatus::AliveRestricted => (Severity::Medium, true),
        _ => (Severity::Info, false),
    }
}

/// The message of the entry alone, without evidence clause.
fn base_message(l: &Listener, g: &GhostEntry, reg: &str) -> String {
    match g.status {
        s if s.is_ghost() => format!("{reg}; {}, nothing should listen here", g.fate),
        GhostStatus::HistoricProtocol => format!(
            "{reg}, a historic protocol; {}, modern hosts should not offer it",
            g.fate
        ),
        GhostStatus::AliveRestricted => {
            let belongs = g.belongs.as_deref().unwrap_or("restricted networks");
            if l.is_loopback() {
                format!("{reg}; it belongs on {belongs}, and here it listens on loopback only")
            } else {
                format!("{reg}; it belongs on {belongs}, not on {}", exposure(l))
            }
        }
        _ => {
            let occupant = g.unofficial.first().map_or_else(|| g.fate.clone(), |u| u.name.clone());
            format!("usually {occupant} (unofficial use); {reg}")
        }
    }
}

/// "consistent with geckodriver (unofficial use) run by geckodriver(4242); 4444/tcp is
/// registered to krb524 …, and it is best known as …".
fn known_use_message(k: &KnownUse<'_>, g: &GhostEntry, reg: &str) -> String {
    format!(
        "consistent with {} (unofficial use) run by {}; {reg}, and {}",
        k.known.name,
        k.who(),
        g.fate
    )
}

/// `message (evidence: a; b)`.
fn with_clause(message: String, clause: &[String]) -> String {
    if clause.is_empty() {
        message
    } else {
        format!("{message} (evidence: {})", clause.join("; "))
    }
}

/// Judges a listener on a ghost-registry port. `uses` are the benign known uses covering
/// the port; `facts` what is known beyond the port number. Returns the finding and
/// whether it makes the listener unexpected. The rows, first match wins:
///
/// 1. an owner runs a suspicious executable: high, unexpected (the status finding of an
///    alive-restricted or common-squatter port keeps its base severity; the separate
///    `suspicious-executable` finding makes it unexpected);
/// 2. strong known use: `unofficial-use`, info, not unexpected;
/// 3. medium known use: `unofficial-use`, low, not unexpected;
/// 4. registered with the namespace's rpcbind and an owner's executable is packaged:
///    info, not unexpected;
/// 5. inside the namespace's ephemeral range, for withdrawn-standard, defunct-vendor and
///    never-documented: info, not unexpected;
/// 6. malware-associated on loopback only: low, not unexpected;
/// 7. weak known use: one step below base; unexpected still for malware-associated and
///    withdrawn-standard (kind by status), else not (`unofficial-use`);
/// 8. otherwise the base, one step lower on loopback only, one more for an rpcbind
///    registration without a package or a malware port in the ephemeral range, never
///    below low and never clearing.
///
/// Unseen owners give no owner evidence, and rows 1-7 need it: such a listener gets row 8.
pub(super) fn ghost_finding(
    l: &Listener,
    g: &GhostEntry,
    service: Option<&IanaRecord>,
    uses: &[&UnofficialUse],
    facts: &Facts<'_>,
) -> (Finding, bool) {
    let reg = registered_to(l, g, service);
    let known = evidence::best_known_use(uses, facts);
    let evidence = evidence::weighed(l, g, uses, facts, known.as_ref());
    let (base_severity, base_unexpected) = base(l, g);
    let kind = status_kind(g.status);
    let restricted = matches!(g.status, GhostStatus::AliveRestricted | GhostStatus::CommonSquatter);
    let seen = facts.unseen.is_none();
    let malware = g.status == GhostStatus::MalwareAssociated;
    let reported = g.confidence == Confidence::Reported && g.status.is_ghost();
    let secondary = "only secondary sources report this".to_string();

    let (kind, severity, unexpected, message) = if let Some(reason) = facts.first_suspicious() {
        // R1
        let (severity, unexpected) = if restricted {
            (base_severity, base_unexpected)
        } else {
            (Severity::High, true)
        };
        let clause = vec![reason.to_string()];
        (
            kind,
            severity,
            unexpected,
            with_clause(base_message(l, g, &reg), &clause),
        )
    } else if let Some(k) = known.as_ref().filter(|k| k.strength != Strength::Weak) {
        // R2, R3
        let severity = if k.strength == Strength::Strong {
            Severity::Info
        } else {
            Severity::Low
        };
        (
            FindingKind::UnofficialUse,
            severity,
            false,
            with_clause(known_use_message(k, g, &reg), &[k.basis()]),
        )
    } else if let (true, Some(m), Some(exe)) = (seen, facts.rpc, facts.packaged_exe()) {
        // R4
        let program = m.name.clone().unwrap_or_else(|| format!("program {}", m.program));
        let message = format!(
            "{reg}; {}, but rpcbind handed this port to the RPC service {program}",
            g.fate
        );
        let clause = vec![
            evidence::rpc_phrase(m),
            format!("{} from package {}", exe.path, exe.package.as_deref().unwrap_or("")),
        ];
        (kind, Severity::Info, false, with_clause(message, &clause))
    } else if seen
        && facts.in_ephemeral(l.port)
        && matches!(
            g.status,
            GhostStatus::WithdrawnStandard | GhostStatus::DefunctVendor | GhostStatus::NeverDocumented
        )
    {
        // R5
        let message = format!(
            "{reg}; {}, but the kernel most likely picked this port for a program that bound port 0",
            g.fate
        );
        let range = facts.ephemeral.unwrap_or_default();
        let clause = vec![evidence::ephemeral_phrase(range, true)];
        (kind, Severity::Info, false, with_clause(message, &clause))
    } else if seen && malware && facts.loopback {
        // R6
        let message = format!("{reg}; {}, but {} holds it on loopback only", g.fate, facts.whos());
        let clause = vec![
            "the historic worms listened on every interface; a loopback socket is not reachable from the network"
                .to_string(),
        ];
        (kind, Severity::Low, false, with_clause(message, &clause))
    } else if let Some(k) = known.as_ref() {
        // R7
        let severity = base_severity.lower();
        let stays = malware || g.status == GhostStatus::WithdrawnStandard;
        let mut clause = vec![k.basis()];
        if reported {
            clause.push(secondary);
        }
        if stays {
            let message = format!(
                "{}, and only weak evidence says {} is {}",
                base_message(l, g, &reg),
                k.who(),
                k.known.name
            );
            (kind, severity.min(Severity::Low), true, with_clause(message, &clause))
        } else {
            (
                FindingKind::UnofficialUse,
                severity,
                false,
                with_clause(known_use_message(k, g, &reg), &clause),
            )
        }
    } else {
        // R8
        let mut severity = base_severity;
        let mut clause = Vec::new();
        match facts.unseen {
            Some(why) => clause.push(why.to_string()),
            None => clause.push(format!("{} matches no known unofficial use", facts.whos())),
        }
        if reported {
            clause.push(secondary);
        }
        if base_unexpected {
            if facts.loopback && !restricted {
                severity = severity.lower();
                clause.push("loopback only".to_string());
            }
            let rpc_unpackaged = facts.rpc.filter(|_| facts.packaged_exe().is_none());
            if let Some(m) = rpc_unpackaged {
                clause.push(format!("{}, but from no package", evidence::rpc_phrase(m)));
            }
            let malware_ephemeral = malware && facts.in_ephemeral(l.port);
            if malware_ephemeral {
                clause.push("inside the ephemeral port range, which does not clear a malware port".to_string());
            }
            if rpc_unpackaged.is_some() || malware_ephemeral {
                severity = severity.lower();
            }
            // Still unexpected: never below low.
            severity = severity.min(Severity::Low);
        }
        (
            kind,
            severity,
            base_unexpected,
            with_clause(base_message(l, g, &reg), &clause),
        )
    };
    (
        Finding {
            kind,
            severity,
            message,
            evidence,
        },
        unexpected,
    )
}
