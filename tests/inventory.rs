//! Library-level tests of `portghost::scan` against sockets this test process
//! opens itself.
//!
//! Every assertion looks only at the test's own ports, never at whatever else listens on
//! the machine, so the tests hold on any host (and in parallel with each other).

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]
// Test helpers outside #[test] fns are not covered by clippy.toml's allow-unwrap-in-tests.
#![allow(clippy::unwrap_used)]

use portghost::model::{Inventory, Listener, OwnerStatus, Protocol};
use portghost::{NetnsScope, ScanOptions, scan};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

const V4: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const V6: IpAddr = IpAddr::V6(Ipv6Addr::LOCALHOST);

fn full_scan() -> Inventory {
    scan(&ScanOptions::default()).expect("scan").0
}

/// Every listener of `protocol` on `port`.
fn on_port(inventory: &Inventory, protocol: Protocol, port: u16) -> Vec<&Listener> {
    inventory
        .listeners
        .iter()
        .filter(|l| l.protocol == protocol && l.port == port)
        .collect()
}

/// The kernel's name for this process, as `ss` shows it.
fn own_comm() -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

/// IPv6 loopback may be missing (ipv6.disable=1, some containers): v6 checks are then skipped.
fn bind_v6<T>(bind: impl FnOnce(SocketAddr) -> std::io::Result<T>) -> Option<T> {
    match bind(SocketAddr::new(V6, 0)) {
        Ok(socket) => Some(socket),
        Err(error) => {
            eprintln!("no IPv6 loopback ({error}); skipping the IPv6 part");
            None
        }
    }
}

/// Asserts that `addr` is listed exactly once, owned by this process only.
fn assert_own_listener(inventory: &Inventory, protocol: Protocol, addr: SocketAddr) {
    let found = on_port(inventory, protocol, addr.port());
    assert_eq!(
        found.len(),
        1,
        "{protocol} {addr}: expected exactly one listener, got {found:#?}"
    );
    let listener = found[0];
    assert_eq!(listener.local_address, addr.ip(), "{protocol} {addr}");
    assert_eq!(listener.owner_status, OwnerStatus::Known, "{protocol} {addr}");
    assert_eq!(listener.owners.len(), 1, "{protocol} {addr}: {:#?}", listener.owners);
    let owner = &listener.owners[0];
    assert_eq!(owner.pid, std::process::id());
    assert_eq!(owner.name, own_comm());
    let own_uid = std::fs::metadata("/proc/self").unwrap().uid();
    assert_eq!(owner.uid, Some(own_uid));
    assert_eq!(listener.uid, Some(own_uid));
    assert!(listener.inode.is_some_and(|inode| inode > 0));
    let exe = std::env::current_exe().unwrap();
    assert_eq!(owner.exe.as_deref(), exe.to_str());
    let cmdline = owner.cmdline.as_deref().unwrap_or_default();
    assert!(!cmdline.is_empty() && !cmdline.contains('\0'), "cmdline {cmdline:?}");
}

#[test]
fn own_tcp_and_udp_listeners_are_listed_once_with_this_process_as_owner() {
    let tcp4 = TcpListener::bind((V4, 0)).unwrap();
    let udp4 = UdpSocket::bind((V4, 0)).unwrap();
    let tcp6 = bind_v6(TcpListener::bind);
    let udp6 = bind_v6(UdpSocket::bind);

    let inventory = full_scan();

    assert_own_listener(&inventory, Protocol::Tcp, tcp4.local_addr().unwrap());
    assert_own_listener(&inventory, Protocol::Udp, udp4.local_addr().unwrap());
    if let Some(tcp6) = &tcp6 {
        assert_own_listener(&inventory, Protocol::Tcp, tcp6.local_addr().unwrap());
    }
    if let Some(udp6) = &udp6 {
        assert_own_listener(&inventory, Protocol::Udp, udp6.local_addr().unwrap());
    }
}

