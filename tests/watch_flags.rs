//! `portghost watch`'s flag checks, which need no privilege and no Linux: `--interval`,
//! `--owner-interval` and `--max-failures` values the watch cannot honour exit 2 naming the
//! flag, before any scan (a value let through would start an endless watch, which the
//! 10-second limit catches). Runs on every platform, under Wine too; the live watch tests
//! are in `tests/watch.rs`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portghost")
}

/// Runs `portghost ARGS` and returns its status and stderr, failing if it is still running
/// after 10 s (a value the parser should have refused starts an endless watch).
fn run_briefly(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run portghost");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("portghost {args:?} was still running after 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("read stderr");
    (status.code(), stderr)
}

#[test]
fn bad_intervals_and_counts_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (&["--interval", "0"], "too short"),
        (&["--interval", "0.001"], "too short"),
        (&["--interval", "-1"], "negative"),
        (&["--interval=-0.5"], "negative"),
        (&["--interval", "NaN"], "is not a number of seconds"),
        (&["--interval", "inf"], "is not a number of seconds"),
        (&["--interval", "-inf"], "is not a number of seconds"),
        (&["--interval", "1e9"], "too long"),
        (&["--interval", "1s"], "is not a number of seconds"),
        (&["--owner-interval", "0"], "1 or more"),
        (&["--owner-interval", "-3"], "is not a whole number"),
        (&["--max-failures", "0"], "1 or more"),
        (&["--max-failures", "many"], "is not a whole number"),
    ];
    for (args, reason) in cases {
        let mut full = vec!["watch", "--no-policy"];
        full.extend_from_slice(args);
        let (code, stderr) = run_briefly(&full);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        let flag = args[0].split('=').next().expect("flag");
        assert!(stderr.contains(flag) && stderr.contains(reason), "{args:?}: {stderr}");
    }
    let (code, stderr) = run_briefly(&["watch", "--no-policy", "--journal", "--events-file", "/dev/null"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
