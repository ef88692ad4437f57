//! The testees as clients — ws6455 as an echo client, on the mio event
//! loop or the blocking adapter — and the raw handshakes that connect the
//! harness to a testee in either role. (The servers are in
//! [`crate::server`].)

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ws6455::blocking::Error as BlockingError;
use ws6455::proto::uri::WsUri;
use ws6455::proto::ClientRequest;
use ws6455::{CloseCode, Config};
use ws6455::{
    ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Incoming, Message, WebSocket,
};

use crate::peer::{CheckedPeer, Side};
use crate::wire;
use crate::MUST;

/// Connect to a server and complete the opening handshake by hand (§4.1),
/// checking the server's `Sec-WebSocket-Accept` (§4.2.2).
pub fn connect(addr: SocketAddr) -> CheckedPeer {
    connect_with(addr, &[])
}

/// Like [`connect`], with `early` bytes sent in the same write as the
/// request (frames right behind the handshake must not be lost).
pub fn connect_with(addr: SocketAddr, early: &[u8]) -> CheckedPeer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let key = wire::fresh_key();
    let mut request = format!(
        "GET /conformance HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(early);
    stream.write_all(&request).unwrap();
    let (head, leftover) = read_head(&mut stream);
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    assert!(
        status.starts_with("HTTP/1.1 101"),
        "server refused the upgrade: {head}"
    );
    let headers = parse_headers(lines);
    assert_eq!(
        header(&headers, "sec-websocket-accept"),
        Some(wire::accept_key(&key).as_str()),
        "§4.2.2 accept key"
    );
    assert!(header(&headers, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
    assert!(header(&headers, "connection").is_some_and(|v| v
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))));
    CheckedPeer::new(Side::Client, stream, leftover)
}

/// Read an HTTP head up to the blank line; returns it and any bytes after.
fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    stream.set_read_timeout(Some(MUST)).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).expect("HTTP head is not UTF-8");
            return (head, buf[end + 4..].to_vec());
        }
        let n = stream.read(&mut chunk).expect("reading the HTTP head");
        assert!(n > 0, "connection closed during the handshake: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
        assert!(buf.len() < 64 << 10, "HTTP head too large");
    }
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A hand-written server for client-role tests: accepts one connection and
/// answers the opening handshake itself (§4.2).
pub struct RawServer {
    listener: TcpListener,
}

impl RawServer {
    /// Listen on a free loopback port.
    pub fn bind() -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        RawServer { listener }
    }

    /// The URL a client under test connects to.
    pub fn url(&self) -> String {
        format!("ws://{}/conformance", self.listener.local_addr().unwrap())
    }

    /// Accept the client, check its request (§4.1, §4.2.1), answer 101
    /// with the accept key computed here, followed by `early` bytes in the
    /// same write.
    pub fn accept(&self, early: &[u8]) -> CheckedPeer {
        let deadline = Instant::now() + MUST;
        let mut stream = loop {
            match self.listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "the client never connected");
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_nodelay(true).unwrap();
        let (head, leftover) = read_head(&mut stream);
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default();
        assert!(
            request_line.starts_with("GET /conformance HTTP/1.1"),
            "request line: {request_line}"
        );
        let headers = parse_headers(lines);
        assert!(header(&headers, "host").is_some(), "§4.1: Host header");
        assert!(header(&headers, "upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")));
        assert!(header(&headers, "connection").is_some_and(|v| v
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))));
        assert_eq!(header(&headers, "sec-websocket-version"), Some("13"));
        let key = header(&headers, "sec-websocket-key").expect("§4.1: Sec-WebSocket-Key");
        {
            use base64::Engine;
            let nonce = base64::engine::general_purpose::STANDARD
                .decode(key)
                .expect("key is base64");
            assert_eq!(nonce.len(), 16, "§4.1: the nonce is 16 bytes");
        }
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            wire::accept_key(key)
        )
        .into_bytes();
        response.extend_from_slice(early);
        stream.write_all(&response).unwrap();
        assert!(
            leftover.is_empty(),
            "§4.1: the client sent frames before the 101"
        );
        CheckedPeer::new(Side::Server, stream, Vec::new())
    }
}

