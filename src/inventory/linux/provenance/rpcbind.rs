//! A small ONC RPC client that asks a network namespace's `rpcbind` (portmapper) which
//! ports it has handed to which RPC programs: `PMAPPROC_DUMP` (program 100000, version 2,
//! procedure 4) over TCP to `127.0.0.1:111`, with record marking and `AUTH_NULL`.
//!
//! Owns the call, the reading of the reply's record fragments and the XDR parsing of the
//! `pmaplist` (RFC 1833 section 3, RFC 5531). It runs on whichever thread calls it, so the
//! caller picks the namespace by the thread it calls it from. It must not: use the Unix
//! socket `/run/rpcbind.sock` (every network namespace shares it), wait longer than
//! [`CONNECT_TIMEOUT`] to connect or [`ANSWER_TIMEOUT`] for the whole answer, read more
//! than [`MAX_MESSAGE`] bytes or accept more than [`MAX_ENTRIES`] registrations (the reply
//! comes from whatever listens on port 111, which may be hostile), or panic on any reply.

use std::io::{self, Read, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The portmapper's port.
const PORT: u16 = 111;

/// Longest wait for the TCP connection.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);

/// Longest wait for the whole reply once connected.
pub(super) const ANSWER_TIMEOUT: Duration = Duration::from_millis(300);

/// Largest reply accepted, over all its fragments.
pub(super) const MAX_MESSAGE: usize = 1024 * 1024;

/// Most registrations accepted in one reply.
pub(super) const MAX_ENTRIES: usize = 10_000;

/// The portmapper's RPC program number.
const PMAP_PROG: u32 = 100_000;
/// The portmapper protocol version that has `PMAPPROC_DUMP` with this reply shape.
const PMAP_VERS: u32 = 2;
/// `PMAPPROC_DUMP`.
const PMAPPROC_DUMP: u32 = 4;

/// One registration in the portmapper's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Mapping {
    /// RPC program number.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// IP protocol number: 6 for TCP, 17 for UDP.
    pub protocol: u32,
    /// The port, as sent (a well-formed one fits 16 bits).
    pub port: u32,
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ReplyError {
    /// The reply ended before its last field.
    Truncated,
    /// Not a reply to this call (another transaction ID, or a call).
    NotOurReply,
    /// The server refused the call (`MSG_DENIED`, or an `accept_stat` other than success).
    Refused(u32),
    /// A field holds a value the protocol does not allow.
    Malformed(&'static str),
    /// More than [`MAX_ENTRIES`] registrations.
    TooManyEntries,
    /// Bytes left over after the list.
    TrailingBytes,
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::Truncated => f.write_str("the reply is cut short"),
            ReplyError::NotOurReply => f.write_str("the reply does not answer the call"),
            ReplyError::Refused(stat) => write!(f, "the call was refused (status {stat})"),
            ReplyError::Malformed(what) => write!(f, "the reply is malformed ({what})"),
            ReplyError::TooManyEntries => write!(f, "the reply lists more than {MAX_ENTRIES} registrations"),
            ReplyError::TrailingBytes => f.write_str("the reply has bytes after its end"),
        }
    }
}

/// What asking the portmapper gave.
#[derive(Debug)]
pub(super) enum Answer {
    /// Nothing listens on `127.0.0.1:111` (refused, or no answer to the connection).
    NoRpcbind,
    /// Its registrations.
    Mappings(Vec<Mapping>),
    /// Something listens but gave no usable answer in time; the message says why.
    Failed(String),
}

/// Asks the portmapper of the calling thread's network namespace for its registrations.
pub(super) fn dump() -> Answer {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, PORT));
    let mut stream = match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
        Ok(stream) => stream,
        Err(_) => return Answer::NoRpcbind,
    };
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let xid = xid();
    let sent = stream
        .set_write_timeout(Some(ANSWER_TIMEOUT))
        .and_then(|()| stream.set_nodelay(true))
        .and_then(|()| stream.write_all(&call(xid)));
    if let Err(error) = sent {
        return Answer::Failed(format!("the call could not be sent ({error})"));
    }
    let mut reader = Deadline {
        stream: &mut stream,
        deadline,
    };
    let record = match read_record(&mut reader, MAX_MESSAGE) {
        Ok(record) => record,
        Err(error) if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
            return Answer::Failed(format!("no answer within {} ms", ANSWER_TIMEOUT.as_millis()));
        }
        Err(error) => return Answer::Failed(format!("the reply could not be read ({error})")),
    };
    match parse_reply(xid, &record) {
        Ok(mappings) => Answer::Mappings(mappings),
        Err(error) => Answer::Failed(error.to_string()),
    }
}

