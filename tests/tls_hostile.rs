//! Hostile input on a `wss://` port: bytes that are not TLS, a TLS
//! handshake never finished, a client that never reads, thousands of
//! handshakes abandoned — the server answers each as it should (an alert
//! and a close, the handshake timeout, backpressure) and keeps serving.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ws6455::{
    ConnId, Ctx, Handler, Incoming, Response, RunningServer, Server, UsageError, WebSocket,
};
use ws6455_test_support::server::{fd_count, test_config};
use ws6455_test_support::tls::{cut_client_hello, TestCert};
use ws6455_test_support::MUST;

fn tls_echo(cert: &TestCert, handshake_timeout: Duration) -> RunningServer {
    let mut config = test_config();
    config.handshake_timeout = handshake_timeout;
    cert.echo_server(config)
}

/// A wss:// echo still answers.
fn still_serving(cert: &TestCert, addr: SocketAddr) {
    let mut ws = cert.connect(addr);
    ws.send_text("still serving?").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Incoming::Text("still serving?".into())
    );
}

/// Everything the server sends until it closes the connection, and how
/// long that took.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(MUST)).expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(buf.get(..n).expect("n fits")),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close within {MUST:?}: {e}"),
        }
    }
    (got, started.elapsed())
}

/// A TLS alert record (RFC 8446 §5.1, content type 21), plaintext as
/// before the handshake: the server said why it closed.
fn is_alert(bytes: &[u8]) -> bool {
    bytes.first() == Some(&21)
}

#[test]
fn plain_http_on_the_tls_port_gets_an_alert_and_a_close() {
    let cert = TestCert::new();
    let server = tls_echo(&cert, Duration::from_secs(30));
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .expect("request");
    let (got, took) = read_until_closed(&mut stream);
    assert!(is_alert(&got), "expected a TLS alert, got {got:?}");
    assert!(took < MUST, "{took:?}");
    still_serving(&cert, server.local_addr());
    server.stop().expect("stop");
}

#[test]
fn garbage_before_the_client_hello_gets_an_alert_and_a_close() {
    let cert = TestCert::new();
    let server = tls_echo(&cert, Duration::from_secs(30));
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    let garbage: Vec<u8> = (0..600u32).map(|i| (i * 7 + 3) as u8).collect();
    stream.write_all(&garbage).expect("garbage");
    let (got, _) = read_until_closed(&mut stream);
    assert!(is_alert(&got), "expected a TLS alert, got {got:?}");
    still_serving(&cert, server.local_addr());
    server.stop().expect("stop");
}

#[test]
fn a_client_hello_cut_mid_record_is_dropped_at_the_handshake_timeout() {
    let cert = TestCert::new();
    let timeout = Duration::from_millis(600);
    let server = tls_echo(&cert, timeout);
    let mut stream = TcpStream::connect(server.local_addr()).expect("connect");
    stream.write_all(&cut_client_hello()).expect("hello");
    let (_, took) = read_until_closed(&mut stream);
    assert!(
        took >= timeout.saturating_sub(Duration::from_millis(50)),
        "closed before the handshake timeout: {took:?}"
    );
    assert!(took < timeout + MUST, "{took:?}");
    still_serving(&cert, server.local_addr());
    server.stop().expect("stop");
}

#[test]
fn two_thousand_abandoned_tls_handshakes_leave_nothing_behind() {
    let cert = TestCert::new();
    let server = tls_echo(&cert, Duration::from_secs(2));
    let pid = std::process::id();
    let before = fd_count(pid);
    let n = ws6455_test_support::loopback::connections_that_fit(2000);
    let mut abandoned = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(server.local_addr()).expect("connect");
        // Half stop mid-ClientHello, half before sending anything.
        if i % 2 == 0 {
            s.write_all(&cut_client_hello()).expect("hello");
        }
        abandoned.push(s);
    }
    drop(abandoned);
    still_serving(&cert, server.local_addr());
    // Every server-side socket is closed (peer's FIN, or the handshake
    // timeout for a half-open one), so the process is back to its
    // descriptors from before.
    let deadline = Instant::now() + MUST;
    loop {
        let now = fd_count(pid);
        if now <= before + 8 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{now} descriptors open, {before} before 2,000 abandoned handshakes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server.stop().expect("stop");
}

/// Streams `TOTAL` numbered 1 MiB messages on open, as fast as the
/// output bound lets (`BufferFull` → wait for `on_writable`), counting
/// what the core accepted.
struct Streamer {
    next: usize,
    accepted: Arc<AtomicUsize>,
}

const MESSAGE: usize = 1 << 20;
const TOTAL: usize = 50;

impl Streamer {
    fn pump(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        while self.next < TOTAL {
            let mut message = vec![0x33u8; MESSAGE];
            message[0] = self.next as u8;
            match ctx.send_binary(id, &message) {
                Ok(()) => {
                    self.next += 1;
                    self.accepted.fetch_add(MESSAGE, Ordering::SeqCst);
                }
                Err(UsageError::BufferFull) => return,
                Err(e) => panic!("send failed: {e}"),
            }
        }
    }
}

impl Handler for Streamer {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&Response>) {
        self.pump(ctx, id);
    }
    fn on_writable(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.pump(ctx, id);
    }
}

#[test]
fn a_client_that_does_not_read_a_50_mb_stream_holds_the_server_to_its_bound() {
    let cert = TestCert::new();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    let server = Server::new()
        .tls(cert.server_config())
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(move || Streamer {
            next: 0,
            accepted: counter.clone(),
        });
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let (mut ws, _) = WebSocket::connect_tls(&url, &cert.client_options()).expect("connect");
    // Not reading: what the server accepted is what its output bound
    // (1 MiB and one message), the TLS session's 64 KiB and the kernel's
    // buffers hold — not the 50 MiB it wants to send.
    std::thread::sleep(Duration::from_millis(1500));
    let held = accepted.load(Ordering::SeqCst);
    assert!(
        held <= 20 * MESSAGE,
        "the server accepted {held} bytes for a client that reads nothing"
    );
    // Nothing accepted is lost: all 50 arrive, in order.
    ws.get_ref()
        .sock
        .set_read_timeout(Some(MUST))
        .expect("timeout");
    for seq in 0..TOTAL {
        match ws.read().expect("a message") {
            Incoming::Binary(m) => {
                assert_eq!(m.len(), MESSAGE);
                assert_eq!(m[0], seq as u8, "message {seq} out of order");
            }
            other => panic!("expected message {seq}, got {other:?}"),
        }
    }
    assert_eq!(accepted.load(Ordering::SeqCst), TOTAL * MESSAGE);
    server.stop().expect("stop");
}
