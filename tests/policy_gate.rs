//! The CI gate end to end: a child holds real sockets (in a private network namespace when
//! run as root), `portghost baseline` writes a policy, and `portghost scan --policy …
//! --fail-on-unexpected` passes on the unchanged host and fails, naming the listener, on a
//! new listener, an imposter on an allowed port, and a ghost port. Bad policies exit 2
//! naming file and line; `--require-complete` exits 2 when owners are hidden.
//!
//! Every scan is limited with `--port` to the test's own ports, so the tests hold without a
//! private namespace too.

mod common;

use common::{Lab, comm_of, python};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

fn verdicts(v: &Value) -> Vec<(String, u64, String)> {
    let mut out: Vec<(String, u64, String)> = v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .map(|l| {
            (
                format!(
                    "{} {}",
                    l["protocol"].as_str().unwrap_or(""),
                    l["local_address"].as_str().unwrap_or("")
                ),
                l["port"].as_u64().unwrap_or(0),
                l["verdict"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn baseline(lab: &Lab, dir: &Path, ports: &str) -> (PathBuf, String, Output) {
    let file = dir.join("baseline.toml");
    let out = lab.portghost(&["baseline", "--port", ports, "--output", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file).expect("baseline written");
    (file, text, out)
}

fn gate(lab: &Lab, policy: &Path, ports: &str) -> Output {
    lab.portghost(&[
        "scan",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--fail-on-unexpected",
        "--port",
        ports,
        "--format",
        "json",
    ])
}

fn unexpected_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.starts_with("portghost: unexpected: "))
        .map(String::from)
        .collect()
}

#[test]
fn baseline_then_gate_passes_and_a_new_listener_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new();
    let ports = "8080,5432,9999";
    lab.hold(&[
        "tcp:0.0.0.0:8080",
        "tcp::::8080",
        "tcp:127.0.0.1:5432",
        "udp:127.0.0.1:9999",
    ]);
    let (file, text, out) = baseline(&lab, dir.path(), ports);
    assert!(
        stderr(&out).contains("portghost: baseline: 4 listeners -> 3 rules, 0 commented out for review"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        text.matches("\nport = 8080\n").count(),
        1,
        "IPv4 and IPv6 share a rule:\n{text}"
    );
    assert!(text.contains("address = \"wildcard\""), "{text}");
    assert!(text.contains("address = \"loopback\""), "{text}");
    assert!(
        text.contains(&format!("process = \"{}\"", comm_of(&python()))),
        "{text}"
    );
    assert!(text.contains(&format!("exe = \"{}\"", python().display())), "{text}");
    assert!(text.contains("user = \"root\"") || !Lab::root(), "{text}");

    let out = gate(&lab, &file, ports);
    assert_eq!(out.status.code(), Some(0), "unchanged host passes: {}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["policy"]["path"], file.to_str().expect("utf-8"));
    assert_eq!(v["policy"]["mode"], "allowlist");
    let vs = verdicts(&v);
    assert_eq!(vs.len(), 4, "{vs:?}");
    assert!(vs.iter().all(|(_, _, verdict)| verdict == "expected"), "{vs:?}");
    assert!(
        stderr(&out).contains(&format!("portghost: policy: {} (allowlist, 3 rules)", file.display())),
        "{}",
        stderr(&out)
    );
    assert!(unexpected_lines(&out).is_empty());

    // The table shows expected in green.
    let table = lab.portghost(&[
        "scan",
        "--policy",
        file.to_str().expect("utf-8"),
        "--port",
        ports,
        "--color",
        "always",
    ]);
    assert!(
        String::from_utf8_lossy(&table.stdout).contains("\u{1b}[32mexpected"),
        "green"
    );

    // A new listener on another port fails the gate, and only it is listed.
    let pid = lab.hold(&["tcp:127.0.0.1:9090"]);
    let out = gate(&lab, &file, "8080,5432,9999,9090");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let name = comm_of(&python());
    assert_eq!(
        unexpected_lines(&out),
        vec![format!(
            "portghost: unexpected: tcp 127.0.0.1:9090 {name}({pid}): tcp/9090 {name}({pid}) is not allowed by {}: no rule matches port 9090",
            file.display()
        )]
    );
    let v = json(&out);
    let l = v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["port"] == 9090)
        .expect("9090 listed");
    assert_eq!(l["verdict"], "unexpected");
    assert_eq!(l["findings"][0]["kind"], "not-allowed");
    assert_eq!(l["findings"][0]["severity"], "high");
}

/// A copy of the Python interpreter under another name, removed on drop.
struct Imposter {
    dir: PathBuf,
    exe: PathBuf,
}

impl Imposter {
    fn new() -> Imposter {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("imposter-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let exe = dir.join("pgimposter");
        std::fs::copy(python(), &exe).expect("copy the interpreter");
        Imposter { dir, exe }
    }
}

impl Drop for Imposter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn an_imposter_on_an_allowed_port_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = {
        let mut lab = Lab::new();
        lab.hold(&["tcp:127.0.0.1:8088"]);
        let (file, _, _) = baseline(&lab, dir.path(), "8088");
        let out = gate(&lab, &file, "8088");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        file
    };

    // Another program on the same port and address.
    let imposter = Imposter::new();
    let mut lab = Lab::new();
    let pid = lab.hold_with(&imposter.exe, &["tcp:127.0.0.1:8088"]);
    let out = gate(&lab, &file, "8088");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = unexpected_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let expected = format!(
        "portghost: unexpected: tcp 127.0.0.1:8088 pgimposter({pid}): tcp/8088 pgimposter({pid}) is not allowed by {}: rule at {}:",
        file.display(),
        file.display()
    );
    assert!(lines[0].starts_with(&expected), "{}", lines[0]);
    assert!(
        lines[0].contains(&format!(
            "allows port 8088 for process {}, for executable {}",
            comm_of(&python()),
            python().display()
        )),
        "{}",
        lines[0]
    );
    drop(lab);

    // The same program, run by another user.
    if Lab::root() {
        let mut lab = Lab::new();
        lab.hold_as_nobody(&["tcp:127.0.0.1:8088"]);
        let out = gate(&lab, &file, "8088");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let lines = unexpected_lines(&out);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].ends_with("allows port 8088 for user root only"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn a_ghost_listener_is_never_blessed_by_baseline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "tcp:127.0.0.1:8089"]);
    let name = comm_of(&python());
    let (file, text, out) = baseline(&lab, dir.path(), "3237,8089");
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "portghost: warning: tcp/3237 {name}({pid}) on 0.0.0.0:3237 is not allowed by the baseline: ghost-port: 3237/tcp is registered to apparenet-tps"
        )),
        "{err}"
    );
    assert!(err.contains("1 rule, 1 commented out for review"), "{err}");
    assert!(text.contains("\n# port = 3237\n"), "{text}");
    assert!(!text.contains("\nport = 3237\n"), "{text}");
    assert!(
        text.contains("# portghost: not allowed, decide: ghost-port: 3237/tcp"),
        "{text}"
    );

    let out = gate(&lab, &file, "3237,8089");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = unexpected_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("portghost: unexpected: tcp 0.0.0.0:3237 {name}({pid}): ")),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("no rule matches port 3237"), "{}", lines[0]);
    assert!(lines[0].contains("nothing should listen here"), "{}", lines[0]);

    // A broad rule for the program does not bless the ghost port; one naming it does.
    let broad = dir.path().join("broad.toml");
    std::fs::write(&broad, format!("version = 1\n\n[[allow]]\nprocess = \"{name}\"\n")).expect("write");
    let out = gate(&lab, &broad, "3237,8089");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = unexpected_lines(&out);
    assert_eq!(lines.len(), 1, "8089 is allowed, 3237 not: {lines:?}");
    assert!(
        lines[0].contains(
            "does not name port 3237 explicitly, and only a rule that names the port can allow a ghost-port listener"
        ),
        "{}",
        lines[0]
    );
    let explicit = dir.path().join("explicit.toml");
    std::fs::write(
        &explicit,
        format!("version = 1\n\n[[allow]]\nports = [3237, 8089]\nprocess = \"{name}\"\n"),
    )
    .expect("write");
    let out = gate(&lab, &explicit, "3237,8089");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn every_invalid_policy_exits_two_naming_file_and_line() {
    let lab = Lab::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 12);
    for file in files {
        let expected = std::fs::read_to_string(file.with_extension("expected")).expect("expected message");
        let out = lab.portghost(&[
            "scan",
            "--policy",
            file.to_str().expect("utf-8"),
            "--fail-on-unexpected",
        ]);
        assert_eq!(out.status.code(), Some(2), "{}: {}", file.display(), stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("portghost: {}:{}\n", file.display(), expected.trim_end()),
            "{}",
            file.display()
        );
        assert!(out.stdout.is_empty(), "a bad policy stops before the scan");
    }
}

