//! Hostile policies: globs built to blow up regex compilation, and a bounded fuzz test of
//! the parser and the rule matcher over mutated valid policies (byte flips, truncation,
//! swapped keys and values, deep nesting). Nothing may panic; the CLI exits 0, 1 or 2 only,
//! and a policy it cannot use is exit 2 with the file, line and column.
//!
//! Policies are written in a private temporary directory (mode 0700), as the trust checks
//! require.

use assert_cmd::Command;
use chrono::NaiveDate;
use portghost::model::{Inventory, Listener, Owner, OwnerStatus, Protocol};
use portghost::policy::{PolicyContext, parse};
use portghost::{Registry, classify_with};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A private directory for policy files: mode 0700, owned by the test's user.
fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    chmod(dir.path(), 0o700);
    dir
}

fn write_policy(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write policy");
    chmod(&path, 0o600);
    path
}

/// Sets Unix permission bits; Windows has none (policy files are trusted there by the
/// file system's ACLs, which portghost does not check).
fn chmod(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
}

fn portghost(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portghost"))
        .args(args)
        .env_remove("PORTGHOST_IANA")
        .output()
        .expect("run portghost")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `{{{…a…}}}`, braces nested `depth` deep.
fn nested(depth: usize) -> String {
    format!("{}a{}", "{".repeat(depth), "}".repeat(depth))
}

#[test]
fn globs_that_would_blow_up_are_policy_errors_naming_the_place() {
    let dir = private_dir();
    let too_long = format!("/opt/{}", "a".repeat(1100));
    let many = format!(
        "/opt/{{{}}}",
        (0..70).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
    );
    let cases: Vec<(&str, String, &str)> = vec![
        ("exe", format!("/{}", nested(300)), "braces nest more than 3 deep"),
        ("unit", nested(300), "braces nest more than 3 deep"),
        (
            "container",
            format!("docker:{}", nested(40)),
            "braces nest more than 3 deep",
        ),
        ("user_unit", nested(4), "braces nest more than 3 deep"),
        ("exe", too_long, "a policy glob may have at most 1024"),
        ("exe", many, "more than 64 brace alternatives"),
    ];
    for (key, glob, why) in cases {
        let path = write_policy(
            dir.path(),
            "policy.toml",
            format!("version = 1\n\n[[allow]]\nport = 22\n{key} = \"{glob}\"\n").as_bytes(),
        );
        let file = path.to_str().expect("utf-8");
        let column = key.len() + 4;
        for args in [
            vec!["policy", "check", file],
            vec!["scan", "--policy", file, "--fail-on-unexpected", "--port", "1"],
        ] {
            let out = portghost(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{key} = {glob:.60}: {args:?}: {err}");
            assert!(
                err.starts_with(&format!("portghost: {file}:5:{column}: `{key}`: invalid glob")),
                "{key}: {err:.300}"
            );
            assert!(err.contains(why), "{key}: {err:.300}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    // Within the bounds, nested alternatives still work.
    let path = write_policy(
        dir.path(),
        "policy.toml",
        b"version = 1\n[[allow]]\nport = 22\nexe = \"/usr/{s,{local,opt}/{s,}}bin/sshd\"\n",
    );
    let out = portghost(&["policy", "check", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// ---- fuzzing ----

/// Valid policies using every key, to mutate.
const SEEDS: [&str; 3] = [
    r#"version = 1
mode = "allowlist"

[[allow]]
ports = [22, 443, "8000-8100"]
protocol = "tcp"
address = "10.0.0.0/8"
process = ["sshd", "nginx"]
exe = ["/usr/sbin/*", "**/nginx"]
user = ["root", "1000"]
unit = "{ssh,nginx}.service"
user_unit = "app-*.service"
container = "docker:*"
comment = "web"
expires = 2027-06-30

[[deny]]
port = 23
"#,
    r#"version = 1
mode = "ghosts"

[[allow]]
port = 3237
address = "loopback"
exe = '/opt/app/bin/\{x\}'

[[allow]]
port = "9000"
address = "wildcard"
process = "python3"
expires = "2026-12-31"

[[deny]]
protocol = "udp"
user = "nobody"
"#,
    r#"version = 1
[[allow]]
port = 5432
address = "::1"
user = "postgres"
[[allow]]
ports = ["1-65535"]
container = ["podman:3f2a9c1b7d4e", "docker:{a,b}*"]
"#,
];

/// Text spliced in by mutations: TOML structure, globs at and past the bounds (the last
/// two nest braces 300 deep, which once panicked globset), odd values.
fn splices() -> Vec<String> {
    let mut all: Vec<String> = FIXED_SPLICES.iter().map(|s| (*s).to_string()).collect();
    all.push(format!("exe = \"/{}\"\n", nested(300)));
    all.push(format!("unit = \"{}\"\n", nested(300)));
    all
}

const SPLICE_COUNT: usize = FIXED_SPLICES.len() + 2;

const FIXED_SPLICES: [&str; 16] = [
    "[[allow]]\n",
    "[[deny]]\n",
    "[allow]\n",
    "exe = \"/{{{{{a}}}}}\"\n",
    "unit = \"{a,{b,{c,{d}}}}\"\n",
    "container = \"[!]\"\n",
    "port = -1\n",
    "ports = [\"65535-1\"]\n",
    "address = \"::/0\"\n",
    "expires = 9999-12-31T00:00:00Z\n",
    "x = [[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]\n",
    "y = {a = {b = {c = {d = {e = {f = 1}}}}}}\n",
    "\"port\" = 1\n",
    "user_unit = \"\\\\\"\n",
    "\u{feff}\u{0}\u{202e}",
    "process = \"0123456789abcdef\"\n",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// XOR the byte at this position (modulo the length) with this mask.
    Flip(usize, u8),
    /// Keep only this many bytes (modulo the length + 1).
    Truncate(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Swap the keys of two `key = value` lines.
    SwapKeys(usize, usize),
    /// Insert a splice at a line.
    Splice(usize, usize),
    /// Wrap the value of a line in this many arrays.
    Nest(usize, usize),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapKeys(a, b)),
        (any::<usize>(), 0..SPLICE_COUNT).prop_map(|(a, s)| Mutation::Splice(a, s)),
        (any::<usize>(), 1usize..200).prop_map(|(a, d)| Mutation::Nest(a, d)),
    ]
}

fn mutate(text: &[u8], m: &Mutation) -> Vec<u8> {
    let mut bytes = text.to_vec();
    let lines = |b: &[u8]| -> Vec<Vec<u8>> { b.split(|&c| c == b'\n').map(<[u8]>::to_vec).collect() };
    let join = |ls: Vec<Vec<u8>>| ls.join(&b'\n');
    match *m {
        Mutation::Flip(i, mask) => {
            if !bytes.is_empty() {
                let n = bytes.len();
                bytes[i % n] ^= mask;
            }
            bytes
        }
        Mutation::Truncate(n) => {
            bytes.truncate(n % (bytes.len() + 1));
            bytes
        }
        Mutation::SwapLines(a, b) => {
            let mut ls = lines(&bytes);
            let n = ls.len();
            ls.swap(a % n, b % n);
            join(ls)
        }
        Mutation::SwapKeys(a, b) => {
            let mut ls = lines(&bytes);
            let with_key: Vec<usize> = (0..ls.len()).filter(|&i| ls[i].contains(&b'=')).collect();
            if with_key.len() >= 2 {
                let (i, j) = (with_key[a % with_key.len()], with_key[b % with_key.len()]);
                let split = |l: &[u8]| {
                    let at = l.iter().position(|&c| c == b'=').unwrap_or(0);
                    (l[..at].to_vec(), l[at..].to_vec())
                };
                let ((ki, vi), (kj, vj)) = (split(&ls[i]), split(&ls[j]));
                ls[i] = [kj, vi].concat();
                ls[j] = [ki, vj].concat();
            }
            join(ls)
        }
        Mutation::Splice(a, s) => {
            let mut ls = lines(&bytes);
            let at = a % (ls.len() + 1);
            ls.insert(at, splices()[s].trim_end_matches('\n').as_bytes().to_vec());
            join(ls)
        }
        Mutation::Nest(a, depth) => {
            let mut ls = lines(&bytes);
            let with_key: Vec<usize> = (0..ls.len()).filter(|&i| ls[i].contains(&b'=')).collect();
            if let Some(&i) = with_key.get(a % with_key.len().max(1)) {
                let at = ls[i].iter().position(|&c| c == b'=').unwrap_or(0) + 1;
                let (k, v) = ls[i].split_at(at);
                ls[i] = [k, "[".repeat(depth).as_bytes(), v, "]".repeat(depth).as_bytes()].concat();
            }
            join(ls)
        }
    }
}

fn owner(name: &str, exe: &str, unit: Option<&str>, user_unit_uid: Option<u32>) -> Arc<Owner> {
    Arc::new(Owner {
        pid: 42,
        name: name.to_string(),
        exe: Some(exe.to_string()),
        cmdline: None,
        uid: Some(0),
        user: Some("root".to_string()),
        unit: unit.map(str::to_string),
        user_unit_uid,
        exe_deleted: false,
        container: None,
    })
}

/// A few listeners that the seed policies' rules meet: known, hidden and kernel owners.
fn listeners() -> Vec<Listener> {
    let l = |protocol, addr: &str, port, owners: Vec<Arc<Owner>>, status| Listener {
        protocol,
        local_address: addr.parse().expect("address"),
        port,
        inode: Some(u64::from(port)),
        uid: Some(0),
        owners,
        owner_status: status,
        v6only: None,
        netns: None,
    };
    vec![
        l(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner("sshd", "/usr/sbin/sshd", Some("ssh.service"), None)],
            OwnerStatus::Known,
        ),
        l(
            Protocol::Tcp,
            "10.1.2.3",
            8080,
            vec![owner("nginx", "/usr/sbin/nginx", Some("app-1.service"), Some(1000))],
            OwnerStatus::Known,
        ),
        l(Protocol::Udp, "::1", 3237, Vec::new(), OwnerStatus::Permission),
        l(Protocol::Udp, "0.0.0.0", 2049, Vec::new(), OwnerStatus::Kernel),
    ]
}

fn inventory() -> Inventory {
    Inventory {
        host: "fuzz".to_string(),
        scanned_at: "2026-06-01T00:00:00Z".to_string(),
        listeners: listeners(),
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

/// Parses `bytes` as a policy and, when it parses, judges the listeners with it. Returns
/// whether it parsed; panics only if portghost does.
fn parse_and_judge(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let Ok(policy) = parse::parse("fuzz.toml", &text) else {
        return false;
    };
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let ctx = PolicyContext { policy: &policy, today };
    let report = classify_with(inventory(), Registry::builtin().expect("registry"), Some(ctx));
    assert_eq!(report.listeners.len(), 4);
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Mutated policies never panic the parser or the matcher: each is a policy or an error.
    #[test]
    fn mutated_policies_parse_or_fail_without_panicking(
        seed in 0..SEEDS.len(),
        mutations in prop::collection::vec(arb_mutation(), 1..5),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for m in &mutations {
            bytes = mutate(&bytes, m);
        }
        parse_and_judge(&bytes);
    }
}

#[test]
fn the_seed_policies_parse() {
    for seed in SEEDS {
        assert!(parse_and_judge(seed.as_bytes()), "{seed}");
    }
}

/// For a handful of mutated policies, the CLI exits 0, 1 or 2, never 101 (a panic), and a
/// policy the library rejects is exit 2 naming the file.
#[test]
fn the_cli_exits_zero_one_or_two_on_mutated_policies() {
    let dir = private_dir();
    let mutations = [
        Mutation::Splice(5, 3),
        Mutation::Splice(9, 4),
        Mutation::Splice(4, 10),
        Mutation::Nest(3, 150),
        Mutation::Flip(40, 0x20),
        Mutation::Truncate(97),
        Mutation::SwapKeys(1, 6),
        Mutation::Splice(0, 14),
        Mutation::Splice(7, 16),
        Mutation::Splice(12, 17),
    ];
    for (i, m) in mutations.iter().enumerate() {
        let bytes = mutate(SEEDS[i % SEEDS.len()].as_bytes(), m);
        let parses = parse_and_judge(&bytes);
        let path = write_policy(dir.path(), "policy.toml", &bytes);
        let file = path.to_str().expect("utf-8");
        let out = portghost(&["scan", "--policy", file, "--fail-on-unexpected", "--port", "1"]);
        let code = out.status.code();
        assert!(matches!(code, Some(0..=2)), "{m:?}: exit {code:?}: {}", stderr(&out));
        if !parses {
            assert_eq!(code, Some(2), "{m:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(file), "{m:?}: {}", stderr(&out));
        }
    }
}
