//! Rule matching and policy verdicts on hand-made listeners, without touching the host:
//! example-based tests of every rule and message, and property tests (proptest) of the
//! invariants: deny wins, loopback is not wildcard, every owner must match, hidden owners
//! fail closed, flagged ports need an explicit port, suspicious executables and expired
//! rules never allow, and adding a condition never widens a rule.

use chrono::NaiveDate;
use portghost::Registry;
use portghost::model::{Classified, FindingKind, Report, Severity, Verdict};
use portghost::model::{Container, Inventory, Listener, Owner, OwnerStatus, Protocol};
use portghost::policy::rules::Evaluation;
use portghost::policy::rules::{Closest, Decision, Field, Judge, evaluate, owners_known};
use portghost::policy::{AddressMatch, Mode, Pattern, Policy, PolicyContext, PortMatch, Rule, RuleKind, parse};
use portghost::render::json;
use portghost::{classify, classify_with};
use proptest::prelude::*;
use std::net::IpAddr;
use std::sync::Arc;

const TODAY: &str = "2026-06-01";

fn today() -> NaiveDate {
    TODAY.parse().expect("date")
}

fn owner(pid: u32, name: &str, exe: &str, user: &str) -> Arc<Owner> {
    Arc::new(Owner {
        pid,
        name: name.to_string(),
        exe: Some(exe.to_string()),
        cmdline: Some(exe.to_string()),
        uid: Some(if user == "root" { 0 } else { 1000 + pid }),
        user: Some(user.to_string()),
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    })
}

fn listener(proto: Protocol, addr: &str, port: u16, owners: Vec<Arc<Owner>>) -> Listener {
    let local_address: IpAddr = addr.parse().expect("address");
    Listener {
        protocol: proto,
        local_address,
        port,
        inode: Some(1000 + u64::from(port)),
        uid: Some(0),
        owner_status: if owners.is_empty() {
            OwnerStatus::Permission
        } else {
            OwnerStatus::Known
        },
        owners,
        v6only: if local_address.is_ipv6() { Some(true) } else { None },
        netns: None,
    }
}

fn tcp(addr: &str, port: u16, owners: Vec<Arc<Owner>>) -> Listener {
    listener(Protocol::Tcp, addr, port, owners)
}

fn inventory(listeners: Vec<Listener>) -> Inventory {
    Inventory {
        host: "web-01".to_string(),
        scanned_at: format!("{TODAY}T08:00:00Z"),
        listeners,
        privileged: true,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: portghost::model::InventoryKind::Linux,
    }
}

fn policy(text: &str) -> Policy {
    parse::parse("policy.toml", text).unwrap_or_else(|e| panic!("policy parses: {e}"))
}

fn report_with(p: &Policy, listeners: Vec<Listener>) -> Report {
    let ctx = PolicyContext {
        policy: p,
        today: today(),
    };
    classify_with(inventory(listeners), Registry::builtin().expect("registry"), Some(ctx))
}

fn judge(p: &Policy, l: Listener) -> Classified {
    report_with(p, vec![l]).listeners.remove(0)
}

fn first(c: &Classified) -> (FindingKind, Severity, &str) {
    let f = c.findings.first().expect("a finding");
    (f.kind, f.severity, f.message.as_str())
}

#[test]
fn nothing_allowed_names_the_port() {
    let p = policy("version = 1\n[[allow]]\nport = 22\n");
    let c = judge(
        &p,
        tcp(
            "0.0.0.0",
            9090,
            vec![owner(4242, "python3", "/usr/bin/python3", "root")],
        ),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        first(&c),
        (
            FindingKind::NotAllowed,
            Severity::High,
            "tcp/9090 python3(4242) is not allowed by policy.toml: no rule matches port 9090"
        )
    );
}

#[test]
fn the_closest_rule_says_what_it_allows() {
    let p = policy(
        "version = 1\n\n[[allow]]\nport = 22\n\n[[allow]]\nport = 8080\nprocess = \"nginx\"\n\n[[allow]]\nport = 8080\nprotocol = \"udp\"\nprocess = \"httpd\"\n",
    );
    let c = judge(
        &p,
        tcp(
            "0.0.0.0",
            8080,
            vec![owner(4242, "python3", "/usr/bin/python3", "root")],
        ),
    );
    assert_eq!(
        first(&c).2,
        "tcp/8080 python3(4242) is not allowed by policy.toml: rule at policy.toml:6 allows port 8080 for process nginx only"
    );
    let p = policy("version = 1\n[[allow]]\nport = 5432\naddress = \"loopback\"\nuser = [\"postgres\", \"pg\"]\n");
    let c = judge(
        &p,
        tcp("0.0.0.0", 5432, vec![owner(7, "postgres", "/usr/bin/postgres", "root")]),
    );
    assert_eq!(
        first(&c).2,
        "tcp/5432 postgres(7) is not allowed by policy.toml: rule at policy.toml:2 allows port 5432 on loopback, for users postgres or pg only"
    );
}

