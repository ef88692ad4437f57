//! Every timer of a connection, with short configured values: the opening
//! handshake timeout (slowloris), heartbeats and dead-peer detection, the
//! close handshake timeout (§7.1.1), the idle timeout.
//!
//! A timer must not fire early (checked against the configured value:
//! every elapsed time here is measured from a moment before the timer
//! could start) and must fire within the configured value plus [`LATE`],
//! a bound generous enough for a loaded 2-core machine. Where the test
//! itself must answer in time (pongs, chatter), the configured timeout is
//! long (seconds), so a test thread left unscheduled for a while cannot
//! miss it; only the timers nobody races stay short.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use ws6455::CloseCode;
use ws6455::ConnectOptions;
use ws6455_test_support::loopback::*;

const SHORT: Duration = Duration::from_millis(300);

/// How late a timer may fire: the loop's poll timeout, its turn and the
/// test thread's wake-up all fit many times over, even on a loaded machine.
const LATE: Duration = Duration::from_secs(5);

/// `elapsed` lies in [configured, configured + LATE].
#[track_caller]
fn on_time(elapsed: Duration, configured: Duration, what: &str) {
    assert!(
        elapsed >= configured,
        "{what} after {elapsed:?}, before {configured:?}"
    );
    assert!(
        elapsed <= configured + LATE,
        "{what} after {elapsed:?}, long after {configured:?}"
    );
}

/// A client that sends half a request and waits is dropped after the
/// handshake timeout, without an HTTP answer; so is one that keeps
/// trickling bytes (the deadline counts from accept, not from the last
/// byte).
#[test]
fn handshake_timeout_drops_slowloris_clients() {
    let served = serve({
        let mut config = quiet_config();
        config.handshake_timeout = SHORT;
        config
    });

    let started = Instant::now();
    let mut silent = RawPeer::new(TcpStream::connect(served.addr()).expect("connect"), true);
    silent.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
    silent.expect_eof();
    on_time(started.elapsed(), SHORT, "the silent client dropped");

    let started = Instant::now();
    let mut trickle = TcpStream::connect(served.addr()).expect("connect");
    trickle
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    use std::io::{Read, Write};
    let mut sent = 0usize;
    let header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let dropped = loop {
        assert!(
            started.elapsed() < MUST,
            "the trickling client was never dropped"
        );
        let byte = header.get(sent).copied().unwrap_or(b'a');
        if trickle.write_all(&[byte]).is_err() {
            break true;
        }
        sent += 1;
        let mut buf = [0u8; 64];
        match trickle.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => panic!("unexpected answer {:?}", &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break true, // reset
        }
    };
    assert!(dropped);
    on_time(started.elapsed(), SHORT, "the trickling client dropped");
    assert!(sent > 1, "the client kept sending while it waited");
}

/// Our client gives up on a server that accepts TCP but never answers
/// the upgrade request.
#[test]
fn handshake_timeout_on_the_client() {
    let (listener, addr) = raw_listener();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut peer = RawPeer::new(stream, false);
        let head = peer.read_head_text();
        assert!(head.starts_with("GET /mute HTTP/1.1\r\n"));
        // Never answer; the client must hang up.
        peer.expect_eof();
    });
    let started = Instant::now();
    let (rec, ids) = run_client(
        {
            let mut config = quiet_config();
            config.handshake_timeout = SHORT;
            config
        },
        vec![(format!("ws://{addr}/mute"), ConnectOptions::default())],
        Recorder::passive(),
    );
    on_time(started.elapsed(), SHORT, "the client gave up");
    assert_eq!(rec.events, [ClientEv::Closed(ids[0], 1006, false)]);
    server.join().expect("raw server");
}

