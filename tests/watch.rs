//! `portghost watch` live, in a private network namespace: a ghost listener opened while
//! it runs is a `listener-added` event with verdict unexpected within 2 s, its closing a
//! `listener-removed` event, and SIGTERM ends the watch with status 0. Needs root and `ip`
//! (skipped with a note otherwise). The event diffing itself is unit-tested in
//! `src/watch.rs`.

mod common;

use common::Lab;
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Waits up to `within` for an event line `event` about port `port`; returns it.
fn wait_for(lines: &mpsc::Receiver<Value>, event: &str, port: u64, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(v) if v["event"] == event && v["listener"]["port"] == port => return v,
            Ok(_) => {}
            Err(_) => panic!("no {event} event for port {port} within {within:?}"),
        }
    }
}

/// Kills `pid` with SIGKILL when dropped, unless it was already reaped.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn watch_reports_a_ghost_listener_added_and_removed_then_stops_on_sigterm() {
    let mut lab = Lab::new();
    let Some(netns) = lab.netns_name().map(str::to_owned) else {
        eprintln!("note: not root or no `ip`: the watch test needs a private network namespace; skipped");
        return;
    };
    let child = Command::new("ip")
        .args(["netns", "exec", &netns, env!("CARGO_BIN_EXE_portghost")])
        .args(["watch", "--interval", "0.2", "--no-policy"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start portghost watch");
    // `ip netns exec` execs the program, so this is portghost's PID.
    let pid = child.id();
    let mut guard = KillOnDrop(Some(child));
    let stdout = guard.0.as_mut().and_then(|c| c.stdout.take()).expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let value: Value = serde_json::from_str(&line).expect("each event is one JSON object");
            if tx.send(value).is_err() {
                break;
            }
        }
    });
    // Let the first cycle pass (an empty namespace: no snapshot events), then open a ghost.
    std::thread::sleep(Duration::from_millis(500));
    let holder = lab.hold(&["tcp:0.0.0.0:3237"]);
    let added = wait_for(&lines, "listener-added", 3237, Duration::from_secs(2));
    assert_eq!(added["listener"]["verdict"], "unexpected", "{added}");
    assert_eq!(added["listener"]["owners"][0]["pid"], holder, "{added}");
    assert!(added["time"].is_string() && added["host"].is_string(), "{added}");
    lab.stop(holder);
    let removed = wait_for(&lines, "listener-removed", 3237, Duration::from_secs(2));
    assert_eq!(removed["listener"]["inode"], added["listener"]["inode"], "{removed}");

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(killed, "kill -TERM {pid}");
    let mut child = guard.0.take().expect("child");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("portghost watch did not stop within 5 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{status}");
}
