//! Fixture tests for the evidence table of the README's "Classification" section: one
//! test per row (R1-R8) and per base severity, each with an inventory built by hand
//! (listener, owners and the provenance the inventory would have gathered) and judged
//! against the real embedded registry.

use portghost::Registry;
use portghost::classify;
use portghost::model::{
    Classified, EvidenceKind, FileProvenance, FindingKind, Inventory, Listener, Netns, Owner, OwnerProvenance,
    OwnerStatus, Protocol, Provenance, RpcMapping, Severity, Strength, Verdict,
};
use std::sync::Arc;

const NETNS: u64 = 4_026_531_833;

/// A process named `name` (its `comm`) running `exe`.
fn owner(pid: u32, name: &str, exe: &str) -> Arc<Owner> {
    Arc::new(Owner {
        pid,
        name: name.into(),
        exe: Some(exe.into()),
        cmdline: Some(exe.into()),
        uid: Some(0),
        user: Some("root".into()),
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    })
}

/// What the inventory found out about a file.
fn file(path: &str, package: Option<&str>, root_owned: bool) -> FileProvenance {
    FileProvenance {
        path: path.into(),
        package: package.map(str::to_owned),
        root_owned,
    }
}

fn listener(protocol: Protocol, address: &str, port: u16, owners: Vec<Arc<Owner>>) -> Listener {
    Listener {
        protocol,
        local_address: address.parse().expect("address"),
        port,
        inode: Some(1),
        uid: Some(0),
        owner_status: if owners.is_empty() {
            OwnerStatus::NotLooked
        } else {
            OwnerStatus::Known
        },
        owners,
        v6only: None,
        netns: Some(Arc::new(Netns {
            inode: NETNS,
            name: None,
            container: None,
            host: true,
        })),
    }
}

/// Provenance with the executable (and script) of each owner.
fn provenance(files: &[(u32, FileProvenance, Option<FileProvenance>)]) -> Provenance {
    let mut p = Provenance::default();
    for (pid, exe, script) in files {
        p.owners.insert(
            *pid,
            OwnerProvenance {
                exe: Some(exe.clone()),
                script: script.clone(),
            },
        );
    }
    p
}

/// Classifies one listener with `provenance`, as a privileged scan on the host would.
fn judge(l: Listener, provenance: Provenance) -> Classified {
    let inventory = Inventory {
        host: "web-01".into(),
        scanned_at: "2026-12-01T09:00:00Z".into(),
        listeners: vec![l],
        privileged: true,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance,
        portless: Vec::new(),
        kind: portghost::model::InventoryKind::Linux,
    };
    let mut report = classify(inventory, Registry::builtin().expect("registry"));
    report.listeners.remove(0)
}

/// The details of the first finding's evidence of `kind`.
fn details(c: &Classified, kind: EvidenceKind) -> Vec<String> {
    c.findings[0]
        .evidence
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.detail.clone())
        .collect()
}

fn has(c: &Classified, kind: EvidenceKind, strength: Option<Strength>, detail: &str) -> bool {
    c.findings[0]
        .evidence
        .iter()
        .any(|e| e.kind == kind && e.strength == strength && e.detail.contains(detail))
}

// R1

#[test]
#[cfg_attr(windows, ignore = "/tmp is a temporary directory on Unix only")]
fn r1_ircd_from_tmp_on_6666_is_unexpected_high() {
    let l = listener(Protocol::Tcp, "0.0.0.0", 6666, vec![owner(900, "ircd", "/tmp/ircd")]);
    let c = judge(l, provenance(&[(900, file("/tmp/ircd", None, false), None)]));
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    assert_eq!(c.findings[0].severity, Severity::High, "{:#?}", c.findings);
    assert!(c.findings.iter().any(|f| f.kind == FindingKind::SuspiciousExecutable));
    assert!(
        c.findings[0]
            .message
            .contains("(evidence: ircd(900) runs /tmp/ircd from /tmp/")
    );
    assert!(has(&c, EvidenceKind::SuspiciousExecutable, None, "/tmp/ircd"));
    assert!(has(&c, EvidenceKind::ProcessName, Some(Strength::Weak), "IRC servers"));
}

