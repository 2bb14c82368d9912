//! Real scans for the report validators (`tests/json_schema.rs`, `tests/ci_reports.rs`):
//! one [`Lab`] holding listeners of several kinds, scanned in several ways, each scan's
//! output kept with a label that says what it is.
//!
//! The scans cover: an empty scan, a small one and one of about 150 listeners; IPv4 and
//! IPv6, TCP and UDP; a ghost port (findings with evidence); hidden owners (portghost run as
//! `nobody` next to root's listeners, as root only); and several network namespaces
//! (`--all-netns` from outside the lab's namespace, as root only).

#![allow(dead_code)]

use super::Lab;

/// Ports of the large scan: 150 TCP listeners from 41000 up.
const MANY_FROM: u16 = 41_000;
const MANY: u16 = 150;

/// Labelled outputs of `portghost scan --format FORMAT` (plus `extra` arguments) on real
/// listeners: `(label, stdout)`. Every scan must exit 0 or 1 (1 when `--fail-on-unexpected`
/// is among `extra`); any other exit panics with its stderr.
pub fn scans(format: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut lab = Lab::new();
    let mut out = Vec::new();
    let run = |lab: &Lab, label: &str, args: Vec<String>, how: How| -> (String, String) {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        let o = match how {
            How::Inside => lab.portghost(&all),
            How::Nobody => lab.portghost_as_nobody(&all),
            How::Outside => lab.portghost_outside(&all),
        };
        let code = o.status.code().unwrap_or(-1);
        assert!(
            code == 0 || code == 1,
            "{label}: exit {code}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (label.to_string(), String::from_utf8(o.stdout).expect("utf-8"))
    };
    let base = |ports: &str| -> Vec<String> {
        let mut v: Vec<String> = ["scan", "--format", format].iter().map(|s| s.to_string()).collect();
        if !ports.is_empty() {
            v.extend(["--port".to_string(), ports.to_string()]);
        }
        v
    };
    // Nothing of ours yet: in a private namespace nothing at all; on the host, a port
    // nobody uses.
    let empty = if lab.isolated() { "" } else { "1" };
    out.push(run(&lab, "empty", base(empty), How::Inside));

    lab.hold(&[
        "tcp:0.0.0.0:3237",
        "tcp:127.0.0.1:8080",
        "udp:0.0.0.0:3416",
        "tcp:::1:3517",
        "udp:::1:3518",
    ]);
    let small = if lab.isolated() { "" } else { "3237,8080,3416,3517,3518" };
    out.push(run(
        &lab,
        "small (v4 and v6, tcp and udp, a ghost port)",
        base(small),
        How::Inside,
    ));

    let specs: Vec<String> = (0..MANY).map(|i| format!("tcp:127.0.0.1:{}", MANY_FROM + i)).collect();
    let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
    lab.hold(&specs);
    let large = if lab.isolated() {
        String::new()
    } else {
        format!(
            "3237,8080,3416,3517,3518,{}",
            (MANY_FROM..MANY_FROM + MANY)
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    out.push(run(&lab, "large (155 listeners)", base(&large), How::Inside));

    if Lab::root() {
        // Root's listeners seen by nobody: hidden owners, an unprivileged scan.
        lab.hold_as_nobody(&["tcp:0.0.0.0:3600"]);
        out.push(run(&lab, "as nobody (hidden owners)", base(small), How::Nobody));
    }
    if Lab::can_isolate() {
        let mut args = base("");
        args.push("--all-netns".to_string());
        out.push(run(&lab, "--all-netns (several namespaces)", args, How::Outside));
    }
    out
}

#[derive(Clone, Copy)]
enum How {
    Inside,
    Nobody,
    Outside,
}
