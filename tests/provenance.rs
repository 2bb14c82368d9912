//! Live tests of the evidence gathered behind ghost-port verdicts, through the library:
//! [`portghost::scan`] of a test network namespace, [`Registry::provenance_request`] and
//! [`portghost::gather_provenance`]. Real owners: Debian's `rpcbind` and `rpc.statd`
//! (package `nfs-common`), a holder binary compiled here and installed as
//! `/usr/local/bin/geckodriver`, the same binary under `/tmp`; and the namespace's own
//! ephemeral port range.
//!
//! Every test needs root, `ip` and the tools it starts. Without them it says why and
//! passes, except under `CI=true`, where CI installs them and a missing one fails the test.
//! Each test makes its own namespace (deleted when it ends, also on failure), kills what it
//! started by PID, and keeps `rpcbind`'s and `rpc.statd`'s state in a private mount
//! namespace (tmpfs on `/run` and `/var/lib/nfs`), so the host's files are not touched.

// Unix file modes, processes and sockets held by Python: Linux and other Unix systems only.
#![cfg(unix)]

mod common;

use common::{Lab, Started, in_ci, require, tool};
use portghost::model::{Inventory, Protocol};
use portghost::{NetnsScope, Registry, ScanOptions, gather_provenance, scan};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A ghost port (defunct-vendor, both transports) below 1024, where `rpc.statd` lands by
/// itself on some hosts; the test pins it there with `-p`.
const STATD_PORT: u16 = 616;

/// Scans `lab`'s namespace through the library, gathers the evidence its ghost listeners
/// need, and returns the inventory and the request's PIDs.
fn scan_and_gather(lab: &Lab) -> Inventory {
    let name = lab.netns_name().expect("the lab has a namespace").to_owned();
    let options = ScanOptions {
        netns: NetnsScope::One(name),
        ..ScanOptions::default()
    };
    let (mut inventory, _) = scan(&options).expect("scan the lab's namespace");
    let registry = Registry::builtin().expect("registry");
    let request = registry.provenance_request(&inventory);
    let started = Instant::now();
    gather_provenance(&mut inventory, &request);
    eprintln!(
        "gathered for {} PIDs, {} namespaces in {:.2} ms; notes: {:?}",
        request.pids.len(),
        request.netns.len(),
        started.elapsed().as_secs_f64() * 1000.0,
        inventory.provenance.notes
    );
    inventory
}

