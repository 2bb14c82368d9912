//! What gathering the evidence behind ghost-port verdicts adds to a scan.
//!
//! Starts 10 Debian `python3` processes (`/usr/bin/python3`, a packaged executable) that
//! together hold 100 sockets on free ghost ports (defunct-vendor and never-documented
//! entries, TCP and UDP, on 127.0.0.1), then, in alternating rounds in this one process:
//! a scan of portghost's own namespace (`portghost::scan`), and the same scan followed by
//! `Registry::provenance_request` and `portghost::gather_provenance` (which reads the dpkg
//! database once per scan); also the owner half alone for a file outside the places
//! packages install to (no dpkg list read). `ss -tulpn` runs as a separate process for reference. Prints
//! medians and min-max of each, and the added time against the 25 ms target.
//!
//! A benchmark, not a test: nothing fails on a timing. Run it as root for complete owners:
//!
//! ```sh
//! sudo cargo bench --bench evidence            # 30 rounds
//! sudo cargo bench --bench evidence -- 100     # 100 rounds
//! ```

use portghost::model::{GhostStatus, Protocol};
use portghost::{Registry, ScanOptions, gather_provenance, scan};
use std::io::{BufRead as _, BufReader};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sockets and processes held.
const SOCKETS: usize = 100;
const PROCESSES: usize = 10;

/// Binds every `proto:port` argument on 127.0.0.1, prints READY, waits for stdin to close.
const HOLDER: &str = r#"
import socket, sys
socks = []
for spec in sys.argv[1:]:
    proto, port = spec.split(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    if proto == "tcp":
        s.listen(16)
    socks.append(s)
print("READY", flush=True)
sys.stdin.read()
"#;

fn free(port: u16, protocol: Protocol) -> bool {
    match protocol {
        Protocol::Tcp => TcpListener::bind(("127.0.0.1", port)).is_ok(),
        Protocol::Udp => UdpSocket::bind(("127.0.0.1", port)).is_ok(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut times: Vec<Duration>) -> f64 {
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{name:<40} median {:>7.2} ms   min-max {:.2}-{:.2} ms",
        ms(median),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
    ms(median)
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(30);
    let python = "/usr/bin/python3";
    if !std::path::Path::new(python).exists() {
        eprintln!("evidence bench: needs Debian's {python}");
        return;
    }
    let registry = Registry::builtin().expect("registry");
    let mut specs: Vec<String> = Vec::new();
    for entry in registry.ghosts() {
        if !matches!(entry.status, GhostStatus::DefunctVendor | GhostStatus::NeverDocumented) {
            continue;
        }
        for &protocol in &entry.transports {
            if specs.len() < SOCKETS && free(entry.port, protocol) {
                specs.push(format!("{protocol}:{}", entry.port));
            }
        }
    }
    assert_eq!(specs.len(), SOCKETS, "not enough free ghost ports");
    let mut children: Vec<Child> = specs
        .chunks(SOCKETS / PROCESSES)
        .map(|chunk| {
            let mut child = Command::new(python)
                .arg("-c")
                .arg(HOLDER)
                .args(chunk)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start python3");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("READY");
            assert_eq!(line.trim(), "READY", "a holder failed to bind");
            child
        })
        .collect();

    let options = ScanOptions::default();
    let mut plain = Vec::new();
    let mut with = Vec::new();
    let mut added = Vec::new();
    let mut ss = Vec::new();
    let mut owners_only = Vec::new();
    let mut netns_only = Vec::new();
    let mut unpackaged = Vec::new();
    let mut last = None;
    for round in 0..rounds + 2 {
        let started = Instant::now();
        let (inventory, _) = scan(&options).expect("scan");
        let scanned = started.elapsed();
        drop(inventory);

        let started = Instant::now();
        let (mut inventory, _) = scan(&options).expect("scan");
        let scan_part = started.elapsed();
        let request = registry.provenance_request(&inventory);
        gather_provenance(&mut inventory, &request);
        let total = started.elapsed();

        // The two halves of gathering: the owners' files (dpkg) and the namespaces.
        let mut part = request.clone();
        part.netns.clear();
        let mut copy = inventory.clone();
        let started = Instant::now();
        gather_provenance(&mut copy, &part);
        let owners_time = started.elapsed();
        let mut part = request.clone();
        part.pids.clear();
        let started = Instant::now();
        gather_provenance(&mut copy, &part);
        let netns_time = started.elapsed();
        // A file outside the places packages install to (this benchmark's own binary): no
        // dpkg list is read for it.
        let mut part = request.clone();
        part.netns.clear();
        part.pids = [std::process::id()].into();
        let started = Instant::now();
        gather_provenance(&mut copy, &part);
        let unpackaged_time = started.elapsed();

        let started = Instant::now();
        let status = Command::new("ss")
            .arg("-tulpn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let ss_time = started.elapsed();
        if round >= 2 {
            plain.push(scanned);
            with.push(total);
            added.push(total - scan_part);
            owners_only.push(owners_time);
            netns_only.push(netns_time);
            unpackaged.push(unpackaged_time);
            if status.is_ok_and(|s| s.success()) {
                ss.push(ss_time);
            }
        }
        last = Some((request, inventory));
    }
    for child in &mut children {
        let _ = child.kill();
        let _ = child.wait();
    }

    let (request, inventory) = last.expect("at least one round");
    let p = &inventory.provenance;
    let packaged = p
        .owners
        .values()
        .filter(|o| o.exe.as_ref().is_some_and(|e| e.package.is_some()))
        .count();
    println!(
        "evidence bench: {} listeners on ghost ports held by {PROCESSES} python3 processes; {rounds} rounds",
        SOCKETS
    );
    println!(
        "request: {} PIDs, {} namespaces; owners with a package: {packaged}/{}; notes: {:?}",
        request.pids.len(),
        request.netns.len(),
        p.owners.len(),
        p.notes
    );
    if let Some(exe) = p.owners.values().find_map(|o| o.exe.as_ref()) {
        println!(
            "example: {} from package {:?}, root-owned {}",
            exe.path, exe.package, exe.root_owned
        );
    }
    let a = summary("scan", plain);
    let b = summary("scan + gather_provenance", with);
    let c = summary("gathering alone (request + gather)", added);
    summary("  of which owners (exe, dpkg, ownership)", owners_only);
    summary("  of which namespaces (range, rpcbind)", netns_only);
    summary("owners, a file outside packaged places", unpackaged);
    if !ss.is_empty() {
        summary("ss -tulpn (a whole process)", ss);
    }
    println!(
        "added by gathering: {c:.2} ms median ({:.2} ms between the scan medians); target <= 25 ms: {}",
        b - a,
        if c <= 25.0 { "met" } else { "MISSED" }
    );
}