/// Which ws6455 client drives the echo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    /// `EventLoop::connect` + a `Handler` that echoes.
    EventLoop,
    /// `WebSocket::client` in a read/echo loop on a thread.
    Blocking,
}

/// What the ws6455 client saw, reported when it finished.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientReport {
    /// The close code the client reported and whether the closing
    /// handshake was clean (1005: close without code, 1006: none).
    pub closed: Option<(u16, bool)>,
    /// Protocol and I/O errors, and failed echoes.
    pub errors: Vec<String>,
}

/// A ws6455 echo client running on its own thread.
pub struct EchoClient {
    handle: Option<JoinHandle<ClientReport>>,
}

impl EchoClient {
    /// Run a `kind` echo client against `url` on its own thread.
    pub fn spawn(kind: ClientKind, url: String, config: Config) -> EchoClient {
        let handle = std::thread::spawn(move || match kind {
            ClientKind::EventLoop => run_event_loop_client(&url, config),
            ClientKind::Blocking => run_blocking_client(&url, config),
        });
        EchoClient {
            handle: Some(handle),
        }
    }

    /// Whether the client has finished (its connection is gone).
    pub fn is_finished(&self) -> bool {
        match &self.handle {
            Some(handle) => handle.is_finished(),
            None => true,
        }
    }

    /// Wait (at most [`MUST`]) for the client to finish.
    #[track_caller]
    pub fn join(mut self) -> ClientReport {
        let deadline = Instant::now() + MUST;
        while !self.is_finished() {
            assert!(
                Instant::now() < deadline,
                "the ws6455 client did not finish"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        self.handle.take().unwrap().join().expect("client thread")
    }
}

struct ClientEcho {
    report: ClientReport,
}

impl Handler for ClientEcho {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let sent = match message {
            Message::Text(t) => ctx.send_text(id, t),
            Message::Binary(b) => ctx.send_binary(id, b),
        };
        if let Err(e) = sent {
            self.report.errors.push(format!("echo: {e}"));
        }
    }

    fn on_error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &ConnError) {
        self.report.errors.push(match error {
            ConnError::Protocol(e) => format!("protocol: {e}"),
            ConnError::Io(e) => format!("io: {e}"),
            other => format!("other: {other}"),
        });
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, _: ConnId, code: CloseCode, clean: bool) {
        self.report.closed = Some((code.0, clean));
    }
}

fn run_event_loop_client(url: &str, config: Config) -> ClientReport {
    let mut handler = ClientEcho {
        report: ClientReport::default(),
    };
    let mut ev = EventLoop::new(config).unwrap();
    ev.connect(url, &ConnectOptions::default()).unwrap();
    ev.run(&mut handler).unwrap();
    handler.report
}

fn run_blocking_client(url: &str, config: Config) -> ClientReport {
    let mut report = ClientReport::default();
    let uri = WsUri::parse(url).unwrap();
    let stream = TcpStream::connect((uri.host.as_str(), uri.port)).unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut ws, _) = match WebSocket::client(stream, ClientRequest::from_uri(&uri), config) {
        Ok(ok) => ok,
        Err(e) => {
            report.errors.push(format!("handshake: {e}"));
            return report;
        }
    };
    // Bounded: every iteration consumes input or ends the loop.
    loop {
        let sent = match ws.read() {
            Ok(Incoming::Text(t)) => ws.send_text(&t),
            Ok(Incoming::Binary(b)) => ws.send_binary(&b),
            Ok(_) => Ok(()),
            Err(BlockingError::Closed { code, clean }) => {
                report.closed = Some((code.0, clean));
                break;
            }
            Err(BlockingError::Protocol(e)) => {
                report.errors.push(format!("protocol: {e}"));
                continue;
            }
            Err(e) => {
                report.errors.push(format!("{e}"));
                break;
            }
        };
        if let Err(e) = sent {
            report.errors.push(format!("echo: {e}"));
        }
    }
    report
}
