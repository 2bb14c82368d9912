//! The `NETLINK_SOCK_DIAG` dump of one network namespace's listening sockets (Linux).
//!
//! Owns the request (built with `netlink-packet-sock-diag`: TCP in LISTEN, UDP in CLOSE,
//! i.e. bound and unconnected, as `ss -l` shows them, filtered by the kernel) and the
//! parsing of the answers. The answers are read straight from the datagram: a fixed
//! 72-byte `inet_diag_msg` per socket and the one attribute portghost keeps
//! (`INET_DIAG_SKV6ONLY`), with every length checked, so that a dump of 50,000 sockets
//! allocates nothing per socket but its [`RawSocket`].
//!
//! It must not: enter namespaces (the caller runs it inside the right one), read `/proc`,
//! look up owners, or panic on any datagram the kernel (or anything else) sends. Its
//! failures are [`DumpError`]s, which become [`Error::Netlink`].

use crate::inventory::Error;
use crate::model::{Netns, Protocol};
use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, SocketId, StateFlags};
use netlink_sys::protocols::NETLINK_SOCK_DIAG;
use netlink_sys::{Socket, SocketAddr};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

/// Size of the netlink receive buffer. The kernel never builds a dump message larger than
/// 32 KiB, so a whole datagram always fits.
pub(super) const RECV_BUFFER_LEN: usize = 64 * 1024;

/// Length of `struct nlmsghdr`.
pub(super) const NLMSG_HEADER_LEN: usize = 16;
/// `NLMSG_ERROR`: an error code (0 for an acknowledgement) and the request's header.
const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: the end of a multipart dump, with an error code.
const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data was lost.
const NLMSG_OVERRUN: u16 = 4;
/// `SOCK_DIAG_BY_FAMILY`: one `inet_diag_msg`.
pub(super) const SOCK_DIAG_BY_FAMILY: u16 = 20;
/// Length of `struct inet_diag_msg`.
pub(super) const INET_DIAG_MSG_LEN: usize = 72;
/// `INET_DIAG_SKV6ONLY`: a `u8`, the socket's `IPV6_V6ONLY`.
const INET_DIAG_SKV6ONLY: u16 = 11;
/// Length of `struct rtattr` (`rta_len`, `rta_type`).
pub(super) const RTATTR_HEADER_LEN: usize = 4;

/// One socket as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawSocket {
    /// The transport protocol the dump asked for.
    pub(super) protocol: Protocol,
    /// Local address.
    pub(super) address: IpAddr,
    /// Local port.
    pub(super) port: u16,
    /// Socket inode: the `N` of `socket:[N]` in `/proc/PID/fd`.
    pub(super) inode: u32,
    /// UID that created the socket.
    pub(super) uid: u32,
    /// `INET_DIAG_SKV6ONLY` of an IPv6 socket.
    pub(super) v6only: Option<bool>,
    /// The namespace it was dumped in, once known.
    pub(super) netns: Option<Arc<Netns>>,
}

/// Why a dump failed: what was being done, outermost step first, and the cause beneath.
#[derive(Debug)]
pub(super) struct DumpError {
    /// The steps, joined by `": "`; empty until the first step is named.
    doing: String,
    /// What went wrong: an OS error, or [`io::ErrorKind::InvalidData`] for a malformed
    /// answer.
    source: io::Error,
}

impl fmt::Display for DumpError {
    /// `doing: cause`, or the cause alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.doing.is_empty() {
            write!(f, "{}", self.source)
        } else {
            write!(f, "{}: {}", self.doing, self.source)
        }
    }
}

impl DumpError {
    /// `source` failed while doing `doing`.
    pub(super) fn io(doing: &str, source: io::Error) -> DumpError {
        DumpError {
            doing: doing.to_owned(),
            source,
        }
    }

    /// An answer the kernel should not have sent; `problem` says what is wrong with it.
    pub(super) fn malformed(problem: String) -> DumpError {
        DumpError {
            doing: String::new(),
            source: io::Error::new(io::ErrorKind::InvalidData, problem),
        }
    }

    /// The same failure seen from the step `outer`, which was doing what failed.
    pub(super) fn within(mut self, outer: impl fmt::Display) -> DumpError {
        self.doing = if self.doing.is_empty() {
            outer.to_string()
        } else {
            format!("{outer}: {}", self.doing)
        };
        self
    }

    /// The inventory's error for this failure, in namespace `netns` when the dump ran
    /// inside another network namespace than portghost's own.
    pub(super) fn into_error(self, netns: Option<u64>) -> Error {
        Error::Netlink {
            netns,
            doing: self.doing,
            source: self.source,
        }
    }
}