#[test]
fn a_matching_rule_allows_with_its_comment() {
    let p = policy(
        "version = 1\n[[allow]]\nport = 22\nprotocol = \"tcp\"\naddress = \"wildcard\"\nprocess = \"sshd\"\nexe = \"/usr/sbin/*\"\nuser = \"root\"\ncomment = \"OpenSSH\"\n",
    );
    let sshd = owner(1, "sshd", "/usr/sbin/sshd", "root");
    let r = report_with(
        &p,
        vec![tcp("0.0.0.0", 22, vec![sshd.clone()]), {
            let mut l = tcp("::", 22, vec![sshd]);
            l.v6only = Some(false);
            l
        }],
    );
    for c in &r.listeners {
        assert_eq!(c.verdict, Verdict::Expected, "{c:?}");
        assert_eq!(
            first(c),
            (
                FindingKind::Allowed,
                Severity::Info,
                "tcp/22 sshd(1) is allowed by rule at policy.toml:2 (OpenSSH)"
            )
        );
    }
    assert_eq!(r.summary.expected, 2);
    let info = r.policy.as_ref().expect("policy info");
    assert_eq!(
        (info.path.as_str(), info.mode, info.allow_rules, info.deny_rules),
        ("policy.toml", Mode::Allowlist, 1, 0)
    );
}

#[test]
fn deny_wins_over_allow() {
    let p = policy(
        "version = 1\n\n[[allow]]\nport = 23\nprocess = \"inetd\"\n\n[[deny]]\nport = 23\ncomment = \"telnet is banned\"\n",
    );
    let c = judge(
        &p,
        tcp("0.0.0.0", 23, vec![owner(77, "inetd", "/usr/sbin/inetd", "root")]),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        first(&c),
        (
            FindingKind::Denied,
            Severity::High,
            "tcp/23 inetd(77) is denied by rule at policy.toml:7 (telnet is banned)"
        )
    );
}

#[test]
fn hidden_owners_fail_closed() {
    let p = policy("version = 1\n\n[[allow]]\nport = 22\nprocess = \"sshd\"\n\n[[allow]]\nport = 80\n");
    let c = judge(&p, tcp("0.0.0.0", 22, Vec::new()));
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(
        first(&c).2,
        format!(
            "tcp/22 (owner hidden) is not allowed by policy.toml: owners hidden (permission): rule at policy.toml:3 names a process, so it cannot vouch for this listener{}",
            portghost::model::Platform::current().privilege_suffix()
        )
    );
    // A rule that names no identity needs no owner.
    assert_eq!(judge(&p, tcp("0.0.0.0", 80, Vec::new())).verdict, Verdict::Expected);
    // A deny rule that names an identity cannot be ruled out.
    let p = policy("version = 1\n[[allow]]\nport = 2323\n[[deny]]\nport = 2323\nprocess = \"telnetd\"\n");
    let c = judge(&p, tcp("0.0.0.0", 2323, Vec::new()));
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert_eq!(first(&c).0, FindingKind::Denied);
    assert!(
        first(&c).2.contains("may be denied by rule at policy.toml:4"),
        "{}",
        first(&c).2
    );
    // With the owner visible, the same deny rule does not apply to another program.
    let c = judge(
        &p,
        tcp("0.0.0.0", 2323, vec![owner(5, "sshd", "/usr/sbin/sshd", "root")]),
    );
    assert_eq!(c.verdict, Verdict::Expected);
}

#[test]
fn expired_rules_warn_and_stop_allowing() {
    let p = policy(
        "version = 1\n\n[[allow]]\nport = 22\nexpires = 2026-01-01\n\n[[allow]]\nport = 80\nexpires = \"2026-06-01\"\n",
    );
    let sshd = owner(1, "sshd", "/usr/sbin/sshd", "root");
    let r = report_with(
        &p,
        vec![tcp("0.0.0.0", 22, vec![sshd.clone()]), tcp("0.0.0.0", 80, vec![sshd])],
    );
    let c22 = r.listeners.iter().find(|c| c.listener.port == 22).expect("22");
    assert_eq!(c22.verdict, Verdict::Unexpected);
    assert_eq!(
        first(c22).2,
        "tcp/22 sshd(1) is not allowed by policy.toml: rule at policy.toml:3 expired on 2026-01-01 and no longer allows anything"
    );
    let c80 = r.listeners.iter().find(|c| c.listener.port == 80).expect("80");
    assert_eq!(c80.verdict, Verdict::Expected, "a rule is good through its expiry day");
    assert_eq!(
        r.policy.as_ref().map(|p| p.warnings.clone()),
        Some(vec![
            "rule at policy.toml:3 expired on 2026-01-01 and no longer allows anything".to_string()
        ])
    );
    assert!(r.complete, "policy warnings do not make the scan incomplete");
}

