//! Fixture tests for the pure classifier: a hand-written inventory in, verdicts and
//! findings out, against the embedded registry.

use portghost::Registry;
use portghost::classify;
use portghost::model::Protocol;
use portghost::model::{Classified, FindingKind, Report, Severity, Verdict};

#[path = "common/fixture.rs"]
mod fixture;

use fixture::{inventory as fixture, report};

fn find(r: &Report, proto: Protocol, port: u16, addr: &str) -> Classified {
    r.listeners
        .iter()
        .find(|c| {
            c.listener.protocol == proto && c.listener.port == port && c.listener.local_address.to_string() == addr
        })
        .unwrap_or_else(|| panic!("{port}/{proto} on {addr} missing"))
        .clone()
}

#[test]
fn ghost_port_is_unexpected_with_a_finding_naming_the_service() {
    let r = report();
    let c = find(&r, Protocol::Tcp, 3237, "0.0.0.0");
    assert_eq!(c.verdict, Verdict::Unexpected);
    let f = &c.findings[0];
    assert_eq!(f.kind, FindingKind::GhostPort);
    // Only secondary sources report appareNet gone: medium, not high.
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.message
            .starts_with("3237/tcp is registered to apparenet-tps (appareNet Test Packet Sequencer); "),
        "{}",
        f.message
    );
    assert!(
        f.message.ends_with(
            ", nothing should listen here (evidence: python3(4242) matches no known unofficial use; only secondary sources report this)"
        ),
        "{}",
        f.message
    );
    assert_eq!(c.service.as_ref().map(|s| &*s.name), Some("apparenet-tps"));
    assert_eq!(c.ghost.as_ref().map(|g| g.status.as_str()), Some("defunct-vendor"));

    for (proto, port, addr, service) in [
        (Protocol::Udp, 3416, "0.0.0.0", "commandport"),
        (Protocol::Tcp, 3517, "::1", "802-11-iapp"),
    ] {
        let c = find(&r, proto, port, addr);
        assert_eq!(c.verdict, Verdict::Unexpected, "{port}/{proto}");
        assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
        assert!(c.findings[0].message.contains(service), "{}", c.findings[0].message);
    }
    let iapp = find(&r, Protocol::Tcp, 3517, "::1");
    assert!(
        iapp.findings[0].message.contains("IEEE withdrew 802.11F in 2006"),
        "{}",
        iapp.findings[0].message
    );
}

#[test]
fn a_process_name_matching_an_unofficial_use_is_weak_evidence() {
    let c = find(&report(), Protocol::Tcp, 3317, "0.0.0.0");
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::UnofficialUse);
    // The fixture has no provenance: the process name alone lowers the (reported, medium)
    // never-documented finding one step, to low.
    assert_eq!(c.findings[0].severity, Severity::Low);
    assert!(
        c.findings[0]
            .message
            .starts_with("consistent with Attunity Replicate / Qlik Replicate (unofficial use) run by repctl(5100)"),
        "{}",
        c.findings[0].message
    );
}

#[test]
fn unofficial_use_needs_a_matching_process() {
    let mut inv = fixture();
    for l in &mut inv.listeners {
        if l.port == 3317 {
            std::sync::Arc::make_mut(&mut l.owners[0]).name = "nc".into();
        }
    }
    let r = classify(inv, Registry::builtin().expect("registry"));
    let c = find(&r, Protocol::Tcp, 3317, "0.0.0.0");
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
}

#[test]
fn historic_protocol_is_medium_and_unexpected() {
    let c = find(&report(), Protocol::Tcp, 19, "0.0.0.0");
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::HistoricProtocol);
    assert_eq!(c.findings[0].severity, Severity::Medium);
    assert!(c.findings[0].message.contains("chargen"), "{}", c.findings[0].message);
}

#[test]
fn alive_restricted_depends_on_exposure() {
    let r = report();
    let exposed = find(&r, Protocol::Tcp, 3502, "0.0.0.0");
    assert_eq!(exposed.verdict, Verdict::Unexpected);
    assert_eq!(exposed.findings[0].kind, FindingKind::AliveRestricted);
    assert!(
        exposed.findings[0].message.contains("it belongs on "),
        "{}",
        exposed.findings[0].message
    );
    assert!(
        exposed.findings[0].message.contains("wildcard address"),
        "{}",
        exposed.findings[0].message
    );
    let local = find(&r, Protocol::Udp, 3502, "127.0.0.1");
    assert_eq!(local.verdict, Verdict::Unreviewed);
    assert_eq!(local.findings[0].severity, Severity::Info);
}

