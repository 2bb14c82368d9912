//! The compact JSON output writes its listeners by hand (`json::write_listeners`); these
//! tests hold it to exactly the bytes serde writes for the wire types (`ScanJson`,
//! `ListenersJson`), on the fixture reports (ghost ports, findings, IPv6, dual stack, hidden
//! owners, policy verdicts, network namespaces, control characters and bidi overrides in
//! process-supplied text) and on arbitrary listeners (proptest).

use chrono::NaiveDate;
use portghost::Registry;
use portghost::model::{Classified, Finding, FindingKind, PolicyInfo, Report, Severity, Summary, Verdict};
use portghost::model::{Container, Exposure, Family, Inventory, Listener, Netns, Owner, OwnerStatus, Protocol, View};
use portghost::model::{Evidence, EvidenceKind, InventoryKind, Strength};
use portghost::policy::{Mode, PolicyContext, parse};
use portghost::render::json;
use portghost::schema::{ListenersJson, ScanJson, SharedJson};
use portghost::{classify, classify_with};
use proptest::prelude::*;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

fn registry() -> &'static Registry {
    Registry::builtin().expect("registry")
}

#[path = "common/fixture.rs"]
mod fixture;

use fixture::inventory as mixed_inventory;

/// The fixture inventory, classified without a policy.
fn mixed() -> Report {
    classify(mixed_inventory(), registry())
}

/// The fixture with two listeners moved into a second network namespace whose name holds
/// an escape sequence and a bidi override, the rest in the host's.
fn two_namespaces() -> Report {
    fixture::two_namespaces("lab\u{1b}[2J\u{202e}1", Some("0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"))
}

/// The fixture with hostile text everywhere a process or the filesystem supplies it:
/// C0 and C1 controls, DEL, bidi overrides and isolates, quotes, backslashes, non-ASCII.
fn hostile() -> Report {
    const NASTY: &str = "a\"b\\c\u{0}\u{8}\t\n\u{c}\r\u{1b}[31m\u{7f}\u{85}\u{9b}\u{202e}\u{2066}\u{200f}\u{61c}é中😀/";
    let mut inv = mixed_inventory();
    inv.host = format!("host{NASTY}");
    inv.warnings.push(format!("warning{NASTY}"));
    for (i, l) in inv.listeners.iter_mut().enumerate() {
        for o in &mut l.owners {
            let o = Arc::make_mut(o);
            o.name = format!("{}{NASTY}", o.name);
            o.cmdline = Some(format!("cmd {i} {NASTY}"));
            o.exe = (i % 3 != 0).then(|| format!("/opt/{NASTY}"));
            o.user = Some(format!("user{NASTY}"));
            o.unit = Some(format!("{NASTY}.service"));
            o.exe_deleted = i % 2 == 0;
        }
    }
    let mut r = classify(inv, registry());
    for c in &mut r.listeners {
        for f in &mut c.findings {
            f.message.push_str(NASTY);
        }
    }
    r
}

fn owner(pid: u32, name: &str, container: Option<Container>) -> Arc<Owner> {
    Arc::new(Owner {
        pid,
        name: name.to_owned(),
        exe: Some(format!("/usr/sbin/{name}")),
        cmdline: Some(format!("{name} -D")),
        uid: Some(pid),
        user: None,
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container,
    })
}

fn listener(protocol: Protocol, addr: &str, port: u16, v6only: Option<bool>, owners: &[&Arc<Owner>]) -> Listener {
    Listener {
        protocol,
        local_address: addr.parse().expect("address"),
        port,
        inode: Some(u64::from(port) * 7),
        uid: None,
        owners: owners.iter().map(|o| Arc::clone(o)).collect(),
        owner_status: if owners.is_empty() {
            OwnerStatus::NoProcess
        } else {
            OwnerStatus::Known
        },
        v6only,
        netns: None,
    }
}

