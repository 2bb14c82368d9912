//! `portghost baseline` as a pure function: a hand-made scan in, policy text out. The text
//! must parse with the strict parser, allow exactly the listeners that may be allowed when
//! fed back, and hold back ghost ports, suspicious executables and hidden owners as
//! commented-out rules with a reason.

use chrono::NaiveDate;
use portghost::Registry;
use portghost::model::{Inventory, Listener, Owner, OwnerStatus, Protocol};
use portghost::model::{Report, Verdict};
use portghost::policy::{Mode, PolicyContext, baseline, parse};
use portghost::{classify, classify_with};
use std::net::IpAddr;
use std::sync::Arc;

fn owner(pid: u32, name: &str, exe: &str, user: &str, uid: u32) -> Arc<Owner> {
    Arc::new(Owner {
        pid,
        name: name.to_string(),
        exe: Some(exe.to_string()),
        cmdline: None,
        uid: Some(uid),
        user: Some(user.to_string()),
        unit: Some("x.service".to_string()),
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
        inode: None,
        uid: Some(0),
        owner_status: if owners.is_empty() {
            OwnerStatus::Permission
        } else {
            OwnerStatus::Known
        },
        owners,
        v6only: local_address.is_ipv6().then_some(true),
        netns: None,
    }
}

/// An executable in a temporary directory of the platform the tests run on, and that
/// directory as findings name it.
const DROPPER: (&str, &str) = if cfg!(windows) {
    (r"C:\Windows\Temp\dropper.exe", "c:/windows/temp/")
} else {
    ("/tmp/dropper", "/tmp/")
};

fn inventory() -> Inventory {
    let sshd = owner(1, "sshd", "/usr/sbin/sshd", "root", 0);
    let master = owner(900, "nginx", "/usr/sbin/nginx", "root", 0);
    let worker = owner(901, "nginx", "/usr/sbin/nginx", "www-data", 33);
    let pg = owner(40, "postgres", "/usr/lib/postgresql/16/bin/postgres", "postgres", 111);
    let weird = owner(66, "we\"ird\nname", "/opt/a*b/[srv]", "app", 1001);
    let ghost = owner(77, "python3", "/usr/bin/python3.11", "root", 0);
    let tmp = owner(78, "dropper", DROPPER.0, "root", 0);
    Inventory {
        host: "web-01\u{1b}[31m".to_string(),
        scanned_at: "2026-06-01T08:00:00Z".to_string(),
        listeners: vec![
            listener(Protocol::Tcp, "0.0.0.0", 22, vec![sshd.clone()]),
            listener(Protocol::Tcp, "::", 22, vec![sshd]),
            listener(Protocol::Tcp, "0.0.0.0", 80, vec![master.clone(), worker.clone()]),
            listener(Protocol::Tcp, "0.0.0.0", 443, vec![master, worker]),
            listener(Protocol::Tcp, "127.0.0.1", 5432, vec![pg.clone()]),
            listener(Protocol::Tcp, "::1", 5432, vec![pg]),
            listener(Protocol::Udp, "10.0.0.5", 9999, vec![weird]),
            listener(Protocol::Tcp, "0.0.0.0", 3237, vec![ghost]),
            listener(Protocol::Tcp, "127.0.0.1", 8081, vec![tmp]),
            listener(Protocol::Tcp, "0.0.0.0", 2024, Vec::new()),
        ],
        privileged: false,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: portghost::model::InventoryKind::Linux,
    }
}

fn registry_report() -> Report {
    classify(inventory(), Registry::builtin().expect("registry"))
}

#[test]
fn baseline_allows_what_listens_and_holds_back_the_rest() {
    let b = baseline::generate(&registry_report(), Mode::Allowlist);
    let text = &b.text;
    // One rule per (protocol, port, scope, processes, executables, users): the IPv4 and
    // IPv6 sockets of sshd and of postgres share one.
    assert_eq!(b.rules, 5, "22, 80, 443, 5432, 9999:\n{text}");
    assert_eq!(b.held_back, 3, "3237 (ghost), 8081 (/tmp), 2024 (hidden):\n{text}");
    assert_eq!(b.warnings.len(), 3, "{:#?}", b.warnings);
    assert_eq!(text.matches("\n[[allow]]\n").count(), 5, "{text}");
    assert_eq!(text.matches("\n# [[allow]]\n").count(), 3, "{text}");
    assert!(text.contains("[[allow]]\nport = 22\nprotocol = \"tcp\"\naddress = \"wildcard\"\nprocess = \"sshd\"\nexe = \"/usr/sbin/sshd\"\nuser = \"root\"\ncomment = \"ssh: The Secure Shell (SSH) Protocol\"\n"), "{text}");
    assert!(text.contains("port = 80\nprotocol = \"tcp\"\naddress = \"wildcard\"\nprocess = \"nginx\"\nexe = \"/usr/sbin/nginx\"\nuser = [\"root\", \"www-data\"]\n"), "{text}");
    assert!(
        text.contains("port = 5432\nprotocol = \"tcp\"\naddress = \"loopback\"\n"),
        "{text}"
    );
    assert!(
        text.contains("address = \"10.0.0.5\""),
        "exact address for others: {text}"
    );
    assert!(
        text.contains("# portghost: not allowed, decide: ghost-port: 3237/tcp is registered to apparenet-tps"),
        "{text}"
    );
    assert!(text.contains("# port = 3237\n"), "{text}");
    assert!(
        text.contains(&format!(
            "# portghost: not allowed, decide: suspicious-executable: dropper(78) runs {} from {}",
            DROPPER.0, DROPPER.1
        )),
        "{text}"
    );
    assert!(
        text.contains("# portghost: not allowed, decide: owners hidden (permission)"),
        "{text}"
    );
    assert!(
        text.starts_with("# portghost baseline of host web-01\\x1b[31m, scanned at 2026-06-01T08:00:00Z.\n"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no control character reaches the file");
    assert!(b.warnings[0].contains("3237") || b.warnings.iter().any(|w| w.contains("tcp/3237 python3(77)")));
}

#[test]
fn baseline_parses_and_allows_exactly_what_it_allowed() {
    for mode in [Mode::Allowlist, Mode::Ghosts] {
        let b = baseline::generate(&registry_report(), mode);
        let policy = parse::parse("baseline.toml", &b.text).unwrap_or_else(|e| panic!("{e}\n{}", b.text));
        assert_eq!(policy.mode, mode);
        assert_eq!(policy.allow.len(), 5);
        let weird = policy.allow.iter().find(|r| r.names_port(9999)).expect("9999 rule");
        assert_eq!(weird.process, vec!["we\"ird\nname"], "exact value through the escapes");
        assert!(weird.exe[0].is_match("/opt/a*b/[srv]"));
        assert!(
            !weird.exe[0].is_match("/opt/aXb/s"),
            "glob characters in a path are literal"
        );
        let ctx = PolicyContext {
            policy: &policy,
            today: NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
        };
        let r = classify_with(inventory(), Registry::builtin().expect("registry"), Some(ctx));
        for c in &r.listeners {
            let want = match c.listener.port {
                3237 | 8081 => Verdict::Unexpected,
                // Nothing allows it; only allowlist mode makes that unexpected.
                2024 if mode == Mode::Ghosts => Verdict::Unreviewed,
                2024 => Verdict::Unexpected,
                _ => Verdict::Expected,
            };
            assert_eq!(c.verdict, want, "{mode} {}: {:?}", c.listener.port, c.findings);
        }
    }
}

#[test]
fn owners_without_a_name_or_path_still_give_a_policy_that_parses() {
    let mut nameless = (*owner(5, "", "", "", 1002)).clone();
    nameless.exe = Some(String::new());
    let mut inv = inventory();
    inv.listeners = vec![listener(Protocol::Tcp, "127.0.0.1", 8085, vec![Arc::new(nameless)])];
    let report = classify(inv, Registry::builtin().expect("registry"));
    let b = baseline::generate(&report, Mode::Allowlist);
    let policy = parse::parse("b.toml", &b.text).unwrap_or_else(|e| panic!("{e}\n{}", b.text));
    let rule = &policy.allow[0];
    assert!(rule.process.is_empty() && rule.exe.is_empty(), "{}", b.text);
    assert_eq!(rule.user, vec!["1002"], "the UID stands in for a missing user name");
}

#[test]
fn uncommenting_a_held_back_ghost_rule_allows_it_by_its_port() {
    let b = baseline::generate(&registry_report(), Mode::Allowlist);
    let mut out = String::new();
    let mut in_ghost = false;
    for line in b.text.lines() {
        if line.starts_with("# portghost: not allowed, decide: ghost-port") {
            in_ghost = true;
            continue;
        }
        if in_ghost && let Some(rest) = line.strip_prefix("# ") {
            out.push_str(rest);
        } else {
            in_ghost = false;
            out.push_str(line);
        }
        out.push('\n');
    }
    let policy = parse::parse("reviewed.toml", &out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let ctx = PolicyContext {
        policy: &policy,
        today: NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
    };
    let r = classify_with(inventory(), Registry::builtin().expect("registry"), Some(ctx));
    let ghost = r.listeners.iter().find(|c| c.listener.port == 3237).expect("3237");
    assert_eq!(ghost.verdict, Verdict::Expected, "{:?}", ghost.findings);
}

#[test]
fn a_windows_executable_is_kept_in_the_baseline_and_matches_again() {
    let exe = r"C:\Program Files (x86)\App [1]\svc.exe";
    let mut inv = inventory();
    inv.listeners = vec![listener(
        Protocol::Tcp,
        "127.0.0.1",
        8086,
        vec![owner(6, "svc.exe", exe, "SYSTEM", 0)],
    )];
    let report = classify(inv.clone(), Registry::builtin().expect("registry"));
    let b = baseline::generate(&report, Mode::Allowlist);
    let policy = parse::parse("b.toml", &b.text).unwrap_or_else(|e| panic!("{e}\n{}", b.text));
    let globs: Vec<&str> = policy.allow[0].exe.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(globs, vec![r"c:/Program Files (x86)/App \[1\]/svc.exe"], "{}", b.text);
    let ctx = PolicyContext {
        policy: &policy,
        today: "2026-06-01".parse::<NaiveDate>().expect("date"),
    };
    let judged = classify_with(inv, Registry::builtin().expect("registry"), Some(ctx));
    assert_eq!(judged.listeners[0].verdict, Verdict::Expected, "{}", b.text);
}
