//! Shared raw-socket helpers for the hostile-input suites and the soak test.
//!
//! Everything here speaks RFC 6455 by hand — request heads, frame bytes,
//! masking — so the tests do not depend on the library's own client to
//! judge the library's server. The server under test is either the real
//! `ws6455 serve` binary ([`ServerProcess`]) or an in-process
//! [`ws6455::Server`] with a custom [`ws6455::Config`]
//! ([`spawn_in_process`]).

#![allow(dead_code)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ws6455::Config;
use ws6455::{ConnId, Ctx, Handler, Message, RunningServer, Server};

/// "Must happen" deadline: generous, for a loaded 2-core machine.
pub const MUST: Duration = Duration::from_secs(10);

/// The §1.3 example key and its accept value.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The §5.7 example masking key.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

pub const OP_CONT: u8 = 0x0;
pub const OP_TEXT: u8 = 0x1;
pub const OP_BINARY: u8 = 0x2;
pub const OP_CLOSE: u8 = 0x8;
pub const OP_PING: u8 = 0x9;
pub const OP_PONG: u8 = 0xA;

// ----- the server under test -------------------------------------------

/// The `ws6455 serve` binary on a free loopback port, killed on drop.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// `ws6455 serve --listen 127.0.0.1:<free port> --quiet`.
    pub fn spawn() -> Self {
        Self::spawn_with(&[])
    }

    /// Like [`ServerProcess::spawn`] with extra `serve` arguments. A port
    /// taken between probing and binding makes the child exit: try again
    /// on another one.
    pub fn spawn_with(extra: &[&str]) -> Self {
        let mut last_error = String::new();
        for _ in 0..20 {
            let port = {
                let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener");
                probe.local_addr().expect("probe address").port()
            };
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
            let mut child = Command::new(ws6455_test_support::bin::ws6455_bin())
                .args(["serve", "--listen", &addr.to_string(), "--quiet"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the ws6455 binary");
            match wait_until_serving(&mut child, addr) {
                Ok(()) => return ServerProcess { child, addr },
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = why;
                }
            }
        }
        panic!("could not start ws6455 serve: {last_error}");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server is still running (not crashed).
    pub fn assert_alive(&mut self) {
        let status = self.child.try_wait().expect("try_wait");
        assert!(status.is_none(), "the server process exited: {status:?}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until the child accepts on `addr` and (on Linux) owns the listening
/// socket there, so a probe answered by some other process does not count.
fn wait_until_serving(child: &mut Child, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + MUST;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!("exited with {status}: {stderr}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
            && owns_listener(child.id(), addr.port())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("not accepting on {addr} after {MUST:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(target_os = "linux")]
fn owns_listener(pid: u32, port: u16) -> bool {
    use std::io::BufRead;
    // The child's sockets, as the "socket:[inode]" links of its fds.
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let sockets: Vec<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    // /proc/net/tcp: "sl local_address rem_address st ... uid timeout
    // inode". The kernel lists listening sockets first; on a busy machine
    // the table holds tens of thousands of lines, so stop reading at the
    // first match.
    let Ok(table) = std::fs::File::open("/proc/net/tcp") else {
        return false;
    };
    let wanted = format!("0100007F:{port:04X}");
    std::io::BufReader::new(table)
        .lines()
        .skip(1)
        .map_while(Result::ok)
        .any(|line| {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1);
            let state = cols.nth(1);
            let inode = cols.nth(5);
            local == Some(wanted.as_str())
                && state == Some("0A")
                && inode.is_some_and(|i| sockets.iter().any(|s| s == i))
        })
}

#[cfg(not(target_os = "linux"))]
fn owns_listener(_pid: u32, _port: u16) -> bool {
    true
}

/// Resident set size of `pid` in KiB (`VmRSS`).
#[cfg(target_os = "linux")]
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// Peak resident set size of `pid` in KiB (`VmHWM`): catches a transient
/// allocation that was freed again before we looked.
#[cfg(target_os = "linux")]
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

#[cfg(target_os = "linux")]
fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Open file descriptors of `pid`.
#[cfg(target_os = "linux")]
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fd dir")
        .count()
}

/// Poll `f` until it returns true or `within` passes; returns the last
/// verdict.
pub fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An echo handler for in-process servers (like `ws6455 serve`).
pub struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(text) => ctx.send_text(id, text),
            Message::Binary(data) => ctx.send_binary(id, data),
        };
    }
}

/// An in-process echo server with `config` on a free loopback port;
/// dropping it shuts it down.
pub fn spawn_in_process(config: Config) -> RunningServer {
    Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo)
}

/// A config for in-process servers: short close timeout so shutdown at
/// the end of a test does not linger.
pub fn test_config() -> Config {
    {
        let mut config = Config::default();
        config.close_timeout = Duration::from_secs(1);
        config
    }
}

// ----- requests ----------------------------------------------------------

/// A valid opening handshake for `path`, with `extra` header lines
/// (each ending in CRLF) before the blank line.
pub fn request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A request built from exactly these header lines (no defaults).
pub fn request_with(request_line: &str, headers: &[&str]) -> String {
    let mut out = format!("{request_line}\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out
}

/// The default header lines of [`request`], to build variants from.
pub fn default_headers() -> Vec<String> {
    vec![
        "Host: 127.0.0.1".into(),
        "Upgrade: websocket".into(),
        "Connection: Upgrade".into(),
        format!("Sec-WebSocket-Key: {KEY}"),
        "Sec-WebSocket-Version: 13".into(),
    ]
}

// ----- frames --------------------------------------------------------------

/// One frame as bytes: FIN, RSV bits (0b100 = RSV1), opcode, payload,
/// masked with [`MASK`] when `masked` (as a client must, §5.1).
pub fn frame_bytes(fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    let fin_bit = if fin { 0x80 } else { 0 };
    out.push(fin_bit | (rsv & 7) << 4 | (opcode & 0xf));
    let mask_bit = if masked { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xffff {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&MASK);
        out.extend_from_slice(payload);
        let body = out.len() - payload.len();
        for (byte, key) in out[body..].iter_mut().zip(MASK.iter().cycle()) {
            *byte ^= key;
        }
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A masked, final frame: what a well-behaved client sends.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_bytes(true, 0, opcode, payload, true)
}

/// A masked close frame with `code` and raw `reason` bytes.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    frame(OP_CLOSE, &payload)
}

/// A frame received from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// (code, reason) of a close frame; code `None` for an empty payload.
    pub fn close_parts(&self) -> (Option<u16>, String) {
        assert_eq!(self.opcode, OP_CLOSE, "not a close frame: {self:?}");
        match self.payload.as_slice() {
            [] => (None, String::new()),
            [hi, lo, reason @ ..] => (
                Some(u16::from_be_bytes([*hi, *lo])),
                String::from_utf8(reason.to_vec()).expect("close reason from the server is UTF-8"),
            ),
            [_] => panic!("server sent a 1-byte close payload"),
        }
    }
}

/// An HTTP response head (and body) received from the server.
#[derive(Debug)]
pub struct HttpResponse {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// Every value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

// ----- a raw client ----------------------------------------------------------

/// A TCP connection to the server, with bytes read but not yet consumed.
pub struct Client {
    pub stream: TcpStream,
    /// Received bytes; those before `start` are consumed (a cursor, so a
    /// flood of small frames does not shift the buffer once per frame).
    buf: Vec<u8>,
    start: usize,
}

impl Client {
    /// A plain TCP connection with generous timeouts.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(MUST)).expect("timeout");
        stream.set_write_timeout(Some(MUST)).expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Wrap an already connected stream (e.g. a `try_clone` for a reader
    /// thread).
    pub fn from_stream(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// Connect and complete a valid opening handshake on `/`.
    pub fn open(addr: SocketAddr) -> Client {
        let mut client = Client::connect(addr);
        client.send(request("/", "").as_bytes());
        client.expect_101();
        client
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Unconsumed received bytes.
    fn data(&self) -> &[u8] {
        &self.buf[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Read more bytes into the buffer; 0 means EOF.
    fn fill(&mut self) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let mut chunk = [0u8; 64 << 10];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn fill_or_panic(&mut self, what: &str) {
        match self.fill() {
            Ok(0) => panic!(
                "server closed TCP while we waited for {what} (have {:?})",
                String::from_utf8_lossy(self.data())
            ),
            Ok(_) => {}
            Err(e) => panic!("reading {what}: {e}"),
        }
    }

    /// Read one HTTP response head; the rest stays buffered.
    pub fn read_head(&mut self) -> HttpResponse {
        let end = loop {
            if let Some(pos) = self.data().windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            assert!(self.data().len() < 64 << 10, "response head too long");
            self.fill_or_panic("an HTTP response head");
        };
        let head = String::from_utf8(self.data()[..end - 4].to_vec()).expect("ASCII head");
        self.consume(end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("header line has a colon");
                (name.trim().to_owned(), value.trim().to_owned())
            })
            .collect();
        HttpResponse {
            status_line,
            status,
            headers,
            body: Vec::new(),
        }
    }

    /// Read a complete non-101 response (head and Content-Length body).
    pub fn read_response(&mut self) -> HttpResponse {
        let mut response = self.read_head();
        let len: usize = response
            .header("content-length")
            .first()
            .map(|v| v.parse().expect("numeric Content-Length"))
            .unwrap_or(0);
        while self.data().len() < len {
            self.fill_or_panic("the response body");
        }
        response.body = self.data()[..len].to_vec();
        self.consume(len);
        response
    }

    /// Read the 101 and check it is a valid §4.2.2 acceptance of [`KEY`].
    pub fn expect_101(&mut self) -> HttpResponse {
        let response = self.read_head();
        assert_eq!(response.status_line, "HTTP/1.1 101 Switching Protocols");
        assert_eq!(response.header("upgrade"), ["websocket"]);
        assert_eq!(response.header("connection"), ["Upgrade"]);
        assert_eq!(response.header("sec-websocket-accept"), [ACCEPT]);
        response
    }

    /// Read a refusal with `status`, then check the server closed TCP.
    pub fn expect_refusal(&mut self, status_line: &str) -> HttpResponse {
        let response = self.read_response();
        assert_eq!(response.status_line, status_line, "{response:?}");
        assert_eq!(response.header("connection"), ["close"]);
        self.expect_tcp_closed();
        response
    }

    /// Read one frame from the server (which must not mask, §5.1).
    pub fn read_frame(&mut self) -> Frame {
        loop {
            if let Some((frame, used)) = parse_frame(self.data()) {
                self.consume(used);
                return frame;
            }
            self.fill_or_panic("a frame");
        }
    }

    /// The next frame must be a close with `code`; returns its reason.
    pub fn expect_close(&mut self, code: u16) -> String {
        let frame = self.read_frame();
        assert_eq!(frame.opcode, OP_CLOSE, "expected a close frame: {frame:?}");
        let (got, reason) = frame.close_parts();
        assert_eq!(got, Some(code), "close code (reason {reason:?})");
        reason
    }

    /// The next frame must be a close with `code`, then the server must
    /// close TCP with nothing after the close frame.
    pub fn expect_close_then_eof(&mut self, code: u16) -> String {
        let reason = self.expect_close(code);
        self.expect_tcp_closed();
        reason
    }

    /// The server closes TCP: a read returns EOF (or a reset, when it
    /// closed with our bytes unread) within [`MUST`], with no data before.
    pub fn expect_tcp_closed(&mut self) {
        assert!(
            self.data().is_empty(),
            "unexpected bytes before the server closed TCP: {:?}",
            String::from_utf8_lossy(self.data())
        );
        match self.fill() {
            Ok(0) => {}
            Ok(_) => panic!(
                "unexpected bytes instead of the server closing TCP: {:?}",
                String::from_utf8_lossy(self.data())
            ),
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server did not close TCP within {MUST:?}")
            }
            Err(e) => panic!("unexpected error waiting for the server to close TCP: {e}"),
        }
    }

    /// Echo a text and a binary message, then close cleanly (1000 echoed,
    /// TCP closed by the server).
    pub fn echo_and_close(mut self, tag: &str) {
        let text = format!("still serving {tag}");
        self.send(&frame(OP_TEXT, text.as_bytes()));
        let echo = self.read_frame();
        assert_eq!(
            (echo.fin, echo.opcode, echo.payload.as_slice()),
            (true, OP_TEXT, text.as_bytes())
        );
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        self.send(&frame(OP_BINARY, &data));
        let echo = self.read_frame();
        assert_eq!((echo.opcode, echo.payload), (OP_BINARY, data));
        self.send(&close_frame(1000, b"bye"));
        self.expect_close_then_eof(1000);
    }

    pub fn shutdown_write(&self) {
        self.stream.shutdown(Shutdown::Write).expect("shutdown");
    }
}

/// Parse one unmasked server frame from the front of `buf`.
pub fn parse_frame(buf: &[u8]) -> Option<(Frame, usize)> {
    let b0 = *buf.first()?;
    let b1 = *buf.get(1)?;
    assert_eq!(b1 & 0x80, 0, "the server masked a frame (§5.1)");
    let (len, header) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(header..header + len)?.to_vec();
    Some((
        Frame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0xf,
            payload,
        },
        header + len,
    ))
}

/// The server still serves others: a fresh client's echo round-trips and
/// closes cleanly.
pub fn assert_serves(addr: SocketAddr) {
    Client::open(addr).echo_and_close("after a hostile peer");
}
