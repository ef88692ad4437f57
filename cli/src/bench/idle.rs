//! Idle connections: C upgraded connections held open with no traffic,
//! to weigh what a server keeps per idle connection.
//!
//! Raw sockets on mio rather than ws6455's client loop: the client loop's
//! `ConnectOptions` cannot bind a source address, and one destination
//! port allows only ~28,000 connections per source address. Each socket is
//! bound round robin to `--source-addrs` (socket2), sends a fixed upgrade
//! request, checks for `101`, then only answers pings (so servers with
//! heartbeats keep it) and notices closes.
//!
//! `--deflate` offers permessage-deflate (RFC 7692) and requires the
//! server to agree; `--warm` makes each connection send one ~1 KiB text
//! message (compressed with `--deflate`, RSV1 set, §7.2.1) and wait for its
//! echo before it counts as open, so what is weighed is a connection that
//! has used its codecs once and gone quiet.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use super::{json_str, status_bytes, Args};

#[derive(PartialEq, Eq)]
enum State {
    Connecting,
    Sent,
    /// `--warm`: the message went out, its echo has not come back yet.
    Warming,
    Open,
}

struct Idle {
    stream: TcpStream,
    state: State,
    /// Bytes of an unfinished response head or frame.
    carry: Vec<u8>,
}

/// "127.0.0.1,127.0.0.2" or "127.0.0.1-127.0.0.8".
fn parse_addrs(spec: &str) -> Result<Vec<IpAddr>, String> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((a, b)) = part.split_once('-') {
            let a: Ipv4Addr = a.trim().parse().map_err(|_| format!("bad address {a}"))?;
            let b: Ipv4Addr = b.trim().parse().map_err(|_| format!("bad address {b}"))?;
            let (a, b) = (u32::from(a), u32::from(b));
            if b < a || b - a > 65_536 {
                return Err(format!("bad range {part}"));
            }
            out.extend((a..=b).map(|x| IpAddr::V4(Ipv4Addr::from(x))));
        } else {
            out.push(part.parse().map_err(|_| format!("bad address {part}"))?);
        }
    }
    Ok(out)
}