/// Dumps every (family, protocol) pair `tcp` and `udp` select over one netlink socket,
/// in the caller's network namespace.
///
/// # Errors
/// When the netlink socket cannot be opened, the kernel refuses or aborts a dump, or a
/// datagram is malformed.
pub(super) fn dump_sockets(tcp: bool, udp: bool) -> Result<Vec<RawSocket>, DumpError> {
    let mut sockets = Vec::new();
    let wanted: Vec<Protocol> = [(Protocol::Tcp, tcp), (Protocol::Udp, udp)]
        .into_iter()
        .filter_map(|(p, on)| on.then_some(p))
        .collect();
    if wanted.is_empty() {
        return Ok(sockets);
    }

    let socket = open_diag_socket().map_err(|e| DumpError::io("opening a NETLINK_SOCK_DIAG socket", e))?;
    let mut buf = vec![0_u8; RECV_BUFFER_LEN];
    let mut sequence = 0_u32;
    for protocol in wanted {
        for family in [AF_INET, AF_INET6] {
            sequence += 1;
            dump_one(&socket, &mut buf, sequence, family, protocol, &mut sockets).map_err(|e| {
                e.within(format_args!(
                    "dumping {} {protocol} sockets with NETLINK_SOCK_DIAG",
                    family_name(family)
                ))
            })?;
        }
    }
    Ok(sockets)
}

/// A netlink socket connected to the kernel.
pub(super) fn open_diag_socket() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_SOCK_DIAG)?;
    socket.bind_auto()?;
    socket.connect(&SocketAddr::new(0, 0))?;
    Ok(socket)
}

/// `IPv4` or `IPv6`, for error messages.
fn family_name(family: u8) -> &'static str {
    if family == AF_INET6 { "IPv6" } else { "IPv4" }
}

/// Sends one dump request and collects its answers into `out`.
fn dump_one(
    socket: &Socket,
    buf: &mut [u8],
    sequence: u32,
    family: u8,
    protocol: Protocol,
    out: &mut Vec<RawSocket>,
) -> Result<(), DumpError> {
    let request = diag_request(sequence, family, protocol);
    socket
        .send(&request, 0)
        .map_err(|e| DumpError::io("sending the dump request", e))?;
    receive_dump(socket, buf, sequence, protocol, out)
}

/// The serialized `inet_diag_req_v2` asking for the listeners of one (family, protocol).
fn diag_request(sequence: u32, family: u8, protocol: Protocol) -> Vec<u8> {
    let (ipproto, states) = match protocol {
        Protocol::Tcp => (IPPROTO_TCP, StateFlags::LISTEN),
        // A bound, unconnected UDP socket is in TCP_CLOSE ("UNCONN" in ss); connected
        // client sockets are ESTABLISHED and are not listeners.
        Protocol::Udp => (IPPROTO_UDP, StateFlags::CLOSE),
    };
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = sequence;
    let request = InetRequest {
        family,
        protocol: ipproto,
        extensions: ExtensionFlags::empty(),
        states,
        socket_id,
    };
    let mut packet = NetlinkMessage::new(header, SockDiagMessage::InetRequest(request).into());
    packet.finalize();
    let mut bytes = vec![0_u8; packet.buffer_len()];
    packet.serialize(&mut bytes);
    bytes
}

/// Reads datagrams until the kernel's `NLMSG_DONE` for `sequence`.
fn receive_dump(
    socket: &Socket,
    buf: &mut [u8],
    sequence: u32,
    protocol: Protocol,
    out: &mut Vec<RawSocket>,
) -> Result<(), DumpError> {
    receive(socket, buf, sequence, |payload| {
        out.push(parse_inet_diag_msg(payload, protocol)?);
        Ok(())
    })
}

/// Reads datagrams until the kernel's `NLMSG_DONE` for `sequence`, passing the payload of
/// every `SOCK_DIAG_BY_FAMILY` message of that sequence to `on_message`.
pub(super) fn receive(
    socket: &Socket,
    buf: &mut [u8],
    sequence: u32,
    mut on_message: impl FnMut(&[u8]) -> Result<(), DumpError>,
) -> Result<(), DumpError> {
    loop {
        // MSG_TRUNC makes recv return the real datagram length, so truncation is visible.
        let len = socket
            .recv(&mut &mut buf[..], libc::MSG_TRUNC)
            .map_err(|e| DumpError::io("receiving the dump", e))?;
        if len > buf.len() {
            return Err(DumpError::malformed(format!(
                "a netlink datagram of {len} bytes did not fit the {} byte buffer",
                buf.len()
            )));
        }
        if len == 0 {
            return Err(DumpError::malformed(
                "the netlink socket returned no data before the end of the dump".to_owned(),
            ));
        }
        let datagram = buf.get(..len).unwrap_or_default();
        if parse_messages(datagram, sequence, &mut on_message)? == Progress::Done {
            return Ok(());
        }
    }
}