#[test]
fn a_ghost_port_needs_a_rule_naming_it() {
    let py = || vec![owner(9, "python3", "/usr/bin/python3", "root")];
    for mode in ["allowlist", "ghosts"] {
        for (rule, blessed) in [
            ("process = \"python3\"", false),
            ("ports = [\"3230-3240\"]\nprocess = \"python3\"", false),
            ("protocol = \"tcp\"", false),
            ("port = 3237", true),
            ("ports = [22, 3237]\nprocess = \"python3\"", true),
            ("port = \"3237\"", true),
        ] {
            let p = policy(&format!("version = 1\nmode = \"{mode}\"\n[[allow]]\n{rule}\n"));
            let c = judge(&p, tcp("0.0.0.0", 3237, py()));
            if blessed {
                assert_eq!(c.verdict, Verdict::Expected, "{mode} {rule}: {c:?}");
                assert_eq!(first(&c).0, FindingKind::Allowed);
                assert!(
                    c.findings.iter().any(|f| f.kind == FindingKind::GhostPort),
                    "the registry's finding stays listed"
                );
            } else {
                assert_eq!(c.verdict, Verdict::Unexpected, "{mode} {rule}");
                assert_eq!(first(&c).0, FindingKind::NotAllowed);
                assert!(
                    first(&c)
                        .2
                        .contains("does not name port 3237 explicitly, and only a rule that names the port can allow a ghost-port listener"),
                    "{}",
                    first(&c).2
                );
            }
        }
    }
}

#[test]
fn suspicious_executables_are_never_allowed() {
    let p = policy("version = 1\n[[allow]]\nport = 8080\n");
    // A temporary directory of the platform the tests run on.
    let tmp = if cfg!(windows) {
        r"C:\Windows\Temp\x.exe"
    } else {
        "/tmp/x"
    };
    let c = judge(&p, tcp("127.0.0.1", 8080, vec![owner(3, "x", tmp, "root")]));
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert!(
        first(&c).2.contains("suspicious executable, which no rule can allow"),
        "{}",
        first(&c).2
    );
}

#[test]
fn every_owner_must_match() {
    let master = owner(900, "nginx", "/usr/sbin/nginx", "root");
    let worker = owner(901, "nginx", "/usr/sbin/nginx", "www-data");
    let l = || tcp("0.0.0.0", 80, vec![master.clone(), worker.clone()]);
    let p = policy("version = 1\n[[allow]]\nport = 80\nuser = \"www-data\"\n");
    let c = judge(&p, l());
    assert_eq!(c.verdict, Verdict::Unexpected);
    assert!(
        first(&c).2.starts_with("tcp/80 nginx(900,901) is not allowed"),
        "{}",
        first(&c).2
    );
    assert!(
        first(&c).2.ends_with("allows port 80 for user www-data only"),
        "{}",
        first(&c).2
    );
    let p = policy("version = 1\n[[allow]]\nport = 80\nuser = [\"root\", \"www-data\"]\nprocess = \"nginx\"\n");
    assert_eq!(judge(&p, l()).verdict, Verdict::Expected);
    let intruder = owner(902, "sh", "/bin/sh", "www-data");
    let c = judge(&p, tcp("0.0.0.0", 80, vec![master.clone(), intruder]));
    assert_eq!(
        c.verdict,
        Verdict::Unexpected,
        "a shell sharing nginx's socket is not nginx"
    );
}

#[test]
fn ghosts_mode_only_flags_registry_findings_and_denies() {
    let p = policy("version = 1\nmode = \"ghosts\"\n[[allow]]\nport = 22\n[[deny]]\nport = 8081\n");
    let py = || vec![owner(9, "python3", "/usr/bin/python3", "root")];
    assert_eq!(judge(&p, tcp("127.0.0.1", 8080, py())).verdict, Verdict::Unreviewed);
    assert_eq!(judge(&p, tcp("127.0.0.1", 8081, py())).verdict, Verdict::Unexpected);
    assert_eq!(judge(&p, tcp("127.0.0.1", 22, py())).verdict, Verdict::Expected);
    assert_eq!(judge(&p, tcp("0.0.0.0", 3237, py())).verdict, Verdict::Unexpected);
}

#[test]
fn units_and_containers_match_by_glob() {
    let mut o = (*owner(5, "app", "/app/server", "root")).clone();
    o.unit = Some("docker-3f2a.scope".to_string());
    o.container = Some(Container {
        runtime: "docker".to_string(),
        id: "3f2a9c1b7d4e".to_string(),
        full_id: format!("3f2a9c1b7d4e{}", "0".repeat(52)),
        pod: None,
    });
    let l = || tcp("0.0.0.0", 8443, vec![Arc::new(o.clone())]);
    for (rule, ok) in [
        ("container = \"docker:3f2a9c1b7d4e\"", true),
        ("container = \"docker:*\"", true),
        ("container = \"podman:*\"", false),
        (&*format!("container = \"docker:3f2a9c1b7d4e{}\"", "0".repeat(52)), true),
        ("unit = \"docker-*.scope\"", true),
        ("unit = \"nginx.service\"", false),
        ("exe = \"/app/*\"", true),
        ("exe = \"/*\"", false),
        ("exe = \"**/server\"", true),
        ("user = \"0\"", true),
    ] {
        let p = policy(&format!("version = 1\n[[allow]]\nport = 8443\n{rule}\n"));
        let v = judge(&p, l()).verdict;
        assert_eq!(v == Verdict::Expected, ok, "{rule}: {v}");
    }
}

fn in_unit(unit: &str, user_unit_uid: Option<u32>) -> Arc<Owner> {
    let mut o = (*owner(6, "nginx", "/usr/sbin/nginx", "root")).clone();
    o.unit = Some(unit.to_string());
    o.user_unit_uid = user_unit_uid;
    Arc::new(o)
}