#[test]
#[cfg_attr(windows, ignore = "/tmp is a temporary directory on Unix only")]
fn r1_nothing_clears_a_suspicious_executable() {
    // Packaged, known file name, loopback only: still high, because it runs from /tmp.
    let l = listener(
        Protocol::Tcp,
        "127.0.0.1",
        4444,
        vec![owner(901, "geckodriver", "/tmp/geckodriver")],
    );
    let c = judge(
        l,
        provenance(&[(901, file("/tmp/geckodriver", Some("firefox-esr"), false), None)]),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    assert_eq!(c.findings[0].severity, Severity::High);
}

// R2

#[test]
fn r2_packaged_statd_on_998_udp_with_rpc_mapping_is_info() {
    let l = listener(
        Protocol::Udp,
        "0.0.0.0",
        998,
        vec![owner(612, "rpc.statd", "/usr/sbin/rpc.statd")],
    );
    let mut p = provenance(&[(612, file("/usr/sbin/rpc.statd", Some("nfs-common"), true), None)]);
    p.rpc.push(RpcMapping {
        netns: Some(NETNS),
        program: 100_024,
        version: 1,
        protocol: Protocol::Udp,
        port: 998,
        name: Some("status".into()),
    });
    let c = judge(l, p);
    assert_eq!(c.verdict, Verdict::Unreviewed);
    let f = &c.findings[0];
    assert_eq!(f.kind, FindingKind::UnofficialUse);
    assert_eq!(f.severity, Severity::Info);
    assert!(
        f.message
            .ends_with("(evidence: /usr/sbin/rpc.statd from package nfs-common)"),
        "{}",
        f.message
    );
    assert!(has(
        &c,
        EvidenceKind::Package,
        Some(Strength::Strong),
        "/usr/sbin/rpc.statd from package nfs-common"
    ));
    assert!(has(
        &c,
        EvidenceKind::Registry,
        Some(Strength::Strong),
        "known use: rpc.statd (NFS status monitor"
    ));
    assert!(has(
        &c,
        EvidenceKind::Rpc,
        None,
        "registered with rpcbind as 100024 status v1"
    ));
    assert!(has(
        &c,
        EvidenceKind::Registry,
        None,
        "never-documented entry, reported: only secondary sources report this"
    ));
}

#[test]
fn r2_a_listed_package_is_strong_even_under_another_file_name() {
    // 677 lists rpc.statd for the whole reserved range 512-1023 (bindresvport).
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        677,
        vec![owner(613, "rpc.statd", "/usr/lib/nfs/statd")],
    );
    let c = judge(
        l,
        provenance(&[(613, file("/usr/lib/nfs/statd", Some("nfs-utils"), true), None)]),
    );
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::UnofficialUse);
    assert_eq!(c.findings[0].severity, Severity::Info);
}

// R3

#[test]
fn r3_root_owned_geckodriver_on_loopback_4444_is_low_and_not_unexpected() {
    let l = listener(
        Protocol::Tcp,
        "127.0.0.1",
        4444,
        vec![owner(700, "geckodriver", "/usr/local/bin/geckodriver")],
    );
    let c = judge(
        l,
        provenance(&[(700, file("/usr/local/bin/geckodriver", None, true), None)]),
    );
    assert_ne!(c.verdict, Verdict::Unexpected);
    let f = &c.findings[0];
    assert_eq!(f.kind, FindingKind::UnofficialUse);
    assert_eq!(f.severity, Severity::Low);
    assert!(
        f.message
            .ends_with("(evidence: /usr/local/bin/geckodriver in a root-owned directory tree)"),
        "{}",
        f.message
    );
    assert!(has(
        &c,
        EvidenceKind::RootOwnedPath,
        Some(Strength::Medium),
        "/usr/local/bin/geckodriver"
    ));
}

#[test]
fn r3_a_root_owned_selenium_jar_run_by_java_is_medium_evidence() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        4444,
        vec![owner(701, "java", "/usr/lib/jvm/bin/java")],
    );
    let c = judge(
        l,
        provenance(&[(
            701,
            file("/usr/lib/jvm/bin/java", Some("openjdk-17-jre-headless"), true),
            Some(file("/opt/selenium/selenium-server-4.21.0.jar", None, true)),
        )]),
    );
    assert_ne!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::UnofficialUse);
    assert_eq!(c.findings[0].severity, Severity::Low);
    assert!(c.findings[0].message.contains("Selenium"), "{}", c.findings[0].message);
}

// R4

#[test]
fn r4_rpc_registration_and_a_package_clear_the_port() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        3237,
        vec![owner(620, "rpc.mountd", "/usr/sbin/rpc.mountd")],
    );
    let mut p = provenance(&[(620, file("/usr/sbin/rpc.mountd", Some("nfs-kernel-server"), true), None)]);
    p.rpc.push(RpcMapping {
        netns: Some(NETNS),
        program: 100_005,
        version: 3,
        protocol: Protocol::Tcp,
        port: 3237,
        name: Some("mountd".into()),
    });
    let c = judge(l, p);
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    assert_eq!(c.findings[0].severity, Severity::Info);
    assert!(
        c.findings[0].message.contains(
            "(evidence: registered with rpcbind as 100005 mountd v3; /usr/sbin/rpc.mountd from package nfs-kernel-server)"
        ),
        "{}",
        c.findings[0].message
    );
}

