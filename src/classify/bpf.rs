//! Classic BPF, decoded for people: a socket filter's instructions listed as `tcpdump -d`
//! lists them, and what the filter accepts in one sentence.
//!
//! Owns [`decode`]. The sentence comes from following every path through the program (it
//! only jumps forward, so the paths are finite) while tracking, symbolically, what the
//! accumulator and index register hold: a constant, bytes of the packet at a known place
//! (from the start, past the IP header, or past the IP and TCP headers, as the
//! `ldxb 4*([14]&0xf)` idiom computes them), or something else. Each comparison that must
//! hold for a path to reach a non-zero `ret` is named: the EtherType, the IP protocol, a
//! port, an address, or payload bytes. A filter that compares payload bytes with constants
//! is what magic-packet backdoors such as BPFDoor attach (see `registry/portless.toml` for
//! the published analyses).
//!
//! Pure and total: any instruction list, even one the kernel would reject, gives a listing
//! and a sentence; the walk is bounded ([`MAX_STEPS`]).

use crate::model::{BpfInsn, DecodedFilter};
use std::fmt::Write as _;

/// Most instructions the walk executes over all paths before it gives up on the sentence.
pub const MAX_STEPS: usize = 200_000;

/// Most accepting paths described.
const MAX_PATHS: usize = 64;

/// Where a filter's data starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// At an Ethernet header (a `SOCK_RAW` packet socket): the IP header is at byte 14.
    Ethernet,
    /// At the network header (a `SOCK_DGRAM` packet socket, or a raw IP socket).
    Network,
}

impl Link {
    fn offset(self) -> u32 {
        match self {
            Link::Ethernet => 14,
            Link::Network => 0,
        }
    }
}

/// Decodes `insns`, whose data starts as `link` says.
pub fn decode(insns: &[BpfInsn], link: Link) -> DecodedFilter {
    let listing = insns.iter().enumerate().map(|(pc, i)| image(pc, *i)).collect();
    let (summary, payload_match) = summarise(insns, link);
    DecodedFilter {
        listing,
        summary,
        payload_match,
    }
}

// ---------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------

const BPF_LD: u16 = 0x00;
const BPF_LDX: u16 = 0x01;
const BPF_ST: u16 = 0x02;
const BPF_STX: u16 = 0x03;
const BPF_ALU: u16 = 0x04;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_B: u16 = 0x10;
const BPF_IMM: u16 = 0x00;
const BPF_ABS: u16 = 0x20;
const BPF_IND: u16 = 0x40;
const BPF_MEM: u16 = 0x60;
const BPF_LEN: u16 = 0x80;
const BPF_MSH: u16 = 0xa0;
const BPF_X: u16 = 0x08;
/// `SKF_AD_OFF`: loads from here on read ancillary data, not the packet.
const SKF_AD_OFF: u32 = 0xffff_f000;
/// `SKF_NET_OFF` and `SKF_LL_OFF`: offsets from the network and link-layer headers.
const SKF_NET_OFF: u32 = 0xfff0_0000;
const SKF_LL_OFF: u32 = 0xffe0_0000;

fn size_suffix(code: u16) -> &'static str {
    match code & 0x18 {
        BPF_H => "h",
        BPF_B => "b",
        BPF_W => "",
        _ => "?",
    }
}

fn size_bytes(code: u16) -> u32 {
    match code & 0x18 {
        BPF_H => 2,
        BPF_B => 1,
        _ => 4,
    }
}

/// The name of an ancillary load (`SKF_AD_*`).
fn ancillary(k: u32) -> String {
    let name = match k.wrapping_sub(SKF_AD_OFF) {
        0 => "proto",
        4 => "type",
        8 => "ifidx",
        12 => "nla",
        16 => "nlan",
        20 => "mark",
        24 => "queue",
        28 => "hatype",
        32 => "rxhash",
        36 => "cpu",
        40 => "xor_x",
        44 => "vlan_tci",
        48 => "vlan_avail",
        52 => "poff",
        56 => "rand",
        60 => "vlan_tpid",
        other => return format!("#ad{other}"),
    };
    format!("#{name}")
}

/// `[k]`, or `[net + n]`, `[ll + n]`, or an ancillary name.
fn abs_operand(k: u32) -> String {
    if k >= SKF_AD_OFF {
        ancillary(k)
    } else if k >= SKF_NET_OFF {
        format!("[net + {}]", k - SKF_NET_OFF)
    } else if k >= SKF_LL_OFF {
        format!("[ll + {}]", k - SKF_LL_OFF)
    } else {
        format!("[{k}]")
    }
}