#[test]
fn unit_rules_match_system_units_only_and_user_unit_rules_user_units_only() {
    let system = || tcp("0.0.0.0", 8080, vec![in_unit("nginx.service", None)]);
    let users = || tcp("0.0.0.0", 8080, vec![in_unit("nginx.service", Some(1000))]);
    for (rule, system_ok, user_ok) in [
        ("unit = \"nginx.service\"", true, false),
        ("unit = \"*.service\"", true, false),
        ("user_unit = \"nginx.service\"", false, true),
        ("user_unit = \"nginx.*\"", false, true),
        ("user_unit = \"apache.service\"", false, false),
        ("unit = \"nginx.service\"\nuser_unit = \"nginx.service\"", false, false),
    ] {
        let p = policy(&format!("version = 1\n[[allow]]\nport = 8080\n{rule}\n"));
        assert_eq!(
            judge(&p, system()).verdict == Verdict::Expected,
            system_ok,
            "system unit, {rule}"
        );
        assert_eq!(
            judge(&p, users()).verdict == Verdict::Expected,
            user_ok,
            "user unit, {rule}"
        );
    }
    // A user's unit named like a system unit is not allowed by the system unit's rule, and
    // the message says which kind of unit the rule wanted.
    let p = policy("version = 1\n[[allow]]\nport = 8080\nunit = \"nginx.service\"\n");
    let c = judge(&p, users());
    assert_eq!(
        first(&c).2,
        "tcp/8080 nginx(6) is not allowed by policy.toml: rule at policy.toml:2 allows port 8080 in unit nginx.service only"
    );
    let p = policy("version = 1\n[[allow]]\nport = 8080\nuser_unit = \"nginx.service\"\n");
    assert_eq!(
        first(&judge(&p, system())).2,
        "tcp/8080 nginx(6) is not allowed by policy.toml: rule at policy.toml:2 allows port 8080 in user unit nginx.service only"
    );
    // `user` narrows a user_unit rule to one user's units.
    let mut o = (*in_unit("nginx.service", Some(1000))).clone();
    o.uid = Some(1000);
    o.user = Some("alice".to_string());
    let p = policy("version = 1\n[[allow]]\nport = 8080\nuser_unit = \"nginx.service\"\nuser = \"1000\"\n");
    assert_eq!(
        judge(&p, tcp("0.0.0.0", 8080, vec![Arc::new(o.clone())])).verdict,
        Verdict::Expected
    );
    o.uid = Some(1001);
    o.user = Some("bob".to_string());
    assert_eq!(
        judge(&p, tcp("0.0.0.0", 8080, vec![Arc::new(o)])).verdict,
        Verdict::Unexpected
    );
    // A deny rule on a system unit does not catch a user's unit of that name either way
    // round: each names its own kind.
    let p = policy("version = 1\nmode = \"ghosts\"\n[[deny]]\nuser_unit = \"*\"\n");
    assert_eq!(judge(&p, users()).verdict, Verdict::Unexpected);
    let c = judge(&p, system());
    assert!(
        c.findings.iter().all(|f| f.kind != FindingKind::Denied),
        "{:?}",
        c.findings
    );
}

#[test]
fn json_carries_the_policy_and_its_findings() {
    let p = policy("version = 1\n[[allow]]\nport = 22\nexpires = 2020-01-01\n");
    let r = report_with(
        &p,
        vec![tcp("0.0.0.0", 22, vec![owner(1, "sshd", "/usr/sbin/sshd", "root")])],
    );
    let mut out = Vec::new();
    json::render(&mut out, &r, false).expect("render");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["policy"]["path"], "policy.toml");
    assert_eq!(v["policy"]["mode"], "allowlist");
    assert_eq!(v["policy"]["allow_rules"], 1);
    assert_eq!(
        v["policy"]["warnings"][0],
        "rule at policy.toml:2 expired on 2020-01-01 and no longer allows anything"
    );
    assert_eq!(v["listeners"][0]["verdict"], "unexpected");
    assert_eq!(v["listeners"][0]["findings"][0]["kind"], "not-allowed");
    let plain = portghost::classify(inventory(Vec::new()), Registry::builtin().expect("registry"));
    let mut out = Vec::new();
    json::render(&mut out, &plain, false).expect("render");
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert!(v["policy"].is_null());
}

// ---- property tests ----

const ADDRS: [&str; 9] = [
    "0.0.0.0",
    "::",
    "127.0.0.1",
    "127.8.0.1",
    "::1",
    "::ffff:127.0.0.1",
    "10.1.2.3",
    "192.168.7.5",
    "fd00::5",
];
const PORTS: [u16; 8] = [22, 80, 443, 3237, 8080, 9090, 19, 3416];
const PEOPLE: [(&str, &str, &str); 4] = [
    ("sshd", "/usr/sbin/sshd", "root"),
    ("nginx", "/usr/sbin/nginx", "www-data"),
    ("nginx", "/usr/sbin/nginx", "root"),
    ("python3", "/usr/bin/python3.11", "app"),
];

