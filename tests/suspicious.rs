//! Live tests of suspicious owners: a listener whose process runs from a world-writable
//! temporary directory, and one whose executable was deleted after it started, are both
//! flagged `suspicious-executable` (high) and unexpected.

mod common;

use common::{Lab, python};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A private copy of the Python interpreter in `dir`, removed with the directory on drop.
struct Copy {
    dir: PathBuf,
    exe: PathBuf,
}

impl Copy {
    fn new(dir: PathBuf) -> Copy {
        std::fs::create_dir_all(&dir).expect("create dir");
        let exe = dir.join("pgholder");
        std::fs::copy(python(), &exe).expect("copy the interpreter");
        Copy { dir, exe }
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The listener on `port` and its first `suspicious-executable` finding whose message
/// contains `needle`.
fn finding(lab: &Lab, port: u16, needle: &str) -> (Value, Value) {
    let out = lab.portghost(&["scan", "--format", "json", "--port", &port.to_string()]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let l = v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .find(|l| l["port"] == port)
        .unwrap_or_else(|| panic!("port {port} not listed: {v:#}"))
        .clone();
    let f = l["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["kind"] == "suspicious-executable" && f["message"].as_str().is_some_and(|m| m.contains(needle)))
        .unwrap_or_else(|| panic!("no suspicious-executable finding with {needle:?}: {l:#}"))
        .clone();
    (l, f)
}

#[test]
fn process_running_from_tmp_is_flagged() {
    let copy = Copy::new(Path::new("/tmp").join(format!("portghost-test-{}", std::process::id())));
    let mut lab = Lab::new();
    let pid = lab.hold_with(&copy.exe, &["tcp:127.0.0.1:8081"]);
    let (l, f) = finding(&lab, 8081, "from /tmp/");
    assert_eq!(l["owners"][0]["pid"], pid);
    assert_eq!(l["owners"][0]["exe"], copy.exe.to_string_lossy().as_ref());
    assert_eq!(l["verdict"], "unexpected", "8081 alone would be unreviewed");
    assert_eq!(f["severity"], "high");
    let msg = f["message"].as_str().expect("message");
    assert!(
        msg.contains("from /tmp/, a world-writable temporary directory"),
        "{msg}"
    );
}

#[test]
fn process_whose_executable_was_deleted_is_flagged() {
    let copy = Copy::new(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("deleted-{}", std::process::id())));
    let mut lab = Lab::new();
    let pid = lab.hold_with(&copy.exe, &["tcp:127.0.0.1:8082"]);
    std::fs::remove_file(&copy.exe).expect("delete the running executable");
    let (l, f) = finding(&lab, 8082, "which was deleted after it started");
    assert_eq!(l["owners"][0]["pid"], pid);
    assert_eq!(l["owners"][0]["exe_deleted"], true);
    assert_eq!(
        l["owners"][0]["exe"],
        copy.exe.to_string_lossy().as_ref(),
        "path without ' (deleted)'"
    );
    assert_eq!(l["verdict"], "unexpected");
    let msg = f["message"].as_str().expect("message");
    assert!(msg.contains("which was deleted after it started"), "{msg}");
}

#[test]
fn ordinary_executable_is_not_flagged() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:8083"]);
    let out = lab.portghost(&["scan", "--format", "json", "--port", "8083"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let l = &v["listeners"][0];
    assert_eq!(l["owners"][0]["exe_deleted"], false);
    assert_eq!(l["verdict"], "unreviewed", "{l:#}");
}