/// One instruction as `tcpdump -d` prints it (libpcap's `bpf_image`).
fn image(pc: usize, i: BpfInsn) -> String {
    let code = i.code;
    let k = i.k;
    let (op, operand): (String, String) = match code & 0x07 {
        BPF_LD => match code & 0xe0 {
            BPF_IMM => ("ld".into(), format!("#0x{k:x}")),
            BPF_ABS => (format!("ld{}", size_suffix(code)), abs_operand(k)),
            BPF_IND => (format!("ld{}", size_suffix(code)), format!("[x + {k}]")),
            BPF_MEM => ("ld".into(), format!("M[{k}]")),
            BPF_LEN => ("ld".into(), "#pktlen".into()),
            _ => ("unimp".into(), format!("0x{code:x}")),
        },
        BPF_LDX => match code & 0xe0 {
            BPF_IMM => ("ldx".into(), format!("#0x{k:x}")),
            BPF_MEM => ("ldx".into(), format!("M[{k}]")),
            BPF_LEN => ("ldx".into(), "#pktlen".into()),
            BPF_MSH => ("ldxb".into(), format!("4*([{k}]&0xf)")),
            _ => ("unimp".into(), format!("0x{code:x}")),
        },
        BPF_ST => ("st".into(), format!("M[{k}]")),
        BPF_STX => ("stx".into(), format!("M[{k}]")),
        BPF_ALU => {
            let name = match code & 0xf0 {
                0x00 => "add",
                0x10 => "sub",
                0x20 => "mul",
                0x30 => "div",
                0x40 => "or",
                0x50 => "and",
                0x60 => "lsh",
                0x70 => "rsh",
                0x80 => "neg",
                0x90 => "mod",
                0xa0 => "xor",
                _ => "unimp",
            };
            let operand = if code & 0xf0 == 0x80 {
                String::new()
            } else if code & BPF_X != 0 {
                "x".into()
            } else {
                format!("#0x{k:x}")
            };
            (name.into(), operand)
        }
        BPF_JMP => {
            let target = |off: u32| pc as u64 + 1 + u64::from(off);
            if code & 0xf0 == 0x00 {
                ("ja".into(), target(k).to_string())
            } else {
                let name = match code & 0xf0 {
                    0x10 => "jeq",
                    0x20 => "jgt",
                    0x30 => "jge",
                    0x40 => "jset",
                    _ => "unimp",
                };
                let operand = if code & BPF_X != 0 {
                    "x".to_string()
                } else {
                    format!("#0x{k:x}")
                };
                return format!(
                    "({pc:03}) {name:<8} {operand:<16} jt {}\tjf {}",
                    target(u32::from(i.jt)),
                    target(u32::from(i.jf))
                );
            }
        }
        BPF_RET => match code & 0x18 {
            0x00 => ("ret".into(), format!("#{k}")),
            0x08 => ("ret".into(), "x".into()),
            _ => ("ret".into(), String::new()),
        },
        _ => {
            if code & 0xf8 == 0x80 {
                ("txa".into(), String::new())
            } else if code & 0xf8 == 0x00 {
                ("tax".into(), String::new())
            } else {
                ("unimp".into(), format!("0x{code:x}"))
            }
        }
    };
    if operand.is_empty() {
        format!("({pc:03}) {op}")
    } else {
        format!("({pc:03}) {op:<8} {operand}")
    }
}

// ---------------------------------------------------------------------------------------
// Meaning
// ---------------------------------------------------------------------------------------

/// Where a packet load's offset counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    /// The start of the data.
    Start,
    /// The end of the IPv4 header (X = `4*([L]&0xf)`), plus the link offset.
    IpEnd,
    /// The end of the TCP header (X = IPv4 header length + TCP header length), plus the
    /// link offset.
    TcpEnd,
}

/// What a register holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    Const(u32),
    /// `size` bytes of the packet at `base + off`.
    Packet {
        base: Base,
        off: u32,
        size: u32,
    },
    /// The byte holding the TCP data offset, masked with 0xf0.
    TcpOffsetByte,
    /// The TCP header length (data offset × 4).
    TcpHeaderLen,
    /// The IPv4 header length.
    IpHeaderLen,
    /// The IPv4 and TCP header lengths added.
    TransportEnd,
    Unknown,
}