fn arb_listener() -> impl Strategy<Value = Listener> {
    (
        any::<bool>(),
        0..ADDRS.len(),
        prop_oneof![prop::sample::select(PORTS.to_vec()), 1u16..=65535],
        prop::collection::vec(0..PEOPLE.len(), 0..4),
        0..4usize,
        any::<bool>(),
    )
        .prop_map(|(udp, a, port, who, status, dual)| {
            let owners: Vec<Arc<Owner>> = who
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let (n, e, u) = PEOPLE[w];
                    owner(100 + u32::try_from(i).unwrap_or(0), n, e, u)
                })
                .collect();
            let mut l = listener(if udp { Protocol::Udp } else { Protocol::Tcp }, ADDRS[a], port, owners);
            l.owner_status = match status {
                _ if !l.owners.is_empty() => OwnerStatus::Known,
                0 => OwnerStatus::Permission,
                1 => OwnerStatus::NotLooked,
                2 => OwnerStatus::NoProcess,
                _ => OwnerStatus::Unavailable,
            };
            if ADDRS[a] == "::" {
                l.v6only = Some(!dual);
            }
            l
        })
}

fn arb_rule() -> impl Strategy<Value = Rule> {
    (
        prop::option::of(prop::collection::vec(
            prop_oneof![
                prop::sample::select(PORTS.to_vec()).prop_map(PortMatch::Single),
                (1u16..10000, 0u16..200).prop_map(|(a, w)| PortMatch::Range(a, a.saturating_add(w))),
            ],
            1..3,
        )),
        prop::option::of(any::<bool>()),
        prop::option::of(prop_oneof![
            Just(AddressMatch::Loopback),
            Just(AddressMatch::Wildcard),
            prop::sample::select(ADDRS.to_vec()).prop_map(|a| AddressMatch::Ip(a.parse().expect("ip"))),
            Just(AddressMatch::Cidr("10.0.0.0/8".parse().expect("net"))),
            Just(AddressMatch::Cidr("127.0.0.0/8".parse().expect("net"))),
        ]),
        prop::collection::vec(prop::sample::select(vec!["sshd", "nginx", "python3"]), 0..3),
        prop::collection::vec(
            prop::sample::select(vec!["/usr/sbin/*", "/usr/bin/*", "**/nginx"]),
            0..2,
        ),
        prop::collection::vec(prop::sample::select(vec!["root", "www-data", "app"]), 0..3),
    )
        .prop_map(|(ports, udp, address, process, exe, user)| Rule {
            kind: RuleKind::Allow,
            line: 3,
            ports: ports.unwrap_or_default(),
            protocol: udp.map(|u| if u { Protocol::Udp } else { Protocol::Tcp }),
            address,
            process: process.into_iter().map(String::from).collect(),
            exe: exe.into_iter().map(|g| Pattern::new(g).expect("glob")).collect(),
            user: user.into_iter().map(String::from).collect(),
            unit: Vec::new(),
            user_unit: Vec::new(),
            container: Vec::new(),
            netns: Vec::new(),
            socket: None,
            comment: None,
            expires: None,
        })
}

fn one_rule_policy(mode: Mode, allow: Vec<Rule>, deny: Vec<Rule>) -> Policy {
    Policy {
        file: "policy.toml".to_string(),
        mode,
        allow,
        deny,
    }
}

