//! Raw TCP peers that speak WebSocket by hand: frames encoded and decoded
//! here, independent of ws6455, so its server and client are judged by
//! bytes they did not produce.
#![allow(unused_imports, dead_code)]

use super::MUST;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ws6455::proto::handshake::{accept_key, Request};
use ws6455::proto::PreparedMessage;
use ws6455::{CloseCode, Config, UsageError};
use ws6455::{
    ConnError, ConnId, ConnectOptions, Ctx, Decision, EventLoop, Handler, HttpResponse, Message,
    RunningServer, Server,
};

/// One frame as it was on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close frame's code and reason (`None` for an empty payload).
    pub fn close_parts(&self) -> Option<(u16, String)> {
        assert_eq!(self.opcode, 8, "not a close frame: {self:?}");
        if self.payload.is_empty() {
            return None;
        }
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        let reason = String::from_utf8(self.payload[2..].to_vec()).expect("UTF-8 reason");
        Some((code, reason))
    }
}

/// How a read from a raw peer ended, if it did not yield a frame.
#[derive(Debug)]
pub enum End {
    /// The peer closed TCP (read returned 0).
    Eof,
    /// The peer reset the connection.
    Reset(io::Error),
    /// Nothing arrived before the deadline.
    Timeout,
}

/// Encode one frame; `key` masks it (client frames, §5.3).
pub fn encode_frame(fin: bool, opcode: u8, payload: &[u8], key: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let mask_bit = if key.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= 0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match key {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A close frame payload: code and reason.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// A peer that writes and parses frames by hand over a blocking socket.
pub struct RawPeer {
    pub stream: TcpStream,
    buf: Vec<u8>,
    /// Client peers mask with this key; server peers send unmasked.
    key: Option<[u8; 4]>,
}

/// The RFC's own example key and its accept value (§1.3).
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

pub fn upgrade_request(addr: SocketAddr, path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

impl RawPeer {
    /// Wrap a connected stream; `client` decides masking.
    pub fn new(stream: TcpStream, client: bool) -> Self {
        let _ = stream.set_nodelay(true);
        RawPeer {
            stream,
            buf: Vec::new(),
            key: client.then_some([0x37, 0xfa, 0x21, 0x3d]),
        }
    }

    /// Connect and complete a WebSocket handshake on `path`.
    pub fn connect(addr: SocketAddr, path: &str) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        Self::handshake(stream, addr, path)
    }

    /// Complete a client handshake over `stream`.
    pub fn handshake(stream: TcpStream, addr: SocketAddr, path: &str) -> Self {
        let mut peer = RawPeer::new(stream, true);
        peer.write_all(upgrade_request(addr, path).as_bytes());
        let head = peer.read_head();
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "expected 101, got {head:?}"
        );
        assert!(
            head.contains(&format!("Sec-WebSocket-Accept: {SAMPLE_ACCEPT}\r\n")),
            "bad accept in {head:?}"
        );
        peer
    }

    /// Server side: read a client's upgrade request and answer 101.
    /// Returns the request head.
    pub fn accept(stream: TcpStream) -> (Self, String) {
        let mut peer = RawPeer::new(stream, false);
        let head = peer.read_head();
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
            accept_key(key.as_bytes())
        );
        peer.write_all(response.as_bytes());
        (peer, head)
    }

    pub fn write_all(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let frame = encode_frame(fin, opcode, payload, self.key);
        self.write_all(&frame);
    }

    pub fn send_text(&mut self, text: &str) {
        self.send(true, 1, text.as_bytes());
    }

    pub fn send_close(&mut self, code: u16, reason: &str) {
        self.send(true, 8, &close_payload(code, reason));
    }

    /// Read more bytes into the buffer; `Ok(false)` on EOF.
    fn fill(&mut self, deadline: Instant) -> Result<(), End> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(End::Timeout);
        }
        self.stream
            .set_read_timeout(Some(left))
            .expect("set_read_timeout");
        let mut chunk = [0u8; 16384];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(End::Eof),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(End::Timeout)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(End::Reset(e)),
        }
    }

    /// Read an HTTP head (up to the blank line); later bytes stay buffered.
    pub fn read_head(&mut self) -> String {
        let deadline = Instant::now() + MUST;
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return String::from_utf8(head).expect("ASCII head");
            }
            if let Err(end) = self.fill(deadline) {
                panic!("no complete HTTP head: {end:?}, got {:?}", self.buf);
            }
        }
    }

    /// Read exactly `n` more bytes (an HTTP body).
    pub fn read_exact_bytes(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + MUST;
        while self.buf.len() < n {
            if let Err(end) = self.fill(deadline) {
                panic!("body cut short: {end:?}");
            }
        }
        self.buf.drain(..n).collect()
    }

    fn parse_frame(&mut self) -> Option<Frame> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        let masked = b[1] & 0x80 != 0;
        let (len, mut at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(n) as usize, 10)
            }
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        let key = if masked {
            if b.len() < at + 4 {
                return None;
            }
            let k = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            at += 4;
            Some(k)
        } else {
            None
        };
        if b.len() < at + len {
            return None;
        }
        let mut payload = b[at..at + len].to_vec();
        if let Some(k) = key {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= k[i % 4];
            }
        }
        let frame = Frame {
            fin: b[0] & 0x80 != 0,
            rsv: (b[0] >> 4) & 0x7,
            opcode: b[0] & 0x0f,
            masked,
            payload,
        };
        self.buf.drain(..at + len);
        Some(frame)
    }

    /// The next frame, or how reading ended.
    pub fn try_frame(&mut self, limit: Duration) -> Result<Frame, End> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(frame) = self.parse_frame() {
                return Ok(frame);
            }
            self.fill(deadline)?;
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
            first.opcode == 1 || first.opcode == 2,
            "expected a data frame, got {first:?}"
        );
        let mut payload = first.payload;
        let mut frames = 1;
        let mut fin = first.fin;
        while !fin {
            let next = self.frame();
            assert_eq!(next.opcode, 0, "expected a continuation frame");
            payload.extend_from_slice(&next.payload);
            frames += 1;
            fin = next.fin;
        }
        (first.opcode, payload, frames)
    }

    /// The peer closes TCP within [`MUST`] without sending anything more
    /// (a reset counts as closed).
    pub fn expect_eof(&mut self) {
        match self.try_frame(MUST) {
            Err(End::Eof) | Err(End::Reset(_)) => {}
            Ok(frame) => panic!("expected EOF, got a frame {frame:?}"),
            Err(End::Timeout) => panic!("the peer did not close TCP within {MUST:?}"),
        }
        assert!(
            self.buf.is_empty(),
            "stray bytes before EOF: {:?}",
            self.buf
        );
    }

    /// Bytes received but not parsed yet.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }
}

/// A listener for raw server peers (to test our client).
pub fn raw_listener() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    (listener, addr)
}

// ----- a recording client handler ---------------------------------------

/// What a client handler saw, for tests that only need to watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEv {
    Open(ConnId, Option<String>),
    Text(ConnId, String),
    Binary(ConnId, Vec<u8>),
    Ping(ConnId, Vec<u8>),
    Pong(ConnId, Vec<u8>),
    Close(ConnId, Option<u16>, String),
    Error(ConnId, String),
    Closed(ConnId, u16, bool),
}
