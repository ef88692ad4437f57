//! Every way a connection ends (RFC 6455 §7): the client closes, the
//! server closes, both close at once, a peer drops TCP without a close
//! frame, a close carries a reason, and the server shuts down gracefully.
//! Each is checked from both ends: the callbacks our client and server
//! see, and what a hand-written peer sees on the wire.

use std::net::TcpStream;
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ws6455::blocking::Error as WsError;
use ws6455::{CloseCode, Config, UsageError};
use ws6455::{ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::loopback::*;

/// A close timeout the test must beat with its answer: long, so that a
/// test thread left unscheduled for a while on a loaded machine still
/// answers in time.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// "Idle for longer than `close_timeout`": had the close timer counted
/// from the last thing heard, it would already have run out.
const LONG_IDLE: Duration = Duration::from_millis(2500);

/// How late the close timer may fire on a loaded machine.
const LATE: Duration = Duration::from_secs(5);

/// A server that never times a close handshake out within a test, so a
/// prompt TCP close can only come from the protocol, not from a timer.
fn patient() -> Config {
    {
        let mut config = quiet_config();
        config.close_timeout = Duration::from_secs(60);
        config
    }
}

fn connect_one(url: String) -> Vec<(String, ConnectOptions)> {
    vec![(url, ConnectOptions::default())]
}

#[test]
fn client_initiated_close() {
    let served = serve(patient());
    let (rec, ids) = run_client(
        quiet_config(),
        connect_one(served.url("/c")),
        Recorder::new(|ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                ctx.close(id, CloseCode::NORMAL, "client bye")
                    .expect("close");
            }
        }),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            // §5.5.1: the server echoes the status code.
            ClientEv::Close(id, Some(1000), String::new()),
            ClientEv::Closed(id, 1000, true),
        ]
    );
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[1..],
        [
            Ev::Open(sid),
            Ev::Close(sid, Some(1000), "client bye".into()),
            Ev::Closed(sid, 1000, true),
        ]
    );
}

/// On the wire: after echoing the client's close the server closes TCP
/// itself (§7.1.1), at once rather than after its close timeout.
#[test]
fn client_initiated_close_on_the_wire() {
    let served = serve(patient());
    let mut peer = RawPeer::connect(served.addr(), "/c");
    peer.send_close(1000, "bye");
    let echo = peer.frame();
    assert!(!echo.masked);
    assert_eq!(echo.close_parts(), Some((1000, String::new())));
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(sid, Some(1000), "bye".into()),
            Ev::Closed(sid, 1000, true)
        ]
    );
}

/// An empty close frame (no status code) is reported as 1005 (§7.1.5)
/// and answered with an empty close.
#[test]
fn close_without_status_code_is_1005() {
    let served = serve(patient());
    let mut peer = RawPeer::connect(served.addr(), "/c");
    peer.send_frame(true, 8, &[]);
    assert_eq!(peer.frame().close_parts(), None);
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(sid, None, String::new()),
            Ev::Closed(sid, 1005, true)
        ]
    );
}

#[test]
fn server_initiated_close() {
    let served = serve(quiet_config());
    let (rec, ids) = run_client(
        quiet_config(),
        connect_one(served.url("/s")),
        Recorder::new(|ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                ctx.send_text(id, "cmd:close:4000:server bye")
                    .expect("send");
            }
        }),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            ClientEv::Close(id, Some(4000), "server bye".into()),
            ClientEv::Closed(id, 4000, true),
        ]
    );
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[1..],
        [
            Ev::Open(sid),
            Ev::Text(sid, "cmd:close:4000:server bye".into()),
            // The client's answer is a close frame too.
            Ev::Close(sid, Some(4000), String::new()),
            Ev::Closed(sid, 4000, true),
        ]
    );
}

#[test]
fn server_initiated_close_on_the_wire() {
    let served = serve(patient());
    let mut peer = RawPeer::connect(served.addr(), "/s");
    peer.send_text("cmd:close:4000:server bye");
    assert_eq!(
        peer.frame().close_parts(),
        Some((4000, "server bye".into()))
    );
    peer.send_close(4000, "answer");
    // The server ends the TCP connection as soon as the handshake is done.
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[3..],
        [
            Ev::Close(sid, Some(4000), "answer".into()),
            Ev::Closed(sid, 4000, true)
        ]
    );
}

