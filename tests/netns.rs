//! Live tests of the whole-host view: listeners held in other network namespaces (each
//! [`Lab`] is an `ip netns` namespace), found with `--all-netns` and `--netns` from the
//! namespace the tests run in; the root requirement; the table grouped by namespace; and
//! the honest partial views (no `/proc`, `/proc` with hidepid, inside a PID namespace).
//!
//! Every test needs root and `ip` (to create namespaces and mounts); without them each one
//! says why and passes. Mounts happen only in a private mount namespace made by `unshare`.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::{Lab, comm_of, python};
use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::process::Output;

/// The inode the kernel gives the host's initial network namespace (Linux 6.18 and later).
const NET_INIT_INODE: u64 = 0xEFFF_FFF9;

/// True when the tests can create namespaces; otherwise prints why they are skipped.
fn can_run() -> bool {
    let ok = Lab::can_isolate();
    if !ok {
        eprintln!("skipped: network namespaces and mounts need root and `ip`");
    }
    ok
}

/// The inode of the network namespace the tests run in.
fn own_netns() -> u64 {
    std::fs::metadata("/proc/self/ns/net")
        .expect("stat /proc/self/ns/net")
        .ino()
}

/// True when the tests run in the host's PID namespace.
fn in_host_pid_namespace() -> bool {
    std::fs::read_link("/proc/self/ns/pid").is_ok_and(|l| l.as_os_str() == "pid:[4026531836]")
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {text}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn listeners(v: &Value) -> &Vec<Value> {
    v["listeners"].as_array().expect("listeners")
}

/// The one listener on `proto`/`port` in namespace `inode`.
fn listener_in<'a>(v: &'a Value, inode: u64, proto: &str, port: u16) -> &'a Value {
    let found: Vec<&Value> = listeners(v)
        .iter()
        .filter(|l| l["netns"]["inode"] == inode && l["protocol"] == proto && l["port"] == port)
        .collect();
    assert_eq!(found.len(), 1, "{proto}/{port} in netns {inode}: {v:#}");
    found[0]
}

/// Runs `script` with `sh -c` inside the lab's namespace and a private mount namespace;
/// the script sees the portghost binary as `$0`.
fn in_private_mounts(lab: &Lab, script: &str) -> Output {
    let bin = env!("CARGO_BIN_EXE_portghost");
    lab.run(
        "unshare",
        &["--mount", "--propagation", "private", "sh", "-c", script, bin],
    )
}