/// Hand-made listeners covering what the fixture lacks: dual stack, every exposure, every
/// owner status, IPv4-mapped IPv6, several owners shared between sockets, containers.
fn assorted() -> Report {
    let web = owner(
        900,
        "nginx",
        Some(Container {
            runtime: "containerd".into(),
            id: "0123456789ab".into(),
            full_id: "0123456789ab".repeat(6)[..64].to_string(),
            pod: Some("pod-uid".into()),
        }),
    );
    let worker = owner(901, "nginx", None);
    let sshd = owner(1, "sshd", None);
    let mut listeners = vec![
        listener(Protocol::Tcp, "::", 22, Some(false), &[&sshd]),
        listener(Protocol::Tcp, "::", 2222, Some(true), &[&sshd]),
        listener(Protocol::Tcp, "::ffff:10.0.0.1", 80, Some(false), &[&web, &worker]),
        listener(Protocol::Tcp, "fe80::1", 443, Some(true), &[&web, &worker]),
        listener(Protocol::Udp, "2001:db8::1:0:0:1", 53, None, &[]),
        listener(Protocol::Udp, "169.254.10.20", 5353, None, &[&worker]),
        listener(Protocol::Udp, "100.64.1.2", 19, None, &[]),
        listener(Protocol::Tcp, "8.8.8.8", 65535, None, &[&sshd]),
        listener(Protocol::Tcp, "127.0.0.1", 0, None, &[]),
        listener(Protocol::Udp, "fd00::ffff", 31337, Some(true), &[]),
    ];
    let statuses = [
        OwnerStatus::Permission,
        OwnerStatus::Unavailable,
        OwnerStatus::NotLooked,
        OwnerStatus::NoProcess,
    ];
    for (l, status) in listeners.iter_mut().filter(|l| l.owners.is_empty()).zip(statuses) {
        l.owner_status = status;
        l.inode = None;
        l.uid = Some(65534);
    }
    let inv = Inventory {
        host: "assorted".into(),
        scanned_at: "2026-06-01T08:00:00Z".into(),
        listeners,
        privileged: true,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: Some(View::Container),
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: portghost::model::InventoryKind::Linux,
    };
    classify(inv, registry())
}

/// The fixture judged with a policy in `mode`: allowed, denied, not-allowed and expired
/// rules, so verdicts are `expected` as well as `unexpected`, and the head has a policy.
fn with_policy(mode: Mode) -> Report {
    let mode_line = match mode {
        Mode::Allowlist => "",
        Mode::Ghosts => "mode = \"ghosts\"\n",
    };
    let text = format!(
        "version = 1\n{mode_line}\n[[allow]]\nport = 22\nprocess = \"sshd\"\n\n[[allow]]\nport = 80\n\n\
         [[allow]]\nport = 60123\nexpires = 2020-01-01\n\n[[deny]]\nport = 3317\ncomment = \"no \\\"replication\\\" here\"\n"
    );
    let policy = parse::parse("policy\u{1b}[1m.toml", &text).unwrap_or_else(|e| panic!("policy parses: {e}"));
    let ctx = PolicyContext {
        policy: &policy,
        today: NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
    };
    classify_with(mixed_inventory(), registry(), Some(ctx))
}

/// Serde's compact JSON of `value`, with the newline `write_json_to` adds.
fn serde_compact<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    json::write_json_to(&mut out, value, false).expect("serialise");
    String::from_utf8(out).expect("utf-8")
}

/// What `scan --format json` writes when stdout is not a terminal.
fn rendered(r: &Report) -> String {
    let mut out = Vec::new();
    json::render(&mut out, r, false).expect("render");
    String::from_utf8(out).expect("utf-8")
}

/// The hand-written listeners array with nothing pre-serialised, so that every owner,
/// record and namespace goes through the fallback.
fn listeners_without_shared(r: &Report) -> String {
    let mut out = Vec::new();
    json::write_listeners(&mut out, &r.listeners, &SharedJson::default()).expect("write");
    out.push(b'\n');
    String::from_utf8(out).expect("utf-8")
}

/// The compact output is byte for byte serde's, with and without shared values, and the
/// listeners array alone is too when nothing is shared.
fn assert_same_as_serde(r: &Report) {
    let fast = rendered(r);
    let plain = serde_compact(&ScanJson::from_report(r, None));
    assert_eq!(fast, plain, "hand-written compact JSON differs from serde's");
    let shared = SharedJson::of(&r.listeners).expect("shared");
    assert_eq!(fast, serde_compact(&ScanJson::from_report(r, Some(&shared))));
    let array = serde_compact(&ListenersJson {
        listeners: &r.listeners,
        shared: None,
    });
    assert_eq!(listeners_without_shared(r), array);
}

