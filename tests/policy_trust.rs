//! Policy files are trusted as OpenSSH trusts its configuration: a policy planted by another
//! user, writable by group or others, or under a directory others can write is refused with
//! exit 2 naming the file and the fix, whether given with `--policy` or discovered in the
//! working directory; a sticky directory such as `/tmp` is accepted when the file passes.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::Lab;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// A policy that allows every ghost listener on 3237/tcp: what an attacker would plant.
const PERMISSIVE: &str = "version = 1\nmode = \"ghosts\"\n\n[[allow]]\nport = 3237\nprotocol = \"tcp\"\n";

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown_nobody(p: &Path) {
    std::os::unix::fs::chown(p, Some(65534), Some(65534)).expect("chown nobody");
}

fn gate(lab: &Lab, cwd: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["scan", "--port", "3237", "--tcp", "--fail-on-unexpected"];
    args.extend_from_slice(extra);
    let out = lab.portghost_in(Some(cwd), &args);
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn an_untrusted_policy_is_refused_and_a_trusted_one_used() {
    if !Lab::root() {
        if std::env::var_os("CI").is_some_and(|v| v == "true") {
            panic!("CI runs as root: the policy-trust tests must run");
        }
        eprintln!("skipped: needs root to plant files owned by another user");
        return;
    }
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let base = tempfile::tempdir().expect("private temporary directory");

    // A world-writable directory (no sticky bit) with a policy another user planted there.
    let shared = base.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    chmod(&shared, 0o777);
    let planted = shared.join("portghost.toml");
    std::fs::write(&planted, PERMISSIVE).expect("write");
    chown_nobody(&planted);
    let (code, stderr) = gate(&lab, &shared, &[]);
    assert_eq!(
        code,
        Some(2),
        "a planted ./portghost.toml must not decide the gate: {stderr}"
    );
    assert!(
        stderr.contains("portghost.toml") && stderr.contains("untrusted policy"),
        "{stderr}"
    );
    let (code, stderr) = gate(&lab, base.path(), &["--policy", planted.to_str().expect("utf-8")]);
    assert_eq!(code, Some(2), "--policy names the same file: {stderr}");

    // Owned by root but in that world-writable directory: refused, naming the directory.
    std::os::unix::fs::chown(&planted, Some(0), Some(0)).expect("chown root");
    let (code, stderr) = gate(&lab, &shared, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("its directory") && stderr.contains("chmod go-w"),
        "{stderr}"
    );

    // A sticky directory (like /tmp) is accepted when the file itself passes.
    chmod(&shared, 0o1777);
    let (code, stderr) = gate(&lab, &shared, &[]);
    assert_eq!(code, Some(0), "root's policy in a sticky directory is used: {stderr}");
    assert!(stderr.contains("portghost: policy: ./portghost.toml"), "{stderr}");
    // ... but not another user's file there.
    chown_nobody(&planted);
    let (code, stderr) = gate(&lab, &shared, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("is owned by uid 65534"), "{stderr}");

    // A group-writable policy in a private directory: refused with the fix.
    let private = base.path().join("private");
    std::fs::create_dir(&private).expect("mkdir");
    chmod(&private, 0o700);
    let policy = private.join("portghost.toml");
    std::fs::write(&policy, PERMISSIVE).expect("write");
    chmod(&policy, 0o664);
    let (code, stderr) = gate(&lab, &private, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("chmod go-w") && stderr.contains("mode 664"), "{stderr}");
    chmod(&policy, 0o644);
    let (code, stderr) = gate(&lab, &private, &[]);
    assert_eq!(code, Some(0), "a private root-owned policy is used: {stderr}");
}