/// One fact a path requires: a value loaded from the packet equals a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Check {
    base: Base,
    off: u32,
    size: u32,
    value: u32,
}

/// The state of one path of the walk.
#[derive(Debug, Clone)]
struct State {
    pc: usize,
    a: Val,
    x: Val,
    mem: [Val; 16],
    checks: Vec<Check>,
}

/// Follows every path of `insns`; returns the checks of each path that accepts, and
/// whether the walk finished within [`MAX_STEPS`].
fn accepting_paths(insns: &[BpfInsn], link: Link) -> (Vec<Vec<Check>>, bool) {
    let l = link.offset();
    let mut out: Vec<Vec<Check>> = Vec::new();
    let mut stack = vec![State {
        pc: 0,
        a: Val::Const(0),
        x: Val::Const(0),
        mem: [Val::Unknown; 16],
        checks: Vec::new(),
    }];
    let mut steps = 0_usize;
    while let Some(mut s) = stack.pop() {
        loop {
            steps += 1;
            if steps > MAX_STEPS || out.len() >= MAX_PATHS {
                return (out, false);
            }
            let Some(&i) = insns.get(s.pc) else {
                // Running off the end: the kernel rejects such a program; nothing accepted.
                break;
            };
            let code = i.code;
            let k = i.k;
            let next = s.pc + 1;
            match code & 0x07 {
                BPF_LD => {
                    s.a = match code & 0xe0 {
                        BPF_IMM => Val::Const(k),
                        BPF_ABS if k < SKF_LL_OFF => Val::Packet {
                            base: Base::Start,
                            off: k,
                            size: size_bytes(code),
                        },
                        BPF_IND => match s.x {
                            Val::IpHeaderLen => Val::Packet {
                                base: Base::IpEnd,
                                off: k,
                                size: size_bytes(code),
                            },
                            Val::TransportEnd => Val::Packet {
                                base: Base::TcpEnd,
                                off: k,
                                size: size_bytes(code),
                            },
                            Val::Const(x) => Val::Packet {
                                base: Base::Start,
                                off: x.wrapping_add(k),
                                size: size_bytes(code),
                            },
                            _ => Val::Unknown,
                        },
                        BPF_MEM => s.mem.get(k as usize).copied().unwrap_or(Val::Unknown),
                        _ => Val::Unknown,
                    };
                    s.pc = next;
                }
                BPF_LDX => {
                    s.x = match code & 0xe0 {
                        BPF_IMM => Val::Const(k),
                        BPF_MEM => s.mem.get(k as usize).copied().unwrap_or(Val::Unknown),
                        BPF_MSH if k == l => Val::IpHeaderLen,
                        _ => Val::Unknown,
                    };
                    s.pc = next;
                }
                BPF_ST => {
                    if let Some(m) = s.mem.get_mut(k as usize) {
                        *m = s.a;
                    }
                    s.pc = next;
                }
                BPF_STX => {
                    if let Some(m) = s.mem.get_mut(k as usize) {
                        *m = s.x;
                    }
                    s.pc = next;
                }
                BPF_ALU => {
                    let operand = if code & BPF_X != 0 { s.x } else { Val::Const(k) };
                    s.a = alu(code & 0xf0, s.a, operand, l);
                    s.pc = next;
                }
                BPF_JMP => {
                    let op = code & 0xf0;
                    if op == 0x00 {
                        s.pc = next.saturating_add(k as usize);
                        continue;
                    }
                    let t = next + usize::from(i.jt);
                    let f = next + usize::from(i.jf);
                    if op == 0x10
                        && code & BPF_X == 0
                        && let Val::Packet { base, off, size } = s.a
                    {
                        // The equal branch learns a fact; the other does not.
                        let mut taken = s.clone();
                        taken.pc = t;
                        taken.checks.push(Check {
                            base,
                            off,
                            size,
                            value: k,
                        });
                        s.pc = f;
                        stack.push(taken);
                        continue;
                    }
                    if t != f {
                        let mut other = s.clone();
                        other.pc = t;
                        stack.push(other);
                    }
                    s.pc = f;
                }
                BPF_RET => {
                    let accepts = match code & 0x18 {
                        0x00 => k != 0,
                        // `ret x` / `ret a`: accepts unless the value is a known zero.
                        0x08 => s.x != Val::Const(0),
                        _ => s.a != Val::Const(0),
                    };
                    if accepts {
                        out.push(std::mem::take(&mut s.checks));
                    }
                    break;
                }
                _ => {
                    if code & 0xf8 == 0x80 {
                        s.a = s.x;
                    } else {
                        s.x = s.a;
                    }
                    s.pc = next;
                }
            }
        }
    }
    (out, true)
}

