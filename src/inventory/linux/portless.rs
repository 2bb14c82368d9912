//! The portless sockets of one network namespace (Linux): packet sockets (`AF_PACKET`) and
//! raw IP sockets, which listen without a port.
//!
//! Owns the `NETLINK_SOCK_DIAG` requests for them and the parsing of the answers, read by
//! hand and bounds-checked like [`super::dump`]'s: `packet_diag` (`AF_PACKET`: type,
//! protocol, interface, memberships, rings, fanout, owner UID and the classic BPF filter,
//! which the kernel shows only to `CAP_NET_ADMIN`) and `raw_diag` (`IPPROTO_RAW` in
//! `inet_diag_req_v2`, every raw protocol at once). When a kernel lacks either module it
//! falls back to `/proc/thread-self/net/packet` and `.../raw`, `.../raw6` (the calling
//! thread's namespace), which have no filter or memberships, and says so. It names
//! interfaces with `SIOCGIFNAME` on a socket of the caller's namespace.
//!
//! It must not: enter namespaces (the caller runs it inside the right one), look up owners,
//! judge anything, or panic on any datagram or file content. A portless dump that fails
//! entirely is a warning, never a failed scan.

use super::dump::{self, DumpError, NLMSG_HEADER_LEN, RECV_BUFFER_LEN, RTATTR_HEADER_LEN, u16_at, u32_at};
use crate::model::{BpfInsn, FilterStatus, Membership, Netns, SocketKind, SocketType};
use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// `AF_PACKET`.
const AF_PACKET: u8 = 17;
/// `AF_INET`, `AF_INET6`.
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
/// `IPPROTO_RAW`: selects raw_diag in an `inet_diag_req_v2`.
const IPPROTO_RAW: u8 = 255;
/// `PACKET_SHOW_INFO | MCLIST | RING_CFG | FANOUT | FILTER` (`linux/packet_diag.h`).
const PACKET_SHOW: u32 = 0x01 | 0x02 | 0x04 | 0x08 | 0x20;
/// `struct packet_diag_msg`: family, type, num (big-endian), inode, cookie.
const PACKET_DIAG_MSG_LEN: usize = 16;
/// Attributes of a `packet_diag_msg`.
const PACKET_DIAG_INFO: u16 = 0;
const PACKET_DIAG_MCLIST: u16 = 1;
const PACKET_DIAG_RX_RING: u16 = 2;
const PACKET_DIAG_TX_RING: u16 = 3;
const PACKET_DIAG_FANOUT: u16 = 4;
const PACKET_DIAG_UID: u16 = 5;
const PACKET_DIAG_FILTER: u16 = 7;
/// `struct packet_diag_mclist`: index, count, type, alen, addr[32].
const MCLIST_LEN: usize = 44;
/// `struct sock_filter`: code, jt, jf, k.
const SOCK_FILTER_LEN: usize = 8;
/// The kernel's `BPF_MAXINSNS`: no attached filter is longer.
const BPF_MAXINSNS: usize = 4096;
/// Most memberships kept per socket.
const MAX_MEMBERSHIPS: usize = 64;

/// One portless socket as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawPortless {
    pub(super) kind: SocketKind,
    pub(super) socket_type: SocketType,
    /// EtherType (packet) or IP protocol (raw), host order.
    pub(super) protocol: u16,
    pub(super) local_address: Option<IpAddr>,
    pub(super) ifindex: u32,
    pub(super) interface: Option<String>,
    pub(super) memberships: Vec<Membership>,
    pub(super) ring: bool,
    pub(super) fanout: Option<u32>,
    pub(super) filter_status: FilterStatus,
    pub(super) filter: Option<Vec<BpfInsn>>,
    pub(super) inode: u32,
    pub(super) uid: Option<u32>,
    /// The namespace it was dumped in, once known.
    pub(super) netns: Option<Arc<Netns>>,
}

