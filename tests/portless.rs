//! Live tests of portless listeners: packet and raw sockets in a test network namespace,
//! judged end to end through the `portghost` binary.
//!
//! - A BPFDoor-like implant, built here from C with `cc`, copied to `/dev/shm` under a
//!   borrowed daemon name, renaming its process to `kworker/0:1` and holding an
//!   `AF_PACKET` socket whose classic BPF filter accepts only packets with a magic payload:
//!   unexpected, high, the filter summarised in words; `--fail-on-unexpected` exits 1.
//! - Debian's `tcpdump` capturing on the namespace's loopback: listed with its package, not
//!   unexpected; a policy allowing it by executable passes the gate, and only it.
//! - A raw ICMP socket from an unknown program: unexpected.
//! - `--no-owners`, and a run as `nobody`, say what they could not see.
//!
//! Every test needs root, `ip` and `cc` (and `tcpdump` for its own); without them it says
//! why and passes, except under `CI=true`, where CI installs them and a missing one fails
//! the test. Each test makes its own namespace (deleted when it ends, also on failure),
//! kills what it started by PID, and removes its `/dev/shm` copy.

mod common;

use common::{Lab, Started, require, tool};
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The test implant: `packet` opens an AF_PACKET socket with a BPFDoor-like filter (IPv4
/// TCP payload 0x5293, UDP/ICMP payload 0x7255) and renames itself; `raw` opens a raw ICMP
/// socket. It prints READY and waits until stdin closes.
const IMPLANT_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/filter.h>
#include <linux/if_ether.h>

static struct sock_filter magic[] = {
    {0x28, 0, 0, 12}, {0x15, 0, 25, 0x800}, {0x30, 0, 0, 23}, {0x15, 0, 5, 17},
    {0x28, 0, 0, 20}, {0x45, 21, 0, 0x1fff}, {0xb1, 0, 0, 14}, {0x48, 0, 0, 22},
    {0x15, 17, 18, 0x7255}, {0x15, 0, 5, 1}, {0x28, 0, 0, 20}, {0x45, 15, 0, 0x1fff},
    {0xb1, 0, 0, 14}, {0x48, 0, 0, 22}, {0x15, 11, 12, 0x7255}, {0x15, 0, 11, 6},
    {0x28, 0, 0, 20}, {0x45, 9, 0, 0x1fff}, {0xb1, 0, 0, 14}, {0x50, 0, 0, 26},
    {0x54, 0, 0, 0xf0}, {0x74, 0, 0, 2}, {0x0c, 0, 0, 0}, {0x07, 0, 0, 0},
    {0x48, 0, 0, 14}, {0x15, 0, 1, 0x5293}, {0x06, 0, 0, 0xffff}, {0x06, 0, 0, 0},
};

int main(int argc, char **argv) {
    int fd;
    if (argc > 1 && strcmp(argv[1], "raw") == 0) {
        fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    } else {
        struct sock_fprog prog = { sizeof(magic) / sizeof(magic[0]), magic };
        fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
        if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
            perror("SO_ATTACH_FILTER");
            return 1;
        }
        prctl(PR_SET_NAME, "kworker/0:1", 0, 0, 0);
    }
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {}
    return 0;
}
"#;

/// Root, `ip` and `cc`.
fn can_run() -> bool {
    require("root and ip (network namespaces)", Lab::can_isolate()) && require("cc", tool("cc").is_some())
}

/// The implant, compiled once per test binary into Cargo's temporary directory.
fn implant() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let src = dir.join("portless-implant.c");
            let bin = dir.join("portless-implant");
            std::fs::write(&src, IMPLANT_C).expect("write the implant source");
            let ok = Command::new("cc")
                .arg("-O1")
                .arg("-o")
                .arg(&bin)
                .arg(&src)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "cc failed to build the implant");
            bin
        })
        .clone()
}

/// A copy of the implant in `/dev/shm`, removed on drop.
struct ShmCopy(PathBuf);

impl ShmCopy {
    fn new(name: &str) -> ShmCopy {
        let path = PathBuf::from(format!("/dev/shm/{name}-{}", std::process::id()));
        std::fs::copy(implant(), &path).expect("copy the implant to /dev/shm");
        ShmCopy(path)
    }
}