/// Both ends send a close before seeing the other's (§7.1.2 allows it):
/// neither answers the other's close with a second one, and both report
/// a clean close with the code they received.
#[test]
fn both_close_at_once() {
    let served = serve(quiet_config());
    let (rec, ids) = run_client(
        quiet_config(),
        connect_one(served.url("/close-on-open")),
        Recorder::new(|ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                // The server's close is already on its way.
                ctx.close(id, CloseCode(4002), "client first")
                    .expect("close");
            }
        }),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            ClientEv::Close(id, Some(4001), "server first".into()),
            ClientEv::Closed(id, 4001, true),
        ]
    );
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[1..],
        [
            Ev::Open(sid),
            Ev::Close(sid, Some(4002), "client first".into()),
            Ev::Closed(sid, 4002, true),
        ]
    );
}

/// The raw version: the client's close is pipelined right behind its
/// upgrade request, so it crosses the server's close for sure. Exactly one
/// close frame comes back, then TCP closes.
#[test]
fn both_close_at_once_on_the_wire() {
    let served = serve(patient());
    let mut peer = RawPeer::new(TcpStream::connect(served.addr()).expect("connect"), true);
    let mut bytes = upgrade_request(served.addr(), "/close-on-open").into_bytes();
    bytes.extend(wire::encode(
        true,
        0,
        8,
        &close_payload(4002, "client first"),
        Some([1, 2, 3, 4]),
    ));
    peer.send(&bytes);
    assert!(peer.read_head_text().starts_with("HTTP/1.1 101 "));
    assert_eq!(
        peer.frame().close_parts(),
        Some((4001, "server first".into()))
    );
    peer.expect_eof();
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(sid, Some(4002), "client first".into()),
            Ev::Closed(sid, 4002, true),
        ]
    );
}

/// A client that vanishes without a close frame: 1006, unclean (§7.1.5),
/// whether it was idle or in the middle of a frame.
#[test]
fn client_drops_tcp_without_close() {
    let served = serve(quiet_config());
    let peer = RawPeer::connect(served.addr(), "/drop");
    drop(peer);
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(seen[1..], [Ev::Open(sid), Ev::Closed(sid, 1006, false)]);

    let mut peer = RawPeer::connect(served.addr(), "/drop-mid-frame");
    let frame = wire::encode(true, 0, 2, &[9u8; 100], Some([1, 2, 3, 4]));
    peer.send(&frame[..50]);
    drop(peer);
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(seen[1..], [Ev::Open(sid), Ev::Closed(sid, 1006, false)]);
}

/// A server that vanishes without a close frame: our clients report 1006.
#[test]
fn server_drops_tcp_without_close() {
    let (listener, addr) = raw_listener();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (stream, _) = listener.accept().expect("accept");
            let (peer, _) = RawPeer::accept(stream);
            drop(peer);
        }
    });
    let (rec, ids) = run_client(
        quiet_config(),
        connect_one(format!("ws://{addr}/")),
        Recorder::passive(),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [ClientEv::Open(id, None), ClientEv::Closed(id, 1006, false)]
    );

    let (mut ws, _) =
        WebSocket::connect(&format!("ws://{addr}/"), &ConnectOptions::default()).expect("connect");
    ws.get_ref()
        .set_read_timeout(Some(MUST))
        .expect("read timeout");
    match ws.read() {
        Err(WsError::Closed { code, clean }) => {
            assert_eq!((code, clean), (CloseCode::ABNORMAL, false));
        }
        other => panic!("expected an abnormal closure, got {other:?}"),
    }
    server.join().expect("raw server");
}

/// Reasons up to 123 bytes travel both ways intact (§5.5: 125 bytes of
/// payload minus the code); longer ones and codes that may not be sent
/// (§7.4.1: 1005) are refused without touching the connection; nothing
/// may be sent after our close (§5.5.1).
#[test]
fn close_reasons_and_their_limits() {
    let served = serve(quiet_config());
    // 61 two-byte characters and one more byte: exactly 123 bytes.
    let longest = format!("{}a", "é".repeat(61));
    assert_eq!(longest.len(), 123);
    let too_long = "é".repeat(62);
    let (l, t) = (longest.clone(), too_long.clone());
    let (rec, ids) = run_client(
        quiet_config(),
        connect_one(served.url("/reasons")),
        Recorder::new(move |ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                assert_eq!(
                    ctx.close(id, CloseCode::NO_STATUS, ""),
                    Err(UsageError::InvalidCloseCode(1005))
                );
                assert_eq!(
                    ctx.close(id, CloseCode(4000), &t),
                    Err(UsageError::CloseReasonTooLong)
                );
                ctx.close(id, CloseCode(4000), &l).expect("close");
                assert_eq!(ctx.send_text(id, "late"), Err(UsageError::Closed));
                assert_eq!(
                    ctx.close(id, CloseCode::NORMAL, ""),
                    Err(UsageError::Closed)
                );
            }
        }),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            ClientEv::Close(id, Some(4000), String::new()),
            ClientEv::Closed(id, 4000, true),
        ]
    );
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(sid, Some(4000), longest.clone()),
            Ev::Closed(sid, 4000, true)
        ]
    );

    // And from the server, through a raw peer.
    let mut peer = RawPeer::connect(served.addr(), "/reasons");
    peer.send_text(&format!("cmd:close:4003:{longest}"));
    assert_eq!(peer.frame().close_parts(), Some((4003, longest)));
    peer.send_close(4003, "");
    peer.expect_eof();
}

