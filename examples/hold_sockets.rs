//! hold_sockets: binds the sockets its arguments name, prints them, and holds them until
//! standard input closes. A listener program for live tests on systems without Python,
//! such as the Windows build run under Wine in CI (`.ci/wine/live-scan`).
//!
//! Each argument is `tcp:ADDR:PORT` or `udp:ADDR:PORT` (port 0 for any free port; an IPv6
//! address as written, e.g. `tcp:::1:0`). One line per socket goes to standard output,
//! `PROTO ADDR PORT` with the port bound, then `READY`. TCP sockets listen.
//!
//! ```sh
//! cargo run --example hold_sockets -- tcp:127.0.0.1:0 udp:::1:0 < /dev/tty
//! ```

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};

fn main() -> anyhow::Result<()> {
    let mut tcp = Vec::new();
    let mut udp = Vec::new();
    let mut out = std::io::stdout().lock();
    for spec in std::env::args().skip(1) {
        let (proto, rest) = spec
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("{spec:?} is not PROTO:ADDR:PORT"))?;
        let (addr, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| anyhow::anyhow!("{spec:?} is not PROTO:ADDR:PORT"))?;
        let addr: SocketAddr = SocketAddr::new(addr.parse()?, port.parse()?);
        let local = match proto {
            "tcp" => {
                let socket = TcpListener::bind(addr)?;
                let local = socket.local_addr()?;
                tcp.push(socket);
                local
            }
            "udp" => {
                let socket = UdpSocket::bind(addr)?;
                let local = socket.local_addr()?;
                udp.push(socket);
                local
            }
            other => anyhow::bail!("{other:?} is not tcp or udp"),
        };
        writeln!(out, "{proto} {} {}", local.ip(), local.port())?;
    }
    writeln!(out, "READY")?;
    out.flush()?;
    drop(out);
    // Hold the sockets until standard input closes.
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    Ok(())
}