#[test]
fn connected_udp_socket_is_not_a_listener() {
    let server = UdpSocket::bind((V4, 0)).unwrap();
    let client = UdpSocket::bind((V4, 0)).unwrap();
    client.connect(server.local_addr().unwrap()).unwrap();

    let inventory = full_scan();

    let client_port = client.local_addr().unwrap().port();
    let listed = on_port(&inventory, Protocol::Udp, client_port);
    assert!(
        listed.is_empty(),
        "connected UDP socket on port {client_port} listed as a listener: {listed:#?}"
    );
    assert_own_listener(&inventory, Protocol::Udp, server.local_addr().unwrap());
}

#[test]
fn established_tcp_connections_are_not_listeners() {
    let listener = TcpListener::bind((V4, 0)).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (accepted, _) = listener.accept().unwrap();

    let inventory = full_scan();

    let client_port = client.local_addr().unwrap().port();
    let listed = on_port(&inventory, Protocol::Tcp, client_port);
    assert!(
        listed.is_empty(),
        "client side of a connection on port {client_port} listed as a listener: {listed:#?}"
    );
    // The accepted socket shares the listener's port but is ESTABLISHED, not LISTEN.
    assert_own_listener(&inventory, Protocol::Tcp, listener.local_addr().unwrap());
    drop(accepted);
}

#[test]
fn without_owners_the_listener_is_listed_as_not_looked() {
    let tcp = TcpListener::bind((V4, 0)).unwrap();
    let opts = ScanOptions {
        owners: false,
        ..ScanOptions::default()
    };

    let (inventory, _) = scan(&opts).unwrap();

    let found = on_port(&inventory, Protocol::Tcp, tcp.local_addr().unwrap().port());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].owner_status, OwnerStatus::NotLooked);
    assert!(found[0].owners.is_empty());
}

#[test]
fn protocols_not_asked_for_are_not_dumped() {
    let tcp = TcpListener::bind((V4, 0)).unwrap();
    let udp = UdpSocket::bind((V4, 0)).unwrap();

    let (tcp_only, _) = scan(&ScanOptions {
        udp: false,
        ..ScanOptions::default()
    })
    .unwrap();
    let (udp_only, _) = scan(&ScanOptions {
        tcp: false,
        ..ScanOptions::default()
    })
    .unwrap();

    assert!(tcp_only.listeners.iter().all(|l| l.protocol == Protocol::Tcp));
    assert!(udp_only.listeners.iter().all(|l| l.protocol == Protocol::Udp));
    assert_own_listener(&tcp_only, Protocol::Tcp, tcp.local_addr().unwrap());
    assert_own_listener(&udp_only, Protocol::Udp, udp.local_addr().unwrap());
}

#[test]
fn inventory_metadata_is_filled_and_sort_gives_the_canonical_order() {
    let _tcp = TcpListener::bind((V4, 0)).unwrap();

    let inventory = full_scan();

    assert!(!inventory.host.is_empty());
    assert!(
        humantime::parse_rfc3339(&inventory.scanned_at).is_ok(),
        "{}",
        inventory.scanned_at
    );
    // The scan lists listeners in no particular order; sort() gives the canonical one.
    let mut sorted = inventory.clone();
    sorted.sort();
    let key = |l: &Listener| (l.netns_order(), l.protocol, l.port, l.local_address, l.inode);
    assert!(sorted.listeners.windows(2).all(|w| key(&w[0]) <= key(&w[1])));
    assert_eq!(sorted.listeners.len(), inventory.listeners.len());
    assert!(inventory.listeners.iter().all(|l| sorted.listeners.contains(l)));
    let statuses_ok = inventory.listeners.iter().all(|l| match l.owner_status {
        OwnerStatus::Known => !l.owners.is_empty(),
        _ => l.owners.is_empty(),
    });
    assert!(statuses_ok, "a listener's owner status disagrees with its owner list");
}