impl Drop for ShmCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "portghost output is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `portless` entry held by `pid`, if any.
fn find_held(v: &Value, pid: u32) -> Option<Value> {
    v["portless"]
        .as_array()
        .expect("portless array")
        .iter()
        .find(|p| {
            p["owners"]
                .as_array()
                .is_some_and(|o| o.iter().any(|o| o["pid"].as_u64() == Some(u64::from(pid))))
        })
        .cloned()
}

/// The `portless` entry held by `pid`.
fn held_by(v: &Value, pid: u32) -> Value {
    find_held(v, pid).unwrap_or_else(|| panic!("no portless listener of PID {pid} in {:#}", v["portless"]))
}

/// A `tcpdump -i lo` in the lab's namespace, killed by PID on drop.
struct Tcpdump(Started);

impl Tcpdump {
    fn start(lab: &Lab) -> Tcpdump {
        let ns = lab.netns_name().expect("namespace");
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(tool("tcpdump").expect("tcpdump"))
            .args(["-i", "lo", "-n", "-w", "/dev/null", "udp port 9"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tcpdump");
        let err = child.stderr.take().expect("stderr");
        let mut line = String::new();
        BufReader::new(err).read_line(&mut line).expect("tcpdump's first line");
        assert!(line.contains("listening on lo"), "tcpdump did not start: {line}");
        Tcpdump(Started {
            child,
            pids: Vec::new(),
        })
    }

    fn pid(&self) -> u32 {
        self.0.child.id()
    }
}

#[test]
fn a_bpfdoor_like_implant_fails_the_gate_with_its_filter_in_words() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    let ns = lab.netns_name().expect("namespace").to_owned();
    let copy = ShmCopy::new("hald-addon-acpi");
    let (pid, _) = lab.start(&copy.0, &["packet"]);

    let out = lab.portghost_outside(&[
        "scan",
        "--no-policy",
        "--netns",
        &ns,
        "--format",
        "json",
        "--fail-on-unexpected",
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let v = json(&out);
    let p = held_by(&v, pid);
    assert_eq!(p["socket"], "packet");
    assert_eq!(p["protocol_name"], "all");
    assert_eq!(p["verdict"], "unexpected");
    assert_eq!(p["filter_status"], "attached");
    assert_eq!(p["filter"]["payload_match"], true);
    assert_eq!(p["filter"]["listing"].as_array().map(Vec::len), Some(28));
    let first = &p["findings"][0];
    assert_eq!(first["kind"], "unknown-portless");
    assert_eq!(first["severity"], "high");
    let reason = first["message"].as_str().unwrap_or_default();
    assert!(
        reason.contains("IPv4 TCP packets whose payload starts with 0x5293"),
        "the reason names the magic: {reason}"
    );
    let kinds: Vec<&str> = p["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    for kind in ["suspicious-executable", "masquerade", "payload-filter"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let gate = stderr(&out);
    assert!(gate.contains("portghost: unexpected: packet:"), "{gate}");
    assert!(gate.contains("0x5293"), "{gate}");

    // The table shows it in its own section, with the filter flagged.
    let table = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("portless listeners"), "{text}");
    assert!(text.contains("28 insns, payload match"), "{text}");
    assert!(text.contains("kworker/0:1"), "{text}");
    // The code-quality formats carry it too: a GitLab issue and a SARIF result, each with a
    // fingerprint and the filter's words.
    let gitlab = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--format", "gitlab"]);
    let issues: serde_json::Value = serde_json::from_slice(&gitlab.stdout).expect("GitLab JSON");
    let issue = issues
        .as_array()
        .expect("an array")
        .iter()
        .find(|i| {
            i["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("packet socket"))
        })
        .unwrap_or_else(|| panic!("a packet-socket issue in {issues:#}"));
    assert_eq!(issue["severity"], "critical", "{issue:#}");
    assert!(
        issue["description"].as_str().is_some_and(|d| d.contains("0x5293")),
        "{issue:#}"
    );
    assert_eq!(issue["fingerprint"].as_str().map(str::len), Some(32), "{issue:#}");
    let sarif = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--format", "sarif"]);
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).expect("SARIF JSON");
    let result = log["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["properties"]["socket"] == "packet")
        .unwrap_or_else(|| panic!("a packet-socket result in {log:#}"));
    assert_eq!(result["level"], "error", "{result:#}");
    assert!(
        result["properties"]["filter"]
            .as_str()
            .is_some_and(|f| f.contains("0x5293")),
        "{result:#}"
    );
    // --no-portless, --tcp and --port leave it out; the gate then passes.
    for flags in [&["--no-portless"][..], &["--tcp"], &["--port", "9"]] {
        let mut args = vec![
            "scan",
            "--no-policy",
            "--netns",
            &ns,
            "--format",
            "json",
            "--fail-on-unexpected",
        ];
        args.extend_from_slice(flags);
        let out = lab.portghost_outside(&args);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
        assert_eq!(json(&out)["portless"].as_array().map(Vec::len), Some(0), "{flags:?}");
    }
}

#[test]
fn tcpdump_is_known_and_a_policy_by_exe_passes_the_gate() {
    if !can_run() || !require("tcpdump", tool("tcpdump").is_some()) {
        return;
    }
    let mut lab = Lab::new();
    let ns = lab.netns_name().expect("namespace").to_owned();
    let tcpdump = Tcpdump::start(&lab);
    let out = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let v = json(&out);
    let p = held_by(&v, tcpdump.pid());
    assert_eq!(p["verdict"], "unreviewed", "{p:#}");
    assert_eq!(p["program"], "tcpdump");
    assert_eq!(p["interface"], "lo");
    assert_eq!(p["findings"][0]["kind"], "known-portless");
    let evidence = p["findings"][0]["evidence"].to_string();
    assert!(evidence.contains("from package tcpdump"), "{evidence}");
    let summary = p["filter"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("UDP packets to or from port 9"), "{summary}");
    assert_eq!(p["filter"]["payload_match"], false);

    // With the implant beside it: a policy allowing tcpdump's packet socket by executable
    // passes tcpdump and nothing else.
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[[allow]]\nsocket = \"packet\"\nexe = \"/usr/bin/tcpdump\"\ncomment = \"capture on lo\"\n",
    )
    .expect("write the policy");
    let policy = policy.to_str().expect("utf-8");
    let gate = lab.portghost_outside(&[
        "scan",
        "--policy",
        policy,
        "--netns",
        &ns,
        "--format",
        "json",
        "--fail-on-unexpected",
    ]);
    assert_eq!(gate.status.code(), Some(0), "stderr: {}", stderr(&gate));
    assert_eq!(held_by(&json(&gate), tcpdump.pid())["verdict"], "expected");

    let (raw, _) = lab.start(&implant(), &["raw"]);
    let gate = lab.portghost_outside(&[
        "scan",
        "--policy",
        policy,
        "--netns",
        &ns,
        "--format",
        "json",
        "--fail-on-unexpected",
    ]);
    assert_eq!(gate.status.code(), Some(1), "stderr: {}", stderr(&gate));
    let v = json(&gate);
    assert_eq!(held_by(&v, tcpdump.pid())["verdict"], "expected");
    let r = held_by(&v, raw);
    assert_eq!(r["verdict"], "unexpected");
    assert_eq!(r["findings"][0]["kind"], "not-allowed", "{r:#}");
}

#[test]
fn a_raw_icmp_socket_of_an_unknown_program_is_unexpected() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    let ns = lab.netns_name().expect("namespace").to_owned();
    let (pid, _) = lab.start(&implant(), &["raw"]);
    let out = lab.portghost_outside(&[
        "scan",
        "--no-policy",
        "--netns",
        &ns,
        "--format",
        "json",
        "--fail-on-unexpected",
    ]);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let p = held_by(&json(&out), pid);
    assert_eq!(p["socket"], "raw");
    assert_eq!(p["protocol_name"], "icmp");
    assert_eq!(p["local_address"], "0.0.0.0");
    assert_eq!(p["verdict"], "unexpected");
    assert_eq!(p["findings"][0]["kind"], "unknown-portless");
    assert_eq!(p["findings"][0]["severity"], "medium");
    assert_eq!(p["filter_status"], "unavailable");

    // JSON Lines carries it as a line of its own.
    let lines = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--format", "jsonl"]);
    let text = String::from_utf8_lossy(&lines.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("\"socket\":\"raw\"") && l.contains("\"protocol_name\":\"icmp\"")),
        "{text}"
    );
}

#[test]
fn without_owners_or_root_the_scan_says_what_it_could_not_see() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new();
    let ns = lab.netns_name().expect("namespace").to_owned();
    let copy = ShmCopy::new("hald-addon-acpi");
    let (_pid, _) = lab.start(&copy.0, &["packet"]);

