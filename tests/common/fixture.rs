//! The fixture inventory (`tests/fixtures/inventory/mixed.json`) and reports built from it,
//! shared by the classifier, renderer and format tests. Included with
//! `#[path = "common/fixture.rs"] mod fixture;` by the tests that use it.

#![allow(dead_code)]

use portghost::Registry;
use portghost::classify;
use portghost::model::Report;
use portghost::model::{Container, Inventory, Netns, View};
use std::sync::Arc;

/// The fixture inventory: ghost ports, ordinary ports, IPv6, hidden owners.
pub fn inventory() -> Inventory {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/inventory/mixed.json"
    ))
    .expect("fixture readable");
    serde_json::from_str(&text).expect("fixture parses")
}

/// The fixture inventory, classified without a policy.
pub fn report() -> Report {
    classify(inventory(), Registry::builtin().expect("registry"))
}

/// The fixture with the listeners on 3237 and 3416 moved into a second network namespace
/// named `lab_name`, run by a docker container (in kubernetes pod `pod`, if given), and the
/// rest in the host's; the namespaces deliberately listed out of order (the report puts
/// the host's first).
pub fn two_namespaces(lab_name: &str, pod: Option<&str>) -> Report {
    let mut inv = inventory();
    let host = Arc::new(Netns {
        inode: 4_026_531_833,
        name: None,
        container: None,
        host: true,
    });
    let lab = Arc::new(Netns {
        inode: 4_026_532_301,
        name: Some(lab_name.to_owned()),
        container: Some(Container {
            runtime: "docker".into(),
            id: "3f2a9c1b7d4e".into(),
            full_id: "3f2a9c1b7d4e".repeat(6)[..64].to_string(),
            pod: pod.map(str::to_owned),
        }),
        host: false,
    });
    for l in &mut inv.listeners {
        let moved = l.port == 3237 || l.port == 3416;
        l.netns = Some(Arc::clone(if moved { &lab } else { &host }));
    }
    inv.namespaces = vec![Arc::clone(&lab), Arc::clone(&host)];
    inv.view = Some(View::Host);
    classify(inv, Registry::builtin().expect("registry"))
}