/// Every portless socket of the caller's network namespace, and what could not be read
/// (one sentence each). Never fails.
pub(super) fn dump_portless() -> (Vec<RawPortless>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    match netlink_packet() {
        Ok(mut sockets) => out.append(&mut sockets),
        Err(error) => match proc_packet() {
            Ok(mut sockets) => {
                notes.push(format!(
                    "packet sockets were read from /proc/net/packet because NETLINK_SOCK_DIAG refused them ({}): \
                     their filters and memberships are not known",
                    error_text(&error)
                ));
                out.append(&mut sockets);
            }
            Err(e) => notes.push(format!(
                "packet sockets could not be listed: NETLINK_SOCK_DIAG failed ({}) and /proc/net/packet could not be read ({e})",
                error_text(&error)
            )),
        },
    }
    match netlink_raw() {
        Ok(mut sockets) => out.append(&mut sockets),
        Err(error) => {
            let mut fallback = Vec::new();
            let mut failed = Vec::new();
            for (file, v6) in [("raw", false), ("raw6", true)] {
                match proc_raw(file, v6) {
                    Ok(mut s) => fallback.append(&mut s),
                    Err(e) => failed.push(format!("/proc/net/{file}: {e}")),
                }
            }
            // /proc/net/raw holds what raw_diag would give but the bound device: no note
            // unless it fails too (kernels built without raw_diag are common).
            if !failed.is_empty() {
                notes.push(format!(
                    "raw sockets could not all be listed: NETLINK_SOCK_DIAG failed ({}) and {}",
                    error_text(&error),
                    failed.join(", ")
                ));
            }
            out.append(&mut fallback);
        }
    }
    name_interfaces(&mut out);
    (out, notes)
}

fn error_text(e: &DumpError) -> String {
    e.to_string()
}