/// The rule without each of its fields in turn.
fn loosened(r: &Rule) -> Vec<Rule> {
    let mut out = Vec::new();
    let mut x = r.clone();
    x.ports.clear();
    out.push(x);
    let mut x = r.clone();
    x.protocol = None;
    out.push(x);
    let mut x = r.clone();
    x.address = None;
    out.push(x);
    let mut x = r.clone();
    x.process.clear();
    out.push(x);
    let mut x = r.clone();
    x.exe.clear();
    out.push(x);
    let mut x = r.clone();
    x.user.clear();
    out.push(x);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn removing_a_condition_never_narrows_a_rule(r in arb_rule(), l in arb_listener()) {
        if evaluate(&r, &l).matches() {
            for loose in loosened(&r) {
                prop_assert!(evaluate(&loose, &l).matches(), "{loose:?}");
            }
        }
    }

    #[test]
    fn a_match_means_every_present_field_holds(r in arb_rule(), l in arb_listener()) {
        if evaluate(&r, &l).matches() {
            prop_assert!(r.ports.is_empty() || r.ports.iter().any(|p| p.contains(l.port)));
            prop_assert!(r.protocol.is_none_or(|p| p == l.protocol));
            match r.address {
                Some(AddressMatch::Loopback) => prop_assert!(l.is_loopback() && !l.is_wildcard()),
                Some(AddressMatch::Wildcard) => prop_assert!(l.local_address.is_unspecified()),
                Some(AddressMatch::Cidr(_)) | Some(AddressMatch::Ip(_)) => prop_assert!(!l.is_wildcard() || r.address == Some(AddressMatch::Ip(l.local_address))),
                None => {}
            }
            let identity = !r.process.is_empty() || !r.exe.is_empty() || !r.user.is_empty();
            if identity {
                prop_assert!(owners_known(&l), "identity rules need visible owners");
                for o in &l.owners {
                    prop_assert!(r.process.is_empty() || r.process.contains(&o.name));
                    prop_assert!(r.user.is_empty() || o.user.as_ref().is_some_and(|u| r.user.contains(u)));
                }
            }
        }
    }

    #[test]
    fn wildcard_rules_match_exactly_the_wildcard_addresses(l in arb_listener()) {
        let mut r = base_rule();
        r.address = Some(AddressMatch::Wildcard);
        prop_assert_eq!(evaluate(&r, &l).matches(), l.local_address.is_unspecified());
        r.address = Some(AddressMatch::Loopback);
        prop_assert_eq!(evaluate(&r, &l).matches(), l.is_loopback());
    }

    #[test]
    fn identity_rules_never_match_unseen_owners(r in arb_rule(), mut l in arb_listener(), status in 0..4usize) {
        l.owners.clear();
        l.owner_status = [OwnerStatus::Permission, OwnerStatus::NotLooked, OwnerStatus::NoProcess, OwnerStatus::Unavailable][status];
        let identity = !r.process.is_empty() || !r.exe.is_empty() || !r.user.is_empty();
        let ev = evaluate(&r, &l);
        if identity {
            prop_assert!(!ev.matches());
        }
        let c = judge(&one_rule_policy(Mode::Allowlist, vec![r.clone()], Vec::new()), l);
        if identity {
            prop_assert_eq!(c.verdict, Verdict::Unexpected);
        }
    }

    #[test]
    fn deny_always_wins(allow in prop::collection::vec(arb_rule(), 0..3), deny in arb_rule(), l in arb_listener(), ghosts in any::<bool>()) {
        let mut deny = deny;
        deny.kind = RuleKind::Deny;
        let mode = if ghosts { Mode::Ghosts } else { Mode::Allowlist };
        let applies = evaluate(&deny, &l).matches();
        let c = judge(&one_rule_policy(mode, allow, vec![deny]), l);
        if applies {
            prop_assert_eq!(c.verdict, Verdict::Unexpected);
            prop_assert_eq!(c.findings[0].kind, FindingKind::Denied);
        }
    }

    #[test]
    fn allowlist_mode_leaves_nothing_unreviewed(allow in prop::collection::vec(arb_rule(), 0..4), l in arb_listener()) {
        let c = judge(&one_rule_policy(Mode::Allowlist, allow, Vec::new()), l);
        prop_assert_ne!(c.verdict, Verdict::Unreviewed);
        prop_assert!(matches!(c.findings[0].kind, FindingKind::Allowed | FindingKind::NotAllowed | FindingKind::Denied));
    }

    #[test]
    fn flagged_ports_need_an_explicit_port(allow in prop::collection::vec(arb_rule(), 1..4), l in arb_listener(), ghosts in any::<bool>()) {
        let mode = if ghosts { Mode::Ghosts } else { Mode::Allowlist };
        let registry_only = judge(&one_rule_policy(Mode::Ghosts, Vec::new(), Vec::new()), l.clone());
        let c = judge(&one_rule_policy(mode, allow.clone(), Vec::new()), l.clone());
        if registry_only.verdict == Verdict::Unexpected && c.verdict == Verdict::Expected {
            let f = &c.findings[0];
            prop_assert_eq!(f.kind, FindingKind::Allowed);
            prop_assert!(allow.iter().any(|r| r.names_port(l.port) && evaluate(r, &l).matches()));
        }
    }

    #[test]
    fn expired_rules_never_allow(r in arb_rule(), l in arb_listener(), days_ago in 1u8..28) {
        let mut r = r;
        r.expires = Some(NaiveDate::from_ymd_opt(2026, 5, u32::from(29 - days_ago.min(28))).expect("date"));
        let c = judge(&one_rule_policy(Mode::Allowlist, vec![r], Vec::new()), l);
        prop_assert_eq!(c.verdict, Verdict::Unexpected);
    }

    #[test]
    fn suspicious_owners_are_never_allowed(r in arb_rule(), l in arb_listener()) {
        let mut l = l;
        if l.owners.is_empty() {
            return Ok(());
        }
        let mut o = (*l.owners[0]).clone();
        o.exe_deleted = true;
        l.owners[0] = Arc::new(o);
        let c = judge(&one_rule_policy(Mode::Allowlist, vec![r], Vec::new()), l);
        prop_assert_eq!(c.verdict, Verdict::Unexpected);
    }
}

// ---- the indexed judge against a naive reference ----

/// Decides `c` by comparing every rule, in file order, with the full [`evaluate`]: the
/// policy semantics written as plainly as possible, for [`Judge::decide`] to agree with.
fn naive_decide<'p>(p: &'p Policy, today: NaiveDate, c: &Classified) -> Decision<'p> {
    let l = &c.listener;
    for rule in &p.deny {
        let ev = evaluate(rule, l);
        if ev.mismatched.is_empty() {
            return Decision::Denied {
                rule,
                unverifiable: ev.unverifiable,
            };
        }
    }
    let matching: Vec<&Rule> = p
        .allow
        .iter()
        .filter(|r| !r.expired(today) && evaluate(r, l).matches())
        .collect();
    let Some(&first) = matching.first() else {
        return Decision::NoRule;
    };
    if c.findings.iter().any(|f| f.kind == FindingKind::SuspiciousExecutable) {
        return Decision::Suspicious(first);
    }
    let blessing = if c.verdict == Verdict::Unexpected {
        matching.iter().copied().find(|r| r.names_port(l.port))
    } else {
        Some(first)
    };
    blessing.map_or(Decision::PortNotNamed(first), Decision::Allowed)
}

