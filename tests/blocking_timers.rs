//! The blocking adapter honours every timer of the core while it is
//! blocked in `read`: heartbeat pings and dead-peer detection (§5.5.2),
//! the idle timeout, the closing handshake timeout (§7.1.1) — and the
//! user's own read timeout on the stream keeps its meaning.
//!
//! Our client (`WebSocket<TcpStream>`) faces a raw server peer driven by
//! hand (`ws6455_test_support::peer::RawPeer`). A timer must fire, and not before its
//! configured value: every elapsed time is measured from a moment before
//! the timer could start, and the upper bound is generous ([`LATE`]), so
//! a loaded machine delays but does not fail these tests.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use ws6455::blocking::{Error, Incoming, Untimed, WebSocket};
use ws6455::proto::handshake::ClientRequest;
use ws6455::{CloseCode, Config};
use ws6455_test_support::loopback::*;

/// How much later than configured a timer may fire on a busy machine.
const LATE: Duration = Duration::from_secs(2);

/// How long a whole test may take before it counts as hung.
const WATCHDOG: Duration = Duration::from_secs(40);

// Each test runs under a watchdog: a regression that leaves `read`
// blocked fails its test instead of hanging the suite.
macro_rules! watched {
    ($($name:ident),* $(,)?) => {
        mod watched {
            $(
                #[test]
                fn $name() {
                    super::within(super::$name);
                }
            )*
        }
    };
}

watched!(
    heartbeat_ping_goes_out_while_blocked_in_read,
    unanswered_ping_ends_the_connection_after_pong_timeout,
    idle_timeout_closes_a_silent_connection,
    close_timeout_ends_read_against_a_silent_peer,
    slow_peer_within_close_timeout_closes_cleanly,
    user_read_timeout_is_kept_and_recoverable,
    non_blocking_stream_returns_would_block,
    untimed_stream_checks_timers_between_reads,
);

fn within(body: fn()) {
    let (tx, rx) = mpsc::channel();
    let test = thread::spawn(move || {
        body();
        let _ = tx.send(());
    });
    match rx.recv_timeout(WATCHDOG) {
        Ok(()) => {}
        Err(RecvTimeoutError::Disconnected) => {
            if let Err(panic) = test.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(RecvTimeoutError::Timeout) => panic!("hung for {WATCHDOG:?}"),
    }
}

const PING: u8 = 0x9;
const PONG: u8 = 0xA;
const CLOSE: u8 = 0x8;

/// Our client, connected to a raw server peer that answered the upgrade;
/// and an instant from before the handshake, which no timer precedes.
fn connect<S>(config: Config, wrap: impl FnOnce(TcpStream) -> S) -> (WebSocket<S>, RawPeer, Instant)
where
    S: std::io::Read + std::io::Write + ws6455::blocking::ReadTimeout,
{
    let (listener, addr) = raw_listener();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        RawPeer::accept(stream).0
    });
    let start = Instant::now();
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let request = ClientRequest::new(addr.to_string(), "/");
    let (ws, _) = WebSocket::client(wrap(stream), request, config).expect("handshake");
    let peer = server.join().expect("raw server");
    (ws, peer, start)
}

fn tcp(config: Config) -> (WebSocket<TcpStream>, RawPeer, Instant) {
    connect(config, |s| s)
}

/// What `read` returned on the client's thread, and when.
type Got = (Result<Incoming, Error>, Instant);

/// Call `read` on a thread of its own until it fails, reporting each
/// result, so the test can play the peer meanwhile.
fn read_on_thread(mut ws: WebSocket<TcpStream>) -> Receiver<Got> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || loop {
        let result = ws.read();
        let done = result.is_err();
        if tx.send((result, Instant::now())).is_err() || done {
            return;
        }
    });
    rx
}

fn next(reads: &Receiver<Got>) -> Got {
    reads
        .recv_timeout(MUST)
        .expect("read() returned nothing within MUST")
}

/// `elapsed` is at least `configured` and not much more.
fn on_time(what: &str, elapsed: Duration, configured: Duration) {
    assert!(
        elapsed >= configured,
        "{what} after {elapsed:?}, before its configured {configured:?}"
    );
    assert!(
        elapsed <= configured + LATE,
        "{what} only after {elapsed:?} (configured {configured:?})"
    );
    eprintln!("{what}: {elapsed:?} (configured {configured:?})");
}

/// The next frame from our client within `limit`.
fn frame_within(peer: &mut RawPeer, limit: Duration) -> Frame {
    match peer.try_frame(limit) {
        Ok(frame) => frame,
        Err(end) => panic!("expected a frame within {limit:?}, got {end:?}"),
    }
}