/// The accumulator after an ALU operation: only the steps of the TCP-header-length idiom
/// (`ldb [x + L+12]; and #0xf0; rsh #2; add x`) and constant arithmetic are followed.
fn alu(op: u16, a: Val, operand: Val, l: u32) -> Val {
    match (op, a, operand) {
        (
            0x50,
            Val::Packet {
                base: Base::IpEnd,
                off,
                size: 1,
            },
            Val::Const(0xf0),
        ) if off == l + 12 => Val::TcpOffsetByte,
        (0x70, Val::TcpOffsetByte, Val::Const(2)) => Val::TcpHeaderLen,
        (0x00, Val::TcpHeaderLen, Val::IpHeaderLen) | (0x00, Val::IpHeaderLen, Val::TcpHeaderLen) => Val::TransportEnd,
        (0x00, Val::Const(a), Val::Const(b)) => Val::Const(a.wrapping_add(b)),
        (0x10, Val::Const(a), Val::Const(b)) => Val::Const(a.wrapping_sub(b)),
        (0x40, Val::Const(a), Val::Const(b)) => Val::Const(a | b),
        (0x50, Val::Const(a), Val::Const(b)) => Val::Const(a & b),
        _ => Val::Unknown,
    }
}

/// What one accepting path requires, in words.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct PathWords {
    network: Option<&'static str>,
    transport: Option<String>,
    ports: Vec<u32>,
    addresses: Vec<String>,
    payload: Vec<String>,
    other: usize,
}

impl PathWords {
    fn sentence(&self) -> String {
        let mut s = String::new();
        if let Some(n) = self.network {
            s.push_str(n);
            s.push(' ');
        }
        if let Some(t) = &self.transport {
            s.push_str(t);
            s.push(' ');
        }
        s.push_str("packets");
        if !self.ports.is_empty() {
            let ports: Vec<String> = self.ports.iter().map(u32::to_string).collect();
            let _ = write!(s, " to or from port {}", ports.join(" and "));
        }
        for a in &self.addresses {
            let _ = write!(s, " {a}");
        }
        if !self.payload.is_empty() {
            let _ = write!(s, " whose payload {}", self.payload.join(" and "));
        }
        if self.other > 0 && self.payload.is_empty() && self.ports.is_empty() && self.addresses.is_empty() {
            s.push_str(" with other header fields set");
        }
        s
    }
}

fn hex(value: u32, size: u32) -> String {
    match size {
        1 => format!("0x{value:02x}"),
        2 => format!("0x{value:04x}"),
        _ => format!("0x{value:08x}"),
    }
}

