//! The CEILING: an edge-triggered mio loop shaped like ws6455's (sockets
//! registered once for both directions, readiness remembered, the Linux
//! short-read shortcut, output written straight after input) that answers
//! the upgrade with a minimal 101 and then echoes with no checks at all:
//! it parses just enough of each frame header to know the frame's length,
//! unmasks the payload in place, writes the unmasked header over the tail
//! of the masked one and sends header + payload back with one write per
//! read. Nothing is validated (no UTF-8, no opcodes, no limits): it is the
//! cost of the syscalls and the memory traffic, the floor a real server
//! can approach.

use std::io::{self, Read, Write};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);
/// First receive buffer once frames flow; grown to the largest frame seen.
const RX_INITIAL: usize = 16 << 10;

struct Conn {
    stream: TcpStream,
    /// Received bytes `[..filled]`; the rest is room for the next read.
    rx: Vec<u8>,
    filled: usize,
    /// Output the socket did not take; reading pauses until it drains.
    tx: Vec<u8>,
    open: bool,
    can_read: bool,
    can_write: bool,
    closing: bool,
}

fn unmask(buf: &mut [u8], key: [u8; 4]) {
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for c in &mut chunks {
        let v = u64::from_ne_bytes(c.try_into().unwrap()) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

/// Complete frames in `rx[..filled]` are rewritten in place into unmasked
/// server frames packed at the front region `[out_start, out_end)`.
/// Returns (out_start, out_end, consumed, needed-size-of-next-frame, close).
fn process(rx: &mut [u8], filled: usize) -> (usize, usize, usize, usize, bool) {
    let (mut pos, mut out_start, mut out_end) = (0usize, usize::MAX, 0usize);
    let mut close = false;
    let mut need = 0;
    while filled - pos >= 2 {
        let b0 = rx[pos];
        let b1 = rx[pos + 1];
        let (len, ext) = match b1 & 0x7f {
            126 if filled - pos >= 4 => {
                (u16::from_be_bytes([rx[pos + 2], rx[pos + 3]]) as usize, 2)
            }
            127 if filled - pos >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&rx[pos + 2..pos + 10]);
                (u64::from_be_bytes(b) as usize, 8)
            }
            126 | 127 => {
                need = 14;
                break;
            }
            n => (n as usize, 0),
        };
        let hdr = 2 + ext + 4;
        let total = hdr + len;
        if filled - pos < total {
            need = total;
            break;
        }
        let key = [
            rx[pos + hdr - 4],
            rx[pos + hdr - 3],
            rx[pos + hdr - 2],
            rx[pos + hdr - 1],
        ];
        unmask(&mut rx[pos + hdr..pos + total], key);
        // The unmasked header is 4 bytes shorter: write it just before
        // the payload so header + payload are contiguous.
        // (Extended length first: its source overlaps the new first bytes.)
        let start = pos + 4;
        rx.copy_within(pos + 2..pos + 2 + ext, start + 2);
        rx[start] = b0;
        rx[start + 1] = b1 & 0x7f;
        let frame_len = total - 4;
        if out_start == usize::MAX {
            out_start = start;
            out_end = start + frame_len;
        } else {
            // Several frames in one read: pack them behind the first.
            rx.copy_within(start..start + frame_len, out_end);
            out_end += frame_len;
        }
        if b0 & 0x0f == 8 {
            close = true;
        }
        pos += total;
    }
    if out_start == usize::MAX {
        out_start = 0;
    }
    (out_start, out_end, pos, need, close)
}

/// Read, echo, write until the socket or the peer stops us. Returns false
/// when the connection is finished.
fn drive(c: &mut Conn) -> bool {
    if !c.tx.is_empty() {
        if !c.can_write {
            return true;
        }
        match c.stream.write(&c.tx) {
            Ok(n) => {
                c.tx.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.can_write = false;
                return true;
            }
            Err(_) => return false,
        }
        if !c.tx.is_empty() {
            return true;
        }
        if c.closing {
            return false;
        }
    }
    while c.can_read && c.tx.is_empty() {
        if !c.open && c.rx.is_empty() {
            c.rx = vec![0; 1024];
        } else if c.open && c.rx.is_empty() {
            c.rx = vec![0; RX_INITIAL];
        }
        let room = c.rx.len() - c.filled;
        let n = match c.stream.read(&mut c.rx[c.filled..]) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                c.can_read = false;
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        if n < room {
            c.can_read = false; // Linux ET: a short read drained the socket
        }
        c.filled += n;
        let (out_start, out_end, consumed, need, close) = if c.open {
            process(&mut c.rx, c.filled)
        } else {
            let Some(end) = ws6455_peers::head_end(&c.rx[..c.filled]) else {
                if c.filled == c.rx.len() {
                    return false;
                }
                continue;
            };
            let Some(resp) = ws6455_peers::response_101(&c.rx[..end]) else {
                return false;
            };
            c.open = true;
            // An idle connection keeps no buffer.
            c.rx = Vec::new();
            c.filled = 0;
            c.tx = resp;
            (0, 0, 0, 0, false)
        };
        if out_end > out_start {
            match c.stream.write(&c.rx[out_start..out_end]) {
                Ok(w) if w == out_end - out_start => {}
                Ok(w) => c.tx.extend_from_slice(&c.rx[out_start + w..out_end]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    c.can_write = false;
                    c.tx.extend_from_slice(&c.rx[out_start..out_end]);
                }
                Err(_) => return false,
            }
        }
        if c.open && !c.rx.is_empty() {
            c.rx.copy_within(consumed..c.filled, 0);
            c.filled -= consumed;
            if need > c.rx.len() {
                c.rx.resize(need, 0);
            }
        }
        if close {
            c.closing = true;
            c.can_read = false;
        }
        if !c.tx.is_empty() {
            return drive(c);
        }
        if c.closing {
            return false;
        }
    }
    true
}

fn main() -> io::Result<()> {
    let addr = ws6455_peers::listen_addr();
    let mut poll = Poll::new()?;
    let mut listener = TcpListener::bind(addr.parse().expect("--listen IP:PORT"))?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    eprintln!("echo-raw-mio on {addr}");
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let _ = stream.set_nodelay(true);
                            let idx = free.pop().unwrap_or_else(|| {
                                conns.push(None);
                                conns.len() - 1
                            });
                            poll.registry().register(
                                &mut stream,
                                Token(idx),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns[idx] = Some(Conn {
                                stream,
                                rx: Vec::new(),
                                filled: 0,
                                tx: Vec::new(),
                                open: false,
                                can_read: true,
                                can_write: true,
                                closing: false,
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => break,
                    }
                }
                continue;
            }
            let idx = event.token().0;
            let Some(c) = conns.get_mut(idx).and_then(Option::as_mut) else {
                continue;
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                c.can_read = true;
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                c.can_write = true;
            }
            if !drive(c) {
                if let Some(mut c) = conns[idx].take() {
                    let _ = poll.registry().deregister(&mut c.stream);
                }
                free.push(idx);
            }
        }
    }
}
