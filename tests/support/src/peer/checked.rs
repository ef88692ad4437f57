//! [`CheckedPeer`]: the conformance judge. It writes any bytes at all
//! (valid or not, whole, per frame or chopped), and a reader thread
//! decodes everything the testee sends back, checking it against RFC 6455
//! as it goes and reassembling messages.
//!
//! Reading happens on its own thread so that writing a large message never
//! deadlocks against the testee echoing it; the test thread takes what was
//! read from a channel, with a deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crate::wire::{self, Frame, BINARY, CLOSE, CONT, PING, PONG, TEXT};
use crate::MUST;

/// Which side of the connection the harness plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The harness is the client: it masks its frames (§5.3) and expects
    /// unmasked ones.
    Client,
    /// The harness is the server: it sends unmasked frames and expects
    /// every frame of the testee to be masked.
    Server,
}

/// Something the testee sent, at message level: fragments reassembled,
/// control frames where they arrived.
#[derive(Clone, PartialEq, Eq)]
#[allow(missing_docs)] // one variant per message or control frame type
pub enum Ev {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// A close frame: its status code, `None` for an empty payload.
    Close(Option<u16>),
}

impl Ev {
    /// `Ev::Text` from anything byte-like (likewise the others).
    pub fn text(p: impl AsRef<[u8]>) -> Ev {
        Ev::Text(p.as_ref().to_vec())
    }
    #[allow(missing_docs)]
    pub fn binary(p: impl AsRef<[u8]>) -> Ev {
        Ev::Binary(p.as_ref().to_vec())
    }
    #[allow(missing_docs)]
    pub fn ping(p: impl AsRef<[u8]>) -> Ev {
        Ev::Ping(p.as_ref().to_vec())
    }
    #[allow(missing_docs)]
    pub fn pong(p: impl AsRef<[u8]>) -> Ev {
        Ev::Pong(p.as_ref().to_vec())
    }
    /// A close frame with `code`.
    pub fn close(code: u16) -> Ev {
        Ev::Close(Some(code))
    }
}

impl std::fmt::Debug for Ev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ev::Text(p) => write!(f, "Text({})", wire::preview(p)),
            Ev::Binary(p) => write!(f, "Binary({})", wire::preview(p)),
            Ev::Ping(p) => write!(f, "Ping({})", wire::preview(p)),
            Ev::Pong(p) => write!(f, "Pong({})", wire::preview(p)),
            Ev::Close(c) => write!(f, "Close({c:?})"),
        }
    }
}

/// How the testee's side of TCP ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpEnd {
    /// An orderly close (FIN): read returned 0.
    Eof,
    /// The testee closed with our bytes still unread in its socket, so its
    /// kernel answered with a reset. Still "the testee closed TCP".
    Reset,
    /// Any other socket error.
    Error(ErrorKind),
}

/// One step of what the testee did.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A message or control frame.
    Ev(Ev),
    /// TCP ended.
    End(TcpEnd),
    /// Nothing within the deadline.
    Timeout,
}

/// Everything the testee sent until it closed TCP (or the deadline).
#[derive(Debug)]
pub struct Outcome {
    /// What the testee sent, in order.
    pub events: Vec<Ev>,
    /// `None`: TCP still open at the deadline.
    pub tcp: Option<TcpEnd>,
}

impl Outcome {
    /// True when the testee closed TCP (orderly or with a reset).
    pub fn tcp_closed(&self) -> bool {
        matches!(self.tcp, Some(TcpEnd::Eof | TcpEnd::Reset))
    }
}

/// What the reader thread hands over.
enum Wire {
    Frame(Frame),
    End(TcpEnd),
    Bad(String),
}