#[test]
fn require_complete_exits_two_when_owners_are_hidden() {
    if !Lab::root() {
        eprintln!("not root: cannot hold sockets another user cannot see");
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:8090", "udp:127.0.0.1:8091"]);
    let out = lab.portghost_as_nobody(&["scan", "--port", "8090,8091", "--require-complete"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "portghost: incomplete: tcp 0.0.0.0:8090: owner hidden: permission denied inspecting some processes\n"
        ),
        "{err}"
    );
    assert!(
        err.contains(
            "portghost: incomplete: udp 127.0.0.1:8091: owner hidden: permission denied inspecting some processes\n"
        ),
        "{err}"
    );
    assert!(
        err.contains("--require-complete: the scan did not see everything"),
        "{err}"
    );
    assert!(!out.stdout.is_empty(), "the evidence is still written");

    // The same scan without the flag succeeds, and as root it is complete.
    let out = lab.portghost_as_nobody(&["scan", "--port", "8090,8091"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lab.portghost(&["scan", "--port", "8090,8091", "--require-complete"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_policy_in_the_working_directory_is_found_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let name = comm_of(&python());
    std::fs::write(
        dir.path().join("portghost.toml"),
        format!("version = 1\n\n[[allow]]\nport = 8092\nprocess = \"{name}\"\n"),
    )
    .expect("write");
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:8092"]);
    let out = lab.portghost_in(Some(dir.path()), &["scan", "--port", "8092", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("portghost: policy: ./portghost.toml (allowlist, 1 rule)\n"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json(&out)["listeners"][0]["verdict"], "expected");
    let out = lab.portghost_in(
        Some(dir.path()),
        &["scan", "--no-policy", "--port", "8092", "--format", "json"],
    );
    assert!(!stderr(&out).contains("policy:"), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["listeners"][0]["verdict"], "unreviewed");
    assert!(v["policy"].is_null());
}

#[test]
fn deny_and_expiry_through_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policy.toml");
    std::fs::write(
        &file,
        "version = 1\n\n[[allow]]\nport = 8093\nexpires = 2020-01-01\n\n[[allow]]\nport = 8094\n\n[[deny]]\nport = 8094\nprotocol = \"tcp\"\ncomment = \"not here\"\n",
    )
    .expect("write");
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:8093", "tcp:127.0.0.1:8094"]);
    let out = gate(&lab, &file, "8093,8094");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let at = file.display();
    assert!(
        err.contains(&format!(
            "portghost: warning: rule at {at}:3 expired on 2020-01-01 and no longer allows anything\n"
        )),
        "{err}"
    );
    let lines = unexpected_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(&format!("is denied by rule at {at}:10 (not here)"))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("rule at {at}:3 expired on 2020-01-01"))),
        "{lines:?}"
    );
    assert_eq!(json(&out)["policy"]["warnings"].as_array().map(Vec::len), Some(1));
}