/// Whether a dump has more datagrams to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// More datagrams follow.
    More,
    /// The dump ended (`NLMSG_DONE`).
    Done,
}

/// Parses every netlink message of one datagram (a multipart dump packs several), pushing
/// one [`RawSocket`] per `SOCK_DIAG_BY_FAMILY` message of `sequence`. Messages of other
/// sequences are skipped.
///
/// # Errors
/// A truncated or inconsistent message, an `NLMSG_ERROR` with a non-zero code, an
/// `NLMSG_DONE` with a negative code, or `NLMSG_OVERRUN`.
#[cfg(test)]
pub(super) fn parse_datagram(
    datagram: &[u8],
    sequence: u32,
    protocol: Protocol,
    out: &mut Vec<RawSocket>,
) -> Result<Progress, DumpError> {
    parse_messages(datagram, sequence, |payload| {
        out.push(parse_inet_diag_msg(payload, protocol)?);
        Ok(())
    })
}

/// Walks every netlink message of one datagram, passing the payload of each
/// `SOCK_DIAG_BY_FAMILY` message of `sequence` to `on_message`; messages of other
/// sequences are skipped. Errors as [`parse_datagram`].
pub(super) fn parse_messages(
    mut datagram: &[u8],
    sequence: u32,
    mut on_message: impl FnMut(&[u8]) -> Result<(), DumpError>,
) -> Result<Progress, DumpError> {
    while !datagram.is_empty() {
        let len = u32_at(datagram, 0).ok_or_else(|| {
            DumpError::malformed(format!(
                "a netlink message header is truncated to {} bytes",
                datagram.len()
            ))
        })? as usize;
        if len < NLMSG_HEADER_LEN {
            return Err(DumpError::malformed(format!(
                "a netlink message claims a length of {len}, shorter than its header"
            )));
        }
        let message = datagram.get(..len).ok_or_else(|| {
            DumpError::malformed(format!(
                "a netlink message of {len} bytes is truncated to {}",
                datagram.len()
            ))
        })?;
        // Messages are 4-byte aligned within a datagram.
        datagram = datagram.get(len.next_multiple_of(4)..).unwrap_or_default();
        let (Some(kind), Some(message_sequence)) = (u16_at(message, 4), u32_at(message, 8)) else {
            return Err(DumpError::malformed(format!(
                "a netlink message header is truncated to {len} bytes"
            )));
        };
        if message_sequence != sequence {
            continue;
        }
        let payload = message.get(NLMSG_HEADER_LEN..).unwrap_or_default();
        match kind {
            SOCK_DIAG_BY_FAMILY => on_message(payload)?,
            NLMSG_DONE => {
                let code = i32_at(payload, 0).unwrap_or(0);
                if code < 0 {
                    let error = io::Error::from_raw_os_error(-code);
                    return Err(DumpError::io("the kernel aborted the dump", error));
                }
                return Ok(Progress::Done);
            }
            NLMSG_ERROR => {
                let code = i32_at(payload, 0)
                    .ok_or_else(|| DumpError::malformed("an NLMSG_ERROR message has no error code".to_owned()))?;
                if code != 0 {
                    let error = io::Error::from_raw_os_error(code.saturating_neg());
                    return Err(DumpError::io("the kernel refused the dump request", error));
                }
            }
            NLMSG_OVERRUN => {
                return Err(DumpError::malformed("the kernel reported a netlink overrun".to_owned()));
            }
            _ => {}
        }
    }
    Ok(Progress::More)
}

