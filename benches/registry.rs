//! What a registry lookup costs: the one-time parse of the embedded ghost registry, an IANA
//! lookup by (port, protocol), a ghost lookup, and classifying a whole inventory.
//!
//! ```sh
//! cargo bench --bench registry
//! ```
//!
//! Prints the median of several rounds for each operation. A benchmark, not a test: nothing
//! here fails on timings.

use portghost::Registry;
use portghost::classify;
use portghost::model::{Inventory, Listener, Owner, OwnerStatus, Protocol};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `f` (which does `n` operations) for `rounds` rounds; returns the median per operation.
fn per_op(rounds: usize, n: usize, mut f: impl FnMut()) -> Duration {
    let times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    median(times) / n as u32
}

fn inventory(n: usize) -> Inventory {
    let listeners = (0..n)
        .map(|i| Listener {
            protocol: if i % 2 == 0 { Protocol::Tcp } else { Protocol::Udp },
            local_address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: (1 + (i * 7919) % 65535) as u16,
            inode: Some(i as u64),
            uid: Some(0),
            owners: vec![Arc::new(Owner {
                pid: 1000 + i as u32,
                name: "python3".into(),
                exe: None,
                cmdline: None,
                uid: Some(0),
                user: None,
                unit: None,
                user_unit_uid: None,
                exe_deleted: false,
                container: None,
            })],
            owner_status: OwnerStatus::Known,
            v6only: None,
            netns: None,
        })
        .collect();
    Inventory {
        host: "bench".into(),
        scanned_at: "2026-01-01T00:00:00Z".into(),
        listeners,
        privileged: true,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: portghost::model::InventoryKind::Linux,
    }
}

/// Every `registry/ghosts/*.toml` as `(registry/ghosts/NAME.toml, TOML text, JSON text)`,
/// the JSON made as the build script makes it.
fn ghost_files() -> Vec<(String, String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/ghosts");
    let mut files: Vec<(String, String, String)> = std::fs::read_dir(dir)
        .expect("registry/ghosts")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("readable");
            let value: toml::Value = toml::from_str(&text).expect("TOML");
            let json = serde_json::to_string(&value).expect("JSON");
            (format!("registry/ghosts/{name}"), text, json)
        })
        .collect();
    files.sort();
    files
}

fn main() {
    let files = ghost_files();
    let toml_files: Vec<(&str, &str)> = files.iter().map(|(f, t, _)| (f.as_str(), t.as_str())).collect();
    let json_files: Vec<(&str, &str)> = files.iter().map(|(f, _, j)| (f.as_str(), j.as_str())).collect();
    let parse = per_op(21, 1, || {
        black_box(Registry::from_ghost_files(&toml_files).expect("registry"));
    });
    println!(
        "ghost registry parse, TOML:             {:>10.3} ms",
        parse.as_secs_f64() * 1e3
    );
    let parse = per_op(21, 1, || {
        black_box(Registry::from_ghost_json(&json_files).expect("registry"));
    });
    println!(
        "ghost registry parse, embedded JSON:    {:>10.3} ms  (once per run)",
        parse.as_secs_f64() * 1e3
    );

    let index = per_op(21, 1, || {
        black_box(Registry::load_builtin().expect("registry"));
    });
    println!(
        "ghost registry index, lazy (builtin):   {:>10.3} ms  (once per run; entries parsed on first lookup)",
        index.as_secs_f64() * 1e3
    );

    let registry = Registry::builtin().expect("registry");
    let ports: Vec<u16> = (0..10_000u32).map(|i| (1 + (i * 7919) % 65535) as u16).collect();
    let iana_lookup = per_op(11, ports.len(), || {
        for &p in &ports {
            black_box(registry.service(black_box(p), Protocol::Tcp));
        }
    });
    println!(
        "IANA lookup, service(port, proto):     {:>10.3} µs",
        iana_lookup.as_secs_f64() * 1e6
    );
    let ghost = per_op(11, ports.len(), || {
        for &p in &ports {
            black_box(registry.ghost(black_box(p), Protocol::Tcp));
        }
    });
    println!(
        "ghost lookup, ghost(port, proto):      {:>10.3} µs",
        ghost.as_secs_f64() * 1e6
    );

    for n in [100, 1_000, 10_000, 50_000] {
        let inv = inventory(n);
        let times = (0..7)
            .map(|_| {
                let input = inv.clone();
                let t = Instant::now();
                black_box(classify(input, registry));
                t.elapsed()
            })
            .collect();
        let t = median(times);
        println!(
            "classify {n:>6} listeners:              {:>10.3} ms",
            t.as_secs_f64() * 1e3
        );
    }
}