#[test]
fn fixture_report_is_byte_identical_to_serde() {
    let r = mixed();
    assert!(r.listeners.iter().any(|c| c.ghost.is_some()), "has a ghost port");
    assert!(r.listeners.iter().any(|c| c.findings.len() > 1), "has several findings");
    assert!(
        r.listeners.iter().any(|c| c.findings.is_empty()),
        "has a listener without findings"
    );
    assert!(
        r.listeners.iter().any(|c| c.service.is_none()),
        "has an unassigned port"
    );
    assert!(r.listeners.iter().any(|c| c.listener.local_address.is_ipv6()));
    assert!(r.listeners.iter().any(|c| c.listener.owner_status.is_hidden()));
    assert!(
        rendered(&r).contains("\\u001b[2Jname"),
        "escapes reach the output escaped"
    );
    assert_same_as_serde(&r);
}

#[test]
fn namespaced_report_is_byte_identical_to_serde() {
    let r = two_namespaces();
    assert!(rendered(&r).contains("lab\\u001b[2J\\u202e1"));
    assert_same_as_serde(&r);
}

#[test]
fn hostile_text_is_escaped_exactly_as_serde_escapes_it() {
    let r = hostile();
    let out = rendered(&r);
    let escaped = r#"a\"b\\c\u0000\b\t\n\f\r\u001b[31m\u007f\u0085\u009b\u202e\u2066\u200f\u061cé中😀/"#;
    assert!(out.contains(escaped), "{out}");
    assert!(
        !out.chars().any(|c| c.is_control() && c != '\n'),
        "no raw control character"
    );
    assert_same_as_serde(&r);
}

#[test]
fn assorted_addresses_and_owner_statuses_are_byte_identical_to_serde() {
    let r = assorted();
    let out = rendered(&r);
    for needle in [
        r#""local_address":"::","port":22,"exposure":"wildcard","v6only":false,"dual_stack":true"#,
        r#""local_address":"::ffff:10.0.0.1""#,
        r#""exposure":"link-local""#,
        r#""owner_status":"not-looked""#,
        r#""owner_status":"unavailable""#,
        r#""inode":null,"uid":65534"#,
        r#""view":"container""#,
    ] {
        assert!(out.contains(needle), "{needle} not in {out}");
    }
    assert_same_as_serde(&r);
}

#[test]
fn policy_verdicts_are_byte_identical_to_serde() {
    for mode in [Mode::Allowlist, Mode::Ghosts] {
        let r = with_policy(mode);
        assert!(
            r.policy.as_ref().is_some_and(|p| !p.warnings.is_empty()),
            "expired rule"
        );
        assert!(r.listeners.iter().any(|c| c.verdict == Verdict::Expected));
        assert!(r.listeners.iter().any(|c| c.verdict == Verdict::Unexpected));
        assert!(
            r.listeners
                .iter()
                .flat_map(|c| &c.findings)
                .any(|f| f.kind == FindingKind::Denied)
        );
        assert_same_as_serde(&r);
    }
}

#[test]
fn empty_report_is_byte_identical_to_serde() {
    let mut r = mixed();
    r.retain(|_| false);
    assert!(rendered(&r).ends_with("\"listeners\":[]}\n"));
    assert_same_as_serde(&r);
}

#[test]
fn enum_names_are_their_serde_names() {
    fn check<T: Serialize>(v: T, name: &str) {
        assert_eq!(serde_json::to_string(&v).expect("serialise"), format!("\"{name}\""));
    }
    for v in [Protocol::Tcp, Protocol::Udp] {
        check(v, v.as_str());
    }
    for v in [Family::Ipv4, Family::Ipv6] {
        check(v, v.as_str());
    }
    for v in [
        Exposure::Loopback,
        Exposure::Wildcard,
        Exposure::LinkLocal,
        Exposure::Private,
        Exposure::Public,
    ] {
        check(v, v.as_str());
    }
    for v in OWNER_STATUSES {
        check(v, v.as_str());
    }
    for v in VERDICTS {
        check(v, v.as_str());
    }
    for v in SEVERITIES {
        check(v, v.as_str());
    }
    for v in FINDING_KINDS {
        check(v, v.as_str());
    }
    for v in EVIDENCE_KINDS {
        check(v, v.as_str());
    }
    for v in STRENGTHS {
        check(v, v.as_str());
    }
}