    let out = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--no-owners", "--format", "json"]);
    let v = json(&out);
    let p = &v["portless"][0];
    assert_eq!(p["owner_status"], "not-looked");
    assert_eq!(p["verdict"], "unexpected");
    let reason = p["findings"][0]["message"].as_str().unwrap_or_default();
    assert!(reason.contains("owners were not looked up (--no-owners)"), "{reason}");

    // As nobody, in the lab's namespace (entering another needs root): no owner, no filter.
    let out = lab.portghost_as_nobody(&["scan", "--no-policy", "--format", "json"]);
    let v = json(&out);
    let p = v["portless"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["socket"] == "packet"))
        .cloned()
        .expect("the implant's packet socket");
    assert_eq!(p["filter_status"], "hidden", "{p:#}");
    assert_ne!(p["owner_status"], "known");
    let err = stderr(&out);
    assert!(err.contains("only to root (CAP_NET_ADMIN)"), "{err}");
}

/// ISC `dhclient` on a veth in the lab's namespace, with its lease and PID files in a
/// private directory (removed after it) and no hook script; killed by PID on drop.
struct Dhclient(
    Started,
    #[allow(dead_code, reason = "kept until dhclient is gone")] tempfile::TempDir,
);

impl Dhclient {
    fn start(ns: &str) -> Dhclient {
        for args in [
            &["link", "add", "pgdhcp0", "type", "veth", "peer", "name", "pgdhcp1"][..],
            &["link", "set", "pgdhcp0", "up"],
            &["link", "set", "pgdhcp1", "up"],
        ] {
            let ok = Command::new("ip")
                .args(["netns", "exec", ns, "ip"])
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?} in {ns}");
        }
        let dir = tempfile::tempdir().expect("private directory");
        let lease = dir.path().join("leases");
        let pidfile = dir.path().join("pid");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(tool("dhclient").expect("dhclient"))
            .arg("-d")
            .arg("-lf")
            .arg(&lease)
            .arg("-pf")
            .arg(&pidfile)
            .args(["-sf", "/bin/true", "pgdhcp0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dhclient");
        Dhclient(
            Started {
                child,
                pids: Vec::new(),
            },
            dir,
        )
    }