#[test]
fn r4_without_a_package_rpc_lowers_one_step_and_never_clears() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        3517,
        vec![owner(621, "rpcsvc", "/opt/x/rpcsvc")],
    );
    let mut p = provenance(&[(621, file("/opt/x/rpcsvc", None, true), None)]);
    p.rpc.push(RpcMapping {
        netns: Some(NETNS),
        program: 300_000,
        version: 1,
        protocol: Protocol::Tcp,
        port: 3517,
        name: None,
    });
    let c = judge(l, p);
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        c.findings[0].severity,
        Severity::Medium,
        "confirmed high, one step lower"
    );
    assert!(
        c.findings[0].message.contains("but from no package"),
        "{}",
        c.findings[0].message
    );
}

#[test]
fn rpc_mappings_of_another_namespace_do_not_count() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        3237,
        vec![owner(622, "rpc.mountd", "/usr/sbin/rpc.mountd")],
    );
    let mut p = provenance(&[(622, file("/usr/sbin/rpc.mountd", Some("nfs-kernel-server"), true), None)]);
    p.rpc.push(RpcMapping {
        netns: Some(NETNS + 1),
        program: 100_005,
        version: 3,
        protocol: Protocol::Tcp,
        port: 3237,
        name: Some("mountd".into()),
    });
    assert_eq!(judge(l, p).verdict, Verdict::Unexpected);
}

// R5

#[test]
fn r5_inside_the_ephemeral_range_the_kernel_picked_the_port() {
    let unknown = || {
        listener(
            Protocol::Tcp,
            "0.0.0.0",
            3237,
            vec![owner(630, "client", "/usr/bin/client")],
        )
    };
    let files = [(630, file("/usr/bin/client", Some("client"), true), None)];
    let mut p = provenance(&files);
    p.ephemeral.insert(Some(NETNS), (1024, 65000));
    let c = judge(unknown(), p);
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    assert_eq!(c.findings[0].severity, Severity::Info);
    assert!(
        c.findings[0].message.contains("the kernel most likely picked this port")
            && c.findings[0].message.contains(
                "inside this network namespace's ephemeral port range 1024-65000, where the kernel picks ports for programs that bind port 0"
            ),
        "{}",
        c.findings[0].message
    );

    // The range moved away: judged as before.
    let mut p = provenance(&files);
    p.ephemeral.insert(Some(NETNS), (32768, 60999));
    let c = judge(unknown(), p);
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].severity, Severity::Medium);
    assert!(has(
        &c,
        EvidenceKind::EphemeralRange,
        None,
        "outside this network namespace's ephemeral port range 32768-60999"
    ));
}

#[test]
fn r5_a_malware_port_in_the_ephemeral_range_is_lowered_but_not_cleared() {
    let l = listener(Protocol::Tcp, "0.0.0.0", 12345, vec![owner(631, "app", "/usr/bin/app")]);
    let mut p = provenance(&[(631, file("/usr/bin/app", None, true), None)]);
    p.ephemeral.insert(Some(NETNS), (10000, 60999));
    let c = judge(l, p);
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        c.findings[0].severity,
        Severity::Medium,
        "confirmed high, one step lower"
    );
    assert!(c.findings[0].message.contains("does not clear a malware port"));
}

// R6

#[test]
fn r6_a_malware_port_on_loopback_only_is_low() {
    let l = listener(
        Protocol::Tcp,
        "127.0.0.1",
        4444,
        vec![owner(640, "myapp", "/home/dev/bin/myapp")],
    );
    let c = judge(l, provenance(&[(640, file("/home/dev/bin/myapp", None, false), None)]));
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    assert_eq!(c.findings[0].severity, Severity::Low);
    assert!(
        c.findings[0].message.contains(
            "the historic worms listened on every interface; a loopback socket is not reachable from the network"
        ),
        "{}",
        c.findings[0].message
    );
}

#[test]
fn r6_needs_the_owner_seen() {
    let mut l = listener(Protocol::Tcp, "127.0.0.1", 4444, Vec::new());
    l.owner_status = OwnerStatus::Permission;
    let c = judge(l, Provenance::default());
    assert_eq!(c.verdict, Verdict::Unexpected, "a hidden owner gets row 8");
    assert_eq!(
        c.findings[0].severity,
        Severity::Medium,
        "confirmed high, loopback one step lower"
    );
    assert!(!details(&c, EvidenceKind::OwnerUnseen).is_empty());
}