/// A python3 parent binds a TCP listener and a UDP socket, then forks: both processes hold
/// both sockets. Skipped when python3 is not installed.
#[test]
fn a_socket_shared_by_forked_processes_lists_every_owner() {
    const SCRIPT: &str = r#"
import os, socket, sys
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
child = os.fork()
if child == 0:
    sys.stdin.read(); os._exit(0)
print(t.getsockname()[1], u.getsockname()[1], os.getpid(), child, flush=True)
sys.stdin.read(); os.waitpid(child, 0)
"#;
    let spawned = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut python) = spawned else {
        eprintln!("python3 not available; skipping the shared-socket test");
        return;
    };
    let mut line = String::new();
    BufReader::new(python.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let fields: Vec<u32> = line.split_whitespace().map(|f| f.parse().unwrap()).collect();
    let [tcp_port, udp_port, parent, child] = fields[..] else {
        panic!("bad line {line:?}")
    };
    let mut expected = vec![parent, child];
    expected.sort_unstable();

    let inventory = full_scan();

    for (protocol, port) in [(Protocol::Tcp, tcp_port), (Protocol::Udp, udp_port)] {
        let found = on_port(&inventory, protocol, u16::try_from(port).unwrap());
        assert_eq!(found.len(), 1, "{protocol} {port}: {found:#?}");
        let pids: Vec<u32> = found[0].owners.iter().map(|o| o.pid).collect();
        assert_eq!(pids, expected, "{protocol} {port}");
        let comm = std::fs::read_to_string(format!("/proc/{parent}/comm")).unwrap();
        assert!(
            found[0].owners.iter().all(|o| o.name == comm.trim_end()),
            "{:#?}",
            found[0].owners
        );
        assert_eq!(found[0].owner_status, OwnerStatus::Known);
    }

    drop(python.stdin.take()); // EOF on stdin: both processes exit
    python.wait().unwrap();
}

/// `net.ipv6.bindv6only`: 0 (the default) makes `[::]` sockets dual-stack.
fn bindv6only() -> Option<bool> {
    std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")
        .ok()
        .map(|s| s.trim() == "1")
}

#[test]
fn ipv6_wildcard_sockets_report_v6only() {
    let Some(listener) = bind_v6(|_| TcpListener::bind("[::]:0")) else {
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let v4_only = TcpListener::bind("127.0.0.1:0").unwrap();
    let inventory = full_scan();
    let found = on_port(&inventory, Protocol::Tcp, port);
    let l = found
        .iter()
        .find(|l| l.local_address.is_unspecified() && l.local_address.is_ipv6())
        .expect("the [::] listener");
    let expected_v6only = bindv6only().expect("sysctl readable");
    assert_eq!(l.v6only, Some(expected_v6only));
    assert_eq!(l.is_dual_stack(), !expected_v6only);
    assert_eq!(l.exposure(), portghost::model::Exposure::Wildcard);
    let v4 = on_port(&inventory, Protocol::Tcp, v4_only.local_addr().unwrap().port());
    assert_eq!(v4[0].v6only, None, "IPv4 sockets have no v6only");
    assert_eq!(v4[0].exposure(), portghost::model::Exposure::Loopback);
}

#[test]
fn listeners_carry_the_network_namespace_they_were_found_in() {
    let tcp = TcpListener::bind((V4, 0)).unwrap();
    let port = tcp.local_addr().unwrap().port();
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();

    let inventory = full_scan();
    let found = on_port(&inventory, Protocol::Tcp, port);
    assert_eq!(found[0].netns.as_ref().map(|n| n.inode), Some(own));
    assert!(
        inventory
            .listeners
            .iter()
            .all(|l| l.netns.as_ref().map(|n| n.inode) == Some(own)),
        "a default scan stays in its own namespace"
    );
    assert_eq!(inventory.namespaces.len(), 1);
    assert_eq!(inventory.namespaces[0].inode, own);

    // Naming its own namespace by path needs no privilege: nothing is entered.
    let (by_path, _) = scan(&ScanOptions {
        netns: NetnsScope::One("/proc/self/ns/net".into()),
        ..ScanOptions::default()
    })
    .unwrap();
    assert_own_listener(&by_path, Protocol::Tcp, tcp.local_addr().unwrap());
    assert_eq!(by_path.namespaces.len(), 1);
}
