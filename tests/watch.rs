//! `portghost watch` live, in private network namespaces: a ghost listener opened while it
//! runs is a `listener-added` event with verdict unexpected, its closing a
//! `listener-removed` event, and SIGTERM ends the watch with status 0; a rewritten policy
//! is picked up (`policy-reloaded`, then `verdict-changed`), a broken one is an `error`
//! naming file, line and column while the old verdicts stay; `--all-netns` sees a
//! namespace created after start; `--journal` writes structured entries to a real
//! systemd-journald started for the test in a private mount namespace; a packet socket
//! (no port) is added and removed like a port listener; a namespace that vanishes under
//! `--netns` makes each cycle an `error` event and `--max-failures` in a row exit 2. The
//! flag checks are in `tests/watch_flags.rs`; the live tests need root and `ip` (and the
//! journal test systemd-journald, journalctl, unshare and nsenter), and skip with a note
//! otherwise, except under CI=true. The event diffing itself is unit-tested in
//! `src/watch.rs`, the state's size under churn in `src/app/watch_cmd.rs`.

#![cfg(unix)]

mod common;

use common::{Lab, Started, require, tool};
use serde_json::{Value, json};
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portghost")
}

/// A running `portghost watch` whose stdout events arrive on a channel; killed by PID when
/// dropped.
struct Watcher {
    child: Option<Child>,
    events: mpsc::Receiver<Value>,
}