/// Heartbeats: after `ping_interval` of silence the server pings; a peer
/// that does not answer within `pong_timeout` gets a 1001 close and its
/// TCP connection is dropped without waiting for a reply.
#[test]
fn heartbeat_drops_a_peer_that_never_answers() {
    let interval = Duration::from_millis(200);
    let pong_timeout = Duration::from_millis(300);
    let served = serve({
        let mut config = quiet_config();
        config.ping_interval = Some(interval);
        config.pong_timeout = pong_timeout;
        config
    });
    let opened = Instant::now();
    let mut peer = RawPeer::connect(served.addr(), "/mute");
    let ping = peer.frame();
    let pinged = Instant::now();
    assert_eq!((ping.opcode, ping.fin), (9, true), "{ping:?}");
    on_time(pinged - opened, interval, "pinged");
    let close = peer.frame();
    assert_eq!(close.close_parts(), Some((1001, "ping timeout".into())));
    on_time(
        opened.elapsed(),
        interval + pong_timeout,
        "gave up on the pong",
    );
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(seen[1..], [Ev::Open(sid), Ev::Closed(sid, 1006, false)]);
}

/// A peer that answers every ping stays connected through many rounds.
/// (The test answers each ping; `pong_timeout` is long so that a loaded
/// machine cannot make it answer too late.)
#[test]
fn heartbeat_keeps_a_peer_that_answers() {
    let interval = Duration::from_millis(100);
    let pong_timeout = Duration::from_secs(2);
    let served = serve({
        let mut config = quiet_config();
        config.ping_interval = Some(interval);
        config.pong_timeout = pong_timeout;
        config
    });
    let started = Instant::now();
    let mut peer = RawPeer::connect(served.addr(), "/alive");
    let mut round = 0;
    while round < 5 || started.elapsed() < interval + pong_timeout + interval {
        let ping = peer.frame();
        assert_eq!(ping.opcode, 9, "round {round}: {ping:?}");
        peer.send_frame(true, 10, &ping.payload);
        round += 1;
    }
    // The rounds took more than interval + pong_timeout: had the pongs
    // been ignored, the connection would be gone by now.
    assert!(started.elapsed() >= interval + pong_timeout);
    peer.send_text("still here");
    let echo = loop {
        let f = peer.frame();
        if f.opcode == 9 {
            peer.send_frame(true, 10, &f.payload);
            continue;
        }
        break f;
    };
    assert_eq!(
        (echo.opcode, echo.payload.as_slice()),
        (1, b"still here".as_slice())
    );
    peer.send_close(1000, "");
    let close = loop {
        let f = peer.frame();
        if f.opcode != 9 {
            break f;
        }
    };
    assert_eq!(close.close_parts(), Some((1000, String::new())));
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    assert!(matches!(seen.last(), Some(Ev::Closed(_, 1000, true))));
    let pongs = seen.iter().filter(|e| matches!(e, Ev::Pong(..))).count();
    assert!(
        pongs >= round,
        "the handler saw the pongs: {pongs} of {round}"
    );
}

/// The server closes; a peer that never answers the close is dropped
/// after `close_timeout` (§7.1.1), reported as 1006.
#[test]
fn close_timeout_drops_a_peer_that_never_answers_the_close() {
    let served = serve({
        let mut config = quiet_config();
        config.close_timeout = SHORT;
        config
    });
    let mut peer = RawPeer::connect(served.addr(), "/deaf");
    let asked = Instant::now();
    peer.send_text("cmd:close:1000:bye");
    assert_eq!(peer.frame().close_parts(), Some((1000, "bye".into())));
    peer.expect_eof();
    on_time(asked.elapsed(), SHORT, "dropped after the close");
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(seen.last(), Some(&Ev::Closed(sid, 1006, false)));
}