/// Names the checks of one path.
fn words(checks: &[Check], link: Link) -> PathWords {
    let l = link.offset();
    let mut w = PathWords::default();
    let mut v6 = false;
    let mut proto: Option<u32> = None;
    // The network layer first, then the protocol, whatever order they were tested in.
    for c in checks {
        if c.base == Base::Start && link == Link::Ethernet && c.off == 12 && c.size == 2 {
            w.network = Some(match c.value {
                0x0800 => "IPv4",
                0x86dd => "IPv6",
                0x0806 => "ARP",
                0x8100 => "VLAN-tagged",
                _ => "non-IP",
            });
            v6 = c.value == 0x86dd;
        }
    }
    for c in checks {
        let proto_at = if v6 { l + 6 } else { l + 9 };
        if c.base == Base::Start && c.off == proto_at && c.size == 1 {
            proto = Some(c.value);
            w.transport = Some(
                match c.value {
                    1 => "ICMP",
                    6 => "TCP",
                    17 => "UDP",
                    58 => "ICMPv6",
                    2 => "IGMP",
                    _ => "",
                }
                .to_owned(),
            );
            if w.transport.as_deref() == Some("") {
                w.transport = Some(format!("IP protocol {}", c.value));
            }
        }
    }
    let transport_header = |p: Option<u32>| match p {
        Some(6) => 20,
        _ => 8,
    };
    let ip_header = if v6 { 40 } else { 20 };
    for c in checks {
        let payload_at: Option<u32> = match c.base {
            Base::TcpEnd => c.off.checked_sub(l),
            Base::IpEnd => c
                .off
                .checked_sub(l)
                .and_then(|rel| rel.checked_sub(transport_header(proto))),
            Base::Start => c
                .off
                .checked_sub(l + ip_header)
                .and_then(|rel| rel.checked_sub(transport_header(proto)))
                .filter(|_| proto.is_some()),
        };
        let header_rel: Option<u32> = match c.base {
            Base::IpEnd => c.off.checked_sub(l),
            Base::Start if proto.is_some() => c.off.checked_sub(l + ip_header),
            _ => None,
        };
        let is_layer_fact = c.base == Base::Start
            && ((link == Link::Ethernet && c.off == 12 && c.size == 2)
                || (c.off == if v6 { l + 6 } else { l + 9 } && c.size == 1));
        if is_layer_fact {
            continue;
        }
        if let Some(at) = payload_at {
            w.payload.push(if at == 0 {
                format!("starts with {}", hex(c.value, c.size))
            } else {
                format!("has {} at byte {at}", hex(c.value, c.size))
            });
        } else if let Some(rel @ (0 | 2)) = header_rel
            && c.size == 2
            && matches!(proto, Some(6 | 17) | None)
        {
            let _ = rel;
            if !w.ports.contains(&c.value) {
                w.ports.push(c.value);
            }
        } else if c.base == Base::Start && !v6 && c.size == 4 && (c.off == l + 12 || c.off == l + 16) {
            let ip = std::net::Ipv4Addr::from(c.value);
            w.addresses
                .push(format!("{} {ip}", if c.off == l + 12 { "from" } else { "to" }));
        } else {
            w.other += 1;
        }
    }
    w
}