/// `RunningServer::stop()`: every client gets a 1001 close, the closing
/// handshakes complete, `run` returns, and the port stops accepting.
#[test]
fn graceful_shutdown_closes_every_client_with_1001() {
    let Served {
        server,
        events,
        stats,
    } = serve(quiet_config());
    let addr = server.local_addr();
    let url = format!("ws://{addr}/bye");

    let mut blocking: Vec<_> = (0..3)
        .map(|i| {
            let (mut ws, _) =
                WebSocket::connect(&url, &ConnectOptions::default()).expect("connect");
            ws.get_ref()
                .set_read_timeout(Some(MUST))
                .expect("read timeout");
            ws.send_text(&format!("hi {i}")).expect("send");
            assert_eq!(ws.read().expect("echo"), Incoming::Text(format!("hi {i}")));
            ws
        })
        .collect();
    let looped = std::thread::spawn({
        let url = url.clone();
        move || {
            run_client(
                quiet_config(),
                vec![
                    (url.clone(), ConnectOptions::default()),
                    (url, ConnectOptions::default()),
                ],
                Recorder::passive(),
            )
        }
    });
    wait_until(MUST, "5 open connections", || {
        stats.opened.load(Ordering::SeqCst) == 5
    });

    let (stopped_tx, stopped_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop());
    });

    for ws in &mut blocking {
        assert_eq!(
            ws.read().expect("the server's close"),
            Incoming::Close(Some(CloseCode::GOING_AWAY), "server shutting down".into())
        );
        match ws.read() {
            Err(WsError::Closed { code, clean }) => {
                assert_eq!((code, clean), (CloseCode::GOING_AWAY, true));
            }
            other => panic!("expected the end of the connection, got {other:?}"),
        }
    }
    let (rec, ids) = looped.join().expect("client loop");
    for id in ids {
        assert_eq!(
            rec.of(id),
            [
                ClientEv::Open(id, None),
                ClientEv::Close(id, Some(1001), "server shutting down".into()),
                ClientEv::Closed(id, 1001, true),
            ]
        );
    }
    stopped_rx
        .recv_timeout(MUST)
        .expect("stop() returned")
        .expect("the server ran without error");

    // The handler heard about the shutdown before the closes completed.
    let seen = events.drain();
    let shutdown_at = seen
        .iter()
        .position(|e| *e == Ev::Shutdown)
        .expect("on_shutdown");
    let closed: Vec<_> = seen
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Ev::Closed(..)))
        .collect();
    assert_eq!(closed.len(), 5);
    for (at, ev) in closed {
        assert!(at > shutdown_at);
        assert!(matches!(ev, Ev::Closed(_, 1001, true)), "{ev:?}");
    }
    assert!(
        TcpStream::connect(addr).is_err(),
        "the listener is closed after stop()"
    );
}

/// A client that never answers the shutdown close is dropped after the
/// close timeout, and `stop()` returns then.
#[test]
fn shutdown_gives_up_on_a_silent_client_after_close_timeout() {
    let close_timeout = Duration::from_millis(300);
    let Served { server, events, .. } = serve({
        let mut config = quiet_config();
        config.close_timeout = close_timeout;
        config
    });
    // The loop reads its clock once per turn, and the turn that sees the
    // stop request may have begun before `stop()` was called; it began
    // after this connection's request was written, though.
    let started = Instant::now();
    let mut peer = RawPeer::connect(server.local_addr(), "/silent");
    events.wait("open", |e| matches!(e, Ev::Open(_)));

    let (stopped_tx, stopped_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop());
    });
    assert_eq!(
        peer.frame().close_parts(),
        Some((1001, "server shutting down".into()))
    );
    peer.expect_eof();
    stopped_rx
        .recv_timeout(MUST)
        .expect("stop() returned")
        .expect("the server ran without error");
    assert!(
        started.elapsed() >= close_timeout,
        "the server waited for the close handshake"
    );
    assert!(
        started.elapsed() <= close_timeout + LATE,
        "the server gave up soon after close_timeout"
    );
    let seen = events.until_closed(None);
    assert!(matches!(seen.last(), Some(Ev::Closed(_, 1006, false))));
}