/// The harness's end of one WebSocket connection.
pub struct CheckedPeer {
    side: Side,
    stream: TcpStream,
    wire: Receiver<Wire>,
    key_state: u32,
    /// A fragmented data message in progress: its opcode and bytes so far.
    partial: Option<(u8, Vec<u8>)>,
    /// Every frame received, payload dropped (header facts only), in order.
    pub frames: Vec<FrameInfo>,
    /// The reason of the last close frame received.
    pub close_reason: Vec<u8>,
    /// We built a close frame: after the testee's close, a server-side
    /// harness closes TCP itself (the client waits for that, §7.1.1).
    our_close: bool,
    ended: Option<TcpEnd>,
    /// The first failed write (the testee may legitimately have closed).
    pub write_error: Option<std::io::Error>,
    /// Names the case in assertion messages (data-driven tests).
    pub label: String,
}

/// The header facts of a received frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// The FIN bit.
    pub fin: bool,
    /// The opcode.
    pub opcode: u8,
    /// Payload bytes.
    pub len: usize,
    /// Header bytes on the wire, mask included.
    pub header_len: usize,
    /// The masking key (client frames).
    pub key: Option<[u8; 4]>,
}

impl CheckedPeer {
    /// Wrap a stream whose opening handshake is complete; `leftover` holds
    /// bytes read past the handshake head.
    pub fn new(side: Side, stream: TcpStream, leftover: Vec<u8>) -> CheckedPeer {
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(None).unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = stream.try_clone().unwrap();
        std::thread::spawn(move || read_loop(reader, leftover, tx));
        CheckedPeer {
            side,
            stream,
            wire: rx,
            key_state: 0x9e37_79b9 ^ rand::random::<u32>(),
            partial: None,
            frames: Vec::new(),
            close_reason: Vec::new(),
            our_close: false,
            ended: None,
            write_error: None,
            label: String::new(),
        }
    }

    /// The side the harness plays.
    pub fn side(&self) -> Side {
        self.side
    }

    // ----- building frames ---------------------------------------------

    /// A fresh masking key when we are the client (§5.3), none otherwise.
    fn next_key(&mut self) -> Option<[u8; 4]> {
        if self.side == Side::Server {
            return None;
        }
        // xorshift32: varied keys, including bytes that exercise every lane.
        let mut x = self.key_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.key_state = x;
        Some(x.to_le_bytes())
    }

    /// Any frame, even an invalid one; masked when we are the client.
    pub fn frame(&mut self, fin: bool, rsv: u8, opcode: u8, payload: impl AsRef<[u8]>) -> Vec<u8> {
        if opcode == CLOSE {
            self.our_close = true;
        }
        let key = self.next_key();
        wire::encode(fin, rsv, opcode, payload.as_ref(), key)
    }

    /// Only a header (announcing `len` bytes), masked with `key` when we are
    /// the client; the payload must be masked with the returned key.
    pub fn header(&mut self, fin: bool, opcode: u8, len: u64) -> (Vec<u8>, Option<[u8; 4]>) {
        let key = self.next_key();
        (wire::header(fin, 0, opcode, len, key), key)
    }