    fn pid(&self) -> u32 {
        self.0.child.id()
    }
}

#[test]
fn a_dhcp_client_from_its_package_is_known() {
    if !can_run() || !require("dhclient (isc-dhcp-client)", tool("dhclient").is_some()) {
        return;
    }
    let lab = Lab::new();
    let ns = lab.netns_name().expect("namespace").to_owned();
    let dhclient = Dhclient::start(&ns);
    // dhclient opens its packet socket once it has read its configuration: wait for it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let v = loop {
        let out = lab.portghost_outside(&["scan", "--no-policy", "--netns", &ns, "--format", "json"]);
        let v = json(&out);
        let held = find_held(&v, dhclient.pid()).is_some();
        if held {
            break v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "dhclient opened no packet socket: {v:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let p = held_by(&v, dhclient.pid());
    assert_eq!(p["socket"], "packet", "{p:#}");
    // Caught while dhclient starts, the socket may not be bound to pgdhcp0 or filtered yet:
    // its owner, not its state, is what makes it known.
    assert_ne!(p["verdict"], "unexpected", "{p:#}");
    assert_eq!(p["findings"][0]["kind"], "known-portless", "{p:#}");
    assert_eq!(p["findings"][0]["severity"], "info", "{p:#}");
    let evidence = p["findings"][0]["evidence"].to_string();
    assert!(evidence.contains("from package isc-dhcp-client"), "{evidence}");
    // No portless listener in the namespace is unexpected: the DHCP client passes.
    let unexpected: Vec<&Value> = v["portless"]
        .as_array()
        .expect("portless")
        .iter()
        .filter(|p| p["verdict"] == "unexpected")
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
