//! The comparison on hand-made snapshots: what is drift and what is not.

use super::*;
use crate::schema::names::{OwnerStatusName, VerdictName};
use crate::schema::wire::OwnerJson;

fn owner(pid: u32, name: &str, exe: &str, user: &str) -> OwnerJson<'static> {
    OwnerJson {
        pid,
        name: name.to_owned().into(),
        exe: Some(exe.to_owned().into()),
        cmdline: Some(format!("{name} --pid {pid}").into()),
        uid: Some(0),
        user: Some(user.to_owned().into()),
        unit: None,
        user_unit_uid: None,
        exe_deleted: false,
        container: None,
    }
}

fn listener(proto: Protocol, addr: &str, port: u16, owners: Vec<OwnerJson<'static>>) -> SnapshotListener {
    SnapshotListener {
        protocol: proto.into(),
        family: None,
        local_address: addr.parse().expect("address"),
        port,
        exposure: None,
        v6only: None,
        dual_stack: false,
        inode: None,
        uid: None,
        netns: None,
        owners,
        owner_status: Some(OwnerStatusName::Known),
        owner_reason: None,
        service: None,
        ghost: None,
        verdict: Some(VerdictName::Unreviewed),
        findings: Vec::new(),
    }
}

fn snap(listeners: Vec<SnapshotListener>) -> Snapshot {
    Snapshot {
        schema_version: 1,
        host: Some("web-01".into()),
        scanned_at: Some("2026-11-21T08:00:00Z".into()),
        complete: Some(true),
        privileged: None,
        warnings: Vec::new(),
        view: None,
        namespaces: Vec::new(),
        policy: None,
        summary: None,
        listeners,
    }
}

fn base() -> Vec<SnapshotListener> {
    vec![
        listener(
            Protocol::Tcp,
            "0.0.0.0",
            22,
            vec![owner(812, "sshd", "/usr/sbin/sshd", "root")],
        ),
        listener(
            Protocol::Tcp,
            "127.0.0.1",
            5432,
            vec![owner(
                900,
                "postgres",
                "/usr/lib/postgresql/16/bin/postgres",
                "postgres",
            )],
        ),
        listener(
            Protocol::Tcp,
            "0.0.0.0",
            80,
            vec![
                owner(1000, "nginx", "/usr/sbin/nginx", "root"),
                owner(1001, "nginx", "/usr/sbin/nginx", "www-data"),
            ],
        ),
        listener(
            Protocol::Udp,
            "0.0.0.0",
            53,
            vec![owner(700, "dnsmasq", "/usr/sbin/dnsmasq", "nobody")],
        ),
    ]
}

#[test]
fn identical_scans_have_no_drift() {
    let d = compare(&snap(base()), "old", &snap(base()), "new");
    assert!(!d.summary.drift);
    assert_eq!(d.summary.unchanged, 4);
    assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty() && d.address_changed.is_empty());
    assert!(d.notes.is_empty(), "{:?}", d.notes);
}

#[test]
fn new_pids_commands_and_units_are_not_drift() {
    let mut new = base();
    for l in &mut new {
        for o in &mut l.owners {
            o.pid += 10_000;
            o.cmdline = Some("restarted".into());
            o.unit = Some("other.service".into());
        }
    }
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(!d.summary.drift, "{d:#?}");
    assert_eq!(d.summary.unchanged, 4);
}

#[test]
fn added_and_removed_listeners() {
    let mut new = base();
    new.retain(|l| l.port != 53);
    new.push(listener(
        Protocol::Tcp,
        "0.0.0.0",
        9090,
        vec![owner(4242, "python3", "/usr/bin/python3.11", "root")],
    ));
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(d.summary.drift);
    assert_eq!(d.added.len(), 1);
    assert_eq!(d.added[0].port, 9090);
    assert_eq!(d.added[0].owners[0].name, "python3");
    assert_eq!(d.removed.len(), 1);
    assert_eq!((d.removed[0].protocol, d.removed[0].port), (Protocol::Udp, 53));
    assert!(d.changed.is_empty() && d.address_changed.is_empty());
    assert_eq!(d.summary.unchanged, 3);
}

#[test]
fn owner_name_exe_and_user_changes_are_reported() {
    let mut new = base();
    new[0].owners = vec![owner(812, "sshd", "/tmp/sshd", "nobody")];
    new[3].owners = vec![owner(700, "python3", "/usr/bin/python3.11", "nobody")];
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert_eq!(d.summary.changed, 2);
    let ssh = d.changed.iter().find(|c| c.old.port == 22).expect("22 changed");
    assert_eq!(
        ssh.changes,
        vec![
            Change {
                field: "exe",
                old: "/usr/sbin/sshd".into(),
                new: "/tmp/sshd".into()
            },
            Change {
                field: "user",
                old: "root".into(),
                new: "nobody".into()
            },
        ]
    );
    let dns = d.changed.iter().find(|c| c.old.port == 53).expect("53 changed");
    assert_eq!(dns.changes[0].field, "process");
    assert_eq!(
        (dns.changes[0].old.as_str(), dns.changes[0].new.as_str()),
        ("dnsmasq", "python3")
    );
    assert_eq!(
        dns.changes.iter().map(|c| c.field).collect::<Vec<_>>(),
        ["process", "exe"]
    );
}

#[test]
fn a_new_worker_with_the_same_identity_is_not_drift() {
    let mut new = base();
    new[2].owners.push(owner(1002, "nginx", "/usr/sbin/nginx", "www-data"));
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(!d.summary.drift, "{d:#?}");
}

