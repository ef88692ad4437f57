//! [`RawPeer`]: a blocking, frame-level WebSocket peer over one
//! `TcpStream`, as client or as server. The test thread does every read
//! and write itself, so a test can misbehave on purpose: send any bytes,
//! stop reading, never answer a ping, half-close or drop TCP, read an HTTP
//! refusal byte for byte.
//!
//! Frames go through [`crate::wire`], never through ws6455's codec.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use crate::handshake::{upgrade_request, HttpResponse, SAMPLE_ACCEPT};
use crate::wire::{self, Frame, BINARY, CLOSE, CONT, MASK, TEXT};
use crate::MUST;

/// How a read from a raw peer ended, if it did not yield a frame.
#[derive(Debug)]
pub enum End {
    /// The other side closed TCP (read returned 0).
    Eof,
    /// The other side reset the connection (or another socket error).
    Reset(io::Error),
    /// Nothing arrived before the deadline.
    Timeout,
}

/// A peer that writes and parses frames by hand over a blocking socket.
pub struct RawPeer {
    /// The socket, for tests that write, shut down or tune it directly.
    pub stream: TcpStream,
    /// Received bytes; those before `start` are consumed (a cursor, so a
    /// flood of small frames does not shift the buffer once per frame).
    buf: Vec<u8>,
    start: usize,
    /// Client peers mask with this key (§5.3); server peers send unmasked.
    key: Option<[u8; 4]>,
}

impl RawPeer {
    /// Wrap a connected stream (handshake done or not); `client` decides
    /// masking, both of what we send and of what we accept (§5.1).
    pub fn new(stream: TcpStream, client: bool) -> Self {
        let _ = stream.set_nodelay(true);
        RawPeer {
            stream,
            buf: Vec::new(),
            start: 0,
            key: client.then_some(MASK),
        }
    }