/// The closest allow rule, comparing every rule.
fn naive_closest<'p>(p: &'p Policy, today: NaiveDate, l: &Listener) -> Closest<'p> {
    if let Some(r) = p.allow.iter().find(|r| r.expired(today) && evaluate(r, l).matches()) {
        return Closest::Expired(r);
    }
    p.allow
        .iter()
        .filter(|r| !r.expired(today))
        .map(|r| (r, evaluate(r, l)))
        .filter(|(_, ev)| !ev.mismatched.contains(&Field::Port))
        .min_by_key(|(_, ev)| (ev.mismatched.len(), ev.unverifiable.is_none()))
        .map_or(Closest::Nothing, |(r, ev)| Closest::Near(r, ev))
}

/// Which rule a decision names, by position: (deny?, index), so that two decisions over the
/// same policy compare by identity, not by equal contents.
fn decision_key(p: &Policy, d: &Decision<'_>) -> (u8, Option<usize>, Option<Field>) {
    let pos = |rules: &[Rule], r: &Rule| rules.iter().position(|x| std::ptr::eq(x, r));
    match *d {
        Decision::Denied { rule, unverifiable } => (0, pos(&p.deny, rule), unverifiable),
        Decision::Suspicious(r) => (1, pos(&p.allow, r), None),
        Decision::Allowed(r) => (2, pos(&p.allow, r), None),
        Decision::PortNotNamed(r) => (3, pos(&p.allow, r), None),
        Decision::NoRule => (4, None, None),
    }
}

fn closest_key(p: &Policy, c: &Closest<'_>) -> (u8, Option<usize>, Option<Evaluation>) {
    let pos = |r: &Rule| p.allow.iter().position(|x| std::ptr::eq(x, r));
    match c {
        Closest::Expired(r) => (0, pos(r), None),
        Closest::Near(r, ev) => (1, pos(r), Some(ev.clone())),
        Closest::Nothing => (2, None, None),
    }
}

/// Ports that collide often, so that random rules and listeners meet.
const FEW_PORTS: [u16; 6] = [22, 80, 443, 3237, 8080, 9090];

fn arb_port_match() -> impl Strategy<Value = PortMatch> {
    prop_oneof![
        4 => prop::sample::select(FEW_PORTS.to_vec()).prop_map(PortMatch::Single),
        1 => (1u16..9000, 0u16..80).prop_map(|(a, w)| PortMatch::Range(a, a.saturating_add(w))),
        1 => (1u16..9000, 0u16..20000).prop_map(|(a, w)| PortMatch::Range(a, a.saturating_add(w))),
    ]
}

/// A rule of either kind using every key, with globs on all the glob keys and, for allow
/// rules, sometimes an expiry in the past.
fn arb_any_rule() -> impl Strategy<Value = Rule> {
    (
        arb_rule(),
        any::<bool>(),
        prop::collection::vec(
            prop::sample::select(vec!["nginx.service", "*.service", "app-*.scope"]),
            0..2,
        ),
        prop::collection::vec(prop::sample::select(vec!["nginx.service", "*"]), 0..2),
        prop::collection::vec(prop::sample::select(vec!["docker:*", "podman:3f2a9c1b7d4e"]), 0..2),
        prop::option::of(prop::collection::vec(arb_port_match(), 1..4)),
        0..3u8,
        (
            prop::collection::vec(prop::sample::select(vec!["host", "lab1", "4026532001"]), 0..2),
            0..8u8,
        ),
    )
        .prop_map(
            |(mut r, deny, unit, user_unit, container, ports, expiry, (netns, socket))| {
                r.netns = netns.into_iter().map(String::from).collect();
                if socket == 0 {
                    r.socket = Some(portghost::model::SocketKind::Packet);
                }
                let glob = |g: &str| Pattern::new(g).expect("glob");
                r.unit = unit.into_iter().map(glob).collect();
                r.user_unit = user_unit.into_iter().map(glob).collect();
                r.container = container.into_iter().map(glob).collect();
                if let Some(ports) = ports {
                    r.ports = ports;
                }
                if deny {
                    r.kind = RuleKind::Deny;
                } else if expiry == 0 {
                    r.expires = NaiveDate::from_ymd_opt(2026, 5, 1);
                } else if expiry == 1 {
                    r.expires = NaiveDate::from_ymd_opt(2026, 6, 1);
                }
                r
            },
        )
}