/// A connection still in its opening handshake does not hold shutdown up:
/// it is dropped at once, while open ones get their 1001.
#[test]
fn shutdown_drops_connections_still_in_their_handshake() {
    let Served { server, events, .. } = serve({
        let mut config = quiet_config();
        config.handshake_timeout = Duration::from_secs(60);
        config.close_timeout = Duration::from_secs(60);
        config
    });
    let addr = server.local_addr();
    let mut half = RawPeer::new(TcpStream::connect(addr).expect("connect"), true);
    half.send(b"GET /half HTTP/1.1\r\nHost: x\r\n");
    // Accepted after `half` (the backlog is first in, first out), so once
    // it is open the loop holds `half` too.
    let mut full = RawPeer::connect(addr, "/full");
    events.wait("open", |e| matches!(e, Ev::Open(_)));

    let started = Instant::now();
    let (stopped_tx, stopped_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop());
    });
    half.expect_eof();
    assert_eq!(
        full.frame().close_parts(),
        Some((1001, "server shutting down".into()))
    );
    full.send_close(1001, "");
    full.expect_eof();
    stopped_rx
        .recv_timeout(MUST)
        .expect("stop() returned")
        .expect("the server ran without error");
    assert!(
        started.elapsed() < MUST,
        "stop() must not wait for the 60 s timers"
    );
}

/// A connection closed from elsewhere (another connection's callback, or
/// shutdown) after being idle for longer than `close_timeout` still gets
/// the whole `close_timeout` to answer: the close timer starts when the
/// close is sent, not when the connection last heard from its peer.
#[test]
fn closing_a_long_idle_connection_from_another_callback_waits_for_its_answer() {
    let served = serve({
        let mut config = quiet_config();
        config.close_timeout = ANSWER_WITHIN;
        config
    });
    let mut idle = RawPeer::connect(served.addr(), "/idle");
    let first = served.events.wait("open", |e| matches!(e, Ev::Open(_)));
    // The scenario is "idle for a while": only time passing can set it up.
    std::thread::sleep(LONG_IDLE);
    let mut boss = RawPeer::connect(served.addr(), "/boss");
    boss.send_text("cmd:close-others:4004:not you");
    assert_eq!(idle.frame().close_parts(), Some((4004, "not you".into())));
    idle.send_close(4004, "");
    idle.expect_eof();
    let closed = served
        .events
        .wait("closed", |e| matches!(e, Ev::Closed(..)));
    assert_eq!(closed, Ev::Closed(first.id().expect("id"), 4004, true));
    boss.send_close(1000, "");
    assert_eq!(boss.frame().close_parts(), Some((1000, String::new())));
    boss.expect_eof();
}

/// The same for the 1001 that a graceful shutdown sends.
#[test]
fn shutdown_after_a_long_idle_waits_for_the_answers() {
    let Served { server, events, .. } = serve({
        let mut config = quiet_config();
        config.close_timeout = ANSWER_WITHIN;
        config
    });
    let mut idle = RawPeer::connect(server.local_addr(), "/idle");
    events.wait("open", |e| matches!(e, Ev::Open(_)));
    // The scenario is "idle for a while": only time passing can set it up.
    std::thread::sleep(LONG_IDLE);
    let (stopped_tx, stopped_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(server.stop());
    });
    assert_eq!(
        idle.frame().close_parts(),
        Some((1001, "server shutting down".into()))
    );
    idle.send_close(1001, "");
    idle.expect_eof();
    stopped_rx
        .recv_timeout(MUST)
        .expect("stop() returned")
        .expect("the server ran without error");
    let closed = events.wait("closed", |e| matches!(e, Ev::Closed(..)));
    assert!(matches!(closed, Ev::Closed(_, 1001, true)), "{closed:?}");
}

/// The blocking client too: closing after a long quiet spell still waits
/// `close_timeout` for the server's answer (which comes at once).
#[test]
fn blocking_client_closing_after_a_long_idle_closes_cleanly() {
    let served = serve(quiet_config());
    let stream = TcpStream::connect(served.addr()).expect("connect");
    stream.set_read_timeout(Some(MUST)).expect("read timeout");
    let request = ws6455::proto::ClientRequest::new(served.addr().to_string(), "/idle");
    let config = {
        let mut config = quiet_config();
        config.close_timeout = ANSWER_WITHIN;
        config
    };
    let (mut ws, _) = WebSocket::client(stream, request, config).expect("handshake");
    // The scenario is "idle for a while": only time passing can set it up.
    std::thread::sleep(LONG_IDLE);
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert_eq!(
        ws.read().expect("the server's answer"),
        Incoming::Close(Some(CloseCode::NORMAL), String::new())
    );
    match ws.read() {
        Err(WsError::Closed { code, clean }) => {
            assert_eq!((code, clean), (CloseCode::NORMAL, true));
        }
        other => panic!("expected a clean end, got {other:?}"),
    }
}