impl Watcher {
    /// Starts `cmd` (portghost itself, or `ip netns exec NS portghost`, which execs it, so
    /// the PID is portghost's) with stdout piped.
    fn start(cmd: &mut Command) -> Watcher {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start portghost watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).expect("each event is one JSON object");
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Watcher {
            child: Some(child),
            events,
        }
    }

    /// Waits up to `within` for an event that `wanted` accepts; returns it and every event
    /// that came before it.
    fn wait_for(&self, what: &str, within: Duration, wanted: impl Fn(&Value) -> bool) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + within;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) if wanted(&v) => return (v, before),
                Ok(v) => before.push(v),
                Err(_) => panic!("no {what} within {within:?}; seen: {before:#?}"),
            }
        }
    }

    /// Waits up to `within` for the watch to exit; its status, or `None` if it still runs.
    fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let child = self.child.as_mut().expect("child");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits up to 5 s for the exit status (killed by the drop if not).
    fn terminate(mut self) -> ExitStatus {
        let pid = self.child.as_ref().expect("child").id();
        let killed = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(killed, "kill -TERM {pid}");
        self.exited_within(Duration::from_secs(5))
            .expect("portghost watch did not stop within 5 s of SIGTERM")
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Checks that the `listener-added` event `added` is owned by `pid`. A full scan may be
/// running when the listener opens (other tests' namespaces come and go under
/// `--all-netns`; every `--owner-interval` otherwise): its dump sees the socket and its
/// /proc walk, begun earlier, not the owner. The watch then scans again at once, and the
/// owner follows in an `owner-changed` event about the same socket, which `wanted` accepts.
fn assert_added_by(watcher: &Watcher, added: &Value, pid: u32, wanted: impl Fn(&Value) -> bool) {
    if added["listener"]["owners"][0]["pid"] == pid {
        return;
    }
    assert_eq!(added["listener"]["owners"], serde_json::json!([]), "{added}");
    let (owned, _) = watcher.wait_for("owner-changed", Duration::from_secs(5), |v| {
        v["event"] == "owner-changed" && v["listener"]["inode"] == added["listener"]["inode"] && wanted(v)
    });
    assert_eq!(owned["listener"]["owners"][0]["pid"], pid, "{owned}");
}

/// `event` about a port listener on `port`.
fn about(v: &Value, event: &str, port: u64) -> bool {
    v["event"] == event && v["listener"]["port"] == port
}

/// `portghost watch ARGS` in the lab's namespace.
fn watch_in(netns: &str, args: &[&str]) -> Watcher {
    Watcher::start(
        Command::new("ip")
            .args(["netns", "exec", netns, bin(), "watch"])
            .args(args),
    )
}

/// The name of the lab's private network namespace; `None`, with the skip printed (or a
/// failure under CI=true), when there is none (no root or no `ip`).
fn netns_or_skip(lab: &Lab) -> Option<String> {
    let netns = lab.netns_name().map(str::to_owned);
    if netns.is_none() {
        require("root and `ip` (a private network namespace)", false);
    }
    netns
}

/// `portghost watch ARGS` in the lab's namespace, returned once its first cycle has run:
/// a sentinel listener (127.0.0.1:47001) held before the start has come as a snapshot.
/// A listener opened after this is a `listener-added`, never part of the snapshot.
fn watch_after_first_cycle(lab: &mut Lab, netns: &str, args: &[&str]) -> Watcher {
    lab.hold(&["tcp:127.0.0.1:47001"]);
    let watcher = watch_in(netns, args);
    watcher.wait_for("the sentinel's snapshot", Duration::from_secs(5), |v| {
        about(v, "snapshot", 47_001)
    });
    watcher
}

#[test]
fn watch_reports_a_ghost_listener_added_and_removed_then_stops_on_sigterm() {
    let mut lab = Lab::new();
    let Some(netns) = netns_or_skip(&lab) else {
        return;
    };
    let watcher = watch_after_first_cycle(&mut lab, &netns, &["--interval", "0.2", "--no-policy"]);
    let holder = lab.hold(&["tcp:0.0.0.0:3237"]);
    let within = Duration::from_secs(2);
    let (added, _) = watcher.wait_for("listener-added 3237", within, |v| about(v, "listener-added", 3237));
    assert_eq!(added["listener"]["verdict"], "unexpected", "{added}");
    assert_added_by(&watcher, &added, holder, |_| true);
    assert!(added["time"].is_string() && added["host"].is_string(), "{added}");
    lab.stop(holder);
    let (removed, _) = watcher.wait_for("listener-removed 3237", within, |v| about(v, "listener-removed", 3237));
    assert_eq!(removed["listener"]["inode"], added["listener"]["inode"], "{removed}");
    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// A listener on 127.0.0.1:3237 whose owners change on signals while the socket stays the
/// same: SIGUSR1 forks a child that holds it too (and obeys the same signals), SIGUSR2
/// kills and reaps that child, SIGWINCH closes this process's copy (the process lives on),
/// SIGHUP execs `sleep` with the listener kept open.
const SHAPESHIFTER: &str = r#"
import os, shutil, signal, socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 3237))
s.listen(16)
os.set_inheritable(s.fileno(), True)
sleep = shutil.which("sleep")
wanted = {signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGHUP}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
print("READY", flush=True)
child = 0
while True:
    sig = signal.sigwait(wanted)
    if sig == signal.SIGUSR1:
        child = os.fork()
    elif sig == signal.SIGUSR2 and child > 0:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        child = 0
    elif sig == signal.SIGWINCH:
        s.close()
    elif sig == signal.SIGHUP:
        os.execv(sleep, ["sleep", "3600"])
"#;

/// Sends `signal` (`USR1`, `HUP`, …) to `pid`.
fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "kill -{signal} {pid}");
}