// R7

#[test]
fn r7_a_process_that_only_renamed_itself_ircd_stays_unexpected() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        6666,
        vec![owner(650, "ircd", "/home/mallory/.cache/x")],
    );
    let c = judge(
        l,
        provenance(&[(650, file("/home/mallory/.cache/x", None, false), None)]),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
    // 6666 is only reported (medium), and weak evidence lowers it one step.
    assert_eq!(c.findings[0].severity, Severity::Low);
    assert!(
        c.findings[0]
            .message
            .contains("process name ircd only, which any process can set"),
        "{}",
        c.findings[0].message
    );
    assert!(has(
        &c,
        EvidenceKind::UserWritablePath,
        Some(Strength::Weak),
        "/home/mallory/.cache/x"
    ));
}

#[test]
fn r7_a_user_writable_geckodriver_on_a_confirmed_malware_port_stays_unexpected() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        4444,
        vec![owner(651, "geckodriver", "/home/dev/geckodriver")],
    );
    let c = judge(
        l,
        provenance(&[(651, file("/home/dev/geckodriver", None, false), None)]),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        c.findings[0].severity,
        Severity::Medium,
        "confirmed high, one step lower"
    );
    assert!(has(
        &c,
        EvidenceKind::Registry,
        Some(Strength::Weak),
        "known use: geckodriver"
    ));
}

#[test]
fn r7_weak_evidence_clears_a_never_documented_port_one_step_lower() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        3317,
        vec![owner(652, "repctl", "/opt/attunity/replicate/bin/repctl")],
    );
    let c = judge(l, Provenance::default());
    assert_eq!(c.verdict, Verdict::Unreviewed);
    assert_eq!(c.findings[0].kind, FindingKind::UnofficialUse);
    assert_eq!(c.findings[0].severity, Severity::Low, "reported medium, one step lower");
    assert!(has(
        &c,
        EvidenceKind::OwnerUnseen,
        None,
        "where repctl(652)'s executable comes from was not examined"
    ));
}

// R8 and the base severities

#[test]
fn r8_unknown_programs_on_the_seed_ports_are_unexpected_with_a_reason() {
    for (proto, port, severity) in [
        (Protocol::Tcp, 3237, Severity::Medium),
        (Protocol::Udp, 3416, Severity::Medium),
        (Protocol::Tcp, 3517, Severity::High),
    ] {
        let l = listener(
            proto,
            "0.0.0.0",
            port,
            vec![owner(660, "python3", "/usr/bin/python3.11")],
        );
        let c = judge(
            l,
            provenance(&[(660, file("/usr/bin/python3.11", Some("python3.11-minimal"), true), None)]),
        );
        assert_eq!(c.verdict, Verdict::Unexpected, "{port}/{proto}");
        assert_eq!(c.findings[0].kind, FindingKind::GhostPort);
        assert_eq!(c.findings[0].severity, severity, "{port}/{proto}");
        let m = &c.findings[0].message;
        assert!(m.contains("nothing should listen here"), "{m}");
        assert!(
            m.contains("(evidence: python3(660) matches no known unofficial use"),
            "{m}"
        );
        assert!(has(&c, EvidenceKind::Exposure, None, "all interfaces"));
        assert!(has(
            &c,
            EvidenceKind::Package,
            Some(Strength::Strong),
            "/usr/bin/python3.11 from package python3.11-minimal"
        ));
    }
}

#[test]
fn base_severity_confirmed_is_high() {
    let l = listener(Protocol::Tcp, "0.0.0.0", 3517, vec![owner(670, "x", "/usr/bin/x")]);
    let c = judge(l, Provenance::default());
    assert_eq!(c.findings[0].severity, Severity::High);
    assert!(has(
        &c,
        EvidenceKind::Registry,
        None,
        "withdrawn-standard entry, confirmed by a primary source"
    ));
}

#[test]
fn base_severity_reported_is_medium_and_says_so() {
    let l = listener(Protocol::Tcp, "0.0.0.0", 3237, vec![owner(671, "x", "/usr/bin/x")]);
    let c = judge(l, Provenance::default());
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].severity, Severity::Medium);
    assert!(c.findings[0].message.contains("only secondary sources report this"));
    assert!(has(&c, EvidenceKind::Registry, None, "contradicted: "));
}