    /// A plain TCP connection as a client, no handshake yet, with
    /// [`MUST`] as read and write timeouts so a silent server fails the
    /// test instead of hanging it.
    pub fn tcp(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(MUST)).expect("timeout");
        stream.set_write_timeout(Some(MUST)).expect("timeout");
        RawPeer::new(stream, true)
    }

    /// Connect and complete a WebSocket handshake on `path` (§1.3 key).
    pub fn connect(addr: SocketAddr, path: &str) -> Self {
        let mut peer = RawPeer::tcp(addr);
        peer.upgrade(addr, path);
        peer
    }

    /// Complete a client handshake on `path` over a connected `stream`.
    pub fn handshake(stream: TcpStream, addr: SocketAddr, path: &str) -> Self {
        let mut peer = RawPeer::new(stream, true);
        peer.upgrade(addr, path);
        peer
    }

    fn upgrade(&mut self, addr: SocketAddr, path: &str) {
        self.send(upgrade_request(addr, path).as_bytes());
        self.expect_101();
    }

    /// Server side: read a client's upgrade request and answer 101 with
    /// the accept key computed here. Returns the request head.
    pub fn accept(stream: TcpStream) -> (Self, String) {
        let mut peer = RawPeer::new(stream, false);
        let head = peer.read_head_text();
        let key = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| value.trim().to_owned())
            })
            .expect("a Sec-WebSocket-Key");
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            wire::accept_key(&key)
        );
        peer.send(response.as_bytes());
        (peer, head)
    }

    // ----- sending ---------------------------------------------------------

    /// Write `bytes` as they are (a failed write fails the test).
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .expect("write to the other side");
    }

    /// One final-or-not frame, masked when we are the client.
    pub fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let frame = wire::encode(fin, 0, opcode, payload, self.key);
        self.send(&frame);
    }

    /// A final text frame.
    pub fn send_text(&mut self, text: &str) {
        self.send_frame(true, TEXT, text.as_bytes());
    }

    /// A close frame with `code` and `reason`.
    pub fn send_close(&mut self, code: u16, reason: &str) {
        self.send_frame(true, CLOSE, &wire::close_payload(code, reason));
    }

    /// Half-close: send FIN, keep reading.
    pub fn shutdown_write(&self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }

    // ----- reading ---------------------------------------------------------

    /// Bytes received but not consumed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    /// Read more bytes into the buffer before `deadline` (`None`: the
    /// socket's own timeout).
    fn fill(&mut self, deadline: Option<Instant>) -> Result<(), End> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(End::Timeout);
            }
            self.stream
                .set_read_timeout(Some(left))
                .expect("set_read_timeout");
        }
        let mut chunk = [0u8; 64 << 10];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(End::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(End::Timeout)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(End::Reset(e)),
        }
    }

    fn fill_or_panic(&mut self, deadline: Instant, what: &str) {
        if let Err(end) = self.fill(Some(deadline)) {
            panic!(
                "no {what}: {end:?}, have {:?}",
                String::from_utf8_lossy(self.buffered())
            );
        }
    }

    /// Read an HTTP head up to and including the blank line, as text;
    /// later bytes stay buffered.
    pub fn read_head_text(&mut self) -> String {
        let deadline = Instant::now() + MUST;
        loop {
            if let Some(end) = self.buffered().windows(4).position(|w| w == b"\r\n\r\n") {
                let head = self.buffered()[..end + 4].to_vec();
                self.start += end + 4;
                return String::from_utf8(head).expect("ASCII head");
            }
            assert!(self.buffered().len() < 64 << 10, "HTTP head too long");
            self.fill_or_panic(deadline, "complete HTTP head");
        }
    }

    /// Read one HTTP response head, parsed; the rest stays buffered.
    pub fn read_head(&mut self) -> HttpResponse {
        HttpResponse::parse(&self.read_head_text())
    }

    /// Read exactly `n` more bytes (an HTTP body).
    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + MUST;
        while self.buffered().len() < n {
            self.fill_or_panic(deadline, "whole body");
        }
        let body = self.buffered()[..n].to_vec();
        self.start += n;
        body
    }

    /// Read a complete non-101 response (head and Content-Length body).
    pub fn read_response(&mut self) -> HttpResponse {
        let mut response = self.read_head();
        let len: usize = response
            .header("content-length")
            .first()
            .map(|v| v.parse().expect("numeric Content-Length"))
            .unwrap_or(0);
        response.body = self.read_exact_bytes(len);
        response
    }

    /// Read the 101 and check it is a valid §4.2.2 acceptance of the §1.3
    /// sample key.
    pub fn expect_101(&mut self) -> HttpResponse {
        let response = self.read_head();
        assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
        assert_eq!(response.header("upgrade"), ["websocket"]);
        assert_eq!(response.header("connection"), ["Upgrade"]);
        assert_eq!(response.header("sec-websocket-accept"), [SAMPLE_ACCEPT]);
        response
    }

    /// Read a refusal with `status_line`, then check the server closed TCP.
    pub fn expect_refusal(&mut self, status_line: &str) -> HttpResponse {
        let response = self.read_response();
        assert_eq!(response.status_line, status_line, "{response:?}");
        assert_eq!(response.header("connection"), ["close"]);
        self.expect_eof();
        response
    }

    /// Decode one frame from the buffer, checking the §5.1 masking rule
    /// for the side we play.
    fn parse_frame(&mut self) -> Option<Frame> {
        let (frame, used) = match wire::decode(self.buffered()) {
            Ok(decoded) => decoded?,
            Err(why) => panic!("the other side broke RFC 6455: {why}"),
        };
        self.start += used;
        match (self.key.is_some(), frame.masked) {
            (true, true) => panic!("§5.1: the server masked a frame: {frame:?}"),
            (false, false) => panic!("§5.1: the client sent an unmasked frame: {frame:?}"),
            _ => {}
        }
        Some(frame)
    }

    /// The next frame within `limit`, or how reading ended.
    pub fn try_frame(&mut self, limit: Duration) -> Result<Frame, End> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(frame) = self.parse_frame() {
                return Ok(frame);
            }
            self.fill(Some(deadline))?;
        }
    }

    /// The next frame; panics on EOF or after [`MUST`].
    pub fn frame(&mut self) -> Frame {
        match self.try_frame(MUST) {
            Ok(f) => f,
            Err(end) => panic!("expected a frame, got {end:?}"),
        }
    }

    /// A whole data message (reassembling fragments, answering nothing):
    /// the opcode of its first frame, its payload, and its frame count.
    pub fn message(&mut self) -> (u8, Vec<u8>, usize) {
        let first = self.frame();
        assert!(
            first.opcode == TEXT || first.opcode == BINARY,
            "expected a data frame, got {first:?}"
        );
        let mut payload = first.payload;
        let mut frames = 1;
        let mut fin = first.fin;
        while !fin {
            let next = self.frame();
            assert_eq!(next.opcode, CONT, "expected a continuation frame");
            payload.extend_from_slice(&next.payload);
            frames += 1;
            fin = next.fin;
        }
        (first.opcode, payload, frames)
    }

    /// The next frame must be a close with `code`; returns its reason.
    pub fn expect_close(&mut self, code: u16) -> String {
        let frame = self.frame();
        assert_eq!(frame.opcode, CLOSE, "expected a close frame: {frame:?}");
        let (got, reason) = frame.close_parts().unwrap_or_default();
        assert_eq!(got, code, "close code (reason {reason:?})");
        reason
    }

    /// The next frame must be a close with `code`, then the other side
    /// must close TCP with nothing after the close frame.
    pub fn expect_close_then_eof(&mut self, code: u16) -> String {
        let reason = self.expect_close(code);
        self.expect_eof();
        reason
    }

    /// The other side closes TCP within [`MUST`] without sending anything
    /// more (a reset counts as closed: it closed with our bytes unread).
    pub fn expect_eof(&mut self) {
        assert!(
            self.buffered().is_empty(),
            "unexpected bytes before TCP closed: {:?}",
            String::from_utf8_lossy(self.buffered())
        );
        match self.fill(Some(Instant::now() + MUST)) {
            Err(End::Eof) | Err(End::Reset(_)) => {}
            Ok(()) => panic!(
                "unexpected bytes instead of TCP closing: {:?}",
                String::from_utf8_lossy(self.buffered())
            ),
            Err(End::Timeout) => panic!("the other side did not close TCP within {MUST:?}"),
        }
    }

    /// Echo a text and a binary message, then close cleanly (1000 echoed,
    /// TCP closed by the server).
    pub fn echo_and_close(mut self, tag: &str) {
        let text = format!("still serving {tag}");
        self.send_text(&text);
        let echo = self.frame();
        assert_eq!(
            (echo.fin, echo.opcode, echo.payload.as_slice()),
            (true, TEXT, text.as_bytes())
        );
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        self.send_frame(true, BINARY, &data);
        let echo = self.frame();
        assert_eq!((echo.opcode, echo.payload), (BINARY, data));
        self.send_close(1000, "bye");
        self.expect_close_then_eof(1000);
    }
}

/// A listener for raw server peers (to test ws6455's client).
pub fn raw_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

/// The server at `addr` still serves others: a fresh client's echo
/// round-trips and closes cleanly.
pub fn assert_serves(addr: SocketAddr) {
    RawPeer::connect(addr, "/").echo_and_close("after a hostile peer");
}
