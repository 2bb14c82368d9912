//! Live end-to-end tests: a child process binds real sockets (ghost ports and an ordinary
//! one), the built `portghost` binary scans, and the tests check the exact ports, the
//! child's PID and name, the verdicts and the exit codes.

mod common;

use common::{Lab, comm_of, python};
use serde_json::Value;

fn json_scan(lab: &Lab, extra: &[&str]) -> (Value, i32) {
    let mut args = vec!["scan", "--format", "json"];
    args.extend_from_slice(extra);
    let out = lab.portghost(&args);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    (v, out.status.code().expect("exit code"))
}

fn listener<'a>(v: &'a Value, proto: &str, addr: &str, port: u16) -> &'a Value {
    v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["protocol"] == proto && l["local_address"] == addr && l["port"] == port)
        .unwrap_or_else(|| panic!("{proto} {addr}:{port} not found in {v:#}"))
}

#[test]
fn ghost_listeners_are_found_with_their_owner_and_flagged() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "udp:0.0.0.0:3416", "tcp:::1:3517"]);
    let name = comm_of(&python());
    let (v, code) = json_scan(&lab, &["--port", "3237,3416,3517"]);
    assert_eq!(code, 0, "without --fail-on-unexpected the scan succeeds");
    assert_eq!(v["schema_version"], 1);
    let ours: Vec<&Value> = v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter(|l| {
            l["owners"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["pid"] == pid))
        })
        .collect();
    assert_eq!(ours.len(), 3, "exactly the child's three sockets: {v:#}");
    // 3237 and 3416 are only reported defunct (medium); 3517 is confirmed withdrawn (high),
    // one step lower on loopback.
    for (proto, addr, port, family, service, severity) in [
        ("tcp", "0.0.0.0", 3237, "ipv4", "apparenet-tps", "medium"),
        ("udp", "0.0.0.0", 3416, "ipv4", "commandport", "medium"),
        ("tcp", "::1", 3517, "ipv6", "802-11-iapp", "medium"),
    ] {
        let l = listener(&v, proto, addr, port);
        assert_eq!(l["family"], family);
        assert_eq!(l["owner_status"], "known");
        let owners = l["owners"].as_array().expect("owners");
        assert_eq!(owners.len(), 1, "{l:#}");
        assert_eq!(owners[0]["pid"], pid);
        assert_eq!(owners[0]["name"], name.as_str());
        assert_eq!(owners[0]["exe"], python().to_string_lossy().as_ref());
        assert!(
            owners[0]["cmdline"].as_str().is_some_and(|c| c.contains("READY")),
            "{l:#}"
        );
        assert!(l["inode"].as_u64().is_some_and(|i| i > 0));
        assert_eq!(l["service"]["name"], service);
        assert_eq!(l["verdict"], "unexpected");
        assert_eq!(l["findings"][0]["kind"], "ghost-port");
        assert_eq!(l["findings"][0]["severity"], severity, "{l:#}");
        let msg = l["findings"][0]["message"].as_str().expect("message");
        assert!(
            msg.starts_with(&format!("{port}/{proto} is registered to {service} (")),
            "{msg}"
        );
    }
    if lab.isolated() {
        assert_eq!(
            v["listeners"].as_array().map(Vec::len),
            Some(3),
            "nothing else in a private netns"
        );
        assert_eq!(v["complete"], true);
    }
}

