//! What a policy costs: parsing policy files of 1,000, 10,000 and 50,000 rules, and
//! judging 10,000 listeners with the policy `portghost baseline` writes for them (and with
//! that policy against listeners it does not know).
//!
//! ```sh
//! cargo bench --bench policy
//! cargo bench --bench policy -- 1000 10000   # only these parse sizes, no classification
//! ```
//!
//! Prints the median of several rounds for each operation. A benchmark, not a test: nothing
//! here fails on timings.

use chrono::NaiveDate;
use portghost::model::{Inventory, Listener, Owner, OwnerStatus, Protocol};
use portghost::policy::{Mode, PolicyContext, baseline, parse};
use portghost::registry::Registry;
use portghost::{classify, classify_with};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A policy of `n` allow rules with a port, protocol, executable glob and user each.
fn policy_text(n: usize) -> String {
    let mut text = String::from("version = 1\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[allow]]\nport = {}\nprotocol = \"tcp\"\nexe = \"/usr/bin/svc{i}\"\nuser = \"root\"\n",
            1 + i % 65535
        ));
    }
    text
}

/// `n` listeners on distinct ports, each owned by one of 100 programs run by root.
fn inventory(n: usize, port_shift: usize) -> Inventory {
    let listeners = (0..n)
        .map(|i| Listener {
            protocol: if i % 2 == 0 { Protocol::Tcp } else { Protocol::Udp },
            local_address: if i % 3 == 0 {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            },
            port: (1 + (i * 7919 + port_shift) % 65535) as u16,
            inode: Some(i as u64),
            uid: Some(0),
            owners: vec![Arc::new(Owner {
                pid: 1000 + i as u32,
                name: format!("svc{}", i % 100),
                exe: Some(format!("/usr/bin/svc{}", i % 100)),
                cmdline: None,
                uid: Some(0),
                user: Some("root".into()),
                unit: Some(format!("svc{}.service", i % 100)),
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

/// Median time of `rounds` runs of `f` on a fresh clone of `inv` (the clone not timed).
fn time_classify(rounds: usize, inv: &Inventory, mut f: impl FnMut(Inventory)) -> Duration {
    let times = (0..rounds)
        .map(|_| {
            let inv = inv.clone();
            let t = Instant::now();
            f(inv);
            t.elapsed()
        })
        .collect();
    median(times)
}

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let parse_only = !args.is_empty();
    let sizes = if args.is_empty() {
        vec![1_000, 10_000, 50_000]
    } else {
        args
    };
    for n in sizes {
        let text = policy_text(n);
        let rounds = if n >= 50_000 { 5 } else { 11 };
        let times = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                black_box(parse::parse("bench.toml", black_box(&text)).expect("parses"));
                t.elapsed()
            })
            .collect();
        let toml_only = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                black_box(toml::de::DeTable::parse(black_box(&text)).expect("parses"));
                t.elapsed()
            })
            .collect();
        println!(
            "parse a policy of {n:>6} rules ({:>5.1} MB): {:>10.3} ms  (of which TOML into spanned tables {:.3} ms)",
            text.len() as f64 / 1e6,
            ms(median(times)),
            ms(median(toml_only))
        );
    }

    if parse_only {
        return;
    }
    let registry = Registry::builtin().expect("registry");
    let n = 10_000;
    let inv = inventory(n, 0);
    let base = baseline::generate(&classify(inv.clone(), registry), Mode::Allowlist);
    let policy = parse::parse("baseline.toml", &base.text).expect("baseline parses");
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
    let ctx = PolicyContext { policy: &policy, today };
    println!(
        "baseline of {n} listeners: {} rules, {} held back",
        base.rules, base.held_back
    );
    let plain = time_classify(11, &inv, |i| {
        black_box(classify(i, registry));
    });
    let judged = time_classify(11, &inv, |i| {
        black_box(classify_with(i, registry, Some(ctx)));
    });
    println!("classify {n} listeners, no policy:           {:>10.3} ms", ms(plain));
    println!(
        "classify {n} listeners, baseline policy:     {:>10.3} ms  (policy adds {:.3} ms)",
        ms(judged),
        ms(judged.saturating_sub(plain))
    );
    let strangers = inventory(n, 1);
    let plain = time_classify(11, &strangers, |i| {
        black_box(classify(i, registry));
    });
    let judged = time_classify(11, &strangers, |i| {
        black_box(classify_with(i, registry, Some(ctx)));
    });
    println!(
        "classify {n} other listeners, that policy:   {:>10.3} ms  (policy adds {:.3} ms)",
        ms(judged),
        ms(judged.saturating_sub(plain))
    );
}