#[test]
fn loopback_to_wildcard_is_an_address_change_that_widens_exposure() {
    let mut new = base();
    new[1].local_address = "0.0.0.0".parse().expect("ip");
    new[1].owners[0].pid = 901;
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(d.added.is_empty() && d.removed.is_empty(), "{d:#?}");
    assert_eq!(d.address_changed.len(), 1);
    let m = &d.address_changed[0];
    assert_eq!(m.old.local_address.to_string(), "127.0.0.1");
    assert_eq!(m.new.local_address.to_string(), "0.0.0.0");
    assert_eq!(
        (m.old.exposure, m.new.exposure),
        (Exposure::Loopback, Exposure::Wildcard)
    );
    assert_eq!(m.exposure_change, ExposureChange::Widened);
    assert!(m.changes.is_empty());
    assert!(d.summary.drift);
}

#[test]
fn a_different_process_on_another_address_is_not_a_move() {
    let mut new = base();
    new[1].local_address = "0.0.0.0".parse().expect("ip");
    new[1].owners = vec![owner(901, "python3", "/usr/bin/python3.11", "root")];
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(d.address_changed.is_empty());
    assert_eq!((d.added.len(), d.removed.len()), (1, 1));
}

#[test]
fn moves_pair_within_the_same_family_first() {
    let pg = || vec![owner(900, "postgres", "/usr/bin/postgres", "postgres")];
    let old = vec![
        listener(Protocol::Tcp, "127.0.0.1", 5432, pg()),
        listener(Protocol::Tcp, "::1", 5432, pg()),
    ];
    let new = vec![
        listener(Protocol::Tcp, "::", 5432, pg()),
        listener(Protocol::Tcp, "0.0.0.0", 5432, pg()),
    ];
    let d = compare(&snap(old), "old", &snap(new), "new");
    assert_eq!(d.address_changed.len(), 2);
    for m in &d.address_changed {
        assert_eq!(m.old.local_address.is_ipv4(), m.new.local_address.is_ipv4(), "{m:#?}");
        assert_eq!(m.exposure_change, ExposureChange::Widened);
    }
}

#[test]
fn narrowing_is_marked() {
    assert_eq!(
        ExposureChange::between(Exposure::Wildcard, Exposure::Loopback),
        ExposureChange::Narrowed
    );
    assert_eq!(
        ExposureChange::between(Exposure::Private, Exposure::Public),
        ExposureChange::Widened
    );
    assert_eq!(
        ExposureChange::between(Exposure::Loopback, Exposure::Loopback),
        ExposureChange::Same
    );
}

#[test]
fn hidden_owners_are_noted_not_reported_as_changes() {
    let mut new = base();
    new[0].owners.clear();
    new[0].owner_status = Some(OwnerStatusName::Permission);
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(!d.summary.drift, "{d:#?}");
    assert_eq!(d.summary.not_compared, 1);
    assert!(
        d.notes[0].starts_with("tcp 0.0.0.0:22: owners hidden in the new scan"),
        "{:?}",
        d.notes
    );
}

#[test]
fn unreadable_exe_is_not_a_change() {
    let mut new = base();
    new[0].owners[0].exe = None;
    let d = compare(&snap(base()), "old", &snap(new), "new");
    assert!(!d.summary.drift, "{d:#?}");
}

#[test]
fn a_kernel_socket_that_gains_a_process_is_a_change() {
    let mut old = base();
    old[3].owners.clear();
    old[3].owner_status = Some(OwnerStatusName::NoProcess);
    let d = compare(&snap(old), "old", &snap(base()), "new");
    assert_eq!(d.summary.changed, 1);
    assert_eq!(d.changed[0].changes[0].old, "(none)");
}

#[test]
fn reuseport_sockets_merge_into_one_listener() {
    let mut old = base();
    old.push(listener(
        Protocol::Tcp,
        "0.0.0.0",
        80,
        vec![owner(1002, "nginx", "/usr/sbin/nginx", "www-data")],
    ));
    let d = compare(&snap(old), "old", &snap(base()), "new");
    assert!(!d.summary.drift, "{d:#?}");
    assert_eq!(d.old.listeners, 4);
}

#[test]
fn namespaces_keep_listeners_apart() {
    let mut old = base();
    let mut extra = old[0].clone();
    extra.netns = Some(SnapshotNetns {
        inode: Some(4026532301),
        name: Some("lab1".into()),
        container: None,
        host: false,
    });
    old.push(extra);
    let d = compare(&snap(old), "old", &snap(base()), "new");
    assert_eq!(d.removed.len(), 1);
    assert_eq!(d.removed[0].netns.as_deref(), Some("lab1"));
}

#[test]
fn the_hosts_namespace_matches_a_scan_that_recorded_none() {
    // A scan from before listeners carried their namespace, against one that says
    // "the host's" (whose inode a reboot may renumber on older kernels).
    let old = base();
    let mut new = base();
    for l in &mut new {
        l.netns = Some(SnapshotNetns {
            inode: Some(4026531833),
            name: None,
            container: None,
            host: true,
        });
    }
    let d = compare(&snap(old), "old", &snap(new), "new");
    assert!(!d.summary.drift, "{d:#?}");
}

#[test]
fn a_scan_of_one_namespace_is_compared_without_it() {
    let in_lab = |mut ls: Vec<SnapshotListener>| {
        for l in &mut ls {
            l.netns = Some(SnapshotNetns {
                inode: Some(4026532301),
                name: Some("lab1".into()),
                container: None,
                host: false,
            });
        }
        ls
    };
    let d = compare(&snap(base()), "old", &snap(in_lab(base())), "new");
    assert!(!d.summary.drift, "{d:#?}");
    let mut new = in_lab(base());
    new.pop();
    let d = compare(&snap(in_lab(base())), "old", &snap(new), "new");
    assert_eq!(d.removed.len(), 1);
    assert_eq!(d.removed[0].netns, None, "one namespace: no label to show");
}