#[test]
fn fail_on_unexpected_exits_one_and_zero_when_clean() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let out = lab.portghost(&["scan", "--port", "3237", "--fail-on-unexpected"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("0.0.0.0:3237"), "{text}");
    assert!(text.contains("unexpected"), "{text}");

    // An ordinary port: registered, not a ghost, so the gate passes.
    let pid = lab.hold(&["tcp:127.0.0.1:8080"]);
    let out = lab.portghost(&["scan", "--port", "8080", "--fail-on-unexpected", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let l = listener(&v, "tcp", "127.0.0.1", 8080);
    assert_eq!(l["owners"][0]["pid"], pid);
    assert_eq!(l["verdict"], "unreviewed");
    assert_eq!(l["service"]["name"], "http-alt");
    assert!(l["findings"].as_array().is_some_and(Vec::is_empty), "{l:#}");
}

#[test]
fn table_shows_process_and_pid_and_filters_apply() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "udp:127.0.0.1:3416", "tcp:127.0.0.1:8080"]);
    let name = comm_of(&python());
    let out = lab.portghost(&["scan", "--port", "3237,3416,8080", "--color", "never"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains(&format!("{name}({pid})")), "{text}");
    assert!(!text.contains('\x1b'));
    let first_row = text.lines().nth(1).expect("a row");
    assert!(first_row.contains("unexpected"), "unexpected rows first: {text}");
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.starts_with("3 listeners (2 tcp, 1 udp): 2 unexpected")),
        "{text}"
    );

    let (v, _) = json_scan(&lab, &["--port", "3237,3416,8080", "--udp"]);
    let ls = v["listeners"].as_array().expect("listeners");
    assert_eq!(ls.len(), 1, "{v:#}");
    assert_eq!(ls[0]["port"], 3416);

    let (v, _) = json_scan(&lab, &["--port", "3237,3416,8080", "--unexpected"]);
    let ports: Vec<u64> = v["listeners"]
        .as_array()
        .expect("l")
        .iter()
        .filter_map(|l| l["port"].as_u64())
        .collect();
    assert_eq!(ports, vec![3237, 3416]);

    let out = lab.portghost(&["scan", "--port", "3237", "--color", "always"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\x1b["),
        "--color always colours"
    );
}

#[test]
fn explain_shows_registry_and_the_live_listener() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237"]);
    let out = lab.portghost(&["explain", "3237/tcp"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    for needle in [
        "3237/tcp  apparenet-tps  appareNet Test Packet Sequencer",
        "Ghost registry: defunct-vendor",
        "https://",
        "Listening on this host now",
        "tcp 0.0.0.0:3237  unexpected",
        &format!("({pid})"),
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let out = lab.portghost(&["explain", "3237", "--no-live"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("3237/udp") && text.contains("Polycom ViaVideo"), "{text}");
    assert!(!text.contains("Listening on this host now"));
}

#[test]
fn explain_judges_live_listeners_with_the_policy_scan_uses() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let dir = tempfile::tempdir().expect("private temporary directory");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\nmode = \"ghosts\"\n\n[[allow]]\nport = 3237\nprotocol = \"tcp\"\ncomment = \"the lab\"\n",
    )
    .expect("write policy");
    let policy = policy.to_str().expect("utf-8 path");
    for (args, row) in [
        (
            &["explain", "3237/tcp", "--policy", policy][..],
            "tcp 0.0.0.0:3237  expected",
        ),
        (
            &[
                "scan",
                "--port",
                "3237",
                "--tcp",
                "--policy",
                policy,
                "--fail-on-unexpected",
            ],
            "apparenet-tps  expected",
        ),
    ] {
        let out = lab.portghost(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).expect("utf-8");
        assert!(text.contains(row), "{args:?}:\n{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("portghost: policy: "),
            "{args:?} names its policy: {stderr}"
        );
    }
    // Discovery: ./portghost.toml in the working directory is used, as by `scan`.
    std::fs::copy(policy, dir.path().join("portghost.toml")).expect("copy");
    let out = lab.portghost_in(Some(dir.path()), &["explain", "3237/tcp"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("tcp 0.0.0.0:3237  expected"), "{text}");
    // --no-policy judges without it.
    let out = lab.portghost_in(Some(dir.path()), &["explain", "3237/tcp", "--no-policy"]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("tcp 0.0.0.0:3237  unexpected"), "{text}");
}

#[test]
fn bad_input_exits_two_with_a_message() {
    let lab = Lab::new();
    for args in [
        &["explain", "70000"][..],
        &["explain", "22/sctpx"],
        &["scan", "--format", "xml"],
        &["scan", "--port", "no-such-service"],
        &["scan", "--port", "0"],
        &["scan", "--port", "8100-8000"],
        &["scan", "--port", "70000"],
        &["--port", "1-"],
        &["scan", "--user", "no-such-user-here"],
        &["--format", "json", "explain", "22"],
        &["frobnicate"],
    ] {
        let out = lab.portghost(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?} explains itself");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{args:?}");
    }
}

#[test]
fn unprivileged_scan_lists_hidden_sockets_without_inventing_owners() {
    if !Lab::root() {
        eprintln!("not root: the unprivileged view is what every other test sees");
        return;
    }
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "udp:127.0.0.1:3416"]);
    let out = lab.portghost_as_nobody(&["scan", "--format", "json", "--port", "3237,3416"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["complete"], false);
    assert_eq!(v["privileged"], false);
    for (proto, port) in [("tcp", 3237), ("udp", 3416)] {
        let l = listener(&v, proto, if port == 3237 { "0.0.0.0" } else { "127.0.0.1" }, port);
        assert_eq!(
            l["owners"].as_array().map(Vec::len),
            Some(0),
            "no owner invented: {l:#}"
        );
        assert_eq!(l["owner_status"], "permission");
        assert_eq!(
            l["verdict"], "unexpected",
            "a hidden owner never makes a ghost port look fine"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CAP_SYS_PTRACE"),
        "one hint says what root adds: {stderr}"
    );
    assert_eq!(stderr.matches("CAP_SYS_PTRACE").count(), 1);
    // The same scan as root sees the owner.
    let (v, _) = json_scan(&lab, &["--port", "3237"]);
    assert_eq!(listener(&v, "tcp", "0.0.0.0", 3237)["owners"][0]["pid"], pid);
}

#[test]
fn ipv6_only_wildcard_is_not_dual_stack() {
    let mut lab = Lab::new();
    lab.hold(&["tcp::::3520"]);
    let (v, _) = json_scan(&lab, &["--port", "3520"]);
    let l = listener(&v, "tcp", "::", 3520);
    assert_eq!(l["v6only"], true, "the child sets IPV6_V6ONLY: {l:#}");
    assert_eq!(l["dual_stack"], false);
    assert_eq!(l["exposure"], "wildcard");
}

#[test]
fn timings_name_every_phase_on_stderr_and_leave_stdout_alone() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:127.0.0.1:3237"]);
    let out = lab.portghost(&["scan", "--format", "json", "--timings", "--port", "3237"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is still only the JSON");
    assert_eq!(listener(&v, "tcp", "127.0.0.1", 3237)["owners"][0]["pid"], pid);
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("portghost: timings: "))
        .unwrap_or_else(|| panic!("no timings line in {stderr}"));
    let phases: Vec<(&str, f64)> = ["dump", "walk", "owner details", "evidence", "classify", "render"]
        .into_iter()
        .map(|phase| {
            let at = line
                .find(&format!("{phase} "))
                .unwrap_or_else(|| panic!("{phase} missing: {line}"));
            let value = line[at + phase.len() + 1..].split(' ').next().expect("value");
            (
                phase,
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("{phase} is not a number: {line}")),
            )
        })
        .collect();
    // The walk runs alongside the dump and includes it; owner details happen inside the walk.
    let ms = |name: &str| phases.iter().find(|(p, _)| *p == name).expect("phase").1;
    assert!(ms("walk") >= ms("dump"), "{line}");
    assert!(ms("walk") > 0.0 && ms("owner details") > 0.0, "{line}");
    // 3237/tcp is a ghost port: its owner's evidence is gathered, in its own phase.
    assert!(ms("evidence") > 0.0, "{line}");
    let order: Vec<usize> = ["dump", "walk", "evidence", "classify", "render"]
        .iter()
        .map(|p| line.find(&format!("{p} ")).expect("phase"))
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "phases in pipeline order: {line}"
    );
}