/// A listener whose owners may run in system units, user units and containers, on ports
/// the random rules name often; sometimes held by the kernel.
fn arb_judged_listener() -> impl Strategy<Value = Listener> {
    (
        arb_listener(),
        prop::sample::select(FEW_PORTS.to_vec()),
        any::<bool>(),
        prop::collection::vec((0..4u8, any::<bool>()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(mut l, port, few, places, kernel)| {
            if few {
                l.port = port;
            }
            for (o, (unit, user)) in l.owners.iter_mut().zip(places) {
                let mut x = (**o).clone();
                x.unit = match unit {
                    0 => None,
                    1 => Some("nginx.service".to_string()),
                    2 => Some("app-1.scope".to_string()),
                    _ => Some("docker-3f2a.scope".to_string()),
                };
                x.user_unit_uid = (user && x.unit.is_some()).then_some(1000);
                if unit == 3 {
                    x.container = Some(Container {
                        runtime: "docker".to_string(),
                        id: "3f2a9c1b7d4e".to_string(),
                        full_id: format!("3f2a9c1b7d4e{}", "0".repeat(52)),
                        pod: None,
                    });
                }
                *o = Arc::new(x);
            }
            if kernel && l.owners.is_empty() {
                l.owner_status = OwnerStatus::Kernel;
            }
            l
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The rule index changes which rules are compared, never the outcome: the judge
    /// decides, and names the closest rule, exactly as comparing every rule in file order.
    #[test]
    fn the_indexed_judge_decides_as_comparing_every_rule(
        rules in prop::collection::vec(arb_any_rule(), 0..12),
        l in arb_judged_listener(),
        ghosts in any::<bool>(),
        flag in 0..3u8,
        suspicious in any::<bool>(),
    ) {
        let (deny, allow): (Vec<Rule>, Vec<Rule>) = rules.into_iter().partition(|r| r.kind == RuleKind::Deny);
        let p = one_rule_policy(if ghosts { Mode::Ghosts } else { Mode::Allowlist }, allow, deny);
        let ctx = PolicyContext { policy: &p, today: today() };
        let mut c = classify(inventory(vec![l.clone()]), Registry::builtin().expect("registry")).listeners.remove(0);
        // Whatever the registry said, try the other verdicts and a suspicious owner too.
        match flag {
            0 => {}
            1 => c.verdict = Verdict::Unexpected,
            _ => c.verdict = Verdict::Unreviewed,
        }
        if suspicious {
            c.findings.push(portghost::model::Finding::new(FindingKind::SuspiciousExecutable, Severity::High, "test".to_string()));
        }
        let judge = Judge::new(ctx);
        prop_assert_eq!(decision_key(&p, &judge.decide(&c)), decision_key(&p, &naive_decide(&p, today(), &c)));
        prop_assert_eq!(closest_key(&p, &judge.closest(&l)), closest_key(&p, &naive_closest(&p, today(), &l)));
    }
}

fn base_rule() -> Rule {
    Rule::new(RuleKind::Allow, 1)
}

#[test]
fn windows_exe_globs_match_windows_paths_however_written() {
    let nginx = r"C:\Program Files\nginx\nginx.exe";
    for (glob, matches) in [
        // As Windows users write it, in a TOML literal string; and with `/`; any drive case.
        (r"'C:\Program Files\nginx\nginx.exe'", true),
        (r#""c:/Program Files/nginx/nginx.exe""#, true),
        (r"'C:\Program Files\*\nginx.exe'", true),
        (r#""**/nginx.exe""#, true),
        (r"'D:\Program Files\nginx\nginx.exe'", false),
        (r"'C:\Program Files\nginx\other.exe'", false),
    ] {
        let p = policy(&format!("version = 1\n[[allow]]\nport = 8080\nexe = {glob}\n"));
        for exe in [
            nginx,
            "c:/Program Files/nginx/nginx.exe",
            r"\\?\C:\Program Files\nginx\nginx.exe",
        ] {
            let c = judge(&p, tcp("127.0.0.1", 8080, vec![owner(7, "nginx.exe", exe, "root")]));
            let want = if matches {
                Verdict::Expected
            } else {
                Verdict::Unexpected
            };
            assert_eq!(c.verdict, want, "{glob} against {exe}: {:#?}", c.findings);
        }
    }
    // A Linux path never matches a Windows glob, nor the reverse.
    let p = policy("version = 1\n[[allow]]\nport = 8080\nexe = 'C:\\usr\\sbin\\nginx'\n");
    let c = judge(
        &p,
        tcp("127.0.0.1", 8080, vec![owner(7, "nginx", "/usr/sbin/nginx", "root")]),
    );
    assert_eq!(c.verdict, Verdict::Unexpected);
}

#[test]
fn the_process_name_limit_is_linux_only() {
    let text = "version = 1\n[[allow]]\nport = 8080\nprocess = \"MicrosoftEdgeUpdate.exe\"\n";
    let err = parse::parse_for("p.toml", text, portghost::model::Platform::Linux).expect_err("too long for comm");
    assert!(err.message.contains("longer than 15 bytes"), "{err}");
    for platform in [portghost::model::Platform::Windows, portghost::model::Platform::Macos] {
        let p = parse::parse_for("p.toml", text, platform).unwrap_or_else(|e| panic!("{platform:?}: {e}"));
        assert_eq!(p.allow[0].process, vec!["MicrosoftEdgeUpdate.exe"]);
    }
}