/// The sentence for `insns`, and whether it matches payload bytes with constants.
fn summarise(insns: &[BpfInsn], link: Link) -> (String, bool) {
    if insns.is_empty() {
        return ("an empty filter (the kernel accepts none)".to_owned(), false);
    }
    let (paths, finished) = accepting_paths(insns, link);
    let mut kinds: Vec<String> = Vec::new();
    let mut payload = false;
    let mut everything = false;
    for checks in &paths {
        let w = words(checks, link);
        payload |= !w.payload.is_empty();
        if checks.is_empty() {
            everything = true;
        }
        let s = w.sentence();
        if !kinds.contains(&s) {
            kinds.push(s);
        }
    }
    let n = insns.len();
    let noun = if n == 1 { "instruction" } else { "instructions" };
    let mut sentence = if everything {
        format!("accepts every packet ({n} {noun})")
    } else if kinds.is_empty() {
        format!("accepts no packet ({n} {noun})")
    } else {
        const SHOWN: usize = 4;
        let mut shown: Vec<String> = kinds.iter().take(SHOWN).cloned().collect();
        if kinds.len() > SHOWN {
            shown.push(format!("{} other kinds", kinds.len() - SHOWN));
        }
        let list = match shown.len() {
            1 => shown.remove(0),
            _ => {
                let last = shown.pop().unwrap_or_default();
                format!("{}, or {last}", shown.join(", "))
            }
        };
        format!("accepts only {list} ({n} {noun})")
    };
    if !finished {
        sentence.push_str("; too many paths to follow them all");
    }
    (sentence, payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn i(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
        BpfInsn { code, jt, jf, k }
    }

    /// A filter built like BPFDoor's published one (28 instructions here): IPv4 UDP and
    /// ICMP packets whose payload starts with 0x7255, TCP packets whose payload (past the
    /// TCP header, whatever its options) starts with 0x5293; fragments dropped.
    pub(crate) fn bpfdoor() -> Vec<BpfInsn> {
        vec![
            i(0x28, 0, 0, 12),       // 0 ldh [12]
            i(0x15, 0, 25, 0x800),   // 1 jeq #0x800 -> 2 / 27
            i(0x30, 0, 0, 23),       // 2 ldb [23]
            i(0x15, 0, 5, 17),       // 3 jeq #17 -> 4 / 9
            i(0x28, 0, 0, 20),       // 4 ldh [20]
            i(0x45, 21, 0, 0x1fff),  // 5 jset #0x1fff -> 27 / 6
            i(0xb1, 0, 0, 14),       // 6 ldxb 4*([14]&0xf)
            i(0x48, 0, 0, 22),       // 7 ldh [x + 22]
            i(0x15, 17, 18, 0x7255), // 8 jeq #0x7255 -> 26 / 27
            i(0x15, 0, 5, 1),        // 9 jeq #1 -> 10 / 15
            i(0x28, 0, 0, 20),       // 10 ldh [20]
            i(0x45, 15, 0, 0x1fff),  // 11 jset -> 27 / 12
            i(0xb1, 0, 0, 14),       // 12 ldxb 4*([14]&0xf)
            i(0x48, 0, 0, 22),       // 13 ldh [x + 22]
            i(0x15, 11, 12, 0x7255), // 14 jeq #0x7255 -> 26 / 27
            i(0x15, 0, 11, 6),       // 15 jeq #6 -> 16 / 27
            i(0x28, 0, 0, 20),       // 16 ldh [20]
            i(0x45, 9, 0, 0x1fff),   // 17 jset -> 27 / 18
            i(0xb1, 0, 0, 14),       // 18 ldxb 4*([14]&0xf)
            i(0x50, 0, 0, 26),       // 19 ldb [x + 26]
            i(0x54, 0, 0, 0xf0),     // 20 and #0xf0
            i(0x74, 0, 0, 2),        // 21 rsh #2
            i(0x0c, 0, 0, 0),        // 22 add x
            i(0x07, 0, 0, 0),        // 23 tax
            i(0x48, 0, 0, 14),       // 24 ldh [x + 14]
            i(0x15, 0, 1, 0x5293),   // 25 jeq #0x5293 -> 26 / 27
            i(0x06, 0, 0, 0xffff),   // 26 ret #65535
            i(0x06, 0, 0, 0),        // 27 ret #0
        ]
    }

    #[test]
    fn bpfdoor_filter_is_described_by_its_magic() {
        let d = decode(&bpfdoor(), Link::Ethernet);
        assert!(d.payload_match, "{d:?}");
        assert_eq!(
            d.summary,
            "accepts only IPv4 TCP packets whose payload starts with 0x5293, IPv4 ICMP packets whose payload \
             starts with 0x7255, or IPv4 UDP packets whose payload starts with 0x7255 (28 instructions)"
        );
        assert_eq!(d.listing[6], "(006) ldxb     4*([14]&0xf)");
        assert_eq!(d.listing[7], "(007) ldh      [x + 22]");
        assert_eq!(d.listing[1], "(001) jeq      #0x800           jt 2\tjf 27");
        assert_eq!(d.listing[26], "(026) ret      #65535");
    }

    #[test]
    fn port_filters_are_not_payload_filters() {
        // tcpdump -d 'ip and udp port 53' on Ethernet.
        let prog = vec![
            i(0x28, 0, 0, 12),
            i(0x15, 0, 10, 0x800),
            i(0x30, 0, 0, 23),
            i(0x15, 0, 8, 17),
            i(0x28, 0, 0, 20),
            i(0x45, 6, 0, 0x1fff),
            i(0xb1, 0, 0, 14),
            i(0x48, 0, 0, 14),
            i(0x15, 2, 0, 53),
            i(0x48, 0, 0, 16),
            i(0x15, 0, 1, 53),
            i(0x06, 0, 0, 262_144),
            i(0x06, 0, 0, 0),
        ];
        let d = decode(&prog, Link::Ethernet);
        assert!(!d.payload_match, "{d:?}");
        assert_eq!(
            d.summary,
            "accepts only IPv4 UDP packets to or from port 53 (13 instructions)"
        );
        let all = decode(&[i(0x06, 0, 0, 262_144)], Link::Ethernet);
        assert_eq!(all.summary, "accepts every packet (1 instruction)");
        assert_eq!(all.listing, ["(000) ret      #262144"]);
    }

    proptest! {
        #[test]
        fn any_program_decodes(raw in proptest::collection::vec((any::<u16>(), any::<u8>(), any::<u8>(), any::<u32>()), 0..64)) {
            let prog: Vec<BpfInsn> = raw.into_iter().map(|(code, jt, jf, k)| i(code, jt, jf, k)).collect();
            let d = decode(&prog, Link::Ethernet);
            prop_assert_eq!(d.listing.len(), prog.len());
            prop_assert!(!d.summary.is_empty());
        }
    }
}