const OWNER_STATUSES: [OwnerStatus; 5] = [
    OwnerStatus::Known,
    OwnerStatus::Permission,
    OwnerStatus::NoProcess,
    OwnerStatus::Unavailable,
    OwnerStatus::NotLooked,
];
const VERDICTS: [Verdict; 3] = [Verdict::Unexpected, Verdict::Unreviewed, Verdict::Expected];
const SEVERITIES: [Severity; 4] = [Severity::High, Severity::Medium, Severity::Low, Severity::Info];
const STRENGTHS: [Strength; 3] = [Strength::Strong, Strength::Medium, Strength::Weak];
const EVIDENCE_KINDS: [EvidenceKind; 10] = [
    EvidenceKind::Registry,
    EvidenceKind::Package,
    EvidenceKind::RootOwnedPath,
    EvidenceKind::UserWritablePath,
    EvidenceKind::ProcessName,
    EvidenceKind::Rpc,
    EvidenceKind::EphemeralRange,
    EvidenceKind::Exposure,
    EvidenceKind::SuspiciousExecutable,
    EvidenceKind::OwnerUnseen,
];
const FINDING_KINDS: [FindingKind; 12] = [
    FindingKind::GhostPort,
    FindingKind::HistoricProtocol,
    FindingKind::AliveRestricted,
    FindingKind::CommonSquatter,
    FindingKind::UnofficialUse,
    FindingKind::UnregisteredPort,
    FindingKind::OwnerHidden,
    FindingKind::SuspiciousExecutable,
    FindingKind::NoOwner,
    FindingKind::Allowed,
    FindingKind::NotAllowed,
    FindingKind::Denied,
];

/// Arbitrary Unicode, or short strings dense in what JSON and the terminal-safe formatter
/// escape: C0 and C1 controls, DEL, quotes, backslashes, bidi controls, and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"[a-z0-9 /._"\\\x00-\x1f\x7f\x{80}-\x{9f}\x{200e}\x{200f}\x{61c}\x{202a}-\x{202e}\x{2066}-\x{2069}é中😀]{0,24}"#,
    ]
}

fn container() -> impl Strategy<Value = Container> {
    (text(), text(), text(), proptest::option::of(text())).prop_map(|(runtime, id, full_id, pod)| Container {
        runtime,
        id,
        full_id,
        pod,
    })
}

fn owner_strategy() -> impl Strategy<Value = Arc<Owner>> {
    (
        any::<u32>(),
        text(),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(any::<u32>()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        any::<bool>(),
        proptest::option::of(container()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(pid, name, exe, cmdline, uid, user, unit, exe_deleted, container, user_unit_uid)| {
                Arc::new(Owner {
                    pid,
                    name,
                    exe,
                    cmdline,
                    uid,
                    user,
                    unit,
                    user_unit_uid,
                    exe_deleted,
                    container,
                })
            },
        )
}

fn netns_strategy() -> impl Strategy<Value = Arc<Netns>> {
    (
        any::<u64>(),
        proptest::option::of(text()),
        proptest::option::of(container()),
        any::<bool>(),
    )
        .prop_map(|(inode, name, container, host)| {
            Arc::new(Netns {
                inode,
                name,
                container,
                host,
            })
        })
}

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(IpAddr::V4),
        any::<Ipv6Addr>().prop_map(IpAddr::V6),
        any::<Ipv4Addr>().prop_map(|a| IpAddr::V6(a.to_ipv6_mapped())),
        prop::sample::select(vec![
            "0.0.0.0",
            "127.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "fd00::",
            "::ffff:0.0.0.0",
            "1::",
            "::2:0:0:3"
        ])
        .prop_map(|a| a.parse::<IpAddr>().expect("address")),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        any::<u16>(),
        0..1100_u16,
        prop::sample::select(vec![3237_u16, 3416, 3317, 19, 7, 1080])
    ]
}

fn evidence() -> impl Strategy<Value = Evidence> {
    (
        prop::sample::select(EVIDENCE_KINDS.to_vec()),
        proptest::option::of(prop::sample::select(STRENGTHS.to_vec())),
        text(),
    )
        .prop_map(|(kind, strength, detail)| Evidence { kind, strength, detail })
}

fn finding() -> impl Strategy<Value = Finding> {
    (
        prop::sample::select(FINDING_KINDS.to_vec()),
        prop::sample::select(SEVERITIES.to_vec()),
        text(),
        prop::collection::vec(evidence(), 0..3),
    )
        .prop_map(|(kind, severity, message, evidence)| Finding {
            kind,
            severity,
            message,
            evidence,
        })
}

