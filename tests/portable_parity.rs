//! The portable inventory (`PORTGHOST_INVENTORY=portable`: netstat2 and sysinfo, the only
//! one off Linux) agrees with the native Linux one on the same sockets: the same
//! (protocol, address, port, PIDs) set in a private network namespace, where a parent and
//! its forked child share TCP and UDP listeners on IPv4 and IPv6, and where connected UDP
//! sockets and an established TCP connection must not appear. Owners are described alike,
//! `--no-owners` looks up no owner, and `PORTGHOST_INVENTORY` is checked.
//!
//! Both scans run inside the namespace (`ip netns exec`), so both see the same sockets.

mod common;

use common::{Lab, require};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::process::{Command, Output};

/// Python: TCP and UDP listeners on IPv4 and IPv6, a connected UDP socket on each family,
/// an established TCP connection; then a forked child that shares them all and runs with
/// effective UID 65534 (real UID 0). Prints the child's PID.
const SHARED: &str = r#"
import os, socket, sys
def sock(fam, kind, addr, port):
    s = socket.socket(fam, kind)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    return s
t4 = sock(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", 3237); t4.listen(8)
t6 = sock(socket.AF_INET6, socket.SOCK_STREAM, "::", 3238); t6.listen(8)
u4 = sock(socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0", 3416)
u6 = sock(socket.AF_INET6, socket.SOCK_DGRAM, "::1", 3417)
c4 = sock(socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1", 3518); c4.connect(("127.0.0.1", 3416))
c6 = sock(socket.AF_INET6, socket.SOCK_DGRAM, "::1", 3519); c6.connect(("::1", 3417))
client = sock(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", 3520); client.connect(("127.0.0.1", 3237))
served, _ = t4.accept()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.seteuid(65534)  # real UID root, effective UID nobody
    os.write(w, b"1")
    sys.stdin.read()
    os._exit(0)
assert os.read(r, 1) == b"1"
print("READY", pid, flush=True)
sys.stdin.read()
"#;

/// (protocol, local address, port, sorted owner PIDs).
type Row = (String, IpAddr, u16, Vec<u32>);

fn rows(v: &Value) -> BTreeSet<Row> {
    v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .map(|l| {
            let mut pids: Vec<u32> = l["owners"]
                .as_array()
                .expect("owners")
                .iter()
                .map(|o| u32::try_from(o["pid"].as_u64().expect("pid")).expect("pid fits"))
                .collect();
            pids.sort_unstable();
            (
                l["protocol"].as_str().expect("protocol").to_owned(),
                l["local_address"].as_str().expect("address").parse().expect("ip"),
                u16::try_from(l["port"].as_u64().expect("port")).expect("port fits"),
                pids,
            )
        })
        .collect()
}

/// Each owner PID with what the report says of it: name, exe, effective UID, user.
fn owners(v: &Value) -> BTreeMap<u64, Value> {
    let mut out = BTreeMap::new();
    for l in v["listeners"].as_array().expect("listeners") {
        for o in l["owners"].as_array().expect("owners") {
            let pid = o["pid"].as_u64().expect("pid");
            let seen = serde_json::json!([o["name"], o["exe"], o["uid"], o["user"]]);
            assert_eq!(
                *out.entry(pid).or_insert_with(|| seen.clone()),
                seen,
                "one owner, one description"
            );
        }
    }
    out
}

fn json(out: &Output, what: &str) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: not JSON ({e})"))
}

fn scan_schema() -> jsonschema::Validator {
    let out = Command::new(env!("CARGO_BIN_EXE_portghost"))
        .args(["schema", "--kind", "scan"])
        .output()
        .expect("run portghost schema");
    let schema: Value = serde_json::from_slice(&out.stdout).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("scan schema")
}

#[test]
fn portable_and_native_inventories_list_the_same_sockets_and_owners() {
    if !require("root and ip (a private network namespace)", Lab::can_isolate()) {
        return;
    }
    let mut lab = Lab::new();
    let (parent, rest) = lab.hold_script(SHARED);
    let child: u32 = rest.trim().parse().expect("forked child's PID");
    lab.adopt(child);
    let portable = [("PORTGHOST_INVENTORY", std::ffi::OsStr::new("portable"))];

    let native = json(&lab.portghost(&["scan", "--format", "json"]), "native scan");
    let ported = json(
        &lab.portghost_env(None, &portable, &["scan", "--no-policy", "--format", "json"]),
        "portable scan",
    );
    assert_eq!(native["inventory"], "linux");
    assert_eq!(ported["inventory"], "portable");
    let schema = scan_schema();
    assert!(
        schema.is_valid(&ported),
        "the portable scan validates against the scan schema"
    );

    let both = vec![parent.min(child), parent.max(child)];
    let row = |p: &str, a: &str, port: u16| (p.to_owned(), a.parse().expect("ip"), port, both.clone());
    let expected: BTreeSet<Row> = [
        row("tcp", "127.0.0.1", 3237),
        row("tcp", "::", 3238),
        row("udp", "0.0.0.0", 3416),
        row("udp", "::1", 3417),
    ]
    .into();
    assert_eq!(rows(&native), expected, "the native inventory");
    assert_eq!(
        rows(&ported),
        rows(&native),
        "portable and native inventories disagree (connected UDP 3518/3519 and TCP 3520 are not listeners)"
    );
    // One row per socket, each owner described as the native inventory describes it,
    // with its effective UID.
    let native_owners = owners(&native);
    assert_eq!(owners(&ported), native_owners);
    assert_eq!(native_owners.len(), 2, "{native_owners:?}");
    assert_eq!(native_owners[&u64::from(child)][2], 65534, "the child's effective UID");
    assert_eq!(native_owners[&u64::from(parent)][2], 0);
    for l in ported["listeners"].as_array().expect("listeners") {
        assert_eq!(l["owner_status"], "known", "{l}");
    }
    assert_eq!(ported["complete"], true, "warnings: {}", ported["warnings"]);

    // --no-owners: no owner looked up, not even portghost's own process.
    let bare = json(
        &lab.portghost_env(
            None,
            &portable,
            &["scan", "--no-policy", "--no-owners", "--format", "json"],
        ),
        "portable scan --no-owners",
    );
    let listed: BTreeSet<(String, IpAddr, u16)> = rows(&bare).into_iter().map(|(p, a, port, _)| (p, a, port)).collect();
    let wanted: BTreeSet<(String, IpAddr, u16)> = expected.into_iter().map(|(p, a, port, _)| (p, a, port)).collect();
    assert_eq!(listed, wanted);
    for l in bare["listeners"].as_array().expect("listeners") {
        assert_eq!(l["owners"], serde_json::json!([]), "{l}");
        assert_eq!(l["owner_status"], "not-looked", "{l}");
    }
    assert_eq!(bare["complete"], false);

    // Unprivileged, both inventories see the sockets but not who holds them: hidden
    // owners, an incomplete scan.
    if !require("setpriv (util-linux)", common::tool("setpriv").is_some()) {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_portghost");
    let as_nobody = |inventory: &str| {
        let setting = format!("PORTGHOST_INVENTORY={inventory}");
        let args = [
            setting.as_str(),
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin,
        ];
        let args: Vec<&str> = args
            .into_iter()
            .chain(["scan", "--no-policy", "--format", "json"])
            .collect();
        json(&lab.run("env", &args), &format!("{inventory} scan as nobody"))
    };
    for (v, inventory) in [(as_nobody("linux"), "linux"), (as_nobody("portable"), "portable")] {
        assert_eq!(v["inventory"], inventory);
        assert_eq!(v["privileged"], false, "{inventory}");
        assert_eq!(v["complete"], false, "{inventory}");
        let statuses: BTreeSet<(u64, String)> = v["listeners"]
            .as_array()
            .expect("listeners")
            .iter()
            .map(|l| {
                assert_eq!(l["owners"], serde_json::json!([]), "{inventory}: {l}");
                (
                    l["port"].as_u64().expect("port"),
                    l["owner_status"].as_str().expect("status").to_owned(),
                )
            })
            .collect();
        let hidden: BTreeSet<(u64, String)> = [3237, 3238, 3416, 3417].map(|p| (p, "permission".to_owned())).into();
        assert_eq!(statuses, hidden, "{inventory}");
    }
}

/// Runs `portghost args` in this process's namespace with `PORTGHOST_INVENTORY=value`.
fn with_inventory(value: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portghost"))
        .args(args)
        .env("PORTGHOST_INVENTORY", value)
        .output()
        .expect("run portghost")
}

#[test]
fn portghost_inventory_is_checked() {
    let scan = ["scan", "--no-policy", "--no-owners", "--port", "1", "--format", "json"];
    for (value, kind) in [("", "linux"), ("linux", "linux"), ("portable", "portable")] {
        let v = json(&with_inventory(value, &scan), value);
        assert_eq!(v["inventory"], kind, "PORTGHOST_INVENTORY={value:?}");
    }
    for bad in ["Portable", "native", "portable "] {
        let out = with_inventory(bad, &scan);
        assert_eq!(out.status.code(), Some(2), "PORTGHOST_INVENTORY={bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("PORTGHOST_INVENTORY={bad:?} is not an inventory")),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    // The portable inventory sees only its own network namespace.
    let out = with_inventory("portable", &["scan", "--no-policy", "--all-netns"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--all-netns and --netns need the Linux inventory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Commands that do not scan ignore it.
    let out = with_inventory("nonsense", &["schema", "--kind", "scan"]);
    assert_eq!(out.status.code(), Some(0));
}