#[test]
fn ghost_listener_in_another_namespace_is_found_with_all_netns() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237"]);
    let inode = lab.netns_inode().expect("the lab has a namespace");
    let name = lab.netns_name().expect("the lab has a name");

    let out = lab.portghost_outside(&["scan", "--all-netns", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let l = listener_in(&v, inode, "tcp", 3237);
    assert_eq!(l["netns"]["name"], name, "{l:#}");
    assert_eq!(l["netns"]["host"], false, "{l:#}");
    assert!(l["netns"]["container"].is_null(), "{l:#}");
    assert_eq!(l["local_address"], "0.0.0.0");
    assert_eq!(l["owner_status"], "known", "{l:#}");
    let owners = l["owners"].as_array().expect("owners");
    assert_eq!(owners.len(), 1, "{l:#}");
    assert_eq!(owners[0]["pid"], pid);
    assert_eq!(owners[0]["name"], comm_of(&python()).as_str());
    assert_eq!(l["verdict"], "unexpected");
    assert_eq!(l["findings"][0]["kind"], "ghost-port");

    let namespaces = v["namespaces"].as_array().expect("namespaces");
    let own = own_netns();
    assert!(
        namespaces.iter().any(|n| n["inode"] == inode && n["name"] == name),
        "{v:#}"
    );
    assert!(namespaces.iter().any(|n| n["inode"] == own), "{v:#}");
    if own == NET_INIT_INODE {
        assert_eq!(namespaces[0]["inode"], own, "the host's namespace first: {v:#}");
        assert_eq!(namespaces[0]["host"], true);
        assert_eq!(listeners(&v)[0]["netns"]["inode"], own, "host listeners first");
    }
    if in_host_pid_namespace() {
        assert_eq!(v["view"], "host");
    }

    // Without --all-netns only the namespace portghost runs in is scanned.
    let out = lab.portghost_outside(&["scan", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert!(
        listeners(&v).iter().all(|l| l["netns"]["inode"] == own),
        "the default scan stays in its namespace: {v:#}"
    );
    assert_eq!(v["namespaces"].as_array().map(Vec::len), Some(1));
}

#[test]
fn netns_scans_just_the_named_namespace() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "udp:127.0.0.1:3416"]);
    let inode = lab.netns_inode().expect("namespace");
    let name = lab.netns_name().expect("name").to_owned();
    let by_pid = format!("/proc/{pid}/ns/net");
    let by_path = format!("/run/netns/{name}");

    for arg in [name.as_str(), by_path.as_str(), by_pid.as_str()] {
        let out = lab.portghost_outside(&["scan", "--netns", arg, "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "--netns {arg}: {}", stderr(&out));
        let v = json(&out);
        assert_eq!(
            listeners(&v).len(),
            2,
            "only the lab's two sockets (--netns {arg}): {v:#}"
        );
        for (proto, port) in [("tcp", 3237), ("udp", 3416)] {
            let l = listener_in(&v, inode, proto, port);
            assert_eq!(l["netns"]["name"], name.as_str(), "{l:#}");
            assert_eq!(l["owners"][0]["pid"], pid, "{l:#}");
        }
        assert_eq!(v["namespaces"].as_array().map(Vec::len), Some(1), "{v:#}");
    }

    let out = lab.portghost_outside(&["scan", "--netns", "portghost-no-such-namespace"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no network namespace named \"portghost-no-such-namespace\""),
        "{err}"
    );
    assert!(out.stdout.is_empty());

    let out = lab.portghost_outside(&["scan", "--netns", "/proc/self/ns/pid"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a network namespace"), "{}", stderr(&out));

    let out = lab.portghost_outside(&["scan", "--netns", &name, "--all-netns"]);
    assert_eq!(out.status.code(), Some(2), "the two flags exclude each other");
}

#[test]
fn all_netns_without_root_exits_two_saying_root_is_needed() {
    if !can_run() {
        return;
    }
    let lab = Lab::new();
    let out = lab.portghost_as_nobody(&["scan", "--all-netns"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--all-netns needs root"), "{err}");
    assert!(err.contains("CAP_SYS_ADMIN"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "no partial report");
}

#[test]
fn table_groups_rows_under_a_header_per_namespace() {
    if !can_run() {
        return;
    }
    let mut first = Lab::new();
    let mut second = Lab::new();
    let pid_a = first.hold(&["tcp:0.0.0.0:3237"]);
    let pid_b = second.hold(&["udp:127.0.0.1:3416"]);
    // A listener of this test process, in the namespace the tests run in.
    let own_socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    let own_port = own_socket.local_addr().expect("addr").port();
    let ports = format!("3237,3416,{own_port}");

    let out = first.portghost_outside(&["scan", "--all-netns", "--color", "never", "--port", &ports]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).expect("utf-8");

    // Sections: a `netns …` header line, the column header, rows, a blank line.
    let lines: Vec<&str> = text.lines().collect();
    let section = |header: &str| -> Vec<&str> {
        let at = lines
            .iter()
            .position(|l| *l == header)
            .unwrap_or_else(|| panic!("no header line {header:?} in:\n{text}"));
        lines[at + 1..].iter().take_while(|l| !l.is_empty()).copied().collect()
    };
    let header_a = format!(
        "netns {} {}",
        first.netns_inode().expect("inode"),
        first.netns_name().expect("name")
    );
    let header_b = format!(
        "netns {} {}",
        second.netns_inode().expect("inode"),
        second.netns_name().expect("name")
    );
    let rows_a = section(&header_a);
    assert!(rows_a[0].trim_start().starts_with("PROTO"), "{text}");
    assert!(
        rows_a
            .iter()
            .any(|r| r.contains("0.0.0.0:3237") && r.contains(&format!("({pid_a})"))),
        "{text}"
    );
    let rows_b = section(&header_b);
    assert!(
        rows_b
            .iter()
            .any(|r| r.contains("127.0.0.1:3416") && r.contains(&format!("({pid_b})"))),
        "{text}"
    );
    assert!(
        !rows_a.iter().any(|r| r.contains(":3416")),
        "rows stay under their namespace"
    );

    let own = own_netns();
    let own_header = if own == NET_INIT_INODE {
        format!("netns {own} (host)")
    } else {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("netns {own}")))
            .unwrap_or_else(|| panic!("no header for netns {own}:\n{text}"))
            .to_string()
    };
    let own_rows = section(&own_header);
    assert!(
        own_rows
            .iter()
            .any(|r| r.contains(&format!("127.0.0.1:{own_port}")) && r.contains(&format!("({})", std::process::id()))),
        "{text}"
    );
    if own == NET_INIT_INODE {
        assert!(
            lines.iter().find(|l| l.starts_with("netns ")) == Some(&own_header.as_str()),
            "the host's namespace comes first:\n{text}"
        );
    }
    assert!(
        lines.last().is_some_and(|l| l.ends_with("network namespaces scanned")),
        "{text}"
    );

    // One namespace: the table stays as it was, without headers.
    let out = first.portghost(&["scan", "--color", "never", "--port", "3237"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with(" PROTO"), "{text}");
    assert!(!text.contains("netns "), "{text}");
    drop(own_socket);
}

#[test]
fn without_proc_sockets_are_listed_and_owners_marked_unavailable() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let out = in_private_mounts(
        &lab,
        r#"mount -t tmpfs portghost-test /proc && exec "$0" scan --format json --port 3237"#,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        err.contains("portghost: warning: the process table (/proc) could not be read"),
        "{err}"
    );
    let v = json(&out);
    assert_eq!(v["complete"], false);
    let ls = listeners(&v);
    assert_eq!(ls.len(), 1, "{v:#}");
    let l = &ls[0];
    assert_eq!(l["port"], 3237);
    assert_eq!(l["owner_status"], "unavailable", "{l:#}");
    assert_eq!(l["owners"].as_array().map(Vec::len), Some(0), "no owner invented");
    assert_eq!(l["verdict"], "unexpected", "the ghost port is still flagged");
    assert!(
        v["warnings"].as_array().is_some_and(|w| w
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("mount -t proc")))),
        "{v:#}"
    );
    assert!(std::path::Path::new("/proc/self").exists(), "the tmpfs stayed private");
}

#[test]
fn hidepid_hides_owners_from_an_unprivileged_scan_and_says_so() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let as_nobody = r#"exec setpriv --reuid=65534 --regid=65534 --clear-groups "$0" scan --format json --port 3237"#;
    let out = in_private_mounts(
        &lab,
        &format!("mount -t proc -o hidepid=invisible proc /proc && {as_nobody}"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("hidepid=invisible") && err.contains("run as root"),
        "{err}"
    );
    let v = json(&out);
    assert_eq!(v["complete"], false);
    let l = &listeners(&v)[0];
    assert_eq!(l["port"], 3237);
    assert_eq!(
        l["owner_status"], "permission",
        "a process hidden by hidepid is not 'no process': {l:#}"
    );
    assert_eq!(l["owners"].as_array().map(Vec::len), Some(0));

    // A member of the mount's gid= group sees every process: no hidepid warning.
    let in_group = r#"exec setpriv --reuid=65534 --regid=4 --clear-groups "$0" scan --format json --port 3237"#;
    let out = in_private_mounts(
        &lab,
        &format!("mount -t proc -o hidepid=invisible,gid=4 proc /proc && {in_group}"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    let warnings = v["warnings"].to_string();
    assert!(!warnings.contains("hidepid"), "{warnings}");
    assert!(warnings.contains("could not be inspected"), "{warnings}");
}

#[test]
fn inside_a_pid_namespace_the_view_is_the_containers() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let bin = env!("CARGO_BIN_EXE_portghost");
    let out = lab.run(
        "unshare",
        &["--pid", "--fork", "--mount-proc", bin, "scan", "--format", "json"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(
        err.matches("portghost: this view is the container's: its network namespace and its processes only")
            .count(),
        1,
        "{err}"
    );
    let v = json(&out);
    assert_eq!(v["view"], "container");
    let l = &listeners(&v)[0];
    assert_eq!(l["port"], 3237);
    assert_eq!(
        l["owner_status"], "no-process",
        "the holder lives outside this PID namespace: {l:#}"
    );
    assert!(
        !l["findings"].to_string().contains("no-owner"),
        "no hidden-port alarm when not every process was visible"
    );

    if in_host_pid_namespace() {
        let out = lab.portghost(&["scan", "--format", "json"]);
        assert_eq!(json(&out)["view"], "host");
        assert!(!stderr(&out).contains("this view is the container's"));
    }
}

/// `baseline --all-netns` writes a rule per namespace, each naming its namespace with
/// `netns`; that policy then passes the gate for the whole host, and a rule moved to
/// another namespace no longer allows the listener.
#[test]
fn baseline_all_netns_names_each_rules_namespace() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:28123"]);
    let name = lab.netns_name().expect("the lab has a name").to_string();
    let own_socket = TcpListener::bind("127.0.0.1:0").expect("bind");
    let own_port = own_socket.local_addr().expect("addr").port();
    let ports = format!("28123,{own_port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    let policy_arg = policy.to_str().expect("utf-8");

    let out = lab.portghost_outside(&["baseline", "--all-netns", "--port", &ports, "--output", policy_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&policy).expect("baseline written");
    let rules: Vec<&str> = text.split("\n\n").filter(|r| r.contains("[[allow]]")).collect();
    assert_eq!(rules.len(), 2, "{text}");
    let lab_rule = rules
        .iter()
        .find(|r| r.contains("port = 28123"))
        .expect("the lab's rule");
    assert!(lab_rule.contains(&format!("netns = \"{name}\"")), "{text}");
    let own_rule = rules
        .iter()
        .find(|r| r.contains(&format!("port = {own_port}")))
        .expect("our own rule");
    assert!(own_rule.contains("netns = "), "{text}");
    if own_netns() == NET_INIT_INODE {
        assert!(own_rule.contains("netns = \"host\""), "{text}");
    }

    let gate = |policy_arg: &str| {
        lab.portghost_outside(&[
            "--all-netns",
            "--port",
            &ports,
            "--policy",
            policy_arg,
            "--fail-on-unexpected",
            "--format",
            "json",
        ])
    };
    let out = gate(policy_arg);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(listeners(&v).len(), 2, "{v:#}");
    assert!(listeners(&v).iter().all(|l| l["verdict"] == "expected"), "{v:#}");

    // The lab's rule moved to another namespace no longer allows the lab's listener.
    let moved = dir.path().join("moved.toml");
    std::fs::write(&moved, text.replace(&format!("netns = \"{name}\""), "netns = \"1\"")).expect("write");
    let out = gate(moved.to_str().expect("utf-8"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    let lab_listener = listeners(&v)
        .iter()
        .find(|l| l["port"] == 28123)
        .expect("the lab's listener");
    assert_eq!(lab_listener["verdict"], "unexpected", "{v:#}");
}
