//! Live tests of unit and container attribution: a child holding a socket is moved into a
//! cgroup named like a systemd service, a user's own service or a Docker scope, and
//! `portghost scan` must name that unit or container for its owner, and a policy must tell
//! a user's unit from the system's.
//!
//! Runs only as root with a cgroup v2 hierarchy, mounted at `/sys/fs/cgroup` (unified
//! layout) or `/sys/fs/cgroup/unified` (hybrid layout); otherwise each test says why and
//! passes. Every cgroup created is removed when the test ends, pass or fail.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::Lab;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where a cgroup v2 hierarchy may be mounted: the unified layout, then the hybrid one.
const CGROUP_ROOTS: [&str; 2] = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"];

/// The tests may both create `system.slice`; one at a time, so neither removes it under
/// the other.
static CGROUPS: Mutex<()> = Mutex::new(());

/// The cgroup v2 root, or `None` (with the reason printed) when these tests cannot run.
fn cgroup_v2_root() -> Option<PathBuf> {
    if !Lab::root() {
        eprintln!("skipped: moving a process between cgroups needs root");
        return None;
    }
    let root = CGROUP_ROOTS
        .iter()
        .map(PathBuf::from)
        .find(|r| r.join("cgroup.controllers").exists());
    if root.is_none() {
        eprintln!("skipped: no cgroup v2 hierarchy at {CGROUP_ROOTS:?}");
    }
    root
}

/// The cgroup v2 directory `pid` is in now, from its `0::/path` line.
fn current_cgroup(root: &Path, pid: u32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(root.join(path.trim_start_matches('/')))
}

/// A cgroup `system.slice/NAME` holding `pid`. On drop the process goes back to its
/// original cgroup (or is killed), then the cgroup, and `system.slice` if this guard made
/// it, are removed.
struct CgroupGuard {
    pid: u32,
    original: Option<PathBuf>,
    dir: PathBuf,
    created_slice: Option<PathBuf>,
}

impl CgroupGuard {
    fn enter(root: &Path, name: &str, pid: u32) -> CgroupGuard {
        let slice = root.join("system.slice");
        let created_slice = match std::fs::create_dir(&slice) {
            Ok(()) => Some(slice.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
            Err(e) => panic!("mkdir {}: {e}", slice.display()),
        };
        // The guard exists before anything else can fail, so its drop cleans up.
        let guard = CgroupGuard {
            pid,
            original: current_cgroup(root, pid),
            dir: slice.join(name),
            created_slice,
        };
        std::fs::create_dir(&guard.dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", guard.dir.display()));
        std::fs::write(guard.dir.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("moving {pid} into {}: {e}", guard.dir.display()));
        guard
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        let moved_back = self
            .original
            .as_ref()
            .is_some_and(|orig| std::fs::write(orig.join("cgroup.procs"), self.pid.to_string()).is_ok());
        if !moved_back {
            let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        }
        // A killed process leaves its cgroup only once reaped; retry for a while.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::remove_dir(&self.dir).is_err() && self.dir.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Some(slice) = &self.created_slice {
            let _ = std::fs::remove_dir(slice);
        }
    }
}

/// The owner with `pid` of the TCP listener on `port`, from `portghost scan --format json`.
fn scanned_owner(lab: &Lab, port: u16, pid: u32) -> Value {
    let out = lab.portghost(&["scan", "--format", "json", "--port", &port.to_string()]);
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}"));
    v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .filter(|l| l["protocol"] == "tcp" && l["port"] == port)
        .flat_map(|l| l["owners"].as_array().cloned().unwrap_or_default())
        .find(|o| o["pid"] == pid)
        .unwrap_or_else(|| panic!("no owner {pid} on tcp port {port} in {v:#}"))
}

#[test]
fn owner_in_a_service_cgroup_is_attributed_to_the_unit() {
    let Some(root) = cgroup_v2_root() else { return };
    let _one_at_a_time = CGROUPS.lock().unwrap_or_else(|e| e.into_inner());
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:127.0.0.1:3239"]);
    let unit = format!("portghost-test-{pid}.service");
    let guard = CgroupGuard::enter(&root, &unit, pid);

    let owner = scanned_owner(&lab, 3239, pid);
    assert_eq!(owner["unit"], unit.as_str(), "{owner:#}");
    assert!(owner["container"].is_null(), "{owner:#}");

    drop(guard);
    assert!(
        !root.join("system.slice").join(&unit).exists(),
        "test cgroup left behind"
    );
}