    /// A final text frame.
    pub fn text(&mut self, p: impl AsRef<[u8]>) -> Vec<u8> {
        self.frame(true, 0, TEXT, p)
    }
    /// A final binary frame.
    pub fn binary(&mut self, p: impl AsRef<[u8]>) -> Vec<u8> {
        self.frame(true, 0, BINARY, p)
    }
    /// A final ping frame.
    pub fn ping(&mut self, p: impl AsRef<[u8]>) -> Vec<u8> {
        self.frame(true, 0, PING, p)
    }
    /// A final pong frame.
    pub fn pong(&mut self, p: impl AsRef<[u8]>) -> Vec<u8> {
        self.frame(true, 0, PONG, p)
    }
    /// A close frame with a code and no reason.
    pub fn close(&mut self, code: u16) -> Vec<u8> {
        self.frame(true, 0, CLOSE, code.to_be_bytes())
    }
    /// A data message split into frames of `size` bytes (the last shorter).
    pub fn fragmented(&mut self, opcode: u8, payload: &[u8], size: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + payload.len() / size.max(1) * 14 + 14);
        let chunks: Vec<&[u8]> = if payload.is_empty() {
            vec![&[]]
        } else {
            payload.chunks(size).collect()
        };
        let last = chunks.len() - 1;
        for (i, chunk) in chunks.into_iter().enumerate() {
            let op = if i == 0 { opcode } else { CONT };
            out.extend(self.frame(i == last, 0, op, chunk));
        }
        out
    }

    // ----- sending -------------------------------------------------------

    /// One write of `bytes`. A failed write is recorded, not fatal: the
    /// testee may rightly have failed the connection already.
    pub fn send(&mut self, bytes: &[u8]) {
        if self.write_error.is_some() {
            return;
        }
        if let Err(e) = self.stream.write_all(bytes) {
            self.write_error = Some(e);
        }
    }

    /// All frames in one write.
    pub fn send_all(&mut self, frames: &[Vec<u8>]) {
        self.send(&frames.concat());
    }

    /// One write per frame.
    pub fn send_frames(&mut self, frames: &[Vec<u8>]) {
        for f in frames {
            self.send(f);
        }
    }

    /// One write per `chop` bytes (Autobahn's "chopsize").
    pub fn send_chops(&mut self, bytes: &[u8], chop: usize) {
        for piece in bytes.chunks(chop) {
            self.send(piece);
        }
    }

    /// One write per octet (Autobahn's "octet-wise chops").
    pub fn send_octets(&mut self, bytes: &[u8]) {
        self.send_chops(bytes, 1);
    }

    /// Half-close: send FIN, keep reading.
    pub fn close_tcp(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    // ----- receiving -----------------------------------------------------

    /// The next thing the testee does, within `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Next {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(end) = self.ended {
                return Next::End(end);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.wire.recv_timeout(left) {
                Ok(Wire::Frame(frame)) => {
                    if let Some(ev) = self.take(frame) {
                        return Next::Ev(ev);
                    }
                }
                Ok(Wire::End(end)) => self.ended = Some(end),
                Ok(Wire::Bad(why)) => panic!(
                    "[{}] the testee sent bytes that break RFC 6455: {why}",
                    self.label
                ),
                Err(RecvTimeoutError::Timeout) => return Next::Timeout,
                Err(RecvTimeoutError::Disconnected) => panic!("reader thread gone"),
            }
        }
    }

    /// The next event must be `expected`, within [`MUST`].
    #[track_caller]
    pub fn expect(&mut self, expected: Ev) {
        match self.next(MUST) {
            Next::Ev(ev) => assert_eq!(ev, expected, "[{}] event from the testee", self.label),
            other => panic!("[{}] expected {expected:?}, got {other:?}", self.label),
        }
    }

    /// Several events in order, each within [`MUST`].
    #[track_caller]
    pub fn expect_all(&mut self, expected: &[Ev]) {
        for ev in expected {
            self.expect(ev.clone());
        }
    }

    /// Everything until the testee closes TCP (or [`MUST`] passes). As the
    /// server, once the testee answered our close, close TCP ourselves
    /// first, as §7.1.1 asks of a server.
    pub fn finish(&mut self) -> Outcome {
        let deadline = Instant::now() + MUST;
        let mut events = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left) {
                Next::Ev(ev) => {
                    let close = matches!(ev, Ev::Close(_));
                    events.push(ev);
                    if close && self.side == Side::Server && self.our_close {
                        self.close_tcp();
                    }
                }
                Next::End(end) => {
                    return Outcome {
                        events,
                        tcp: Some(end),
                    }
                }
                Next::Timeout => return Outcome { events, tcp: None },
            }
        }
    }

    /// The testee must send exactly `expected` and then close TCP.
    #[track_caller]
    pub fn assert_end(&mut self, expected: &[Ev]) -> Outcome {
        let outcome = self.finish();
        assert_eq!(
            outcome.events, expected,
            "[{}] what the testee sent",
            self.label
        );
        assert!(
            outcome.tcp_closed(),
            "[{}] the testee must close TCP, got {:?}",
            self.label,
            outcome.tcp
        );
        outcome
    }

    /// The testee must fail the connection (§7.1.7): nothing but a close
    /// frame with `code`, then TCP closed.
    #[track_caller]
    pub fn assert_failed(&mut self, code: u16) {
        self.assert_end(&[Ev::close(code)]);
    }

    /// Turn a frame into an event, checking the testee's side of §5.
    fn take(&mut self, f: Frame) -> Option<Ev> {
        self.frames.push(FrameInfo {
            fin: f.fin,
            opcode: f.opcode,
            len: f.payload.len(),
            header_len: f.header_len,
            key: f.key,
        });
        match (self.side, f.masked) {
            (Side::Client, true) => panic!("§5.1: the server sent a masked frame: {f:?}"),
            (Side::Server, false) => panic!("§5.1: the client sent an unmasked frame: {f:?}"),
            _ => {}
        }
        assert_eq!(f.rsv, 0, "§5.2: RSV bits set by the testee: {f:?}");
        if f.opcode >= 8 {
            assert!(f.fin, "§5.5: fragmented control frame from the testee");
            assert!(f.payload.len() <= 125, "§5.5: control frame over 125 bytes");
        }
        match f.opcode {
            PING => Some(Ev::Ping(f.payload)),
            PONG => Some(Ev::Pong(f.payload)),
            CLOSE => Some(self.take_close(f.payload)),
            TEXT | BINARY => {
                assert!(
                    self.partial.is_none(),
                    "§5.4: new data frame inside a fragmented message"
                );
                if f.fin {
                    Some(message(f.opcode, f.payload))
                } else {
                    self.partial = Some((f.opcode, f.payload));
                    None
                }
            }
            CONT => {
                let Some((opcode, mut data)) = self.partial.take() else {
                    panic!("§5.4: continuation frame without a message from the testee");
                };
                data.extend_from_slice(&f.payload);
                if f.fin {
                    Some(message(opcode, data))
                } else {
                    self.partial = Some((opcode, data));
                    None
                }
            }
            other => panic!("§5.2: reserved opcode {other:#x} from the testee"),
        }
    }

    fn take_close(&mut self, payload: Vec<u8>) -> Ev {
        match payload.len() {
            0 => {
                self.close_reason.clear();
                Ev::Close(None)
            }
            1 => panic!("§5.5.1: close payload of one byte from the testee"),
            _ => {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                assert!(
                    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                    "§7.4: the testee sent close code {code}, which may not be sent"
                );
                let reason = payload[2..].to_vec();
                assert!(
                    std::str::from_utf8(&reason).is_ok(),
                    "§5.5.1: close reason is not UTF-8"
                );
                self.close_reason = reason;
                Ev::Close(Some(code))
            }
        }
    }
}