/// A transaction ID that differs from call to call.
fn xid() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    nanos ^ std::process::id().rotate_left(16)
}

/// A `TcpStream` whose reads share one deadline.
struct Deadline<'a> {
    stream: &'a mut TcpStream,
    deadline: Instant,
}

impl Read for Deadline<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

/// The `PMAPPROC_DUMP` call as one record-marked message: the last-fragment bit and the
/// length, then xid, CALL, RPC version 2, program, version, procedure, and `AUTH_NULL`
/// credentials and verifier; the procedure has no arguments.
pub(super) fn call(xid: u32) -> [u8; 44] {
    let words: [u32; 11] = [
        0x8000_0000 | 40,
        xid,
        0,
        2,
        PMAP_PROG,
        PMAP_VERS,
        PMAPPROC_DUMP,
        0,
        0,
        0,
        0,
    ];
    let mut out = [0u8; 44];
    for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// Reads one record-marked message: fragments of a 4-byte header (top bit: last
/// fragment; the rest: length) and that many bytes, until the last, at most `max` bytes
/// in all.
///
/// # Errors
/// An I/O error from `reader` (end of file before the last fragment is `UnexpectedEof`),
/// or `InvalidData` when the fragments add up to more than `max`.
pub(super) fn read_record(reader: &mut impl Read, max: usize) -> io::Result<Vec<u8>> {
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 4];
        reader.read_exact(&mut header)?;
        let header = u32::from_be_bytes(header);
        let last = header & 0x8000_0000 != 0;
        let len = (header & 0x7fff_ffff) as usize;
        if len > max.saturating_sub(message.len()) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "the reply is too large"));
        }
        let start = message.len();
        message.resize(start + len, 0);
        reader.read_exact(&mut message[start..])?;
        if last {
            return Ok(message);
        }
    }
}

/// XDR reader over one message.
struct Xdr<'a> {
    bytes: &'a [u8],
}

impl Xdr<'_> {
    fn u32(&mut self) -> Result<u32, ReplyError> {
        let (word, rest) = self.bytes.split_first_chunk::<4>().ok_or(ReplyError::Truncated)?;
        self.bytes = rest;
        Ok(u32::from_be_bytes(*word))
    }

    /// Skips opaque data of `len` bytes, padded to a multiple of 4.
    fn skip_opaque(&mut self, len: u32) -> Result<(), ReplyError> {
        let padded = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(3))
            .map(|l| l & !3)
            .ok_or(ReplyError::Truncated)?;
        self.bytes = self.bytes.get(padded..).ok_or(ReplyError::Truncated)?;
        Ok(())
    }
}

/// The registrations in a reply to the call with transaction ID `xid`.
///
/// # Errors
/// Any [`ReplyError`]; never panics, whatever the bytes.
pub(super) fn parse_reply(xid: u32, bytes: &[u8]) -> Result<Vec<Mapping>, ReplyError> {
    let mut x = Xdr { bytes };
    if x.u32()? != xid {
        return Err(ReplyError::NotOurReply);
    }
    if x.u32()? != 1 {
        return Err(ReplyError::NotOurReply);
    }
    match x.u32()? {
        0 => {}
        1 => return Err(ReplyError::Refused(1)),
        _ => return Err(ReplyError::Malformed("reply_stat")),
    }
    // The verifier: flavor, then opaque body of at most 400 bytes.
    let _flavor = x.u32()?;
    let len = x.u32()?;
    if len > 400 {
        return Err(ReplyError::Malformed("verifier length"));
    }
    x.skip_opaque(len)?;
    match x.u32()? {
        0 => {}
        stat => return Err(ReplyError::Refused(stat)),
    }
    let mut mappings = Vec::new();
    loop {
        match x.u32()? {
            0 => break,
            1 => {}
            _ => return Err(ReplyError::Malformed("list continuation")),
        }
        if mappings.len() == MAX_ENTRIES {
            return Err(ReplyError::TooManyEntries);
        }
        mappings.push(Mapping {
            program: x.u32()?,
            version: x.u32()?,
            protocol: x.u32()?,
            port: x.u32()?,
        });
    }
    if !x.bytes.is_empty() {
        return Err(ReplyError::TrailingBytes);
    }
    Ok(mappings)
}

