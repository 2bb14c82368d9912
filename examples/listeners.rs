//! live_listeners: prints the listeners of this host with their owners, in the
//! `PROTO ADDR PORT PID NAME` format used by `shared/bench/compare.py`.
//!
//! One line per (listener, owner); a listener with no visible owner gets one line with
//! `-` as PID and name. Shows how to call the inventory stage of the portghost library on
//! its own. With `--timings`, the wall time of each scan phase goes to stderr.
//!
//! ```sh
//! cargo run --release --example listeners -- --timings
//! ```

use portghost::{ScanOptions, scan};
use std::io::{BufWriter, Write};

fn main() -> anyhow::Result<()> {
    let show_timings = std::env::args().any(|arg| arg == "--timings");
    let (inventory, timings) = scan(&ScanOptions::default())?;

    let mut out = BufWriter::new(std::io::stdout().lock());
    for listener in &inventory.listeners {
        let (proto, addr, port) = (listener.protocol, listener.local_address, listener.port);
        if listener.owners.is_empty() {
            writeln!(out, "{proto} {addr} {port} - -")?;
        }
        for owner in &listener.owners {
            writeln!(out, "{proto} {addr} {port} {} {}", owner.pid, printable(&owner.name))?;
        }
    }
    out.flush()?;

    for warning in &inventory.warnings {
        eprintln!("warning: {warning}");
    }
    if show_timings {
        eprintln!(
            "TIMINGS dump={:?} walk={:?} owners={:?}",
            timings.dump, timings.walk, timings.owners
        );
    }
    Ok(())
}

/// A process name is chosen by the process: keep it on one field of one line.
fn printable(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() || c.is_whitespace() { '?' } else { c })
        .collect()
}