/// One `inet_diag_msg` and its attributes.
fn parse_inet_diag_msg(payload: &[u8], protocol: Protocol) -> Result<RawSocket, DumpError> {
    let msg = payload.get(..INET_DIAG_MSG_LEN).ok_or_else(|| {
        DumpError::malformed(format!(
            "an inet_diag_msg is {} bytes, shorter than {INET_DIAG_MSG_LEN}",
            payload.len()
        ))
    })?;
    let family = msg.first().copied().unwrap_or_default();
    // idiag_sport is big-endian; idiag_src holds 4 (IPv4) or 16 (IPv6) bytes of address.
    let port = msg.get(4..6).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    let source: [u8; 16] = msg.get(8..24).and_then(|b| b.try_into().ok()).unwrap_or_default();
    let address = match family {
        AF_INET => IpAddr::V4(Ipv4Addr::new(source[0], source[1], source[2], source[3])),
        AF_INET6 => IpAddr::V6(Ipv6Addr::from(source)),
        other => {
            return Err(DumpError::malformed(format!(
                "an inet_diag_msg has address family {other}, neither AF_INET nor AF_INET6"
            )));
        }
    };
    let uid = u32_at(msg, 64).unwrap_or_default();
    let inode = u32_at(msg, 68).unwrap_or_default();
    let mut v6only = None;
    let mut attributes = payload.get(INET_DIAG_MSG_LEN..).unwrap_or_default();
    while attributes.len() >= RTATTR_HEADER_LEN {
        let attr_len = u16_at(attributes, 0).unwrap_or_default() as usize;
        let attr_type = u16_at(attributes, 2).unwrap_or_default();
        let value = attributes.get(RTATTR_HEADER_LEN..attr_len).ok_or_else(|| {
            DumpError::malformed(format!(
                "an inet_diag attribute of type {attr_type} has a bad length {attr_len}"
            ))
        })?;
        if attr_type == INET_DIAG_SKV6ONLY {
            v6only = value.first().map(|&b| b != 0);
        }
        attributes = attributes.get(attr_len.next_multiple_of(4)..).unwrap_or_default();
    }
    Ok(RawSocket {
        protocol,
        address,
        port,
        inode,
        uid,
        v6only,
        netns: None,
    })
}

/// The native-endian `u32` at `offset`, if `bytes` holds it.
pub(super) fn u32_at(bytes: &[u8], offset: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?))
}

/// The native-endian `i32` at `offset`, if `bytes` holds it.
fn i32_at(bytes: &[u8], offset: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(bytes.get(offset..offset + 4)?.try_into().ok()?))
}