/// The owners of the listener in event `v`, as (PID, name) pairs in PID order.
fn owners_of(v: &Value) -> Vec<(u64, String)> {
    let mut owners: Vec<(u64, String)> = v["listener"]["owners"]
        .as_array()
        .expect("owners")
        .iter()
        .map(|o| {
            (
                o["pid"].as_u64().expect("pid"),
                o["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    owners.sort();
    owners
}

/// With the socket table unchanged, owner changes are seen only by the periodic owner
/// walk, which reads again only the descriptors of processes that ran since the last
/// one: a fork, a child's exit, a process closing its copy while it lives on, and an exec
/// must each still be an `owner-changed` event within `--owner-interval` (here 5 cycles of
/// 0.2 s; the wait allows 3 s, far less than the walk's forced re-read of every process
/// after 30 reuses), and none of them a listener added or removed.
#[test]
fn owner_changes_without_socket_changes_are_reported_within_the_owner_interval() {
    let mut lab = Lab::new();
    let Some(netns) = netns_or_skip(&lab) else {
        return;
    };
    let (parent, _) = lab.hold_script(SHAPESHIFTER);
    let parent_u = u64::from(parent);
    let watcher = watch_in(&netns, &["--interval", "0.2", "--owner-interval", "5", "--no-policy"]);
    let within = Duration::from_secs(3);
    let (snapshot, _) = watcher.wait_for("snapshot 3237", within, |v| about(v, "snapshot", 3237));
    let python = owners_of(&snapshot);
    assert_eq!(python.len(), 1, "{snapshot}");
    assert_eq!(python[0].0, parent_u, "{snapshot}");
    let name = python[0].1.clone();
    let inode = snapshot["listener"]["inode"].clone();
    let next_change = |what: &str| {
        let (changed, before) = watcher.wait_for(what, within, |v| about(v, "owner-changed", 3237));
        assert_eq!(changed["listener"]["inode"], inode, "the same socket: {changed}");
        let churn: Vec<&Value> = before
            .iter()
            .filter(|v| v["event"] != "owner-changed" && v["listener"]["port"] == 3237)
            .collect();
        assert!(churn.is_empty(), "the socket did not change, yet: {churn:#?}");
        (owners_of(&changed), changed)
    };

    // A fork: the child holds the listener too.
    signal(parent, "USR1");
    let (owners, changed) = next_change("owner-changed after a fork");
    assert_eq!(owners.len(), 2, "{changed}");
    assert_eq!(
        owners_of(&json!({"listener": changed["previous"]})),
        [(parent_u, name.clone())]
    );
    let child = owners.iter().find(|o| o.0 != parent_u).expect("the child").0;
    lab.adopt(u32::try_from(child).expect("pid"));
    assert_eq!(owners, [(parent_u, name.clone()), (child, name.clone())]);

    // The child exits.
    signal(parent, "USR2");
    let (owners, changed) = next_change("owner-changed after the child exited");
    assert_eq!(owners, [(parent_u, name.clone())], "{changed}");

    // Another fork, then the parent closes its copy and lives on: only the child holds it.
    signal(parent, "USR1");
    let (owners, changed) = next_change("owner-changed after a second fork");
    let child = owners.iter().find(|o| o.0 != parent_u).expect("the child").0;
    lab.adopt(u32::try_from(child).expect("pid"));
    assert_eq!(owners.len(), 2, "{changed}");
    signal(parent, "WINCH");
    let (owners, changed) = next_change("owner-changed after the parent closed its copy");
    assert_eq!(owners, [(child, name.clone())], "{changed}");
    assert!(Path::new(&format!("/proc/{parent}")).exists(), "the parent lives on");

    // The child execs: same PID, another program, the listener kept.
    signal(u32::try_from(child).expect("pid"), "HUP");
    let (owners, changed) = next_change("owner-changed after an exec");
    assert_eq!(owners, [(child, "sleep".to_owned())], "{changed}");
    let exe = changed["listener"]["owners"][0]["exe"].as_str().unwrap_or_default();
    assert!(exe.ends_with("/sleep"), "{changed}");

    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

/// Replaces the file at `path` with `text` the way an editor or `install` does: a new file
/// renamed over it, so the watch never reads half a file.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the new policy");
    std::fs::rename(&tmp, path).expect("rename the new policy into place");
}

#[test]
fn a_changed_policy_is_reloaded_and_a_broken_one_keeps_the_old_verdicts() {
    let mut lab = Lab::new();
    let Some(netns) = netns_or_skip(&lab) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    let shown = policy.to_str().expect("utf-8 path").to_owned();
    std::fs::write(&policy, "version = 1\n").expect("write the policy");
    let holder = lab.hold(&["tcp:127.0.0.1:3237"]);
    let watcher = watch_in(&netns, &["--interval", "0.2", "--policy", &shown]);
    let within = Duration::from_secs(5);
    let (snapshot, _) = watcher.wait_for("snapshot of 3237", within, |v| about(v, "snapshot", 3237));
    assert_eq!(snapshot["listener"]["verdict"], "unexpected", "{snapshot}");

    // A policy that allows the ghost port: the listener becomes expected.
    replace(&policy, "version = 1\n\n[[allow]]\nport = 3237\nprotocol = \"tcp\"\n");
    let (reloaded, before) = watcher.wait_for("policy-reloaded", within, |v| v["event"] == "policy-reloaded");
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(reloaded["file"], shown.as_str(), "{reloaded}");
    assert!(
        reloaded["message"].as_str().is_some_and(|m| m.contains("1 rule")),
        "{reloaded}"
    );
    let (changed, _) = watcher.wait_for("verdict-changed 3237", within, |v| about(v, "verdict-changed", 3237));
    assert_eq!(changed["listener"]["verdict"], "expected", "{changed}");
    assert_eq!(changed["previous"]["verdict"], "unexpected", "{changed}");
    assert_eq!(changed["listener"]["owners"][0]["pid"], holder, "{changed}");

    // A broken policy: an error naming file, line and column, and the old policy stays.
    replace(&policy, "version = 1\n\n[[allow]]\nport = \"x\"\n");
    let (error, before) = watcher.wait_for("error", within, |v| v["event"] == "error");
    assert!(before.is_empty(), "{before:#?}");
    assert_eq!(error["file"], shown.as_str(), "{error}");
    assert_eq!(error["line"], 4, "{error}");
    assert!(error["column"].as_u64().is_some_and(|c| c >= 1), "{error}");
    let message = error["message"].as_str().expect("message");
    assert!(message.starts_with(&format!("{shown}:4:")), "{message}");
    assert!(message.contains("keeping the policy read before"), "{message}");
    // The watch goes on: a new listener is seen, and judged by the old policy.
    let second = lab.hold(&["tcp:127.0.0.1:3238"]);
    let (added, before) = watcher.wait_for("listener-added 3238", within, |v| about(v, "listener-added", 3238));
    assert_eq!(added["listener"]["verdict"], "unexpected", "{added}");
    assert!(before.iter().all(|v| v["event"] != "verdict-changed"), "{before:#?}");
    assert_added_by(&watcher, &added, second, |_| true);

    // An untrusted policy (group-writable) is refused the same way.
    replace(&policy, "version = 1\n\n[[deny]]\nport = 3237\n");
    std::fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o664)).expect("chmod");
    let (error, before) = watcher.wait_for("error", within, |v| v["event"] == "error");
    assert!(before.iter().all(|v| v["event"] != "verdict-changed"), "{before:#?}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("untrusted policy")),
        "{error}"
    );
    // Fixed: the deny rule applies, and the verdict it changes is the one the first
    // reload set, so the broken and untrusted files changed nothing.
    std::fs::set_permissions(&policy, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    let (_, before) = watcher.wait_for("policy-reloaded", within, |v| v["event"] == "policy-reloaded");
    assert!(before.is_empty(), "{before:#?}");
    let (changed, _) = watcher.wait_for("verdict-changed 3237", within, |v| about(v, "verdict-changed", 3237));
    assert_eq!(changed["listener"]["verdict"], "unexpected", "{changed}");
    assert_eq!(changed["previous"]["verdict"], "expected", "{changed}");
    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

#[test]
fn all_netns_picks_up_a_namespace_created_after_start_and_drops_a_deleted_one() {
    if !require("root and `ip` (network namespaces)", Lab::can_isolate()) {
        return;
    }
    // An unusual port: --all-netns also sees the namespaces of tests running alongside.
    const PORT: u64 = 47_123;
    let spec = format!("tcp:127.0.0.1:{PORT}");
    let port = PORT.to_string();
    let mut before_start = Lab::new();
    let first = before_start.hold(&[&spec]);
    let first_ns = before_start.netns_name().expect("netns").to_owned();
    let watcher = Watcher::start(Command::new(bin()).args([
        "watch",
        "--all-netns",
        "--interval",
        "0.2",
        "--no-policy",
        "--port",
        &port,
    ]));
    let in_ns = |v: &Value, event: &str, ns: &str| about(v, event, PORT) && v["listener"]["netns"]["name"] == ns;
    let within = Duration::from_secs(5);
    // The snapshot proves the first cycle ran before the second namespace exists.
    let (snapshot, _) = watcher.wait_for("snapshot in the first namespace", within, |v| {
        in_ns(v, "snapshot", &first_ns)
    });
    assert_eq!(snapshot["listener"]["owners"][0]["pid"], first, "{snapshot}");

    let mut after_start = Lab::new();
    let second_ns = after_start.netns_name().expect("netns").to_owned();
    let second = after_start.hold(&[&spec]);
    let (added, _) = watcher.wait_for("listener-added in the new namespace", within, |v| {
        in_ns(v, "listener-added", &second_ns)
    });
    assert_added_by(&watcher, &added, second, |v| in_ns(v, "owner-changed", &second_ns));
    assert_eq!(
        added["listener"]["netns"]["inode"],
        after_start.netns_inode().expect("inode"),
        "{added}"
    );
    after_start.stop(second);
    let (_, before) = watcher.wait_for("listener-removed in the new namespace", within, |v| {
        in_ns(v, "listener-removed", &second_ns)
    });
    assert!(before.iter().all(|v| v["event"] != "error"), "{before:#?}");
    // Deleting the namespace: the watch goes on without errors.
    drop(after_start);
    before_start.stop(first);
    let (_, before) = watcher.wait_for("listener-removed in the first namespace", within, |v| {
        in_ns(v, "listener-removed", &first_ns)
    });
    assert!(before.iter().all(|v| v["event"] != "error"), "{before:#?}");
    let status = watcher.terminate();
    assert_eq!(status.code(), Some(0), "{status}");
}

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

#[test]
fn journal_without_a_journal_is_a_clear_error() {
    // Where a journal runs, hide it in a private mount namespace (root and unshare).
    let hide = Path::new(JOURNAL_SOCKET).exists();
    if hide
        && !require(
            "root and unshare (to hide the running journal)",
            Lab::root() && tool("unshare").is_some(),
        )
    {
        return;
    }
    let mut cmd = if hide {
        let mut c = Command::new("unshare");
        c.args(["--mount", "--propagation", "private", "sh", "-c"]).arg(format!(
            "mount -t tmpfs -o mode=0755 portghost-test /run && exec {} watch --no-policy --journal",
            bin()
        ));
        c
    } else {
        let mut c = Command::new(bin());
        c.args(["watch", "--no-policy", "--journal"]);
        c
    };
    let out = cmd.stdin(Stdio::null()).output().expect("run portghost");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--journal: cannot reach the systemd journal at /run/systemd/journal/socket"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no event may go elsewhere");
}

/// systemd-journald's binary, where Debian and others put it.
fn journald() -> Option<std::path::PathBuf> {
    ["/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.is_file())
}

/// Every entry journald stored for portghost so far, read with journalctl inside the mount
/// namespace of `pid` (journald's).
fn journal_entries(pid: u32) -> Vec<Value> {
    let out = Command::new("nsenter")
        .args(["--target", &pid.to_string(), "--mount", "--"])
        .args([
            "journalctl",
            "--directory",
            "/run/log/journal",
            "--output",
            "json",
            // Fields over 4 KiB (a JSON line can be) are shown only with --all.
            "--all",
            "--no-pager",
        ])
        .arg("SYSLOG_IDENTIFIER=portghost")
        .stdin(Stdio::null())
        .output()
        .expect("run journalctl");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn journal_entries_carry_the_structured_fields() {
    let mut lab = Lab::new();
    let (Some(journald), Some(_), Some(_), Some(_)) =
        (journald(), tool("journalctl"), tool("unshare"), tool("nsenter"))
    else {
        require(
            "systemd-journald, journalctl, unshare and nsenter (Debian: systemd, util-linux)",
            false,
        );
        return;
    };
    let Some(netns) = netns_or_skip(&lab) else {
        return;
    };
    // A journald of the test's own: /run and /var/log are private tmpfs mounts, so the
    // host's journal (if any) is neither seen nor written. `ip netns exec` mounts a fresh
    // /sys without the cgroup file system, which journald needs: mount it again.
    let script = format!(
        r#"set -e
mount -t tmpfs -o mode=0755 portghost-test /run
mount -t tmpfs -o mode=0755 portghost-test /var/log
mkdir -p /run/systemd/journal /run/log/journal
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 portghost-test /sys/fs/cgroup
{journald} & echo "journald $!"
i=0; while [ ! -S {JOURNAL_SOCKET} ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
[ -S {JOURNAL_SOCKET} ]
{bin} watch --journal --interval 0.2 --no-policy & echo "watch $!"
echo READY
wait"#,
        journald = journald.display(),
        bin = bin(),
    );
    let holder = lab.hold(&["tcp:0.0.0.0:3237"]);
    let mut child = Command::new("ip")
        .args(["netns", "exec", &netns])
        .args(["unshare", "--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start journald and the watch");
    let stdout = child.stdout.take().expect("stdout");
    let mut started = Started {
        child,
        pids: Vec::new(),
    };
    let (mut journald_pid, mut watch_pid) = (0u32, 0u32);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the supervisor's output");
        let mut words = line.split_whitespace();
        match (words.next(), words.next().and_then(|p| p.parse().ok())) {
            (Some("journald"), Some(pid)) => journald_pid = pid,
            (Some("watch"), Some(pid)) => watch_pid = pid,
            (Some("READY"), _) => break,
            _ => {}
        }
        started.pids = vec![watch_pid, journald_pid];
    }
    assert!(journald_pid > 0 && watch_pid > 0, "journald or the watch did not start");

    // The snapshot of 3237 (it listened before the watch started) proves the first cycle
    // ran; then a new listener on 3238 is a listener-added entry.
    let deadline = Instant::now() + Duration::from_secs(10);
    let find = |event: &str, port: u16| -> Value {
        loop {
            let entries = journal_entries(journald_pid);
            if let Some(e) = entries.iter().find(|e| {
                e["PORTGHOST_EVENT"] == event && e["PORTGHOST_PORT"].as_str() == Some(port.to_string().as_str())
            }) {
                return e.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {event} entry for port {port} in the journal; entries: {entries:#?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let snapshot = find("snapshot", 3237);
    let second = lab.hold(&["udp:127.0.0.1:3238"]);
    let added = find("listener-added", 3238);
    // Opened while a periodic full scan ran, the owner comes in an owner-changed entry (see
    // assert_added_by): then the added entry has no owner fields.
    let added_pid = if added.get("PORTGHOST_PID").is_some() {
        second
    } else {
        let owned = find("owner-changed", 3238);
        assert_eq!(owned["PORTGHOST_PID"], second.to_string(), "{owned:#}");
        0
    };
    for (entry, port, pid, protocol, address) in [
        (&snapshot, 3237, holder, "tcp", "0.0.0.0"),
        (&added, 3238, added_pid, "udp", "127.0.0.1"),
    ] {
        assert_eq!(entry["PORTGHOST_PROTOCOL"], protocol, "{entry:#}");
        assert_eq!(entry["PORTGHOST_ADDRESS"], address, "{entry:#}");
        if pid == 0 {
            assert!(entry.get("PORTGHOST_PID").is_none(), "{entry:#}");
        } else {
            assert_eq!(entry["PORTGHOST_PID"], pid.to_string(), "{entry:#}");
        }
        assert_eq!(entry["PORTGHOST_VERDICT"], "unexpected", "{entry:#}");
        // warning: an unexpected listener.
        assert_eq!(entry["PRIORITY"], "4", "{entry:#}");
        assert_eq!(entry["_PID"], watch_pid.to_string(), "{entry:#}");
        let message = entry["MESSAGE"].as_str().expect("MESSAGE");
        let owner = if pid == 0 {
            "owner unknown".to_owned()
        } else {
            format!("(pid {pid})")
        };
        assert!(
            message.contains(&format!("{protocol} {address}:{port}")) && message.contains(&owner),
            "{message}"
        );
        let line: Value =
            serde_json::from_str(entry["PORTGHOST_JSON"].as_str().expect("PORTGHOST_JSON")).expect("the JSON line");
        assert_eq!(line["event"], entry["PORTGHOST_EVENT"], "{line}");
        assert_eq!(line["listener"]["port"], port, "{line}");
        if pid != 0 {
            assert_eq!(line["listener"]["owners"][0]["pid"], pid, "{line}");
        }
    }
    drop(started);
}

#[test]
fn a_packet_socket_is_added_and_removed_like_a_port_listener() {
    let mut lab = Lab::new();
    let Some(netns) = netns_or_skip(&lab) else {
        return;
    };
    let watcher = watch_after_first_cycle(&mut lab, &netns, &["--interval", "0.2", "--no-policy"]);
    // An AF_PACKET socket bound to every protocol, as a sniffer or a BPFDoor-class implant
    // opens it: no port, yet a listener.
    let (pid, _) = lab.hold_script(
        "import socket, sys\n\
         s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))\n\
         print('READY', flush=True)\n\
         sys.stdin.read()\n",
    );
    let packet = |v: &Value, event: &str| v["event"] == event && v["listener"]["socket"] == "packet";
    let within = Duration::from_secs(3);
    let (added, _) = watcher.wait_for("listener-added of the packet socket", within, |v| {
        packet(v, "listener-added")
    });
    assert!(added["listener"].get("port").is_none(), "{added}");
    assert_eq!(added["listener"]["verdict"], "unexpected", "{added}");
    assert_added_by(&watcher, &added, pid, |v| packet(v, "owner-changed"));
    lab.stop(pid);
    let (removed, _) = watcher.wait_for("listener-removed of the packet socket", within, |v| {
        packet(v, "listener-removed")
    });
    assert_eq!(removed["listener"]["inode"], added["listener"]["inode"], "{removed}");
    assert_eq!(watcher.terminate().code(), Some(0));
}

#[test]
fn failed_cycles_are_error_events_and_too_many_in_a_row_exit_2() {
    if !require("root and `ip` (network namespaces)", Lab::can_isolate()) {
        return;
    }
    let mut lab = Lab::new();
    let netns = lab.netns_name().expect("netns").to_owned();
    let holder = lab.hold(&["tcp:127.0.0.1:3237"]);
    let mut watcher = Watcher::start(Command::new(bin()).args([
        "watch",
        "--netns",
        &netns,
        "--interval",
        "0.2",
        "--max-failures",
        "3",
        "--no-policy",
    ]));
    let within = Duration::from_secs(5);
    let (snapshot, _) = watcher.wait_for("snapshot", within, |v| about(v, "snapshot", 3237));
    assert_eq!(snapshot["listener"]["owners"][0]["pid"], holder, "{snapshot}");
    // The namespace goes away under the watch: every cycle now fails.
    drop(lab);
    let (first, _) = watcher.wait_for("an error event", within, |v| v["event"] == "error");
    assert!(first["message"].as_str().is_some_and(|m| m.contains(&netns)), "{first}");
    let status = watcher
        .exited_within(within)
        .expect("the watch exits after --max-failures failed cycles");
    assert_eq!(status.code(), Some(2), "{status}");
    let errors = std::iter::from_fn(|| watcher.events.recv_timeout(Duration::from_secs(1)).ok())
        .filter(|v| v["event"] == "error")
        .count();
    assert_eq!(errors + 1, 3, "three failed cycles in a row, each an error event");
}
