//! classify_inventory: judges a saved inventory with the portghost library, without the
//! CLI and without touching the host.
//!
//! Reads an inventory as JSON (the shape of `portghost::model::Inventory`, as in
//! `tests/fixtures/inventory/mixed.json`), classifies it against the embedded registry and
//! prints the table, or the JSON report with `--json`.
//!
//! ```sh
//! cargo run --example classify_inventory -- tests/fixtures/inventory/mixed.json
//! ```

use anyhow::Context as _;
use portghost::Registry;
use portghost::classify;
use portghost::model::Inventory;
use portghost::render::Style;
use portghost::render::{json, table};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let as_json = args.iter().any(|a| a == "--json");
    let path = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .context("usage: classify_inventory INVENTORY.json [--json]")?;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let inventory: Inventory = serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
    let report = classify(inventory, Registry::builtin()?);
    let mut out = std::io::stdout().lock();
    if as_json {
        json::render(&mut out, &report, true)?;
    } else {
        table::render(&mut out, &report, &Style::plain())?;
    }
    Ok(())
}
