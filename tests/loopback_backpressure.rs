//! Backpressure: a peer that does not read cannot make the server hold
//! more than `Config::max_output_buffer` (plus one message) for it, and
//! does not slow the other connections down.
//!
//! The stuck peers are raw sockets with small kernel buffers (socket2, a
//! dependency of the crate), so the server's output backs up after a few
//! hundred kilobytes instead of the tens of megabytes Linux would
//! otherwise buffer on loopback.

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use ws6455::CloseCode;
use ws6455::{ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::loopback::*;

const LIMIT: usize = 64 << 10;

/// A connected socket with 8 KiB kernel buffers (set before connecting so
/// the TCP window is negotiated small).
fn small_buffered(addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(8 << 10).expect("SO_RCVBUF");
    socket.set_send_buffer_size(8 << 10).expect("SO_SNDBUF");
    socket.connect(&addr.into()).expect("connect");
    socket.into()
}

/// While one connection is stuck, another gets its echo back.
fn other_connections_are_served(url: &str) {
    let started = Instant::now();
    let (mut ws, _) = WebSocket::connect(url, &ConnectOptions::default()).expect("connect");
    ws.get_ref()
        .set_read_timeout(Some(MUST))
        .expect("read timeout");
    ws.send_text("are you there?").expect("send");
    assert_eq!(
        ws.read().expect("echo while another client is stuck"),
        Incoming::Text("are you there?".into())
    );
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));
    assert!(
        started.elapsed() < MUST,
        "the echo took {:?}",
        started.elapsed()
    );
}

fn numbered(seq: u32, size: usize) -> Vec<u8> {
    let mut payload = vec![0x5Au8; size];
    payload[..4].copy_from_slice(&seq.to_be_bytes());
    wire::encode(true, 0, 2, &payload, Some([9, 8, 7, 6]))
}

/// The peer sends 1 KiB messages to an echo handler as fast as it can and
/// never reads. The server stops reading from it once its echoes fill the
/// output buffer (TCP then pushes back on the sender), never refuses an
/// echo, and keeps serving others. When the peer finally reads, every
/// message comes back, in order.
#[test]
fn a_peer_that_never_reads_cannot_grow_the_servers_output() {
    const MSG: usize = 1024;
    let served = serve_with(
        {
            let mut config = quiet_config();
            config.max_output_buffer = LIMIT;
            config
        },
        false,
    );
    let addr = served.addr();
    let mut peer = RawPeer::handshake(small_buffered(addr), addr, "/firehose");
    peer.stream.set_nonblocking(true).expect("non-blocking");

    // Write until the server's output for us has reached its bound, then
    // until our writes have been refused for a while (the server has
    // stopped reading us).
    let mut frames = 0u32; // completely written
    let mut pending = numbered(0, MSG);
    let mut at = 0;
    let mut blocked_since: Option<Instant> = None;
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < 3 * MUST, "the server never pushed back");
        match peer.stream.write(&pending[at..]) {
            Ok(n) => {
                blocked_since = None;
                at += n;
                if at == pending.len() {
                    frames += 1;
                    pending = numbered(frames, MSG);
                    at = 0;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let full = served.stats.max_buffered.load(Ordering::SeqCst) >= LIMIT;
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if full && since.elapsed() > Duration::from_millis(200) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }

    other_connections_are_served(&served.url("/other"));

    let bound = LIMIT + MSG + 4; // one more echo (1 KiB + 4-byte header)
    let max = served.stats.max_buffered.load(Ordering::SeqCst);
    assert!(
        (LIMIT..=bound).contains(&max),
        "buffered up to {max} bytes, bound {bound}"
    );
    assert_eq!(
        served.stats.buffer_full.load(Ordering::SeqCst),
        0,
        "a paused connection produces no events, so echoes are never refused"
    );

    // Now read: finish the half-written frame, then take every echo back.
    let total = if at > 0 { frames + 1 } else { frames };
    let mut next = 0u32;
    let deadline = Instant::now() + 3 * MUST;
    while next < total {
        assert!(
            Instant::now() < deadline,
            "only {next} of {total} echoes came back"
        );
        let mut progressed = false;
        if at > 0 {
            match peer.stream.write(&pending[at..]) {
                Ok(n) => {
                    at = (at + n) % pending.len();
                    progressed = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("write failed: {e}"),
            }
        }
        match peer.try_frame(Duration::from_millis(1)) {
            Ok(f) => {
                assert_eq!((f.opcode, f.payload.len()), (2, MSG));
                assert_eq!(f.payload[..4], next.to_be_bytes(), "echoes in order");
                next += 1;
                progressed = true;
            }
            Err(End::Timeout) => {}
            Err(end) => panic!("the connection ended: {end:?}"),
        }
        if !progressed {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let max = served.stats.max_buffered.load(Ordering::SeqCst);
    assert!(max <= bound, "buffered up to {max} bytes while draining");

    peer.stream.set_nonblocking(false).expect("blocking");
    peer.send_close(1000, "");
    assert_eq!(peer.frame().close_parts(), Some((1000, String::new())));
    peer.expect_eof();
}

/// The handler floods a peer that does not read: `send_binary` refuses
/// with `BufferFull` once the bound is reached, `on_writable` follows
/// exactly once per refusal when the peer reads again, and every message
/// arrives in order.
#[test]
fn a_flood_to_a_slow_reader_resumes_on_writable() {
    const COUNT: u32 = 2000;
    const SIZE: usize = 4096;
    let served = serve_with(
        {
            let mut config = quiet_config();
            config.max_output_buffer = LIMIT;
            config
        },
        false,
    );
    let addr = served.addr();
    let mut peer = RawPeer::handshake(small_buffered(addr), addr, "/slow");
    peer.send_text(&format!("cmd:flood:{COUNT}:{SIZE}"));
    let flooded = served
        .events
        .wait("BufferFull", |e| matches!(e, Ev::BufferFull(_)))
        .id();

    other_connections_are_served(&served.url("/other"));

    let bound = LIMIT + SIZE + 4;
    let max = served.stats.max_buffered.load(Ordering::SeqCst);
    assert!(max <= bound, "buffered {max} bytes, bound {bound}");

    for seq in 0..COUNT {
        let (opcode, payload, _) = peer.message();
        assert_eq!((opcode, payload.len()), (2, SIZE));
        assert_eq!(payload[..4], seq.to_be_bytes(), "messages in order");
    }
    // After the first refusal (already consumed above), refusals and
    // wake-ups alternate until the flood is done.
    let mut refusals = 1;
    let mut wakeups = 0;
    loop {
        let ev = served.events.next();
        if ev.id() != flooded {
            continue; // the other client's connection
        }
        match ev {
            Ev::BufferFull(_) => {
                assert_eq!(refusals, wakeups, "a refusal without a wake-up between");
                refusals += 1;
            }
            Ev::Writable(_) => {
                wakeups += 1;
                assert_eq!(refusals, wakeups, "a wake-up without a refusal");
            }
            Ev::FloodDone(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(refusals, wakeups);
    assert_eq!(
        served.stats.buffer_full.load(Ordering::SeqCst),
        refusals,
        "every refusal was reported"
    );
    let max = served.stats.max_buffered.load(Ordering::SeqCst);
    assert!(max <= bound, "buffered {max} bytes, bound {bound}");

    peer.send_close(1000, "");
    assert_eq!(peer.frame().close_parts(), Some((1000, String::new())));
    peer.expect_eof();
}