/// The PIDs owning the listeners on `port`.
fn owners_on(inventory: &Inventory, port: u16) -> Vec<u32> {
    let mut pids: Vec<u32> = inventory
        .listeners
        .iter()
        .filter(|l| l.port == port)
        .flat_map(|l| l.owners.iter().map(|o| o.pid))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Starts `rpcbind -f` and `rpc.statd -F --no-notify -p STATD_PORT` in `lab`'s namespace,
/// in a private mount namespace with tmpfs on `/run` and `/var/lib/nfs`. Returns the
/// supervisor and the two PIDs once both are up.
fn start_nfs(lab: &Lab) -> (Started, u32, u32) {
    let (started, rpcbind, statd) =
        common::start_nfs(lab.netns_name().expect("namespace"), &format!("-p {STATD_PORT}"));
    // Wait until statd has registered with rpcbind and listens.
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = lab.run("ss", &["-Htlnp", &format!("sport = :{STATD_PORT}")]);
        if String::from_utf8_lossy(&out.stdout).contains("rpc.statd") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (started, rpcbind, statd)
}

#[test]
fn rpc_statd_is_traced_to_its_package_and_its_rpc_program() {
    let rpcbind = tool("rpcbind");
    let statd = tool("rpc.statd");
    if !require("root and `ip`", Lab::can_isolate())
        || !require("rpcbind (apt-get install rpcbind)", rpcbind.is_some())
        || !require("rpc.statd (apt-get install nfs-common)", statd.is_some())
        || !require("unshare", tool("unshare").is_some())
    {
        return;
    }
    let lab = Lab::new();
    let (_nfs, rpcbind_pid, statd_pid) = start_nfs(&lab);
    let inventory = scan_and_gather(&lab);
    let owners = owners_on(&inventory, STATD_PORT);
    assert_eq!(
        owners,
        vec![statd_pid],
        "statd owns {STATD_PORT}: {:#?}",
        inventory.listeners
    );
    assert!(
        !owners_on(&inventory, 111).is_empty() && owners_on(&inventory, 111) == vec![rpcbind_pid],
        "rpcbind owns 111"
    );

    let p = &inventory.provenance;
    let owner = p.owners.get(&statd_pid).expect("statd's evidence gathered");
    let exe = owner.exe.as_ref().expect("statd's executable");
    let canonical = std::fs::canonicalize(statd.expect("statd")).expect("canonical rpc.statd");
    assert_eq!(Path::new(&exe.path), canonical, "{exe:?}");
    assert!(exe.path.ends_with("/sbin/rpc.statd"), "{exe:?}");
    assert_eq!(exe.package.as_deref(), Some("nfs-common"), "{exe:?}");
    assert!(exe.root_owned, "{exe:?}");
    assert!(owner.script.is_none(), "rpc.statd is no interpreter");
    assert!(
        !p.owners.contains_key(&rpcbind_pid),
        "111 is no ghost port: rpcbind is not looked at"
    );

    let inode = lab.netns_inode();
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        assert!(
            p.rpc.iter().any(|m| m.netns == inode
                && m.program == 100_024
                && m.protocol == protocol
                && m.port == STATD_PORT
                && m.name.as_deref() == Some("status")),
            "100024 status on {STATD_PORT}/{protocol}: {:#?}",
            p.rpc
        );
    }
    assert!(
        p.rpc
            .iter()
            .any(|m| m.program == 100_000 && m.port == 111 && m.name.as_deref() == Some("portmapper")),
        "{:#?}",
        p.rpc
    );
    assert!(p.notes.is_empty(), "{:?}", p.notes);
}

/// Compiles the holder: binds a TCP listener on its argument, prints `ready`, sleeps.
fn build_holder(dir: &Path) -> Option<PathBuf> {
    let source = dir.join("holder.rs");
    std::fs::write(
        &source,
        r#"use std::io::Write;
fn main() {
    let addr = std::env::args().nth(1).expect("address");
    let listener = std::net::TcpListener::bind(&addr).expect("bind");
    println!("ready");
    std::io::stdout().flush().expect("flush");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        let _ = &listener;
    }
}
"#,
    )
    .expect("write holder.rs");
    let out_file = dir.join("holder");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["-O", "--edition", "2021", "-o"])
        .arg(&out_file)
        .arg(&source)
        .status()
        .ok()?;
    status.success().then_some(out_file)
}

/// Removes a file when dropped.
struct Installed(PathBuf);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Starts `exe ADDRESS` in `lab`'s namespace and waits for `ready`.
fn hold(lab: &Lab, exe: &Path, address: &str) -> Started {
    let mut child = Command::new("ip")
        .args(["netns", "exec", lab.netns_name().expect("namespace")])
        .arg(exe)
        .arg(address)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the holder");
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read ready");
    let started = Started { child, pids: vec![pid] };
    assert_eq!(line.trim(), "ready", "the holder did not bind {address}");
    started
}