#[test]
fn owner_in_a_docker_scope_is_attributed_to_the_container() {
    let Some(root) = cgroup_v2_root() else { return };
    let _one_at_a_time = CGROUPS.lock().unwrap_or_else(|e| e.into_inner());
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:127.0.0.1:3238"]);
    // 64 hex digits, unique per run: the PID in hex, then a fixed filler.
    let full_id = format!("{pid:08x}{}", "0123456789abcdef".repeat(4))[..64].to_string();
    let short_id = &full_id[..12];
    let scope = format!("docker-{full_id}.scope");
    let guard = CgroupGuard::enter(&root, &scope, pid);

    let owner = scanned_owner(&lab, 3238, pid);
    assert_eq!(owner["container"]["runtime"], "docker", "{owner:#}");
    assert_eq!(owner["container"]["id"], short_id, "{owner:#}");
    assert_eq!(owner["container"]["full_id"], full_id.as_str(), "{owner:#}");
    assert_eq!(owner["unit"], scope.as_str(), "{owner:#}");

    let table = lab.portghost(&["scan", "--port", "3238", "--color", "never"]);
    let text = String::from_utf8(table.stdout).expect("utf-8");
    assert!(text.contains(&format!("({pid}) docker:{short_id}")), "{text}");

    drop(guard);
    assert!(
        !root.join("system.slice").join(&scope).exists(),
        "test cgroup left behind"
    );
}

/// A cgroup at `root/parts...` holding `pid`, every missing directory on the way created.
/// On drop the process goes back to its original cgroup (or is killed), and the
/// directories this guard created are removed, innermost first.
struct NestedCgroup {
    pid: u32,
    original: Option<PathBuf>,
    created: Vec<PathBuf>,
}

impl NestedCgroup {
    /// `Err` with the reason when a directory cannot be made or the process not moved.
    fn enter(root: &Path, parts: &[&str], pid: u32) -> Result<NestedCgroup, String> {
        let mut guard = NestedCgroup {
            pid,
            original: current_cgroup(root, pid),
            created: Vec::new(),
        };
        let mut dir = root.to_path_buf();
        for part in parts {
            dir.push(part);
            match std::fs::create_dir(&dir) {
                Ok(()) => guard.created.push(dir.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(format!("mkdir {}: {e}", dir.display())),
            }
        }
        std::fs::write(dir.join("cgroup.procs"), pid.to_string())
            .map_err(|e| format!("moving {pid} into {}: {e}", dir.display()))?;
        Ok(guard)
    }
}

impl Drop for NestedCgroup {
    fn drop(&mut self) {
        let moved_back = self
            .original
            .as_ref()
            .is_some_and(|orig| std::fs::write(orig.join("cgroup.procs"), self.pid.to_string()).is_ok());
        if !moved_back {
            let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        }
        for dir in self.created.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::fs::remove_dir(dir).is_err() && dir.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
fn a_users_own_unit_is_a_user_unit_for_policies() {
    use std::os::unix::fs::PermissionsExt;
    let Some(root) = cgroup_v2_root() else { return };
    let _one_at_a_time = CGROUPS.lock().unwrap_or_else(|e| e.into_inner());
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:127.0.0.1:3240"]);
    // What `systemd-run --user --unit=nginx` makes for user 1000.
    let parts = [
        "user.slice",
        "user-1000.slice",
        "user@1000.service",
        "app.slice",
        "nginx.service",
    ];
    let guard = match NestedCgroup::enter(&root, &parts, pid) {
        Ok(g) => g,
        Err(why) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: cannot make the user's cgroup: {why}");
            return;
        }
        Err(why) => panic!("cannot make the user's cgroup: {why}"),
    };

    let owner = scanned_owner(&lab, 3240, pid);
    assert_eq!(owner["unit"], "nginx.service", "{owner:#}");
    assert_eq!(owner["user_unit_uid"], 1000, "{owner:#}");

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let gate = |key: &str| {
        let path = dir.path().join(format!("{key}.toml"));
        std::fs::write(
            &path,
            format!("version = 1\nmode = \"allowlist\"\n\n[[allow]]\nport = 3240\n{key} = \"nginx.service\"\n"),
        )
        .expect("write policy");
        let file = path.to_str().expect("utf-8").to_string();
        lab.portghost(&["scan", "--policy", &file, "--fail-on-unexpected", "--port", "3240"])
    };
    let out = gate("unit");
    assert_eq!(
        out.status.code(),
        Some(1),
        "a system unit rule must not allow a user's unit: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = gate("user_unit");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    drop(guard);
    assert!(!root.join(parts.join("/")).exists(), "test cgroup left behind");
}