/// A netlink request: header and `body`.
fn request(sequence: u32, body: &[u8]) -> Vec<u8> {
    let len = (NLMSG_HEADER_LEN + body.len()) as u32;
    let mut m = Vec::with_capacity(len as usize);
    m.extend_from_slice(&len.to_ne_bytes());
    m.extend_from_slice(&dump::SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    // NLM_F_REQUEST | NLM_F_DUMP
    m.extend_from_slice(&(0x01_u16 | 0x300).to_ne_bytes());
    m.extend_from_slice(&sequence.to_ne_bytes());
    m.extend_from_slice(&0_u32.to_ne_bytes());
    m.extend_from_slice(body);
    m
}

/// Sends `body` and collects the answers with `parse`.
fn run_dump(
    sequence: u32,
    body: &[u8],
    mut parse: impl FnMut(&[u8]) -> Result<(), DumpError>,
) -> Result<(), DumpError> {
    let socket = dump::open_diag_socket().map_err(|e| DumpError::io("opening a NETLINK_SOCK_DIAG socket", e))?;
    socket
        .send(&request(sequence, body), 0)
        .map_err(|e| DumpError::io("sending the dump request", e))?;
    let mut buf = vec![0_u8; RECV_BUFFER_LEN];
    dump::receive(&socket, &mut buf, sequence, &mut parse)
}

/// Every packet socket, through `packet_diag`.
fn netlink_packet() -> Result<Vec<RawPortless>, DumpError> {
    // struct packet_diag_req: family, protocol, pad, ino, show, cookie[2].
    let mut body = vec![AF_PACKET, 0, 0, 0];
    body.extend_from_slice(&0_u32.to_ne_bytes());
    body.extend_from_slice(&PACKET_SHOW.to_ne_bytes());
    body.extend_from_slice(&[0xff; 8]);
    let mut out = Vec::new();
    run_dump(1, &body, |payload| {
        out.push(parse_packet_diag_msg(payload)?);
        Ok(())
    })
    .map_err(|e| e.within("dumping packet sockets with NETLINK_SOCK_DIAG"))?;
    Ok(out)
}

/// One `packet_diag_msg` and its attributes.
pub(super) fn parse_packet_diag_msg(payload: &[u8]) -> Result<RawPortless, DumpError> {
    let msg = payload.get(..PACKET_DIAG_MSG_LEN).ok_or_else(|| {
        DumpError::malformed(format!(
            "a packet_diag_msg is {} bytes, shorter than {PACKET_DIAG_MSG_LEN}",
            payload.len()
        ))
    })?;
    let socket_type = SocketType::from_number(msg.get(1).copied().unwrap_or_default());
    // pdiag_num is the protocol in host order (the kernel applies ntohs).
    let protocol = u16_at(msg, 2).unwrap_or_default();
    let inode = u32_at(msg, 4).unwrap_or_default();
    let mut p = RawPortless {
        kind: SocketKind::Packet,
        socket_type,
        protocol,
        local_address: None,
        ifindex: 0,
        interface: None,
        memberships: Vec::new(),
        ring: false,
        fanout: None,
        // No attribute: the caller may see filters and there is none.
        filter_status: FilterStatus::None,
        filter: None,
        inode,
        uid: None,
        netns: None,
    };
    for (kind, value) in attributes(payload.get(PACKET_DIAG_MSG_LEN..).unwrap_or_default())? {
        match kind {
            PACKET_DIAG_INFO => p.ifindex = u32_at(value, 0).unwrap_or_default(),
            PACKET_DIAG_MCLIST => {
                for m in value.chunks_exact(MCLIST_LEN).take(MAX_MEMBERSHIPS) {
                    let alen = usize::from(u16_at(m, 10).unwrap_or_default()).min(32);
                    let kind = match u16_at(m, 8).unwrap_or(u16::MAX) {
                        0 => "multicast".to_owned(),
                        1 => "promiscuous".to_owned(),
                        2 => "allmulti".to_owned(),
                        3 => "unicast".to_owned(),
                        n => format!("type-{n}"),
                    };
                    let address = m
                        .get(12..12 + alen)
                        .filter(|a| !a.is_empty())
                        .map(|a| a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"));
                    p.memberships.push(Membership {
                        ifindex: u32_at(m, 0).unwrap_or_default(),
                        interface: None,
                        kind,
                        address,
                    });
                }
            }
            PACKET_DIAG_RX_RING | PACKET_DIAG_TX_RING => p.ring = true,
            PACKET_DIAG_FANOUT => p.fanout = u32_at(value, 0),
            PACKET_DIAG_UID => p.uid = u32_at(value, 0),
            PACKET_DIAG_FILTER if value.is_empty() => p.filter_status = FilterStatus::Hidden,
            PACKET_DIAG_FILTER => {
                if value.len() % SOCK_FILTER_LEN != 0 || value.len() / SOCK_FILTER_LEN > BPF_MAXINSNS {
                    return Err(DumpError::malformed(format!(
                        "a packet socket's filter is {} bytes, not a whole number of instructions up to {BPF_MAXINSNS}",
                        value.len()
                    )));
                }
                let insns = value
                    .chunks_exact(SOCK_FILTER_LEN)
                    .map(|c| BpfInsn {
                        code: u16_at(c, 0).unwrap_or_default(),
                        jt: c.get(2).copied().unwrap_or_default(),
                        jf: c.get(3).copied().unwrap_or_default(),
                        k: u32_at(c, 4).unwrap_or_default(),
                    })
                    .collect();
                p.filter_status = FilterStatus::Attached;
                p.filter = Some(insns);
            }
            _ => {}
        }
    }
    Ok(p)
}

/// The attributes (`struct nlattr`) of a message, each as (type, value).
fn attributes(mut bytes: &[u8]) -> Result<Vec<(u16, &[u8])>, DumpError> {
    let mut out = Vec::new();
    while bytes.len() >= RTATTR_HEADER_LEN {
        let len = usize::from(u16_at(bytes, 0).unwrap_or_default());
        // The top bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
        let kind = u16_at(bytes, 2).unwrap_or_default() & 0x3fff;
        let value = bytes
            .get(RTATTR_HEADER_LEN..len)
            .ok_or_else(|| DumpError::malformed(format!("an attribute of type {kind} has a bad length {len}")))?;
        out.push((kind, value));
        bytes = bytes.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(out)
}

/// Every raw IPv4 and IPv6 socket, through `raw_diag`.
fn netlink_raw() -> Result<Vec<RawPortless>, DumpError> {
    let mut out = Vec::new();
    for (sequence, family) in [(2, AF_INET), (3, AF_INET6)] {
        // struct inet_diag_req_raw: family, protocol, ext, raw protocol (0: all), states,
        // and a zeroed inet_diag_sockid (48 bytes).
        let mut body = vec![family, IPPROTO_RAW, 0, 0];
        body.extend_from_slice(&u32::MAX.to_ne_bytes());
        body.extend_from_slice(&[0; 48]);
        run_dump(sequence, &body, |payload| {
            out.push(parse_raw_diag_msg(payload)?);
            Ok(())
        })
        .map_err(|e| e.within("dumping raw sockets with NETLINK_SOCK_DIAG"))?;
    }
    Ok(out)
}

/// One `inet_diag_msg` of a raw socket: the protocol is in `idiag_sport`, the device in
/// `idiag_if`.
pub(super) fn parse_raw_diag_msg(payload: &[u8]) -> Result<RawPortless, DumpError> {
    let msg = payload.get(..dump::INET_DIAG_MSG_LEN).ok_or_else(|| {
        DumpError::malformed(format!(
            "an inet_diag_msg is {} bytes, shorter than {}",
            payload.len(),
            dump::INET_DIAG_MSG_LEN
        ))
    })?;
    let source: [u8; 16] = msg.get(8..24).and_then(|b| b.try_into().ok()).unwrap_or_default();
    let address = match msg.first().copied() {
        Some(AF_INET) => IpAddr::V4(Ipv4Addr::new(source[0], source[1], source[2], source[3])),
        Some(AF_INET6) => IpAddr::V6(Ipv6Addr::from(source)),
        other => {
            return Err(DumpError::malformed(format!(
                "a raw socket's inet_diag_msg has address family {other:?}"
            )));
        }
    };
    Ok(RawPortless {
        kind: SocketKind::Raw,
        socket_type: SocketType::Raw,
        protocol: msg.get(4..6).map_or(0, |b| u16::from_be_bytes([b[0], b[1]])),
        local_address: Some(address),
        ifindex: u32_at(msg, 40).unwrap_or_default(),
        interface: None,
        memberships: Vec::new(),
        ring: false,
        fanout: None,
        filter_status: FilterStatus::Unavailable,
        filter: None,
        inode: u32_at(msg, 68).unwrap_or_default(),
        uid: u32_at(msg, 64),
        netns: None,
    })
}

/// Most bytes read from one `/proc/net` file (a line is about 150 bytes).
const MAX_PROC_FILE: u64 = 16 * 1024 * 1024;

fn read_proc_net(file: &str) -> io::Result<String> {
    use std::io::Read as _;
    let mut text = String::new();
    std::fs::File::open(format!("/proc/thread-self/net/{file}"))?
        .take(MAX_PROC_FILE)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// `/proc/net/packet`: `sk RefCnt Type Proto Iface R Rmem User Inode`.
fn proc_packet() -> io::Result<Vec<RawPortless>> {
    Ok(parse_proc_packet(&read_proc_net("packet")?))
}

/// Parses the text of `/proc/net/packet`; malformed lines are skipped.
pub(super) fn parse_proc_packet(text: &str) -> Vec<RawPortless> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            Some(RawPortless {
                kind: SocketKind::Packet,
                socket_type: SocketType::from_number(f.get(2)?.parse().ok()?),
                protocol: u16::from_str_radix(f.get(3)?, 16).ok()?,
                local_address: None,
                ifindex: f.get(4)?.parse().ok()?,
                interface: None,
                memberships: Vec::new(),
                ring: false,
                fanout: None,
                filter_status: FilterStatus::Unavailable,
                filter: None,
                uid: f.get(7)?.parse().ok(),
                inode: f.get(8)?.parse().ok()?,
                netns: None,
            })
        })
        .collect()
}

/// `/proc/net/raw` or `raw6`.
fn proc_raw(file: &str, v6: bool) -> io::Result<Vec<RawPortless>> {
    Ok(parse_proc_raw(&read_proc_net(file)?, v6))
}

/// Parses the text of `/proc/net/raw` (`v6` false) or `raw6`; malformed lines are skipped.
pub(super) fn parse_proc_raw(text: &str, v6: bool) -> Vec<RawPortless> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (addr, proto) = f.get(1)?.split_once(':')?;
            let address = if v6 {
                if addr.len() != 32 {
                    return None;
                }
                let mut bytes = [0_u8; 16];
                for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                    let word = u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok()?;
                    chunk.copy_from_slice(&word.to_ne_bytes());
                }
                IpAddr::V6(Ipv6Addr::from(bytes))
            } else {
                let word = u32::from_str_radix(addr, 16).ok()?;
                IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes()))
            };
            Some(RawPortless {
                kind: SocketKind::Raw,
                socket_type: SocketType::Raw,
                protocol: u16::from_str_radix(proto, 16).ok()?,
                local_address: Some(address),
                ifindex: 0,
                interface: None,
                memberships: Vec::new(),
                ring: false,
                fanout: None,
                filter_status: FilterStatus::Unavailable,
                filter: None,
                uid: f.get(7)?.parse().ok(),
                inode: f.get(9)?.parse().ok()?,
                netns: None,
            })
        })
        .collect()
}