#[test]
fn common_squatter_is_info_naming_the_usual_occupant() {
    let c = find(&report(), Protocol::Tcp, 3000, "127.0.0.1");
    assert_ne!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].severity, Severity::Info);
    assert!(c.findings[0].message.contains("Rails"), "{}", c.findings[0].message);
}

#[test]
fn registered_and_unregistered_ports() {
    let r = report();
    let ssh = find(&r, Protocol::Tcp, 22, "0.0.0.0");
    assert_eq!(ssh.verdict, Verdict::Unreviewed);
    assert!(ssh.findings.is_empty());
    assert_eq!(ssh.service.as_ref().map(|s| &*s.name), Some("ssh"));
    let dyn_port = find(&r, Protocol::Udp, 60123, "0.0.0.0");
    assert_eq!(dyn_port.verdict, Verdict::Unreviewed);
    assert!(dyn_port.service.is_none());
    assert_eq!(dyn_port.findings[0].kind, FindingKind::UnregisteredPort);
    assert_eq!(dyn_port.findings[0].severity, Severity::Info);
}

#[test]
fn hidden_owner_is_reported_and_makes_the_report_incomplete() {
    let r = report();
    assert!(!r.complete);
    let pg = find(&r, Protocol::Tcp, 5432, "0.0.0.0");
    assert!(pg.findings.iter().any(|f| f.kind == FindingKind::OwnerHidden));
    assert_eq!(r.summary.owners_hidden, 1);
}

#[test]
fn unexpected_rows_come_first_and_summary_counts() {
    let r = report();
    let n_unexpected = r.listeners.iter().filter(|c| c.verdict == Verdict::Unexpected).count();
    assert_eq!(n_unexpected, 5, "3237, 3416, 3517, 19 and 3502/tcp: {:#?}", r.summary);
    assert!(
        r.listeners[..n_unexpected]
            .iter()
            .all(|c| c.verdict == Verdict::Unexpected)
    );
    assert_eq!(r.summary.unexpected, n_unexpected);
    assert_eq!(r.summary.listeners, 12);
    assert_eq!(r.summary.tcp + r.summary.udp, 12);
}

#[test]
fn memfd_and_deleted_executables_are_suspicious() {
    let mut inv = fixture();
    for l in &mut inv.listeners {
        if l.port == 22 {
            let o = std::sync::Arc::make_mut(&mut l.owners[0]);
            o.exe = Some("/memfd:payload".into());
            o.exe_deleted = true;
        }
        if l.port == 80 {
            std::sync::Arc::make_mut(&mut l.owners[0]).exe_deleted = true;
        }
    }
    let r = classify(inv, Registry::builtin().expect("registry"));
    let ssh = find(&r, Protocol::Tcp, 22, "0.0.0.0");
    assert_eq!(ssh.verdict, Verdict::Unexpected);
    assert_eq!(ssh.findings[0].kind, FindingKind::SuspiciousExecutable);
    assert!(
        ssh.findings[0]
            .message
            .contains("anonymous memory file (/memfd:payload)"),
        "{}",
        ssh.findings[0].message
    );
    let http = find(&r, Protocol::Tcp, 80, "0.0.0.0");
    assert_eq!(http.verdict, Verdict::Unexpected);
    assert!(
        http.findings[0]
            .message
            .starts_with("nginx(900) runs /usr/sbin/nginx, which was deleted"),
        "{}",
        http.findings[0].message
    );
}

#[test]
fn ownerless_socket_is_flagged_only_when_every_process_was_seen() {
    let mut inv = fixture();
    for l in &mut inv.listeners {
        if l.port == 5432 {
            l.owner_status = portghost::model::OwnerStatus::NoProcess;
        }
    }
    let mut seen_all = inv.clone();
    seen_all.privileged = true;
    seen_all.host_pid_namespace = Some(true);
    let r = classify(seen_all, Registry::builtin().expect("registry"));
    let pg = find(&r, Protocol::Tcp, 5432, "0.0.0.0");
    assert_eq!(pg.verdict, Verdict::Unexpected);
    assert_eq!(pg.findings[0].kind, FindingKind::NoOwner);
    assert_eq!(pg.findings[0].severity, Severity::High);

    // In a container (another PID namespace) the same socket proves nothing.
    inv.privileged = true;
    inv.host_pid_namespace = Some(false);
    let r = classify(inv, Registry::builtin().expect("registry"));
    let pg = find(&r, Protocol::Tcp, 5432, "0.0.0.0");
    assert_eq!(pg.verdict, Verdict::Unreviewed);
    assert!(pg.findings.iter().all(|f| f.kind != FindingKind::NoOwner));
}