/// Our client closes; a server that never answers is dropped after
/// `close_timeout`. A server that answers but keeps TCP open (§7.1.1 says
/// it should close first) is dropped after `close_timeout` too, while the
/// close itself is reported clean at once.
#[test]
fn client_close_timeouts() {
    let (listener, addr) = raw_listener();
    let server = std::thread::spawn(move || {
        // First connection: read the close, never answer.
        let (stream, _) = listener.accept().expect("accept");
        let (mut deaf, _) = RawPeer::accept(stream);
        assert_eq!(deaf.frame().close_parts(), Some((1000, "one".into())));
        let deaf_dropped = Instant::now();
        deaf.expect_eof();
        // Second: answer the close, then keep TCP open.
        let (stream, _) = listener.accept().expect("accept");
        let (mut lingering, _) = RawPeer::accept(stream);
        assert_eq!(lingering.frame().close_parts(), Some((1000, "two".into())));
        let answered = Instant::now();
        lingering.send_frame(true, 8, &close_payload(1000, ""));
        lingering.expect_eof();
        (deaf_dropped, answered.elapsed())
    });
    let url = format!("ws://{addr}/");
    let next = url.clone();
    let mut first = true;
    let started = Instant::now();
    let (rec, _) = run_client(
        {
            let mut config = quiet_config();
            config.close_timeout = SHORT;
            config
        },
        vec![(url, ConnectOptions::default())],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => {
                let reason = if first { "one" } else { "two" };
                ctx.close(id, CloseCode::NORMAL, reason).expect("close");
            }
            ClientEv::Closed(..) if first => {
                first = false;
                ctx.connect(&next, &ConnectOptions::default())
                    .expect("connect");
            }
            _ => {}
        }),
    );
    let (_, lingered) = server.join().expect("raw server");
    assert!(started.elapsed() >= 2 * SHORT);
    // Each wait: not before close_timeout, and not much later.
    on_time(
        lingered,
        SHORT,
        "the client waited for the server's TCP close",
    );
    assert!(started.elapsed() <= 2 * (SHORT + LATE));
    let ids: Vec<_> = rec
        .events
        .iter()
        .filter(|e| matches!(e, ClientEv::Open(..)))
        .map(ClientEv::id)
        .collect();
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(ids[0], None),
            ClientEv::Closed(ids[0], 1006, false),
            ClientEv::Open(ids[1], None),
            ClientEv::Close(ids[1], Some(1000), String::new()),
            ClientEv::Closed(ids[1], 1000, true),
        ]
    );
}

/// `idle_timeout`: a silent peer gets a 1001 close after that long.
#[test]
fn idle_timeout_closes_a_silent_peer() {
    let served = serve({
        let mut config = quiet_config();
        config.idle_timeout = Some(SHORT);
        config
    });
    let opened = Instant::now();
    let mut silent = RawPeer::connect(served.addr(), "/silent");
    let close = silent.frame();
    assert_eq!(close.close_parts(), Some((1001, "idle timeout".into())));
    on_time(opened.elapsed(), SHORT, "the idle close");
    silent.send_close(1001, "");
    silent.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(sid, Some(1001), String::new()),
            Ev::Closed(sid, 1001, true)
        ]
    );
}

/// A peer that keeps talking is not idle: every message it sends pushes
/// the idle deadline back. (It talks every 50 ms for the timeout and half
/// a second more, when a deadline that was not pushed back would have
/// passed; the timeout is long enough that a loaded machine's scheduling
/// hiccups cannot open a gap of that size.)
#[test]
fn idle_timeout_spares_a_peer_that_keeps_talking() {
    let idle = Duration::from_millis(2500);
    let served = serve({
        let mut config = quiet_config();
        config.idle_timeout = Some(idle);
        config
    });
    let mut chatty = RawPeer::connect(served.addr(), "/chatty");
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < idle + Duration::from_millis(500) {
        let text = format!("msg {n}");
        chatty.send_text(&text);
        let echo = chatty.frame();
        assert_eq!(echo.opcode, 1, "got {echo:?} instead of an echo");
        assert_eq!(echo.payload, text.as_bytes());
        n += 1;
        // Pacing the conversation, not waiting for anything.
        std::thread::sleep(Duration::from_millis(50));
    }
    chatty.send_close(1000, "");
    assert_eq!(chatty.frame().close_parts(), Some((1000, String::new())));
    chatty.expect_eof();
    let seen = served.events.until_closed(None);
    assert!(matches!(seen.last(), Some(Ev::Closed(_, 1000, true))));
}