/// The native-endian `u16` at `offset`, if `bytes` holds it.
pub(super) fn u16_at(bytes: &[u8], offset: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(bytes.get(offset..offset + 2)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A netlink message: header, then `payload`, padded to 4 bytes.
    fn message(kind: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HEADER_LEN + payload.len()) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&2_u16.to_ne_bytes()); // NLM_F_MULTI
        m.extend_from_slice(&sequence.to_ne_bytes());
        m.extend_from_slice(&0_u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m.resize(m.len().next_multiple_of(4), 0);
        m
    }

    /// An `inet_diag_msg` the way the kernel lays it out, plus attributes.
    fn diag_msg(family: u8, address: &[u8], port: u16, uid: u32, inode: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut m = vec![0_u8; INET_DIAG_MSG_LEN];
        m[0] = family;
        m[1] = 10; // TCP_LISTEN
        m[4..6].copy_from_slice(&port.to_be_bytes());
        m[8..8 + address.len()].copy_from_slice(address);
        m[64..68].copy_from_slice(&uid.to_ne_bytes());
        m[68..72].copy_from_slice(&inode.to_ne_bytes());
        for (kind, value) in attrs {
            let len = (RTATTR_HEADER_LEN + value.len()) as u16;
            m.extend_from_slice(&len.to_ne_bytes());
            m.extend_from_slice(&kind.to_ne_bytes());
            m.extend_from_slice(value);
            m.resize(m.len().next_multiple_of(4), 0);
        }
        m
    }

    #[test]
    fn parses_ipv4_and_ipv6_messages_and_the_v6only_attribute() {
        let mut datagram = message(
            SOCK_DIAG_BY_FAMILY,
            7,
            &diag_msg(AF_INET, &[127, 0, 0, 1], 3237, 1000, 4242, &[(8, &[0])]),
        );
        datagram.extend(message(
            SOCK_DIAG_BY_FAMILY,
            7,
            &diag_msg(
                AF_INET6,
                &Ipv6Addr::LOCALHOST.octets(),
                53,
                0,
                99,
                &[(INET_DIAG_SKV6ONLY, &[1])],
            ),
        ));
        // Another dump's message is skipped.
        datagram.extend(message(
            SOCK_DIAG_BY_FAMILY,
            8,
            &diag_msg(AF_INET, &[10, 0, 0, 1], 1, 0, 1, &[]),
        ));
        let mut out = Vec::new();
        assert_eq!(
            parse_datagram(&datagram, 7, Protocol::Tcp, &mut out).ok(),
            Some(Progress::More)
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            (out[0].port, out[0].uid, out[0].inode, out[0].v6only),
            (3237, 1000, 4242, None)
        );
        assert_eq!(out[1].address, IpAddr::V6(Ipv6Addr::LOCALHOST));
        assert_eq!((out[1].port, out[1].inode, out[1].v6only), (53, 99, Some(true)));

        let done = message(NLMSG_DONE, 7, &0_i32.to_ne_bytes());
        assert_eq!(
            parse_datagram(&done, 7, Protocol::Tcp, &mut out).ok(),
            Some(Progress::Done)
        );
    }

    #[test]
    fn kernel_errors_become_errors() {
        let mut out = Vec::new();
        let aborted = message(NLMSG_DONE, 1, &(-libc::EINTR).to_ne_bytes());
        let refused = message(NLMSG_ERROR, 1, &(-libc::EPERM).to_ne_bytes());
        let overrun = message(NLMSG_OVERRUN, 1, &[]);
        for datagram in [aborted, refused, overrun] {
            assert!(parse_datagram(&datagram, 1, Protocol::Udp, &mut out).is_err());
        }
        // An acknowledgement (error code 0) is not an error.
        let ack = message(NLMSG_ERROR, 1, &0_i32.to_ne_bytes());
        assert_eq!(
            parse_datagram(&ack, 1, Protocol::Udp, &mut out).ok(),
            Some(Progress::More)
        );
        assert!(out.is_empty());
    }

    /// The error and its causes joined by `": "`, as `portghost: {err:#}` prints them.
    fn chain(error: &Error) -> String {
        let mut text = error.to_string();
        let mut cause = std::error::Error::source(error);
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    #[test]
    fn errors_name_each_step_then_the_cause() {
        let mut out = Vec::new();
        let refused = message(NLMSG_ERROR, 1, &(-libc::EPERM).to_ne_bytes());
        let error = parse_datagram(&refused, 1, Protocol::Tcp, &mut out)
            .expect_err("refused")
            .within(format_args!(
                "dumping IPv4 {} sockets with NETLINK_SOCK_DIAG",
                Protocol::Tcp
            ));
        let error = error.into_error(Some(4_026_532_301));
        assert!(matches!(&error, Error::Netlink { source, .. } if source.raw_os_error() == Some(libc::EPERM)));
        assert_eq!(
            chain(&error),
            format!(
                "in network namespace 4026532301: dumping IPv4 tcp sockets with NETLINK_SOCK_DIAG: \
                 the kernel refused the dump request: {}",
                io::Error::from_raw_os_error(libc::EPERM)
            )
        );
        let overrun = message(NLMSG_OVERRUN, 1, &[]);
        let error = parse_datagram(&overrun, 1, Protocol::Udp, &mut out)
            .expect_err("overrun")
            .within("dumping IPv6 udp sockets with NETLINK_SOCK_DIAG")
            .into_error(None);
        assert_eq!(
            chain(&error),
            "dumping IPv6 udp sockets with NETLINK_SOCK_DIAG: the kernel reported a netlink overrun"
        );
    }

    #[test]
    fn truncated_or_garbage_datagrams_are_errors_not_panics() {
        let mut out = Vec::new();
        let short_msg = message(SOCK_DIAG_BY_FAMILY, 1, &[2, 10, 0, 0]);
        let mut bad_attr = diag_msg(AF_INET, &[127, 0, 0, 1], 1, 0, 1, &[]);
        bad_attr.extend_from_slice(&[200, 0, 11, 0]);
        let bad_attr = message(SOCK_DIAG_BY_FAMILY, 1, &bad_attr);
        let bad_family = message(SOCK_DIAG_BY_FAMILY, 1, &diag_msg(1, &[], 1, 0, 1, &[]));
        for bytes in [
            &[0_u8; 3][..],
            &[0xff; 16][..],
            &[16, 0, 0, 0, 3, 0, 0, 0][..],
            &short_msg[..],
            &bad_attr[..],
            &bad_family[..],
        ] {
            assert!(parse_datagram(bytes, 1, Protocol::Tcp, &mut out).is_err(), "{bytes:?}");
        }
        assert!(out.is_empty());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut out = Vec::new();
            let _ = parse_datagram(&bytes, 1, Protocol::Tcp, &mut out);
        }

        #[test]
        fn a_real_message_cut_anywhere_is_an_error_not_a_panic(cut in 0_usize..100) {
            let whole = message(
                SOCK_DIAG_BY_FAMILY,
                1,
                &diag_msg(AF_INET6, &Ipv6Addr::LOCALHOST.octets(), 53, 0, 99, &[(INET_DIAG_SKV6ONLY, &[1])]),
            );
            let mut out = Vec::new();
            let result = parse_datagram(&whole[..cut.min(whole.len())], 1, Protocol::Tcp, &mut out);
            prop_assert!(cut == 0 || cut >= whole.len() || result.is_err());
        }
    }
}
