//! Peers that attack resources rather than grammar: slowloris handshakes,
//! clients that never read, ping floods, connection churn, half-closed
//! sockets, junk after a close, silent peers, fragment floods. Against the
//! real `ws6455 serve` binary (whose RSS and file descriptors are read from
//! /proc on Linux) and, for short timeouts, an in-process server. After each case the
//! server must still serve a fresh client.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ws6455_test_support::handshake::*;
use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::server::*;
use ws6455_test_support::wire::*;
use ws6455_test_support::{eventually, MUST};

const MIB: u64 = 1 << 20;

/// Write `bytes[*pos..]` until done or a write blocks for the stream's
/// write timeout ([`STALL`]: the server stopped reading). Returns true on a
/// stall.
fn write_until_stall(stream: &mut TcpStream, bytes: &[u8], pos: &mut usize) -> bool {
    while *pos < bytes.len() {
        match stream.write(&bytes[*pos..]) {
            Ok(0) => panic!("write returned 0"),
            Ok(n) => *pos += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return true
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("write failed: {e}"),
        }
    }
    false
}

/// How long a write may block before we call the server stalled.
const STALL: Duration = Duration::from_millis(1500);

// ----- slowloris -------------------------------------------------------------

#[test]
fn slowloris_handshake_is_dropped_at_the_handshake_timeout() {
    let timeout = Duration::from_secs(1);
    let config = {
        let mut config = test_config();
        config.handshake_timeout = timeout;
        config
    };
    let server = echo_server(config);
    let addr = server.local_addr();

    // One connection trickles a request a byte every 200 ms; another never
    // sends anything. Both are dropped at the timeout, with no answer.
    let started = Instant::now();
    let mut silent = RawPeer::tcp(addr);
    let mut slow = RawPeer::tcp(addr);
    slow.stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let head = request("/", "X-Slow: yes\r\n");
    let mut sent = 0;
    let closed_after = loop {
        if sent < head.len() && slow.stream.write_all(&head.as_bytes()[sent..=sent]).is_ok() {
            sent += 1;
        }
        let mut byte = [0u8; 1];
        match slow.stream.read(&mut byte) {
            Ok(0) => break started.elapsed(),
            Ok(_) => panic!("the server answered an incomplete request"),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break started.elapsed(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        assert!(
            started.elapsed() < timeout + MUST,
            "the slowloris connection was never dropped"
        );
        if sent == 2 {
            // Others are served while the slow one trickles.
            assert_serves(addr);
        }
    };
    assert!(sent < head.len(), "the whole request trickled through");
    assert!(
        closed_after >= timeout - Duration::from_millis(50),
        "dropped after {closed_after:?}, before the {timeout:?} handshake timeout"
    );
    silent.expect_eof();
    assert!(started.elapsed() >= timeout - Duration::from_millis(50));
    eprintln!("slowloris: dropped after {closed_after:?} ({sent} bytes sent)");
    assert_serves(addr);
}

// ----- a client that never reads ---------------------------------------------

/// Writes frames `make(0)`, `make(1)`, … and remembers where a stalled
/// write left off, so the stream is never corrupted by a partial frame.
struct Pusher {
    make: Box<dyn FnMut(u64) -> Vec<u8>>,
    /// Frames started so far.
    next: u64,
    current: Vec<u8>,
    pos: usize,
    pushed: u64,
}

impl Pusher {
    fn new(make: impl FnMut(u64) -> Vec<u8> + 'static) -> Self {
        Pusher {
            make: Box::new(make),
            next: 0,
            current: Vec::new(),
            pos: 0,
            pushed: 0,
        }
    }

    /// Push frames until a write stalls or `count` frames went out.
    /// Returns true on a stall.
    fn push(&mut self, stream: &mut TcpStream, count: u64) -> bool {
        loop {
            if self.pos == self.current.len() {
                if self.next >= count {
                    return false;
                }
                self.current = (self.make)(self.next);
                self.pos = 0;
                self.next += 1;
            }
            let before = self.pos;
            let stalled = write_until_stall(stream, &self.current, &mut self.pos);
            self.pushed += (self.pos - before) as u64;
            if stalled {
                return true;
            }
        }
    }
}

#[test]
fn client_that_never_reads_is_held_back_and_memory_stays_bounded() {
    let mut server = ServerProcess::spawn();
    let addr = server.addr;
    assert_serves(addr);
    #[cfg(target_os = "linux")]
    let baseline = rss_kib(server.pid());

    let mut hog = RawPeer::connect(addr, "/");
    hog.stream.set_write_timeout(Some(STALL)).unwrap();
    const SIZE: usize = 32 << 10;
    let mut pusher = Pusher::new(|i| frame(BINARY, &[(i % 251) as u8; SIZE]));
    let stalled = pusher.push(&mut hog.stream, 200 * MIB / SIZE as u64);
    assert!(
        stalled,
        "the server read all 200 MiB from a peer that reads nothing"
    );
    // The stalled peer does not stall anyone else.
    assert_serves(addr);
    server.assert_alive();
    #[cfg(target_os = "linux")]
    {
        let peak = peak_rss_kib(server.pid());
        eprintln!(
            "never-reading client: stalled after {:.1} MiB; server RSS baseline {baseline} KiB, peak {peak} KiB (+{} KiB)",
            pusher.pushed as f64 / MIB as f64,
            peak.saturating_sub(baseline)
        );
        assert!(
            peak < baseline + 32 * 1024,
            "server peak RSS {peak} KiB grew more than 32 MiB over {baseline} KiB"
        );
    }

    // Now read: every message that went in comes back, intact, in order,
    // then the close handshake completes.
    let reader = RawPeer::new(hog.stream.try_clone().unwrap(), true);
    let drain = std::thread::spawn(move || {
        let mut reader = reader;
        let mut got = 0u64;
        loop {
            let f = reader.frame();
            match f.opcode {
                BINARY => {
                    assert!(f.fin);
                    assert_eq!(f.payload.len(), SIZE);
                    let fill = (got % 251) as u8;
                    assert!(
                        f.payload.iter().all(|&b| b == fill),
                        "message {got} mangled"
                    );
                    got += 1;
                }
                CLOSE => {
                    assert_eq!(f.close_code(), Some(1000));
                    reader.expect_eof();
                    return got;
                }
                other => panic!("unexpected opcode {other}"),
            }
        }
    });
    hog.stream.set_write_timeout(Some(MUST)).unwrap();
    // Finish the message a stalled write left half-written.
    assert!(!pusher.push(&mut hog.stream, pusher.next));
    hog.send(&close_frame(1000, b""));
    let echoed = drain.join().expect("drain thread");
    assert_eq!(echoed, pusher.next, "every message pushed was echoed");
    assert_serves(addr);
}

#[test]
fn ping_flood_without_reading_is_bounded() {
    // At least 100,000 maximal pings, each carrying its index, and on until
    // the server stops reading: at most 600,000 (78 MB, more than loopback
    // socket buffers can hide), so a server that queued every pong would
    // show it in its RSS and would never stall the flood.
    const PINGS: u64 = 100_000;
    const CAP: u64 = 600_000;
    fn ping(i: u64) -> Vec<u8> {
        let mut payload = [b'.'; 125];
        payload[..8].copy_from_slice(&i.to_be_bytes());
        frame(PING, &payload)
    }
    let mut server = ServerProcess::spawn();
    let addr = server.addr;
    assert_serves(addr);
    #[cfg(target_os = "linux")]
    let baseline = rss_kib(server.pid());

    let mut flooder = RawPeer::connect(addr, "/");
    flooder.stream.set_write_timeout(Some(STALL)).unwrap();
    let mut pusher = Pusher::new(ping);
    let stalled = pusher.push(&mut flooder.stream, CAP);
    assert!(
        stalled,
        "the server read {CAP} pings without answering them"
    );
    assert_serves(addr);
    server.assert_alive();
    #[cfg(target_os = "linux")]
    {
        let peak = peak_rss_kib(server.pid());
        eprintln!(
            "ping flood: the server stopped reading after {} pings ({:.1} MiB); server RSS baseline {baseline} KiB, peak {peak} KiB (+{} KiB)",
            pusher.next,
            pusher.pushed as f64 / MIB as f64,
            peak.saturating_sub(baseline)
        );
        assert!(
            peak < baseline + 32 * 1024,
            "server peak RSS {peak} KiB grew more than 32 MiB over {baseline} KiB"
        );
    }

    // Read the pongs while the rest of the flood goes in, then close.
    let reader = RawPeer::new(flooder.stream.try_clone().unwrap(), true);
    let drain = std::thread::spawn(move || {
        let mut reader = reader;
        let mut pongs = 0u64;
        let mut last: Option<u64> = None;
        loop {
            let f = reader.frame();
            match f.opcode {
                PONG => {
                    // §5.5.3: a pong echoes its ping's payload; a server may
                    // skip pongs but never reorder them.
                    assert_eq!(f.payload.len(), 125);
                    let index = u64::from_be_bytes(f.payload[..8].try_into().unwrap());
                    assert!(last.is_none_or(|l| index > l), "pongs out of order");
                    last = Some(index);
                    pongs += 1;
                }
                CLOSE => {
                    assert_eq!(f.close_code(), Some(1000));
                    reader.expect_eof();
                    return (pongs, last);
                }
                other => panic!("unexpected opcode {other}"),
            }
        }
    });
    flooder.stream.set_write_timeout(Some(MUST)).unwrap();
    let total = pusher.next.max(PINGS);
    assert!(!pusher.push(&mut flooder.stream, total));
    flooder.send(&close_frame(1000, b""));
    let (pongs, last) = drain.join().expect("drain thread");
    eprintln!("ping flood: {total} pings sent, {pongs} pongs received");
    assert!((1..=total).contains(&pongs));
    assert_eq!(last, Some(total - 1), "the last ping was answered");
    assert_serves(addr);
}

// ----- silent peers and fragment floods ------------------------------------

#[test]
fn peer_that_never_answers_pings_is_closed_as_dead() {
    let config = {
        let mut config = test_config();
        config.ping_interval = Some(Duration::from_millis(300));
        config.pong_timeout = Duration::from_millis(500);
        config
    };
    let server = echo_server(config);
    let addr = server.local_addr();
    let mut client = RawPeer::connect(addr, "/");
    // The heartbeat ping (§5.5.2 keepalive), then — no answer, no data —
    // the server gives up on us: 1001, and TCP closed without waiting for
    // a reply from a peer it believes is gone.
    let ping = client.frame();
    assert_eq!((ping.opcode, ping.payload.len()), (PING, 0));
    assert_eq!(client.expect_close_then_eof(1001), "ping timeout");
    assert_serves(addr);
}

#[test]
fn idle_peer_is_closed_with_1001() {
    let config = {
        let mut config = test_config();
        config.ping_interval = None;
        config.idle_timeout = Some(Duration::from_millis(500));
        config
    };
    let server = echo_server(config);
    let addr = server.local_addr();
    let mut client = RawPeer::connect(addr, "/");
    assert_eq!(client.expect_close(1001), "idle timeout");
    // We answer the close; the server then closes TCP (§7.1.1).
    client.send(&close_frame(1001, b""));
    client.expect_eof();
    assert_serves(addr);
}

#[test]
fn flood_of_empty_fragments_is_bounded_and_the_message_survives() {
    // 200,000 empty continuation frames inside one text message: nothing
    // may be kept per fragment.
    const FRAGMENTS: usize = 200_000;
    let mut server = ServerProcess::spawn();
    let addr = server.addr;
    assert_serves(addr);
    #[cfg(target_os = "linux")]
    let baseline = rss_kib(server.pid());
    let empty = frame_bytes(false, 0, CONT, b"", true);
    let mut bytes = frame_bytes(false, 0, TEXT, "start ".as_bytes(), true);
    bytes.reserve(FRAGMENTS * empty.len() + 64);
    for _ in 0..FRAGMENTS {
        bytes.extend_from_slice(&empty);
    }
    bytes.extend_from_slice(&frame_bytes(true, 0, CONT, "end €".as_bytes(), true));
    let mut client = RawPeer::connect(addr, "/");
    client.send(&bytes);
    let echo = client.frame();
    assert_eq!(
        (echo.fin, echo.opcode, echo.payload.as_slice()),
        (true, TEXT, "start end €".as_bytes())
    );
    server.assert_alive();
    #[cfg(target_os = "linux")]
    {
        let peak = peak_rss_kib(server.pid());
        eprintln!(
            "fragment flood: {FRAGMENTS} empty fragments; server RSS baseline {baseline} KiB, peak {peak} KiB"
        );
        assert!(
            peak < baseline + 8 * 1024,
            "server peak RSS {peak} KiB grew more than 8 MiB over {baseline} KiB"
        );
    }
    client.echo_and_close("after a fragment flood");
    assert_serves(addr);
}

// ----- connection churn ------------------------------------------------------

#[test]
fn ten_thousand_connections_dropped_without_a_close() {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 500;
    let mut server = ServerProcess::spawn();
    let addr = server.addr;
    assert_serves(addr);
    #[cfg(target_os = "linux")]
    let baseline = fd_count(server.pid());

    let half_frame = {
        let f = frame(TEXT, b"never finished");
        f[..f.len() / 2].to_vec()
    };
    let full = request("/", "");
    let partial = &full.as_bytes()[..full.len() / 2];
    let mut opened = 0;
    #[cfg(target_os = "linux")]
    let mut peak_fds = 0;
    while opened < TOTAL {
        let mut batch: Vec<RawPeer> = (0..BATCH).map(|_| RawPeer::tcp(addr)).collect();
        for (i, client) in batch.iter_mut().enumerate() {
            // Nothing; half a request; a whole request never read; a whole
            // handshake then half a frame.
            match i % 4 {
                0 => {}
                1 => client.send(partial),
                _ => client.send(full.as_bytes()),
            }
        }
        for client in batch.iter_mut().skip(3).step_by(4) {
            client.expect_101();
            client.send(&half_frame);
        }
        #[cfg(target_os = "linux")]
        {
            peak_fds = peak_fds.max(fd_count(server.pid()));
        }
        opened += batch.len();
        drop(batch);
    }
    assert_serves(addr);
    server.assert_alive();
    #[cfg(target_os = "linux")]
    {
        let pid = server.pid();
        let settled = eventually(2 * MUST, || fd_count(pid) <= baseline);
        let now = fd_count(pid);
        eprintln!(
            "churn: {TOTAL} connections; server fds baseline {baseline}, peak seen {peak_fds}, after {now}"
        );
        assert!(
            settled,
            "server fds stayed at {now}, baseline {baseline}: connections leaked"
        );
    }
}

// ----- half-closed sockets and junk after close ----------------------------

#[test]
fn half_closed_client_is_closed_by_the_server() {
    let server = ServerProcess::spawn();
    // Right after the handshake: no close frame comes (the peer can no
    // longer answer one), just the server's FIN.
    let client = RawPeer::connect(server.addr, "/");
    client.shutdown_write();
    let mut client = client;
    client.expect_eof();
    // In the middle of a frame.
    let mut client = RawPeer::connect(server.addr, "/");
    let f = frame(BINARY, &[9; 1000]);
    client.send(&f[..500]);
    client.shutdown_write();
    client.expect_eof();
    // In the middle of a fragmented message.
    let mut client = RawPeer::connect(server.addr, "/");
    client.send(&frame_bytes(false, 0, TEXT, b"first half", true));
    client.shutdown_write();
    client.expect_eof();
    assert_serves(server.addr);
}

#[test]
fn close_then_half_close_gets_the_close_echoed() {
    // A close frame and the client's FIN together: the echo still goes out
    // before the server closes TCP.
    let server = ServerProcess::spawn();
    let mut client = RawPeer::connect(server.addr, "/");
    client.send(&close_frame(1001, b"leaving"));
    client.shutdown_write();
    client.expect_close_then_eof(1001);
    assert_serves(server.addr);
}

#[test]
fn junk_after_the_close_frame_is_ignored_and_tcp_closed() {
    let server = ServerProcess::spawn();
    let junk: Vec<u8> = (0..4096u32).map(|i| (i * 31 + 7) as u8).collect();
    let mut client = RawPeer::connect(server.addr, "/");
    let mut bytes = close_frame(1000, b"done");
    bytes.extend_from_slice(&junk);
    // Even junk that looks like frames, including a bad one.
    bytes.extend_from_slice(&frame(TEXT, b"after close"));
    bytes.extend_from_slice(&frame(0x7, b"reserved"));
    client.send(&bytes);
    // The answer is our close echoed (1000), not a 1002 for the junk.
    client.expect_close_then_eof(1000);
    // Further junk is read and dropped (the server drains until our FIN so
    // that closing never meets unread data), and nothing more comes back.
    for _ in 0..50 {
        if client.stream.write_all(&junk).is_err() {
            break;
        }
        let mut byte = [0u8; 1];
        client
            .stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        if let Ok(n) = client.stream.read(&mut byte) {
            assert_eq!(n, 0, "the server sent more after its close");
        }
    }
    assert_serves(server.addr);
}

#[test]
fn abrupt_resets_mid_message_do_not_disturb_the_server() {
    // A peer that vanishes mid-message with unread data (so its kernel sends
    // RST) makes the server's reads and writes fail; it must shrug.
    let mut server = ServerProcess::spawn();
    for _ in 0..20 {
        let mut client = RawPeer::connect(server.addr, "/");
        client.send(&frame(TEXT, b"echo me"));
        let f = frame(BINARY, &[5; 100_000]);
        client.send(&f[..60_000]);
        drop(client);
    }
    server.assert_alive();
    assert_serves(server.addr);
}
