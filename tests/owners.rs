//! Live tests of owner details: the user is the process's effective UID, named through the
//! system's user database, and the command line is read as the kernel holds it.

mod common;

use common::Lab;
use serde_json::Value;
use std::process::Command;

/// `getent passwd UID`'s user name, as the rest of the system would print it.
fn getent_name(uid: u32) -> Option<String> {
    let out = Command::new("getent")
        .args(["passwd", &uid.to_string()])
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?;
    line.split(':').next().filter(|n| !n.is_empty()).map(str::to_owned)
}

/// The owner object with `pid` in a `scan --format json` output.
fn owner_with_pid(v: &Value, pid: u32) -> &Value {
    v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .flat_map(|l| l["owners"].as_array().into_iter().flatten())
        .find(|o| o["pid"] == pid)
        .unwrap_or_else(|| panic!("no listener owned by {pid}: {v:#}"))
}

#[test]
fn owner_user_is_the_effective_uid_by_name() {
    if !Lab::root() {
        eprintln!("skipped: changing a child's effective UID needs root");
        return;
    }
    let mut lab = Lab::new();
    // Bind as root, then keep real UID 0 but switch the effective UID to 65534, as a
    // daemon that drops privileges with seteuid() does.
    let (pid, _) = lab.hold_script(
        "import os, socket, sys\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', 48123)); s.listen(4)\n\
         os.setresuid(0, 65534, 0)\n\
         print('READY', flush=True)\n\
         sys.stdin.read()\n",
    );
    let out = lab.portghost(&["scan", "--format", "json", "--port", "48123"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let owner = owner_with_pid(&v, pid);
    assert_eq!(owner["uid"], 65534, "the effective UID, as ps shows it: {owner:#}");
    match getent_name(65534) {
        Some(name) => assert_eq!(owner["user"], name.as_str(), "{owner:#}"),
        None => assert!(owner["user"].is_null(), "no name invented: {owner:#}"),
    }
    let cmdline = owner["cmdline"].as_str().expect("cmdline");
    assert!(cmdline.contains(" -c ") && cmdline.contains("setresuid"), "{cmdline}");
}

#[test]
fn owner_name_is_exact_even_when_status_would_escape_it() {
    let mut lab = Lab::new();
    // A name with a backslash, a newline and a trailing space: /proc/PID/status escapes
    // the first two, so the name must come from /proc/PID/comm.
    let (pid, _) = lab.hold_script(
        "import ctypes, socket, sys\n\
         ctypes.CDLL(None).prctl(15, b'ev\\\\il\\nx ', 0, 0, 0)\n\
         s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', 48124)); s.listen(4)\n\
         print('READY', flush=True)\n\
         sys.stdin.read()\n",
    );
    let comm = std::fs::read(format!("/proc/{pid}/comm")).expect("comm");
    assert_eq!(comm, b"ev\\il\nx \n", "the kernel kept the name as set");
    let out = lab.portghost(&["scan", "--format", "json", "--port", "48124"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let owner = owner_with_pid(&v, pid);
    assert_eq!(owner["name"], "ev\\il\nx ", "{owner:#}");
}
