//! Checks of the tables the build script wrote, which only the crate can see: the embedded
//! ghost files are exactly the status vocabulary, their JSON form and the lazily parsed
//! index agree with the TOML files. Tests only; nothing here runs in the product.

use super::Registry;
use super::ghosts::{self, GhostStatus};
use crate::model::Protocol;
use std::collections::BTreeSet;

#[test]
fn ghost_files_are_exactly_the_status_vocabulary() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/registry/ghosts");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("registry/ghosts")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let embedded: BTreeSet<String> = ghosts::BUILTIN_FILES
        .iter()
        .map(|(f, _)| f.rsplit('/').next().expect("name").to_string())
        .collect();
    let vocabulary: BTreeSet<String> = GhostStatus::ALL.iter().map(|s| format!("{s}.toml")).collect();
    assert_eq!(on_disk, embedded, "every file in registry/ghosts is embedded");
    assert_eq!(embedded, vocabulary, "one file per status");
}

#[test]
fn embedded_json_form_equals_the_toml_files() {
    let from_toml = Registry::from_ghost_files(ghosts::BUILTIN_FILES).expect("TOML parses");
    let from_json = Registry::from_ghost_json(ghosts::BUILTIN_JSON).expect("JSON parses");
    assert_eq!(from_toml.ghosts(), from_json.ghosts());
    assert_eq!(Registry::builtin().expect("builtin").ghosts(), from_toml.ghosts());
}

#[test]
fn lazily_parsed_builtin_answers_every_lookup_like_the_toml_files() {
    let from_toml = Registry::from_ghost_files(ghosts::BUILTIN_FILES).expect("TOML parses");
    // A fresh lazy registry, so no entry was parsed before these lookups.
    let lazy = Registry::load_builtin().expect("index loads");
    assert_eq!(ghosts::BUILTIN_ENTRIES.len(), from_toml.ghosts().len());
    let mut hits = 0;
    let mut uses = 0;
    for port in 0..=u16::MAX {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let expected = from_toml.ghost(port, protocol);
            assert_eq!(lazy.ghost(port, protocol), expected, "{port}/{protocol}");
            hits += usize::from(expected.is_some());
            let want: Vec<_> = from_toml.unofficial_uses(port, protocol);
            assert_eq!(lazy.unofficial_uses(port, protocol), want, "{port}/{protocol}");
            uses += want.len();
        }
    }
    let pairs: usize = from_toml.ghosts().iter().map(|g| g.transports.len()).sum();
    assert_eq!(hits, pairs, "every (port, transport) pair of every entry is found");
    assert!(hits > 286, "286 ports, most on both transports");
    assert!(uses > 0);
}

#[test]
fn files_are_read_in_status_order_whatever_order_they_are_given_in() {
    let mut reversed = ghosts::BUILTIN_FILES.to_vec();
    reversed.reverse();
    let from_reversed = Registry::from_ghost_files(&reversed).expect("TOML parses");
    let statuses: Vec<GhostStatus> = from_reversed.ghosts().iter().map(|g| g.status).collect();
    let mut in_order = statuses.clone();
    in_order.sort_by_key(|s| GhostStatus::ALL.iter().position(|a| a == s));
    assert_eq!(statuses, in_order);
    assert_eq!(from_reversed.ghosts(), Registry::builtin().expect("builtin").ghosts());
}

#[test]
fn provenance_is_requested_for_ghost_listeners_but_not_squatters() {
    use crate::model::{Inventory, Listener, Netns, Owner, OwnerStatus};
    use std::sync::Arc;
    let listener = |port: u16, pid: u32, netns: Option<u64>| Listener {
        protocol: Protocol::Tcp,
        local_address: "0.0.0.0".parse().expect("address"),
        port,
        inode: None,
        uid: None,
        owners: vec![Arc::new(Owner {
            pid,
            name: "x".into(),
            exe: None,
            cmdline: None,
            uid: None,
            user: None,
            unit: None,
            user_unit_uid: None,
            exe_deleted: false,
            container: None,
        })],
        owner_status: OwnerStatus::Known,
        v6only: None,
        netns: netns.map(|inode| {
            Arc::new(Netns {
                inode,
                name: None,
                container: None,
                host: false,
            })
        }),
    };
    let mut inventory = Inventory {
        host: "h".into(),
        scanned_at: "2026-12-01T00:00:00Z".into(),
        // 3237: defunct-vendor; 902: common-squatter; 22: not a ghost port.
        listeners: vec![
            listener(3237, 10, Some(5)),
            listener(902, 11, Some(6)),
            listener(22, 12, None),
        ],
        privileged: true,
        host_pid_namespace: Some(true),
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        provenance: Default::default(),
        portless: Vec::new(),
        kind: crate::model::InventoryKind::Linux,
    };
    let registry = Registry::builtin().expect("builtin");
    let request = registry.provenance_request(&inventory);
    assert_eq!(request.pids, [10].into());
    assert_eq!(request.netns, [Some(5)].into());
    inventory.listeners.remove(0);
    assert!(
        registry.provenance_request(&inventory).is_empty(),
        "no ghost listener, nothing to gather"
    );
    inventory.listeners.push(listener(3416, 13, None));
    assert_eq!(registry.provenance_request(&inventory).netns, [None].into());
}
