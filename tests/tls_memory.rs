//! What `wss://` connections cost the event loop's heap, counted by a
//! global allocator on the loop's thread only: an idle TLS connection
//! holds its rustls session and no buffer (ciphertext goes through
//! buffers the thread keeps for all its connections), and once they close
//! and 2,000 TLS handshakes abandoned halfway have been dropped, the live
//! heap is back where it was.
#![cfg(feature = "tls")]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ws6455::blocking::TlsStream;
use ws6455::proto::CloseCode;
use ws6455::{Incoming, RunningServer, Server, WebSocket};
use ws6455_test_support::counting::{count_this_thread, live, settled, ThreadLive};
use ws6455_test_support::server::{test_config, Echo};
use ws6455_test_support::tls::{cut_client_hello, TestCert};
use ws6455_test_support::{eventually, MUST};

#[global_allocator]
static GLOBAL: ThreadLive = ThreadLive;

/// Idle connections measured.
const IDLE: usize = 100;

/// The most an idle TLS connection may add to the loop's live heap. Its
/// rustls session (keys, secrets, handshake results) and the core's
/// connection take about 3 KB. rustls's buffered sessions, which keep
/// their record buffers, held about 35 KB each here after the same echo.
const PER_IDLE: isize = 4 << 10;

/// What the loop may keep after everything closed: its connection
/// table, grown to 2,000 slots by the abandoned handshakes, and its idle
/// buffer spares. 2,000 sessions left behind would hold several times
/// this.
const SLACK: isize = 1 << 20;

/// A wss:// echo server on one event loop, whose thread is counted.
fn counted_tls_echo(cert: &TestCert) -> RunningServer {
    let mut config = test_config();
    config.handshake_timeout = Duration::from_millis(500);
    Server::new()
        .config(config)
        .tls(cert.server_config())
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| {
            // The factory runs on the loop's thread (one loop).
            count_this_thread();
            Echo
        })
}

/// A client that has echoed a 20,000-byte message (records both ways,
/// through every buffer a connection uses).
fn echoed(cert: &TestCert, addr: SocketAddr) -> WebSocket<TlsStream> {
    let mut ws = cert.connect(addr);
    let message = vec![0x5au8; 20_000];
    ws.send_binary(&message).expect("send");
    assert_eq!(ws.read().expect("echo"), Incoming::Binary(message));
    ws
}

fn close(mut ws: WebSocket<TlsStream>) {
    ws.close(CloseCode::NORMAL, "").expect("close");
    match ws.read() {
        Ok(Incoming::Close(..)) => {}
        other => panic!("expected the close echo, got {other:?}"),
    }
}

#[test]
fn wss_connections_hold_only_their_session_and_leave_nothing_behind() {
    let cert = TestCert::new();
    let server = counted_tls_echo(&cert);
    let addr = server.local_addr();
    // One connection first: the thread's own buffers exist from then on.
    close(echoed(&cert, addr));
    let baseline = settled(MUST);

    let idle: Vec<_> = (0..IDLE).map(|_| echoed(&cert, addr)).collect();
    let with_idle = settled(MUST);
    let per_idle = (with_idle - baseline) / IDLE as isize;
    assert!(
        per_idle <= PER_IDLE,
        "{per_idle} B of live heap per idle TLS connection (at most {PER_IDLE} B)"
    );
    idle.into_iter().for_each(close);

    let n = ws6455_test_support::loopback::connections_that_fit(2000);
    let mut abandoned = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(addr).expect("connect");
        // Half stop mid-ClientHello, half before sending anything.
        if i % 2 == 0 {
            s.write_all(&cut_client_hello()).expect("hello");
        }
        abandoned.push(s);
    }
    drop(abandoned);
    close(echoed(&cert, addr));
    let mut held = live();
    let back = eventually(MUST, || {
        held = live();
        held <= baseline + SLACK
    });
    assert!(
        back,
        "live heap {held} B after {IDLE} closed connections and {n} abandoned \
         handshakes, {baseline} B before (+{SLACK} B allowed)"
    );
    eprintln!("per idle TLS connection: {per_idle} B; after: {held} B, before: {baseline} B");
    drop(server);
}
