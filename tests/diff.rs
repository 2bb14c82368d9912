//! `portghost diff` end to end: a scan saved to a file, then a listener added and one moved
//! from loopback to the wildcard address by restarting the child; the diff against the file
//! and against the host now must show exactly those changes. Plus the exit codes and the
//! errors for malformed files.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::{Lab, comm_of, python};
use serde_json::Value;
use std::path::Path;

const PORTS: &str = "5432,2222,9090";

/// `scan --format json` in `lab` (limited to the test's ports outside a private netns),
/// written to `path`.
fn save_scan(lab: &Lab, path: &Path) {
    let mut args = vec!["scan", "--format", "json"];
    if !lab.isolated() {
        args.extend(["--port", PORTS]);
    }
    let out = lab.portghost(&args);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(path, &out.stdout).expect("write scan");
}

fn diff(lab: &Lab, args: &[&str]) -> (String, String, i32) {
    let mut full = vec!["diff"];
    full.extend_from_slice(args);
    let out = lab.portghost(&full);
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
        out.status.code().expect("exit code"),
    )
}

fn ours<'a>(list: &'a Value, pids: &[u32]) -> Vec<&'a Value> {
    list.as_array()
        .expect("array")
        .iter()
        .filter(|l| {
            let l = if l["new"].is_object() { &l["new"] } else { *l };
            l["owners"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| pids.iter().any(|p| o["pid"] == *p)))
        })
        .collect()
}

/// The changes the test makes, as seen in a JSON diff: 9090 added, 5432 moved from
/// 127.0.0.1 to 0.0.0.0 (exposure widened), nothing removed or re-owned among ours.
fn assert_expected_changes(v: &Value, old_pid: u32, new_pid: u32, exact: bool, name: &str) {
    let pids = [old_pid, new_pid];
    let added = ours(&v["added"], &pids);
    assert_eq!(added.len(), 1, "{v:#}");
    assert_eq!(added[0]["protocol"], "tcp");
    assert_eq!(added[0]["local_address"], "0.0.0.0");
    assert_eq!(added[0]["port"], 9090);
    assert_eq!(added[0]["owners"][0]["pid"], new_pid);
    assert_eq!(added[0]["owners"][0]["name"], name);
    assert!(ours(&v["removed"], &pids).is_empty(), "{v:#}");
    assert!(
        ours(&v["changed"], &pids).is_empty(),
        "a new PID is not a change: {v:#}"
    );
    let moved = ours(&v["address_changed"], &pids);
    assert_eq!(moved.len(), 1, "{v:#}");
    let m = moved[0];
    assert_eq!(m["old"]["local_address"], "127.0.0.1");
    assert_eq!(m["new"]["local_address"], "0.0.0.0");
    assert_eq!(m["old"]["port"], 5432);
    assert_eq!(m["new"]["port"], 5432);
    assert_eq!(m["old"]["exposure"], "loopback");
    assert_eq!(m["new"]["exposure"], "wildcard");
    assert_eq!(m["exposure_change"], "widened");
    assert_eq!(m["old"]["owners"][0]["pid"], old_pid);
    assert_eq!(m["new"]["owners"][0]["pid"], new_pid);
    assert!(m["changes"].as_array().is_some_and(Vec::is_empty), "{m:#}");
    if exact {
        let s = &v["summary"];
        assert_eq!(
            (
                &s["added"],
                &s["removed"],
                &s["changed"],
                &s["address_changed"],
                &s["unchanged"]
            ),
            (
                &Value::from(1),
                &Value::from(0),
                &Value::from(0),
                &Value::from(1),
                &Value::from(1)
            ),
            "{v:#}"
        );
        assert_eq!(s["drift"], true);
        assert!(v["notes"].as_array().is_some_and(Vec::is_empty), "{v:#}");
    }
}

