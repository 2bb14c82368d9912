//! Local registries end to end, with real files in private temporary directories: a local
//! entry changes a live listener's verdict and is named in the reason, `explain` and the
//! JSON; a known use added by a `[[use]]` table vouches for a process; a malformed file
//! exits 2 naming file, line and column; a world-writable one is refused; `--iana FILE`
//! changes the registry and a broken one exits 2; `registry list`, `registry check` and
//! `policy check` exit as documented.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::Lab;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

/// A fresh private directory (mode 0700) for registry files.
fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path.display().to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A ghost entry for `port` (unassigned by IANA) with the given status.
fn entry(port: u16, status: &str) -> String {
    format!(
        "[[ghost]]\nport = {port}\ntransports = [\"tcp\"]\nunassigned = true\nstatus = \"{status}\"\n\
         registrant = \"ACME billing\"\nsummary = \"Our old billing daemon listened here.\"\n\
         fate = \"ACME retired the billing daemon in 2024\"\nevidence = \"Decommissioned, ticket OPS-1.\"\n\
         sources = [\"https://wiki.example.com/ops-1\"]\nconfidence = \"confirmed\"\n"
    )
}

fn listener(scan: &serde_json::Value, port: u16) -> &serde_json::Value {
    scan["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["port"] == port)
        .unwrap_or_else(|| panic!("port {port} not in the scan"))
}

#[test]
fn a_local_entry_changes_a_live_verdict_and_names_its_file() {
    let dir = private_dir();
    let file = write(dir.path(), "50-acme.toml", &entry(28119, "never-documented"), 0o644);
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:28119"]);
    let d = dir.path().to_str().expect("utf-8");

    let before = lab.portghost(&["scan", "--format", "json", "--port", "28119"]);
    let before: serde_json::Value = serde_json::from_slice(&before.stdout).expect("JSON");
    assert_eq!(listener(&before, 28119)["verdict"], "unreviewed");

    let out = lab.portghost(&["scan", "--registry-dir", d, "--format", "json", "--port", "28119"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("local registry: {file}")),
        "{}",
        stderr(&out)
    );
    let after: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let l = listener(&after, 28119);
    assert_eq!(l["verdict"], "unexpected", "{l}");
    assert_eq!(l["ghost"]["source"], file.as_str());
    assert_eq!(l["ghost"]["status"], "never-documented");
    let reason = l["findings"][0]["message"].as_str().expect("message");
    assert!(
        reason.contains("ACME retired the billing daemon") && reason.contains(&file),
        "{reason}"
    );
    assert_eq!(after["registry"]["iana_updated"], "2026-08-17");
    assert_eq!(after["registry"]["local_files"][0], file.as_str());

    let out = lab.portghost(&["explain", "--registry-dir", d, "28119/tcp"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Ghost registry: never-documented"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("from") && l.contains(&file)),
        "{text}"
    );
    assert!(text.contains(&file) && text.contains("unexpected"), "{text}");
}

#[test]
fn a_later_file_replaces_an_entry_and_a_use_adds_to_it() {
    let dir = private_dir();
    let python = common::python();
    let comm = common::comm_of(&python);
    // 3237/tcp is defunct-vendor in the embedded registry: a later file adds a known use
    // whose process is the test's listener, which then reads as that use.
    let a = write(
        dir.path(),
        "10-uses.toml",
        &format!(
            "[[use]]\nport = 3237\ntransports = [\"tcp\"]\nname = \"ACME agent\"\nprocesses = [\"{comm}\"]\npackages = [\"acme-agent\"]\n"
        ),
        0o644,
    );
    // And a file after it replaces 3239/tcp's entry whole.
    let b = write(
        dir.path(),
        "20-replace.toml",
        &entry(3239, "common-squatter").replace("unassigned = true", "service = \"apparenet-ui\""),
        0o644,
    );
    let b = {
        // common-squatter entries name their usual occupant.
        let text = std::fs::read_to_string(&b).expect("read")
            + "\n[[ghost.unofficial]]\nname = \"ACME UI\"\ntransports = [\"tcp\"]\nports = \"3239\"\n";
        write(dir.path(), "20-replace.toml", &text, 0o644)
    };
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:3237", "tcp:127.0.0.1:3239"]);
    let d = dir.path().to_str().expect("utf-8");
    let out = lab.portghost(&["scan", "--registry-dir", d, "--format", "json", "--port", "3237,3239"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let l = listener(&scan, 3237);
    assert_eq!(l["findings"][0]["kind"], "unofficial-use", "{l}");
    let message = l["findings"][0]["message"].as_str().expect("message");
    assert!(message.contains("ACME agent") && message.contains(&a), "{message}");
    assert!(
        l["ghost"]["source"].is_null(),
        "the entry itself is still the embedded one"
    );
    let l = listener(&scan, 3239);
    assert_eq!(l["ghost"]["status"], "common-squatter", "{l}");
    assert_eq!(l["ghost"]["source"], b.as_str());
    assert_eq!(l["verdict"], "unreviewed");

    let out = lab.portghost(&[
        "--registry-dir",
        d,
        "registry",
        "list",
        "--format",
        "json",
        "--status",
        "common-squatter",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let entries = list["entries"].as_array().expect("entries");
    assert!(entries.iter().all(|e| e["status"] == "common-squatter"));
    assert!(entries.iter().any(|e| e["port"] == 3239 && e["source"] == b.as_str()));
}

#[test]
fn a_bad_local_file_exits_2_naming_file_line_and_column() {
    let dir = private_dir();
    let file = write(
        dir.path(),
        "bad.toml",
        "[[ghost]]\nport = 50334\ntransports = [\"tcp\"]\nstatus = \"haunted\"\n",
        0o644,
    );
    let lab = Lab::new();
    let d = dir.path().to_str().expect("utf-8");
    let out = lab.portghost(&["scan", "--registry-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{file}:4:10: ")), "{err}");
    assert!(err.contains("haunted"), "{err}");
    let out = lab.portghost(&["explain", "--registry-dir", d, "22", "--no-live"]);
    assert_eq!(out.status.code(), Some(2), "explain reads the same registries");
    let out = lab.portghost(&["registry", "check", d]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{file}:4:10: ")), "{}", stderr(&out));
    // A [[use]] with no entry to go to, in a second file: check lists both problems.
    let second = write(
        dir.path(),
        "zz-use.toml",
        "[[use]]\nport = 50335\ntransports = [\"tcp\"]\nname = \"nothing\"\n",
        0o644,
    );
    let out = lab.portghost(&["registry", "check", d]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{second}:1:1: ")), "{err}");
    assert!(err.contains("2 problems"), "{err}");
}

#[test]
fn a_world_writable_local_file_is_refused() {
    let dir = private_dir();
    let file = write(dir.path(), "open.toml", &entry(50336, "never-documented"), 0o666);
    let lab = Lab::new();
    let d = dir.path().to_str().expect("utf-8");
    let out = lab.portghost(&["scan", "--registry-dir", d]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&file) && err.contains("writable by group or others") && err.contains("chmod go-w"),
        "{err}"
    );
    let out = lab.portghost(&["registry", "check", d]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = lab.portghost(&["registry", "check", d]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 file good"), "{}", stderr(&out));
}

#[test]
fn iana_flag_and_environment_point_at_another_registry() {
    let dir = private_dir();
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/iana/service-names-port-numbers-2026-02-13.csv"
    );
    let lab = Lab::new();
    // The old CSV does not know roughtime; the embedded XML does.
    let out = lab.portghost(&["explain", "--iana", csv, "5319/tcp", "--no-live"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("5319/tcp  (no IANA service name)"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("updated 2026-02-13"), "{}", stdout(&out));
    let out = lab.portghost(&["scan", "--iana", csv, "--format", "json", "--port", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(scan["registry"]["iana_updated"], "2026-02-13");
    assert_eq!(scan["registry"]["iana_file"], csv);
    let bin = env!("CARGO_BIN_EXE_portghost");
    let out = std::process::Command::new(bin)
        .args(["explain", "5319/tcp", "--no-live"])
        .env("PORTGHOST_IANA", csv)
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("(no IANA service name)"));
    // A broken XML: exit 2, naming the file, line and column.
    let bad = write(
        dir.path(),
        "bad.xml",
        "<registry>\n<updated>2026-09-01</updated>\n<record><name>x</nme></record>\n</registry>\n",
        0o644,
    );
    let out = lab.portghost(&["explain", "--iana", &bad, "22", "--no-live"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains(&format!("{bad}:3:")), "{err}");
    let out = lab.portghost(&["scan", "--iana", "/nonexistent/iana.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/iana.xml"), "{}", stderr(&out));
}

#[test]
fn registry_list_shows_the_ghost_registry() {
    let lab = Lab::new();
    let out = lab.portghost(&["registry", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("3237") && l.contains("defunct-vendor")),
        "{text}"
    );
    let out = lab.portghost(&["registry", "list", "--status", "haunted"]);
    assert_eq!(out.status.code(), Some(2));
    let out = lab.portghost(&["registry", "list", "--format", "json", "--status", "malware-associated"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(!list["entries"].as_array().expect("entries").is_empty());
}

#[test]
fn policy_check_exit_codes() {
    let dir = private_dir();
    let lab = Lab::new();
    let good = write(
        dir.path(),
        "good.toml",
        "version = 1\n\n[[allow]]\nport = 22\nprocess = \"sshd\"\n",
        0o644,
    );
    let out = lab.portghost(&["policy", "check", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expired = write(
        dir.path(),
        "expired.toml",
        "version = 1\n\n[[allow]]\nport = 22\nexpires = 2020-01-01\n",
        0o644,
    );
    let out = lab.portghost(&["policy", "check", &expired]);
    assert_eq!(out.status.code(), Some(0), "an expired allow is a warning");
    assert!(
        stderr(&out).contains("warning: rule at") && stderr(&out).contains("expired"),
        "{}",
        stderr(&out)
    );
    let never = write(
        dir.path(),
        "never.toml",
        "version = 1\n\n[[allow]]\nport = 8080\nprotocol = \"tcp\"\n\n[[deny]]\nport = 8080\n\n[[deny]]\nport = 8080\n",
        0o644,
    );
    let out = lab.portghost(&["policy", "check", &never]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{never}:10: deny rule can never match first")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{never}:3: allow rule can never allow anything")),
        "{err}"
    );
    assert!(err.contains("2 problems"), "{err}");
    let broken = write(
        dir.path(),
        "broken.toml",
        "version = 1\n[[allow]]\nport = \"x\"\n",
        0o644,
    );
    let out = lab.portghost(&["policy", "check", &broken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&format!("{broken}:3:")), "{}", stderr(&out));
    let open = write(dir.path(), "open.toml", "version = 1\n", 0o666);
    let out = lab.portghost(&["policy", "check", &open]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("writable by group or others"), "{}", stderr(&out));
}
