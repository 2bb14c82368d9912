//! The inventory agrees with `ss -tulpn`: the same (protocol, local address, port, PID) set,
//! including sockets shared by a forked child and excluding a connected UDP client socket.
//!
//! As root the comparison covers a private network namespace whole; otherwise it covers
//! only the ports this test's child bound.

mod common;

use common::Lab;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Command;

type Tuple = (String, IpAddr, u16, Option<u32>);

/// Python: bind listeners, fork a child that shares them, add a connected UDP socket.
const SHARED: &str = r#"
import os, socket, sys
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.bind(("127.0.0.1", 3237)); t.listen(8)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("::1", 3416))
peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); peer.bind(("127.0.0.1", 3517))
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); c.bind(("127.0.0.1", 3518)); c.connect(("127.0.0.1", 3517))
pid = os.fork()
if pid == 0:
    sys.stdin.read()
    os._exit(0)
print("READY", pid, flush=True)
sys.stdin.read()
"#;

fn parse_ss(text: &str) -> BTreeSet<Tuple> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || !(f[0] == "tcp" || f[0] == "udp") {
            continue;
        }
        let (host, port) = f[4].rsplit_once(':').expect("addr:port");
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.split('%').next().expect("host");
        let addr: IpAddr = if host == "*" {
            "::".parse().expect("ip")
        } else {
            host.parse().expect("ip")
        };
        let port: u16 = port.parse().expect("port");
        let pids: Vec<u32> = line
            .match_indices("pid=")
            .map(|(i, _)| {
                line[i + 4..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .expect("pid")
            })
            .collect();
        if pids.is_empty() {
            out.insert((f[0].to_string(), addr, port, None));
        }
        for p in pids {
            out.insert((f[0].to_string(), addr, port, Some(p)));
        }
    }
    out
}

fn parse_portghost(v: &Value) -> BTreeSet<Tuple> {
    let mut out = BTreeSet::new();
    for l in v["listeners"].as_array().expect("listeners") {
        let proto = l["protocol"].as_str().expect("protocol").to_string();
        let addr: IpAddr = l["local_address"].as_str().expect("addr").parse().expect("ip");
        let port = l["port"].as_u64().expect("port") as u16;
        let owners = l["owners"].as_array().expect("owners");
        if owners.is_empty() {
            out.insert((proto.clone(), addr, port, None));
        }
        for o in owners {
            out.insert((proto.clone(), addr, port, Some(o["pid"].as_u64().expect("pid") as u32)));
        }
    }
    out
}

#[test]
fn listeners_and_owners_equal_ss() {
    if Command::new("ss").arg("-V").output().is_err() {
        panic!("ss (iproute2) is needed for this test");
    }
    let mut lab = Lab::new();
    let (parent, rest) = lab.hold_script(SHARED);
    let child: u32 = rest.trim().parse().expect("forked child's PID");
    lab.adopt(child);
    let ss = lab.run("ss", &["-tulpnH"]);
    let out = lab.portghost(&["scan", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut ours = parse_portghost(&v);
    let mut theirs = parse_ss(&String::from_utf8(ss.stdout).expect("utf-8"));
    if !lab.isolated() {
        let mine = |t: &Tuple| [3237, 3416, 3517].contains(&t.2);
        ours.retain(mine);
        theirs.retain(mine);
    }
    assert_eq!(ours, theirs, "portghost and ss disagree");
    // The shared sockets have two owners each; the connected UDP socket is not a listener.
    let owners_3237: Vec<_> = ours.iter().filter(|t| t.2 == 3237).collect();
    assert_eq!(owners_3237.len(), 2, "parent and forked child: {owners_3237:?}");
    assert!(owners_3237.iter().any(|t| t.3 == Some(parent)));
    assert!(owners_3237.iter().any(|t| t.3 == Some(child)));
    assert!(
        ours.iter().all(|t| t.2 != 3518),
        "connected UDP socket listed: {ours:?}"
    );
    assert_eq!(ours.iter().filter(|t| t.2 == 3416).count(), 2);
}

/// Python: fork `procs` children that bind `per` TCP listeners and `per` UDP sockets each,
/// alternating 127.0.0.1 and ::1, on ports the kernel picks. Prints the children's PIDs.
const MANY: &str = r#"
import os, socket, sys
procs, per = int(sys.argv[1]), int(sys.argv[2])
kids = []
for k in range(procs):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        held = []
        for i in range(per):
            fam, host = (socket.AF_INET, "127.0.0.1") if i % 2 == 0 else (socket.AF_INET6, "::1")
            t = socket.socket(fam, socket.SOCK_STREAM); t.bind((host, 0)); t.listen(4); held.append(t)
            u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((host, 0)); held.append(u)
        os.write(w, b"1"); os.close(w)
        sys.stdin.read()
        os._exit(0)
    os.close(w)
    assert os.read(r, 1) == b"1"
    os.close(r)
    kids.append(pid)
print("READY", " ".join(map(str, kids)), flush=True)
sys.stdin.read()
"#;

#[test]
fn thousands_of_listeners_over_many_processes_equal_ss() {
    let mut lab = Lab::new();
    if !lab.isolated() {
        eprintln!("skipped: needs root to compare a whole private network namespace");
        return;
    }
    let (procs, per) = (40, 50);
    let (_, kids) = lab.hold_script(&format!("import sys; sys.argv = ['many', '{procs}', '{per}']\n{MANY}"));
    let kids: Vec<u32> = kids.split_whitespace().map(|p| p.parse().expect("child PID")).collect();
    assert_eq!(kids.len(), procs);
    for &kid in &kids {
        lab.adopt(kid);
    }
    let ss = lab.run("ss", &["-tulpnH"]);
    let out = lab.portghost(&["scan", "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours = parse_portghost(&serde_json::from_slice(&out.stdout).expect("json"));
    let theirs = parse_ss(&String::from_utf8(ss.stdout).expect("utf-8"));
    assert_eq!(ours.len(), procs * per * 2, "one owner per socket");
    assert_eq!(ours, theirs, "portghost and ss disagree");
    // Every child owns exactly its own sockets, IPv4 and IPv6.
    for &kid in &kids {
        let owned: Vec<_> = ours.iter().filter(|t| t.3 == Some(kid)).collect();
        assert_eq!(owned.len(), per * 2, "PID {kid}");
        assert!(owned.iter().any(|t| t.1.is_ipv6()) && owned.iter().any(|t| t.1.is_ipv4()));
    }
}