#[test]
fn base_severity_historic_protocol_is_medium() {
    let l = listener(
        Protocol::Tcp,
        "0.0.0.0",
        19,
        vec![owner(672, "inetd", "/usr/sbin/inetd")],
    );
    let c = judge(l, Provenance::default());
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].kind, FindingKind::HistoricProtocol);
    assert_eq!(c.findings[0].severity, Severity::Medium);
}

#[test]
fn r8_loopback_only_lowers_one_step() {
    let l = listener(Protocol::Tcp, "127.0.0.1", 3517, vec![owner(673, "x", "/usr/bin/x")]);
    let c = judge(l, Provenance::default());
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].severity, Severity::Medium);
    assert!(c.findings[0].message.contains("loopback only"));
}

#[test]
fn owners_not_looked_up_give_no_owner_evidence() {
    // Inside the ephemeral range, but row 5 needs the owner seen.
    let l = listener(Protocol::Tcp, "0.0.0.0", 3517, Vec::new());
    let mut p = Provenance::default();
    p.ephemeral.insert(Some(NETNS), (1024, 65000));
    let c = judge(l, p);
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(c.findings[0].severity, Severity::High);
    assert!(
        details(&c, EvidenceKind::OwnerUnseen)
            .iter()
            .any(|d| d.starts_with("owners not looked up")),
        "{:#?}",
        c.findings[0].evidence
    );
    assert!(c.findings[0].message.contains("(evidence: owners not looked up"));
}

#[test]
fn every_registry_finding_lists_registry_and_exposure_evidence() {
    let l = listener(Protocol::Udp, "10.0.0.5", 3416, vec![owner(680, "x", "/usr/bin/x")]);
    let c = judge(l, Provenance::default());
    assert_eq!(c.findings[0].evidence[0].kind, EvidenceKind::Registry);
    assert!(has(
        &c,
        EvidenceKind::Exposure,
        None,
        "listens on address 10.0.0.5 (private)"
    ));
}

#[test]
fn explain_shows_each_live_listeners_evidence_and_the_table_its_clause() {
    use portghost::render::explain::{self, PortFacts};
    use portghost::render::{Style, table};

    let l = listener(
        Protocol::Udp,
        "0.0.0.0",
        998,
        vec![owner(612, "rpc.statd", "/usr/sbin/rpc.statd")],
    );
    let c = judge(
        l,
        provenance(&[(612, file("/usr/sbin/rpc.statd", Some("nfs-common"), true), None)]),
    );
    let facts = PortFacts {
        port: 998,
        protocol: Protocol::Udp,
        iana: Vec::new(),
        ghost: None,
        unofficial: Vec::new(),
        live: Some(vec![c.clone()]),
        people: Vec::new(),
        iana_updated: "",
    };
    let mut out = Vec::new();
    explain::render(&mut out, &[facts], &Style::plain()).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(
        text.lines().any(|l| l
            .split_whitespace()
            .eq("evidence package (strong): /usr/sbin/rpc.statd from package nfs-common".split(' '))),
        "{text}"
    );

    let report = portghost::model::Report {
        host: "web-01".into(),
        scanned_at: "2026-12-01T09:00:00Z".into(),
        privileged: true,
        inventory: portghost::model::InventoryKind::Linux,
        complete: true,
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        summary: portghost::model::Summary::of(std::slice::from_ref(&c)),
        listeners: vec![c],
        portless: Vec::new(),
        policy: None,
        registry: Default::default(),
    };
    let mut out = Vec::new();
    table::render(&mut out, &report, &Style::plain()).expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(
        text.contains("(evidence: /usr/sbin/rpc.statd from package nfs-common)"),
        "{text}"
    );
}

#[test]
fn packaged_statd_passes_on_every_reserved_port_bindresvport_can_give_it() {
    // rpc.statd's notification socket takes a port from bindresvport (600-1023, then
    // 512-599) on 127.0.0.1 and is not registered with rpcbind; its service sockets, on
    // the wildcard address, are. Neither may be unexpected on any ghost port there.
    let mut unexpected = Vec::new();
    for port in 512..=1023u16 {
        for protocol in [Protocol::Udp, Protocol::Tcp] {
            for address in ["127.0.0.1", "0.0.0.0"] {
                let l = listener(
                    protocol,
                    address,
                    port,
                    vec![owner(612, "rpc.statd", "/usr/sbin/rpc.statd")],
                );
                let p = provenance(&[(612, file("/usr/sbin/rpc.statd", Some("nfs-common"), true), None)]);
                let c = judge(l, p);
                if c.verdict == Verdict::Unexpected {
                    unexpected.push(format!("{port}/{protocol} on {address}: {}", c.findings[0].message));
                }
            }
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
