//! Memory comes back after a burst: a counting global allocator keeps the
//! live heap bytes of the event loop's thread while the mio echo server takes a burst of
//! busy connections at once (compressed text with context takeover, and
//! 64 KiB binaries that grow every buffer set the loop lends), then all of
//! them close. Within a few of the loop's idle checks the live heap must be
//! back near where it was before the burst: the compressors are freed
//! with their connections, and the buffer pool is trimmed to its idle size
//! instead of keeping the 32 grown spare sets the burst left (about 4 MB).
//!
//! This guards what the library holds, whatever the allocator then does
//! with freed memory (`benches/churn.sh` measures RSS, allocator included).
//!
//! Only the loop's thread is counted (its handler factory marks it), so
//! the blocking clients' own buffers do not blur the figure.
#![cfg(feature = "deflate")]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Barrier;
use std::thread;

use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, WebSocket};
use ws6455::{RunningServer, Server};
use ws6455_test_support::counting::{count_this_thread, live, ThreadLive};
use ws6455_test_support::server::Echo;
use ws6455_test_support::{eventually, wire, MUST};

#[global_allocator]
static GLOBAL: ThreadLive = ThreadLive;

/// Connections in the burst, all open and busy at the same time.
const BURST: usize = 48;
/// What the loop may keep after the burst beyond the baseline: its idle
/// spares (4 sets of buffers of at most 16 KiB) and slack for the
/// connection table's growth. A pool that keeps the burst's 64 KiB spare
/// sets holds over ten times this.
const SLACK: isize = 512 << 10;

fn client(addr: SocketAddr) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(MUST)).unwrap();
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    let (ws, _) =
        WebSocket::client(stream, ClientRequest::new(addr.to_string(), "/"), config).unwrap();
    ws
}

fn close(mut ws: WebSocket<TcpStream>) {
    ws.close(CloseCode::NORMAL, "").unwrap();
    match ws.read() {
        Ok(Incoming::Close(..)) => {}
        other => panic!("expected the close echo, got {other:?}"),
    }
}

/// The echo server on one event loop, whose thread is the one counted.
fn counted_echo_server(config: Config) -> RunningServer {
    Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(|| {
            // The factory runs on the loop's thread (one loop).
            count_this_thread();
            Echo
        })
}

/// Where every connection's thread waits for the others and for the
/// measuring thread.
struct Phases {
    warm: Barrier,
    measured: Barrier,
    half_sent: Barrier,
    burst_done: Barrier,
    checked: Barrier,
}

/// One connection: a small compressed echo (its codecs now exist), a pause
/// while the baseline is read, then its share of the burst (a 64 KiB
/// binary each way, all connections at once), and a pause while the loop
/// goes idle with every connection still open, then a close.
fn connection(addr: SocketAddr, phases: &Phases, i: usize) {
    let mut ws = client(addr);
    let text = format!("{{\"user\": {i}, \"says\": \"{}\"}}", "hello ".repeat(150));
    ws.send_text(&text).unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text(text));
    phases.warm.wait();
    phases.measured.wait();
    // Half a 64 KiB frame, by hand (uncompressed: RSV1 clear, RFC 7692
    // §6), then a wait until every connection is holding half a frame:
    // the loop has lent each of them a buffer set at once, and gets them
    // all back, grown, when the echoes are out.
    let bytes = incompressible(64 << 10, i as u64);
    let frame = wire::encode(true, 0, 0x2, &bytes, Some([1, 2, 3, 4]));
    let (first, rest) = frame.split_at(frame.len() / 2);
    ws.get_mut().write_all(first).unwrap();
    phases.half_sent.wait();
    ws.get_mut().write_all(rest).unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Binary(bytes));
    phases.burst_done.wait();
    phases.checked.wait();
    close(ws);
}

/// `len` bytes that deflate cannot shrink (xorshift), so the frames on
/// the wire, and the server's buffers, are as large as the message.
fn incompressible(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn live_heap_returns_to_its_baseline_after_a_burst() {
    let mut config = Config::default();
    config.deflate = Some(DeflateConfig::default());
    let server = counted_echo_server(config);
    let addr = server.local_addr();
    let phases = Phases {
        warm: Barrier::new(BURST + 1),
        measured: Barrier::new(BURST + 1),
        half_sent: Barrier::new(BURST + 1),
        burst_done: Barrier::new(BURST + 1),
        checked: Barrier::new(BURST + 1),
    };
    thread::scope(|s| {
        for i in 0..BURST {
            let phases = &phases;
            s.spawn(move || connection(addr, phases, i));
        }
        phases.warm.wait();
        let baseline = ws6455_test_support::counting::settled(MUST);
        phases.measured.wait();
        phases.half_sent.wait();
        phases.burst_done.wait();
        let mut held = live();
        let back = eventually(MUST, || {
            held = live();
            held <= baseline + SLACK
        });
        phases.checked.wait();
        assert!(
            back,
            "live heap {held} B with {BURST} idle connections after their burst, \
             {baseline} B before it (+{SLACK} B allowed)"
        );
    });
    drop(server);
}