fn start(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    if let Some(ip) = source {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        // EINPROGRESS (115 on Linux): the non-blocking connect goes on.
        Err(e) if e.raw_os_error() == Some(115) || e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// What `frames` found in the bytes it was given.
#[derive(Default)]
struct Seen {
    consumed: usize,
    close: bool,
    /// A data frame with FIN (the `--warm` echo) was read whole.
    data: bool,
}

/// Complete frames in `buf` (server frames are unmasked): answer pings
/// with (zero-key masked) pongs, note a close and whole data messages.
fn frames(buf: &[u8], stream: &mut TcpStream, pings: &mut u64) -> Seen {
    let mut seen = Seen::default();
    while let [b0, b1, ..] = buf[seen.consumed..] {
        let at = seen.consumed;
        let (len, head) = match b1 & 0x7f {
            126 => match buf.get(at + 2..at + 4) {
                Some(l) => (usize::from(u16::from_be_bytes([l[0], l[1]])), 4),
                None => break,
            },
            127 => match buf.get(at + 2..at + 10) {
                Some(l) => (
                    usize::try_from(u64::from_be_bytes(l.try_into().unwrap_or_default()))
                        .unwrap_or(usize::MAX),
                    10,
                ),
                None => break,
            },
            n => (usize::from(n), 2),
        };
        let Some(payload) = buf.get(at + head..(at + head).saturating_add(len)) else {
            break;
        };
        match b0 & 0x0f {
            0x9 => {
                let mut pong = vec![0x8a, 0x80 | b1 & 0x7f, 0, 0, 0, 0];
                pong.extend_from_slice(payload);
                let _ = stream.write_all(&pong);
                *pings += 1;
            }
            0x8 => {
                seen.close = true;
                seen.consumed = buf.len();
                return seen;
            }
            _ => seen.data |= b0 & 0x80 != 0 && b0 & 0x08 == 0,
        }
        seen.consumed = at + head + len;
    }
    seen
}

/// The `--warm` message as a masked client frame (zero key, so the
/// payload reads as is): ~1 KiB of JSON-like text, compressed when
/// permessage-deflate is on.
fn warm_frame(deflate: bool) -> Vec<u8> {
    let text = super::json_text(1024).into_bytes();
    let (rsv1, payload) = if deflate {
        let mut out = Vec::new();
        let mut z = ws6455::proto::deflate::Compressor::new(6, 15);
        z.compress(&text, &mut out);
        (0x40, out)
    } else {
        (0, text)
    };
    let mut frame = vec![0x81 | rsv1];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&payload);
    frame
}

pub fn run(args: &Args) -> io::Result<()> {
    // Its raw sockets carry hand-written frames, not TLS records.
    let uri = super::plain_uri(&args.url, "--idle opens plain sockets")?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(uri.host.as_str(), uri.port))?
        .next()
        .ok_or_else(|| io::Error::other(format!("{}: no address", uri.host)))?;
    let sources = match &args.source_addrs {
        Some(spec) => parse_addrs(spec).map_err(io::Error::other)?,
        None => Vec::new(),
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{}\r\n",
        uri.resource,
        uri.host_header(),
        if args.deflate {
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        } else {
            ""
        }
    );
    let warm = args.warm.then(|| warm_frame(args.deflate));
    let total = args.connections;
    let ramp = args.ramp.max(1);
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4096);
    let mut conns: Vec<Option<Idle>> = Vec::with_capacity(total);
    let (mut in_flight, mut opened, mut closed, mut pings) = (0usize, 0usize, 0u64, 0u64);
    let rss = |pid: Option<u32>| pid.and_then(|p| status_bytes(p, "VmRSS"));
    let rss_before = rss(args.server_pid.first().copied());
    let began = Instant::now();
    let timeout = Duration::from_secs_f64(args.connect_timeout.max(0.1));
    let mut ready_at: Option<Instant> = None;
    let mut chunk = [0u8; 4096];
    loop {
        while conns.len() < total && in_flight < ramp {
            let source = (!sources.is_empty()).then(|| sources[conns.len() % sources.len()]);
            let mut stream = start(addr, source).map_err(|e| {
                io::Error::other(format!("connection {}: cannot connect: {e}", conns.len()))
            })?;
            poll.registry().register(
                &mut stream,
                Token(conns.len()),
                Interest::READABLE | Interest::WRITABLE,
            )?;
            conns.push(Some(Idle {
                stream,
                state: State::Connecting,
                carry: Vec::new(),
            }));
            in_flight += 1;
        }
        if opened == total && ready_at.is_none() {
            ready_at = Some(Instant::now());
            let secs = began.elapsed().as_secs_f64();
            eprintln!("idle: {opened} connections open in {secs:.1} s");
            if let Some(path) = &args.ready_file {
                std::fs::write(path, format!("{opened}\n"))?;
            }
        }
        match ready_at {
            Some(at) if args.hold > 0.0 && at.elapsed().as_secs_f64() >= args.hold => break,
            None if began.elapsed() > timeout => {
                return Err(io::Error::other(format!(
                    "only {opened} of {total} connections opened in {:.0} s",
                    timeout.as_secs_f64()
                )))
            }
            _ => {}
        }
        if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for event in events.iter() {
            let i = event.token().0;
            let Some(c) = conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            if c.state == State::Connecting {
                if let Some(e) = c.stream.take_error()? {
                    return Err(io::Error::other(format!("connection {i}: {e}")));
                }
                if c.stream.peer_addr().is_err() {
                    continue; // still connecting
                }
                c.stream.write_all(request.as_bytes())?;
                c.state = State::Sent;
            }
            if !(event.is_readable() || event.is_read_closed() || event.is_error()) {
                continue;
            }
            let mut gone = false;
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        gone = true;
                        break;
                    }
                    Ok(n) => c.carry.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        gone = true;
                        break;
                    }
                }
            }
            if c.state == State::Sent {
                if let Some(end) = c.carry.windows(4).position(|w| w == b"\r\n\r\n") {
                    if !c.carry.starts_with(b"HTTP/1.1 101") {
                        let line = String::from_utf8_lossy(&c.carry[..end]);
                        let first = line.lines().next().unwrap_or("").to_owned();
                        return Err(io::Error::other(format!(
                            "connection {i}: upgrade refused: {first}"
                        )));
                    }
                    let head = String::from_utf8_lossy(&c.carry[..end]).to_ascii_lowercase();
                    if args.deflate && !head.contains("permessage-deflate") {
                        return Err(io::Error::other(format!(
                            "connection {i}: --deflate: the server did not agree to permessage-deflate"
                        )));
                    }
                    c.carry.drain(..end + 4);
                    if let Some(frame) = &warm {
                        c.stream.write_all(frame)?;
                        c.state = State::Warming;
                    } else {
                        c.state = State::Open;
                        opened += 1;
                        in_flight -= 1;
                    }
                }
            }
            if matches!(c.state, State::Warming | State::Open) && !c.carry.is_empty() {
                let seen = frames(&c.carry, &mut c.stream, &mut pings);
                c.carry.drain(..seen.consumed);
                gone |= seen.close;
                if seen.data && c.state == State::Warming {
                    c.state = State::Open;
                    opened += 1;
                    in_flight -= 1;
                }
            }
            if c.carry.is_empty() {
                c.carry = Vec::new(); // hold nothing while idle
            }
            if gone {
                if c.state != State::Open {
                    return Err(io::Error::other(format!(
                        "connection {i} closed by the server during the handshake"
                    )));
                }
                closed += 1;
                if let Some(mut c) = conns[i].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
            }
        }
    }
    // Measured before closing anything: the server still holds them all.
    let rss_after = rss(args.server_pid.first().copied());
    let per_conn = match (rss_before, rss_after) {
        (Some(b), Some(a)) => Some((a as f64 - b as f64) / total as f64),
        _ => None,
    };
    let num = |v: Option<u64>| v.map_or("null".to_owned(), |v| v.to_string());
    let line = format!(
        "{{\"mode\":\"idle\",\"url\":{},\"connections\":{total},\"deflate\":{},\"warm\":{},\"source_addrs\":{},\"open_s\":{:.3},\"held_s\":{:.3},\"closed_by_server\":{closed},\"pings_answered\":{pings},\"server_pid\":{},\"server_rss_before\":{},\"server_rss_after\":{},\"rss_per_connection\":{}}}",
        json_str(&args.url),
        args.deflate,
        args.warm,
        sources.len().max(1),
        ready_at.map_or(0.0, |r| r.duration_since(began).as_secs_f64()),
        ready_at.map_or(0.0, |r| r.elapsed().as_secs_f64()),
        num(args.server_pid.first().map(|&p| u64::from(p))),
        num(rss_before),
        num(rss_after),
        per_conn.map_or("null".to_owned(), |v| format!("{v:.0}")),
    );
    if args.json {
        println!("{line}");
    } else {
        println!(
            "idle: {total} connections held {:.1} s; {closed} closed by the server, {pings} pings answered",
            ready_at.map_or(0.0, |r| r.elapsed().as_secs_f64())
        );
        if let (Some(b), Some(a), Some(p)) = (rss_before, rss_after, per_conn) {
            println!("  server VmRSS {b} -> {a} bytes: {p:.0} bytes per idle connection");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_addrs;

    #[test]
    fn address_lists() {
        let r = parse_addrs("127.0.0.1-127.0.0.3").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[2].to_string(), "127.0.0.3");
        assert_eq!(parse_addrs("127.0.0.1, ::1").unwrap().len(), 2);
        assert!(parse_addrs("127.0.0.3-127.0.0.1").is_err());
        assert!(parse_addrs("nope").is_err());
    }
}