#[test]
fn an_executable_only_root_can_write_is_root_owned_and_one_under_tmp_is_not() {
    const INSTALLED: &str = "/usr/local/bin/geckodriver";
    if !require("root and `ip`", Lab::can_isolate()) || !require("rustc", tool("rustc").is_some()) {
        return;
    }
    if Path::new(INSTALLED).exists() {
        assert!(!in_ci(), "{INSTALLED} already exists");
        eprintln!("skipped: {INSTALLED} exists and is not the test's to replace");
        return;
    }
    let build = tempfile::tempdir().expect("tempdir");
    let holder = build_holder(build.path()).expect("rustc builds the holder");
    let private = tempfile::Builder::new()
        .prefix("portghost-test-")
        .tempdir_in("/tmp")
        .expect("private dir under /tmp");
    let in_tmp = private.path().join("geckodriver");
    std::fs::copy(&holder, &in_tmp).expect("copy to /tmp");
    std::fs::copy(&holder, INSTALLED).expect("install as geckodriver");
    let _installed = Installed(PathBuf::from(INSTALLED));
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(INSTALLED, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    let lab = Lab::new();
    let _good = hold(&lab, Path::new(INSTALLED), "127.0.0.1:4444");
    let _bad = hold(&lab, &in_tmp, "127.0.0.2:4444");
    let inventory = scan_and_gather(&lab);
    let p = &inventory.provenance;
    let exe_of = |address: &str| {
        let listener = inventory
            .listeners
            .iter()
            .find(|l| l.port == 4444 && l.local_address.to_string() == address)
            .unwrap_or_else(|| panic!("{address}:4444 listed: {:#?}", inventory.listeners));
        let pid = listener.owners.first().expect("an owner").pid;
        p.owners
            .get(&pid)
            .and_then(|o| o.exe.clone())
            .unwrap_or_else(|| panic!("evidence for PID {pid}: {p:#?}"))
    };
    let good = exe_of("127.0.0.1");
    assert_eq!(good.path, INSTALLED);
    assert!(good.root_owned, "{good:?}");
    assert_eq!(good.package, None, "no package installed it");
    let bad = exe_of("127.0.0.2");
    let tmp = std::fs::canonicalize(&in_tmp).expect("canonical");
    assert_eq!(Path::new(&bad.path), tmp);
    assert!(!bad.root_owned, "/tmp is writable by everyone: {bad:?}");
    assert_eq!(bad.package, None);
}

#[test]
fn the_ephemeral_range_is_read_inside_each_namespace() {
    if !require("root and `ip`", Lab::can_isolate()) || !require("sysctl (procps)", tool("sysctl").is_some()) {
        return;
    }
    let mut lab = Lab::new();
    let set = lab.run("sysctl", &["-w", "net.ipv4.ip_local_port_range=3000 3999"]);
    assert!(set.status.success(), "{}", String::from_utf8_lossy(&set.stderr));
    // 3237/tcp is a ghost port inside the new range.
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let inventory = scan_and_gather(&lab);
    let inode = lab.netns_inode();
    assert_eq!(
        inventory.provenance.ephemeral.get(&inode),
        Some(&(3000, 3999)),
        "{:?}",
        inventory.provenance
    );

    // The host's own namespace: read directly, and it is the host's range, not the lab's.
    let host_range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").expect("host range");
    let mut fields = host_range.split_whitespace().map(|f| f.parse::<u16>().expect("port"));
    let host = (fields.next().expect("low"), fields.next().expect("high"));
    let registry = Registry::builtin().expect("registry");
    let (mut own, _) = scan(&ScanOptions {
        owners: false,
        ..ScanOptions::default()
    })
    .expect("scan own namespace");
    let own_key = own.namespaces.first().map(|n| n.inode);
    let mut request = registry.provenance_request(&own);
    request.pids.clear();
    request.netns.clear();
    request.netns.insert(own_key);
    gather_provenance(&mut own, &request);
    assert_eq!(own.provenance.ephemeral.get(&own_key), Some(&host));
    assert_ne!(host, (3000, 3999));
}

#[test]
fn a_scan_with_no_ghost_listener_gathers_nothing() {
    if !require("root and `ip`", Lab::can_isolate()) {
        return;
    }
    let mut lab = Lab::new();
    // 22/tcp and 8080/tcp have no ghost entry.
    lab.hold(&["tcp:127.0.0.1:22", "tcp:127.0.0.1:8080"]);
    let name = lab.netns_name().expect("namespace").to_owned();
    let (mut inventory, _) = scan(&ScanOptions {
        netns: NetnsScope::One(name),
        ..ScanOptions::default()
    })
    .expect("scan");
    assert_eq!(inventory.listeners.len(), 2, "{:#?}", inventory.listeners);
    let request = Registry::builtin().expect("registry").provenance_request(&inventory);
    assert!(request.is_empty(), "{request:?}");
    gather_provenance(&mut inventory, &request);
    assert_eq!(inventory.provenance, Default::default());
}