/// Names every interface index the sockets mention, in the caller's namespace.
fn name_interfaces(sockets: &mut [RawPortless]) {
    let mut names: BTreeMap<u32, Option<String>> = BTreeMap::new();
    for s in sockets.iter() {
        names.insert(s.ifindex, None);
        for m in &s.memberships {
            names.insert(m.ifindex, None);
        }
    }
    names.remove(&0);
    if names.is_empty() {
        return;
    }
    let Ok(fd) = rustix::net::socket(rustix::net::AddressFamily::INET, rustix::net::SocketType::DGRAM, None) else {
        return;
    };
    for (index, name) in &mut names {
        *name = rustix::net::netdevice::index_to_name(&fd, *index).ok();
    }
    let lookup = |i: u32| names.get(&i).cloned().flatten();
    for s in sockets.iter_mut() {
        s.interface = lookup(s.ifindex);
        for m in &mut s.memberships {
            m.interface = lookup(m.ifindex);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((RTATTR_HEADER_LEN + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        a.resize(a.len().next_multiple_of(4), 0);
        a
    }

    #[test]
    fn packet_messages_parse_with_their_filter() {
        let mut m = vec![AF_PACKET, 3];
        m.extend_from_slice(&3_u16.to_ne_bytes());
        m.extend_from_slice(&4242_u32.to_ne_bytes());
        m.extend_from_slice(&[0; 8]);
        let mut info = 7_u32.to_ne_bytes().to_vec();
        info.extend_from_slice(&[0; 20]);
        m.extend(attr(PACKET_DIAG_INFO, &info));
        m.extend(attr(PACKET_DIAG_UID, &0_u32.to_ne_bytes()));
        let mut insn = 6_u16.to_ne_bytes().to_vec();
        insn.extend_from_slice(&[0, 0]);
        insn.extend_from_slice(&0xffff_u32.to_ne_bytes());
        m.extend(attr(PACKET_DIAG_FILTER, &insn));
        let p = parse_packet_diag_msg(&m).expect("parses");
        assert_eq!((p.protocol, p.ifindex, p.inode, p.uid), (3, 7, 4242, Some(0)));
        assert_eq!(p.socket_type, SocketType::Raw);
        assert_eq!(p.filter_status, FilterStatus::Attached);
        assert_eq!(p.filter.map(|f| f.len()), Some(1));

        let mut hidden = m[..PACKET_DIAG_MSG_LEN].to_vec();
        hidden.extend(attr(PACKET_DIAG_FILTER, &[]));
        assert_eq!(
            parse_packet_diag_msg(&hidden).map(|p| p.filter_status).ok(),
            Some(FilterStatus::Hidden)
        );
        let mut odd = m[..PACKET_DIAG_MSG_LEN].to_vec();
        odd.extend(attr(PACKET_DIAG_FILTER, &[1, 2, 3]));
        assert!(parse_packet_diag_msg(&odd).is_err());
    }

    #[test]
    fn proc_files_parse() {
        let packet = "sk RefCnt Type Proto  Iface R Rmem   User   Inode\n\
                      000000000be06575 3      3    0003   0     1 0      0      1513279\n";
        let p = parse_proc_packet(packet);
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].protocol, p[0].inode, p[0].uid), (3, 1_513_279, Some(0)));
        let raw = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n \
                   116: 0100007F:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1513280 2 0000000036577550 0\n";
        let r = parse_proc_raw(raw, false);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].protocol, 1);
        assert_eq!(r[0].local_address, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert_eq!(r[0].inode, 1_513_280);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_packet_diag_msg(&bytes);
            let _ = parse_raw_diag_msg(&bytes);
            let _ = parse_proc_packet(&String::from_utf8_lossy(&bytes));
            let _ = parse_proc_raw(&String::from_utf8_lossy(&bytes), true);
        }

        #[test]
        fn truncated_messages_are_errors_or_shorter(cut in 0_usize..40) {
            let mut m = vec![AF_PACKET, 3, 0x00, 0x03];
            m.extend_from_slice(&1_u32.to_ne_bytes());
            m.extend_from_slice(&[0; 8]);
            m.extend(attr(PACKET_DIAG_UID, &5_u32.to_ne_bytes()));
            m.extend(attr(PACKET_DIAG_FANOUT, &9_u32.to_ne_bytes()));
            let short = &m[..cut.min(m.len())];
            let parsed = parse_packet_diag_msg(short);
            if short.len() < PACKET_DIAG_MSG_LEN {
                prop_assert!(parsed.is_err());
            }
        }
    }
}