/// The usual name of a well-known RPC program (from glibc's and rpcbind's `/etc/rpc`).
pub(super) fn program_name(program: u32) -> Option<&'static str> {
    Some(match program {
        100_000 => "portmapper",
        100_001 => "rstatd",
        100_002 => "rusersd",
        100_003 => "nfs",
        100_004 => "ypserv",
        100_005 => "mountd",
        100_007 => "ypbind",
        100_008 => "walld",
        100_009 => "yppasswdd",
        100_011 => "rquotad",
        100_012 => "sprayd",
        100_021 => "nlockmgr",
        100_024 => "status",
        100_069 => "ypxfrd",
        100_083 => "ttdbserver",
        100_227 => "nfs_acl",
        150_001 => "pcnfsd",
        300_019 => "amd",
        391_002 => "sgi_fam",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    fn reply(xid: u32, entries: &[[u32; 4]]) -> Vec<u8> {
        let mut ws = vec![xid, 1, 0, 0, 0, 0];
        for e in entries {
            ws.push(1);
            ws.extend_from_slice(e);
        }
        ws.push(0);
        words(&ws)
    }

    #[test]
    fn the_call_is_pmapproc_dump() {
        let c = call(0x0102_0304);
        assert_eq!(&c[..4], &[0x80, 0, 0, 40]);
        assert_eq!(&c[4..8], &[1, 2, 3, 4]);
        assert_eq!(u32::from_be_bytes([c[16], c[17], c[18], c[19]]), 100_000);
        assert_eq!(u32::from_be_bytes([c[24], c[25], c[26], c[27]]), 4);
    }

    #[test]
    fn a_reply_gives_its_mappings() {
        let bytes = reply(7, &[[100_000, 2, 6, 111], [100_024, 1, 17, 45_678]]);
        let got = parse_reply(7, &bytes).expect("parses");
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Mapping {
                program: 100_024,
                version: 1,
                protocol: 17,
                port: 45_678
            }
        );
        assert_eq!(parse_reply(8, &bytes), Err(ReplyError::NotOurReply));
        assert_eq!(parse_reply(7, &bytes[..bytes.len() - 1]), Err(ReplyError::Truncated));
        let mut trailing = bytes.clone();
        trailing.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(parse_reply(7, &trailing), Err(ReplyError::TrailingBytes));
        assert_eq!(parse_reply(7, &words(&[7, 1, 1, 0])), Err(ReplyError::Refused(1)));
        assert_eq!(parse_reply(7, &words(&[7, 1, 0, 0, 0, 1])), Err(ReplyError::Refused(1)));
        // A verifier body, padded.
        let with_verf = words(&[7, 1, 0, 1, 5, 0xffff_ffff, 0xff00_0000, 0, 0]);
        assert_eq!(parse_reply(7, &with_verf), Ok(vec![]));
    }

    #[test]
    fn too_many_entries_is_an_error() {
        let entries = vec![[1, 1, 6, 1]; MAX_ENTRIES + 1];
        assert_eq!(parse_reply(1, &reply(1, &entries)), Err(ReplyError::TooManyEntries));
        let entries = vec![[1, 1, 6, 1]; MAX_ENTRIES];
        assert_eq!(parse_reply(1, &reply(1, &entries)).map(|v| v.len()), Ok(MAX_ENTRIES));
    }

    #[test]
    fn records_are_reassembled_and_bounded() {
        let mut wire = vec![0, 0, 0, 2, b'a', b'b', 0x80, 0, 0, 1, b'c'];
        let got = read_record(&mut wire.as_slice(), 100).expect("two fragments");
        assert_eq!(got, b"abc");
        assert!(read_record(&mut wire.as_slice(), 2).is_err(), "over the limit");
        wire.truncate(8);
        assert!(read_record(&mut wire.as_slice(), 100).is_err(), "cut short");
        // A huge announced length is refused before anything is allocated.
        let huge = [0xff, 0xff, 0xff, 0xff];
        assert!(read_record(&mut huge.as_slice(), MAX_MESSAGE).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), xid in any::<u32>()) {
            let _ = parse_reply(xid, &bytes);
            let _ = read_record(&mut bytes.as_slice(), 256);
        }

        #[test]
        fn truncated_replies_are_errors(entries in prop::collection::vec(any::<[u32; 4]>(), 0..20), cut in any::<prop::sample::Index>()) {
            let bytes = reply(9, &entries);
            prop_assert_eq!(parse_reply(9, &bytes).map(|v| v.len()), Ok(entries.len()));
            let at = cut.index(bytes.len());
            prop_assert!(parse_reply(9, &bytes[..at]).is_err());
        }

        #[test]
        fn words_near_a_reply_never_panic(words_in in prop::collection::vec(prop_oneof![Just(0u32), Just(1u32), any::<u32>()], 0..64)) {
            let mut ws = vec![3u32, 1, 0];
            ws.extend(words_in);
            let _ = parse_reply(3, &words(&ws));
        }
    }
}