fn is_time_out(e: &Error) -> bool {
    matches!(e, Error::Io(io) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// A peer that says nothing but is alive gets a heartbeat ping while our
/// client sits in `read`; answering it keeps the connection up (and the
/// pong reaches the reader).
fn heartbeat_ping_goes_out_while_blocked_in_read() {
    let interval = Duration::from_millis(300);
    let (ws, mut peer, start) = tcp({
        let mut config = quiet_config();
        config.ping_interval = Some(interval);
        config.pong_timeout = Duration::from_secs(30);
        config
    });
    let reads = read_on_thread(ws);

    let ping = frame_within(&mut peer, interval + LATE);
    assert_eq!(ping.opcode, PING, "a ping, got {ping:?}");
    on_time("heartbeat ping", start.elapsed(), interval);

    peer.send_frame(true, PONG, &ping.payload);
    let (pong, _) = next(&reads);
    assert_eq!(pong.expect("the pong"), Incoming::Pong(ping.payload));
    peer.send_text("still here");
    let (text, _) = next(&reads);
    assert_eq!(
        text.expect("a message"),
        Incoming::Text("still here".into())
    );
}

/// A peer that never answers the ping is declared dead after
/// `pong_timeout`: it is told why (1001), and `read` reports an abnormal
/// closure (1006).
fn unanswered_ping_ends_the_connection_after_pong_timeout() {
    let interval = Duration::from_millis(300);
    let pong_timeout = Duration::from_millis(500);
    let (ws, mut peer, start) = tcp({
        let mut config = quiet_config();
        config.ping_interval = Some(interval);
        config.pong_timeout = pong_timeout;
        config
    });
    let reads = read_on_thread(ws);

    let ping = frame_within(&mut peer, interval + LATE);
    assert_eq!(ping.opcode, PING, "a ping, got {ping:?}");
    let (result, at) = next(&reads);
    match result {
        Err(Error::Closed { code, clean }) => {
            assert_eq!((code, clean), (CloseCode::ABNORMAL, false));
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    // The ping left at or after `interval`; the verdict may not come
    // before `pong_timeout` after it.
    on_time("dead peer", at - start, interval + pong_timeout);

    let close = frame_within(&mut peer, MUST);
    assert_eq!(close.close_parts(), Some((1001, "ping timeout".into())));
    peer.expect_eof();
}

/// After `idle_timeout` of silence our client closes with 1001; the peer
/// answers, and the closing handshake completes cleanly.
fn idle_timeout_closes_a_silent_connection() {
    let idle = Duration::from_millis(400);
    let (ws, mut peer, start) = tcp({
        let mut config = quiet_config();
        config.idle_timeout = Some(idle);
        config
    });
    let reads = read_on_thread(ws);

    let close = frame_within(&mut peer, idle + LATE);
    on_time("idle close", start.elapsed(), idle);
    assert_eq!(close.close_parts(), Some((1001, "idle timeout".into())));

    peer.send_close(1001, "");
    let (echo, _) = next(&reads);
    assert!(
        matches!(echo, Ok(Incoming::Close(Some(CloseCode::GOING_AWAY), _))),
        "the peer's close, got {echo:?}"
    );
    // §7.1.1: the server closes TCP first.
    drop(peer);
    let (end, _) = next(&reads);
    assert!(
        matches!(end, Err(Error::Closed { clean: true, .. })),
        "a clean close, got {end:?}"
    );
}

/// After `close()`, a peer that never answers does not keep `read`
/// blocked: it returns an abnormal closure once `close_timeout` passed.
fn close_timeout_ends_read_against_a_silent_peer() {
    let close_timeout = Duration::from_millis(300);
    let (mut ws, mut peer, _) = tcp({
        let mut config = quiet_config();
        config.close_timeout = close_timeout;
        config
    });
    let start = Instant::now();
    ws.close(CloseCode::NORMAL, "bye").expect("close");
    match ws.read() {
        Err(Error::Closed { code, clean }) => {
            assert_eq!((code, clean), (CloseCode::ABNORMAL, false));
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    on_time("close timeout", start.elapsed(), close_timeout);
    assert!(matches!(ws.read(), Err(Error::Closed { .. })));
    // The socket goes with the adapter.
    drop(ws);

    let close = frame_within(&mut peer, MUST);
    assert_eq!(close.close_parts(), Some((1000, "bye".into())));
    peer.expect_eof();
}

/// A peer that answers the close late, but within `close_timeout`, gets
/// a clean closing handshake.
fn slow_peer_within_close_timeout_closes_cleanly() {
    let close_timeout = Duration::from_secs(4);
    let delay = Duration::from_millis(400);
    let (mut ws, mut peer, _) = tcp({
        let mut config = quiet_config();
        config.close_timeout = close_timeout;
        config
    });
    let peer = thread::spawn(move || {
        let close = frame_within(&mut peer, MUST);
        assert_eq!(close.close_parts(), Some((1000, "bye".into())));
        thread::sleep(delay);
        peer.send_close(1000, "ok");
        // The server closes TCP after the handshake (§7.1.1).
    });
    let start = Instant::now();
    ws.close(CloseCode::NORMAL, "bye").expect("close");
    assert_eq!(
        ws.read().expect("the peer's close"),
        Incoming::Close(Some(CloseCode::NORMAL), "ok".into())
    );
    match ws.read() {
        Err(Error::Closed { code, clean }) => assert_eq!((code, clean), (CloseCode::NORMAL, true)),
        other => panic!("expected a clean close, got {other:?}"),
    }
    let took = start.elapsed();
    assert!(
        took >= delay,
        "closed after {took:?}, before the peer answered"
    );
    eprintln!("slow peer: closed cleanly after {took:?}");
    peer.join().expect("peer");
}

/// A read timeout the user set on the stream is a budget per `read`
/// call: it expires as `WouldBlock`/`TimedOut`, the connection survives,
/// the core's shorter timers still fire inside it, and the stream holds
/// the user's timeout again afterwards.
fn user_read_timeout_is_kept_and_recoverable() {
    let interval = Duration::from_millis(150);
    let budget = Duration::from_millis(600);
    let (mut ws, mut peer, _) = tcp({
        let mut config = quiet_config();
        config.ping_interval = Some(interval);
        config.pong_timeout = Duration::from_secs(30);
        config
    });
    ws.get_ref()
        .set_read_timeout(Some(budget))
        .expect("timeout");

    let start = Instant::now();
    let result = ws.read();
    assert!(
        result.as_ref().is_err_and(is_time_out),
        "the user's timeout, got {result:?}"
    );
    on_time("user read timeout", start.elapsed(), budget);
    assert_eq!(ws.get_ref().read_timeout().expect("timeout"), Some(budget));

    // The heartbeat fired inside the user's budget.
    let ping = frame_within(&mut peer, MUST);
    assert_eq!(ping.opcode, PING, "a ping, got {ping:?}");
    peer.send_frame(true, PONG, &[]);
    peer.send_text("after the timeout");
    loop {
        match ws.read().expect("the connection is still up") {
            Incoming::Text(t) => break assert_eq!(t, "after the timeout"),
            Incoming::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A stream in non-blocking mode makes `read` return `WouldBlock` at once
/// instead of spinning until the next deadline; the connection survives.
fn non_blocking_stream_returns_would_block() {
    let (mut ws, mut peer, _) = tcp({
        let mut config = quiet_config();
        config.ping_interval = Some(Duration::from_secs(5));
        config
    });
    ws.get_ref().set_nonblocking(true).expect("non-blocking");
    let start = Instant::now();
    let result = ws.read();
    assert!(
        result.as_ref().is_err_and(is_time_out),
        "WouldBlock, got {result:?}"
    );
    assert!(start.elapsed() < LATE, "took {:?}", start.elapsed());

    ws.get_ref().set_nonblocking(false).expect("blocking");
    peer.send_text("hello");
    assert_eq!(ws.read().expect("message"), Incoming::Text("hello".into()));
}

/// A stream that cannot time out still works; its timers are checked
/// between reads: the close timeout that passed while `read` waited is
/// noticed when the next bytes arrive.
fn untimed_stream_checks_timers_between_reads() {
    let close_timeout = Duration::from_millis(300);
    let (mut ws, mut peer, _) = connect(
        {
            let mut config = quiet_config();
            config.close_timeout = close_timeout;
            config
        },
        Untimed,
    );
    peer.send_text("hello");
    assert_eq!(ws.read().expect("message"), Incoming::Text("hello".into()));

    let start = Instant::now();
    ws.close(CloseCode::NORMAL, "bye").expect("close");
    let late = close_timeout * 2;
    let peer = thread::spawn(move || {
        let close = frame_within(&mut peer, MUST);
        assert_eq!(close.opcode, CLOSE);
        thread::sleep(late);
        peer.send_text("too late");
        peer
    });
    match ws.read() {
        Err(Error::Closed { code, clean }) => {
            assert_eq!((code, clean), (CloseCode::ABNORMAL, false));
        }
        other => panic!("expected Closed, got {other:?}"),
    }
    let took = start.elapsed();
    assert!(
        took >= late,
        "closed after {took:?}: timed without a timeout?"
    );
    drop(peer.join().expect("peer"));
}
