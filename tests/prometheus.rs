//! `scan --format prometheus` checked by Prometheus's own linter (`promtool check metrics`,
//! Debian's `prometheus` package; required when `CI` is set, else skipped with a note), on a
//! real scan with a ghost listener whose process name needs escaping; and the example
//! alerting rules checked with `promtool check rules` and `promtool test rules`.

mod common;

use common::Lab;
use std::path::Path;
use std::process::Command;

/// True when `promtool` runs; panics in CI (`CI` set) when it does not.
pub fn have_promtool() -> bool {
    let ok = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool (Debian's prometheus package) is needed in CI: .ci/run installs it"
        );
        eprintln!("note: promtool not found (apt-get install prometheus); the Prometheus checks are skipped");
    }
    ok
}

/// `promtool check metrics` on `text`: panics with its output when it complains.
fn check_metrics(text: &str) {
    common::promtool(&["check", "metrics"], text.as_bytes());
}

/// Binds 3237/tcp (apparenet-tps, a ghost port) with the process name `ev"il\x`.
const EVIL_NAME_LISTENER: &str = r#"
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b'ev"il\\x', 0, 0, 0)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 3237))
s.listen()
print("READY", flush=True)
sys.stdin.read()
"#;

#[test]
fn scan_prometheus_output_passes_promtool_and_escapes_labels() {
    let mut lab = Lab::new();
    if !lab.isolated() {
        eprintln!("note: not root or no `ip`: the Prometheus scan test needs a private network namespace; skipped");
        return;
    }
    lab.hold_script(EVIL_NAME_LISTENER);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("portghost.prom");
    let file_arg = file.to_str().expect("utf-8 path");
    let out = lab.portghost(&["scan", "--format", "prometheus", "--output", file_arg, "--quiet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).expect("the textfile");
    assert!(
        text.contains(
            r#"portghost_listener_info{protocol="tcp",port="3237",address_scope="loopback",process="ev\"il\\x","#
        ),
        "{text}"
    );
    assert!(
        text.contains("portghost_listeners{verdict=\"unexpected\"} 1\n"),
        "{text}"
    );
    assert!(text.contains("portghost_scan_complete 1\n"), "{text}");
    for name in [
        "portghost_listeners",
        "portghost_findings",
        "portghost_listener_info",
        "portghost_scan_complete",
        "portghost_last_scan_timestamp_seconds",
        "portghost_scan_duration_seconds",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name}");
    }
    // No temporary file is left for node_exporter to read.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, [std::ffi::OsString::from("portghost.prom")]);
    if have_promtool() {
        check_metrics(&text);
    }
}

/// The example rules file and its unit tests.
const RULES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prometheus");

#[test]
fn example_alert_rules_pass_promtool_check_and_unit_tests() {
    let rules = Path::new(RULES_DIR).join("portghost.rules.yml");
    let tests = Path::new(RULES_DIR).join("portghost.rules.test.yml");
    if !have_promtool() {
        return;
    }
    let check = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool check rules");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&tests)
        .current_dir(RULES_DIR)
        .output()
        .expect("promtool test rules");
    assert!(
        test.status.success(),
        "{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
}