#[test]
fn diff_shows_a_new_listener_and_a_widened_address_against_a_file_and_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old_path = dir.path().join("old.json");
    let new_path = dir.path().join("new.json");
    let old_s = old_path.to_str().expect("utf-8 path");
    let new_s = new_path.to_str().expect("utf-8 path");
    let name = comm_of(&python());

    let mut lab = Lab::new();
    let old_pid = lab.hold(&["tcp:127.0.0.1:5432", "tcp:0.0.0.0:2222"]);
    save_scan(&lab, &old_path);

    // Unchanged: the host now equals the file.
    if lab.isolated() {
        let (text, _, code) = diff(&lab, &[old_s, "--fail-on-change"]);
        assert_eq!(code, 0, "{text}");
        assert!(text.ends_with("\nno changes; 2 listeners unchanged\n"), "{text}");
    }

    // Restart the child: 5432 now on every interface, and a new listener on 9090.
    lab.stop(old_pid);
    let new_pid = lab.hold(&["tcp:0.0.0.0:5432", "tcp:0.0.0.0:2222", "tcp:0.0.0.0:9090"]);

    // Against the host now (portghost scans inside the lab's namespace).
    let (text, err, code) = diff(&lab, &[old_s, "--format", "json"]);
    assert_eq!(code, 0, "without --fail-on-change drift exits 0: {err}");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"));
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["old"]["source"], old_s);
    assert_eq!(v["new"]["source"], "this host now");
    assert_expected_changes(&v, old_pid, new_pid, lab.isolated(), &name);

    // Against a second file.
    save_scan(&lab, &new_path);
    let (text, _, code) = diff(&lab, &[old_s, new_s, "--format", "json"]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(v["new"]["source"], new_s);
    assert_expected_changes(&v, old_pid, new_pid, true, &name);

    // The text report names both changes and the widening.
    let (text, _, code) = diff(&lab, &[old_s, new_s, "--color", "never"]);
    assert_eq!(code, 0);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    let row = |first: &str| {
        rows.iter()
            .find(|r| r.first() == Some(&first))
            .unwrap_or_else(|| panic!("no {first} row in:\n{text}"))
    };
    assert_eq!(
        row("added")[..4],
        ["added", "tcp", "0.0.0.0:9090", &format!("{name}({new_pid})")]
    );
    assert_eq!(
        row("address")[..6],
        [
            "address",
            "tcp",
            "127.0.0.1:5432",
            "→",
            "0.0.0.0:5432",
            &format!("{name}({new_pid})")
        ]
    );
    let address_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("address"))
        .expect("address row");
    assert!(
        address_line.ends_with("exposure widened: loopback → wildcard"),
        "{text}"
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.first() == Some(&"removed") || r.first() == Some(&"changed")),
        "{text}"
    );
    assert!(
        text.ends_with("\n2 changes: 1 added, 0 removed, 0 changed, 1 address changed; 1 listener unchanged\n"),
        "{text}"
    );

    // The gate.
    let (_, _, code) = diff(&lab, &[old_s, new_s, "--fail-on-change"]);
    assert_eq!(code, 1, "drift fails the gate");
    let (_, _, code) = diff(&lab, &[new_s, new_s, "--fail-on-change"]);
    assert_eq!(code, 0, "the same scan twice passes");
    if lab.isolated() {
        let (text, _, code) = diff(&lab, &[new_s, "--fail-on-change"]);
        assert_eq!(code, 0, "the host still equals new.json: {text}");
        let (_, _, code) = diff(&lab, &[old_s, "--fail-on-change"]);
        assert_eq!(code, 1);
    }

    // Fail closed: scanned as nobody, the root child's owners are hidden, so whether they
    // changed cannot be told; the gate exits 2 instead of passing.
    if Lab::root() && lab.isolated() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
        std::fs::set_permissions(&new_path, std::fs::Permissions::from_mode(0o644)).expect("chmod file");
        let out = lab.portghost_as_nobody(&["diff", new_s, "--fail-on-change"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("portghost: cannot tell whether the owners of 3 listener(s) changed"),
            "{err}"
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("note: tcp 0.0.0.0:9090: owners hidden in the new scan (known → permission)"),
            "{text}"
        );
        let out = lab.portghost_as_nobody(&["diff", new_s]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "without the gate the notes are informational"
        );
    }
}

#[test]
fn diff_rejects_malformed_and_foreign_files_with_exit_two() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lab = Lab::new();
    let good = dir.path().join("good.json");
    std::fs::write(&good, r#"{"schema_version": 1, "listeners": []}"#).expect("write");
    let good = good.to_str().expect("utf-8");

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"schema_version\": 1,\n \"listeners\": [\n  {\"protocol\": \"tcp\",, \"port\": 1}\n ]\n}\n",
    )
    .expect("write");
    let bad = bad.to_str().expect("utf-8");
    let (out, err, code) = diff(&lab, &[bad, good]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert_eq!(err, format!("portghost: {bad}:3:22: key must be a string\n"));

    let (_, err, code) = diff(&lab, &[good, bad, "--fail-on-change"]);
    assert_eq!(code, 2, "NEW is checked too");
    assert!(err.starts_with(&format!("portghost: {bad}:3:22: ")), "{err}");

    let missing_port = dir.path().join("missing.json");
    std::fs::write(
        &missing_port,
        "{\"schema_version\": 1, \"listeners\": [\n {\"protocol\": \"udp\", \"local_address\": \"::\", \"owners\": []}]}",
    )
    .expect("write");
    let missing_port = missing_port.to_str().expect("utf-8");
    let (_, err, code) = diff(&lab, &[missing_port, good]);
    assert_eq!(code, 2);
    assert_eq!(err, format!("portghost: {missing_port}:2:57: missing field `port`\n"));

    let v2 = dir.path().join("v2.json");
    std::fs::write(&v2, r#"{"schema_version": 2, "listeners": []}"#).expect("write");
    let v2 = v2.to_str().expect("utf-8");
    let (_, err, code) = diff(&lab, &[v2, good]);
    assert_eq!(code, 2);
    assert_eq!(
        err,
        format!(
            "portghost: {v2}: schema_version 2 is not supported: this portghost reads scans with schema_version 1\n"
        )
    );

    let nowhere = dir.path().join("nowhere.json");
    let nowhere = nowhere.to_str().expect("utf-8");
    let (_, err, code) = diff(&lab, &[nowhere, good]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with(&format!("portghost: {nowhere}: cannot read the scan: ")),
        "{err}"
    );
}

/// Runs `portghost diff args…` in the host's namespace with `stdin` on standard input.
fn diff_stdin(args: &[&str], stdin: &[u8]) -> (String, String, i32) {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portghost"))
        .arg("diff")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
        out.status.code().expect("exit code"),
    )
}