/// One listener, described by indices into the report's pools of owners and namespaces so
/// that some are shared between listeners as in a real scan.
#[derive(Debug, Clone)]
struct ListenerSpec {
    protocol: Protocol,
    address: IpAddr,
    port: u16,
    inode: Option<u64>,
    uid: Option<u32>,
    owners: Vec<prop::sample::Index>,
    owner_status: OwnerStatus,
    v6only: Option<bool>,
    netns: Option<prop::sample::Index>,
    service: bool,
    ghost: Option<prop::sample::Index>,
    verdict: Verdict,
    findings: Vec<Finding>,
}

fn listener_spec() -> impl Strategy<Value = ListenerSpec> {
    (
        (
            prop::sample::select(vec![Protocol::Tcp, Protocol::Udp]),
            address(),
            port(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
            prop::collection::vec(any::<prop::sample::Index>(), 0..4),
            prop::sample::select(OWNER_STATUSES.to_vec()),
            proptest::option::of(any::<bool>()),
        ),
        (
            proptest::option::of(any::<prop::sample::Index>()),
            any::<bool>(),
            proptest::option::weighted(0.3, any::<prop::sample::Index>()),
            prop::sample::select(VERDICTS.to_vec()),
            prop::collection::vec(finding(), 0..3),
        ),
    )
        .prop_map(
            |(
                (protocol, address, port, inode, uid, owners, owner_status, v6only),
                (netns, service, ghost, verdict, findings),
            )| ListenerSpec {
                protocol,
                address,
                port,
                inode,
                uid,
                owners,
                owner_status,
                v6only,
                netns,
                service,
                ghost,
                verdict,
                findings,
            },
        )
}

fn report_strategy() -> impl Strategy<Value = Report> {
    let head = (
        text(),
        text(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(text(), 0..3),
        proptest::option::of(prop::sample::select(vec![View::Host, View::Container])),
        prop::sample::select(vec![InventoryKind::Linux, InventoryKind::Portable]),
        proptest::option::of(
            (
                text(),
                prop::sample::select(vec![Mode::Allowlist, Mode::Ghosts]),
                any::<usize>(),
                any::<usize>(),
                prop::collection::vec(text(), 0..2),
            )
                .prop_map(|(path, mode, allow_rules, deny_rules, warnings)| PolicyInfo {
                    path,
                    mode,
                    allow_rules,
                    deny_rules,
                    warnings,
                }),
        ),
    );
    (
        head,
        prop::collection::vec(owner_strategy(), 1..5),
        prop::collection::vec(netns_strategy(), 1..3),
        prop::collection::vec(listener_spec(), 0..8),
    )
        .prop_map(
            |(
                (host, scanned_at, privileged, complete, warnings, view, inventory, policy),
                owners,
                namespaces,
                specs,
            )| {
                let ghosts = registry().ghosts();
                let listeners: Vec<Classified> = specs
                    .into_iter()
                    .map(|s| {
                        let listener = Listener {
                            protocol: s.protocol,
                            local_address: s.address,
                            port: s.port,
                            inode: s.inode,
                            uid: s.uid,
                            owners: s.owners.iter().map(|i| Arc::clone(i.get(&owners))).collect(),
                            owner_status: s.owner_status,
                            v6only: s.v6only,
                            netns: s.netns.map(|i| Arc::clone(i.get(&namespaces))),
                        };
                        Classified {
                            service: if s.service {
                                registry().service(s.port, s.protocol)
                            } else {
                                None
                            },
                            ghost: s.ghost.map(|i| Arc::clone(*i.get(&ghosts))),
                            verdict: s.verdict,
                            findings: s.findings,
                            listener,
                        }
                    })
                    .collect();
                Report {
                    host,
                    scanned_at,
                    privileged,
                    inventory,
                    complete,
                    warnings,
                    view,
                    namespaces,
                    summary: Summary::of(&listeners),
                    listeners,
                    portless: Vec::new(),
                    policy,
                    registry: Default::default(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_reports_are_byte_identical_to_serde(r in report_strategy()) {
        let fast = rendered(&r);
        prop_assert_eq!(&fast, &serde_compact(&ScanJson::from_report(&r, None)));
        prop_assert!(!fast.chars().any(|c| portghost::render::is_dangerous(c) && c != '\n'));
        let array = serde_compact(&ListenersJson { listeners: &r.listeners, shared: None });
        prop_assert_eq!(listeners_without_shared(&r), array);
    }
}