fn message(opcode: u8, payload: Vec<u8>) -> Ev {
    if opcode == TEXT {
        assert!(
            std::str::from_utf8(&payload).is_ok(),
            "§8.1: the testee sent a text message that is not UTF-8"
        );
        Ev::Text(payload)
    } else {
        Ev::Binary(payload)
    }
}

impl Drop for CheckedPeer {
    fn drop(&mut self) {
        // Lets the reader thread (and the testee) see the end.
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// The reader thread: decode frames as bytes arrive, report the end.
fn read_loop(mut stream: TcpStream, mut buf: Vec<u8>, tx: Sender<Wire>) {
    let mut chunk = vec![0u8; 256 << 10];
    loop {
        let mut used = 0;
        loop {
            match wire::decode(&buf[used..]) {
                Ok(Some((frame, n))) => {
                    used += n;
                    if tx.send(Wire::Frame(frame)).is_err() {
                        return;
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    let _ = tx.send(Wire::Bad(why));
                    return;
                }
            }
        }
        buf.drain(..used);
        let end = match stream.read(&mut chunk) {
            Ok(0) => TcpEnd::Eof,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                continue;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => TcpEnd::Reset,
            Err(e) => TcpEnd::Error(e.kind()),
        };
        if !buf.is_empty() {
            let _ = tx.send(Wire::Bad(format!(
                "TCP ended ({end:?}) inside a frame, {} bytes pending",
                buf.len()
            )));
        }
        let _ = tx.send(Wire::End(end));
        return;
    }
}