#[test]
fn diff_reads_stdin_and_json_lines_and_calls_its_text_format_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:5432"]);
    let json = dir.path().join("old.json");
    save_scan(&lab, &json);
    let mut args = vec!["scan", "--format", "jsonl"];
    if !lab.isolated() {
        args.extend(["--port", PORTS]);
    }
    let jsonl = lab.portghost(&args).stdout;
    let lines = dir.path().join("old.jsonl");
    std::fs::write(&lines, &jsonl).expect("write");
    let json_arg = json.to_str().expect("utf-8");
    let lines_arg = lines.to_str().expect("utf-8");

    // A JSON Lines scan compares with the JSON scan of the same moment: nothing changed.
    let (out, err, code) = diff(&lab, &["--format", "json", "--fail-on-change", json_arg, lines_arg]);
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["summary"]["drift"], false, "{v:#}");
    assert_eq!(v["summary"]["unchanged"], v["old"]["listeners"], "{v:#}");

    // `-` reads standard input, as old or as new.
    let text = std::fs::read(&json).expect("read");
    let (out, err, code) = diff_stdin(&["--format", "json", "-", lines_arg], &text);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["old"]["source"], "-");
    assert_eq!(v["summary"]["drift"], false, "{v:#}");
    let (_, err, code) = diff_stdin(&["--format", "json", json_arg, "-"], &jsonl);
    assert_eq!(code, 0, "{err}");
    let (_, err, code) = diff_stdin(&["-", "-"], b"");
    assert_eq!(code, 2);
    assert!(
        err.contains("only one of the two scans can be read from standard input"),
        "{err}"
    );
    let (_, err, code) = diff_stdin(&["-", json_arg], b"{\"schema_version\": 1,\n \"listeners\": [,]}");
    assert_eq!(code, 2);
    assert!(err.contains("portghost: -:2:16: expected value"), "{err}");

    // `table` is the name of the text format; `text` still works.
    let (table, _, code) = diff(&lab, &["--format", "table", json_arg, lines_arg]);
    assert_eq!(code, 0);
    let (text_alias, _, _) = diff(&lab, &["--format", "text", json_arg, lines_arg]);
    assert_eq!(table, text_alias);
    let (default, _, _) = diff(&lab, &[json_arg, lines_arg]);
    assert_eq!(table, default);
}

#[test]
fn diff_all_netns_compares_with_every_namespace_of_the_host() {
    if !Lab::can_isolate() {
        eprintln!("note: needs root and ip netns; skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:5432"]);
    let saved = dir.path().join("all.json");
    let out = lab.portghost_outside(&["scan", "--all-netns", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&saved, &out.stdout).expect("write");
    let saved = saved.to_str().expect("utf-8");
    let name = lab.netns_name().expect("netns").to_string();

    // Against the own namespace only, the lab's listener looks removed.
    let out = lab.portghost_outside(&["diff", "--format", "json", saved]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let removed_here = v["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .any(|l| l["netns"] == name.as_str() && l["port"] == 5432);
    assert!(removed_here, "{v:#}");

    // With --all-netns it is still there; so with --netns naming the lab.
    let out = lab.portghost_outside(&["diff", "--all-netns", "--format", "json", saved]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let removed_all = v["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .any(|l| l["netns"] == name.as_str() && l["port"] == 5432);
    assert!(!removed_all, "{v:#}");
    let out = lab.portghost_outside(&["diff", "--netns", &name, "--format", "json", saved]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let removed_lab = v["removed"]
        .as_array()
        .expect("removed")
        .iter()
        .any(|l| l["netns"] == name.as_str() && l["port"] == 5432);
    assert!(!removed_lab, "the lab's listener is in the lab's namespace: {v:#}");
}
