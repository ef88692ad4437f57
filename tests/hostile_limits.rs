//! One client trying to hold every connection (RFC 6455 §10.4): the
//! connection limits refuse what is over them — 503 with `Retry-After` at
//! the upgrade request, or a TCP close at accept for handshakes beyond
//! their limit — count and log it, and everyone else keeps being served.
//!
//! The flood comes from 127.0.0.1 and the bystander from 127.0.0.2: both
//! are loopback addresses, so on Linux the second is a different client
//! address without any network setup.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use ws6455::{ConnectionLimits, RunningServer, Server};
use ws6455_test_support::handshake::upgrade_request;
use ws6455_test_support::interop::serve_with;
use ws6455_test_support::peer::RawPeer;
use ws6455_test_support::server::Echo;
use ws6455_test_support::{wait_until, MUST};

/// How one connection attempt ended.
#[derive(Debug)]
enum Attempt {
    /// Upgraded; the stream is kept open to hold the slot.
    Open(TcpStream),
    /// Answered with this HTTP status (503 expected).
    Refused(u16),
    /// Closed (or reset) before any answer.
    Closed,
}

/// A TCP connection to `addr` from the loopback address `source`.
fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let from: SocketAddr = format!("{source}:0").parse().expect("source address");
    socket.bind(&from.into()).expect("bind the source address");
    socket.connect(&addr.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(MUST)).expect("timeout");
    stream.set_write_timeout(Some(MUST)).expect("timeout");
    stream
}

/// Connect from 127.0.0.1, ask for an upgrade and read the answer's head.
fn attempt(addr: SocketAddr) -> Attempt {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return Attempt::Closed;
    };
    stream.set_read_timeout(Some(MUST)).expect("timeout");
    if stream
        .write_all(upgrade_request(addr, "/").as_bytes())
        .is_err()
    {
        return Attempt::Closed;
    }
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => return Attempt::Closed,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut => {
                panic!("no answer within {MUST:?}: a refusal must be quick")
            }
            Err(_) => return Attempt::Closed,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    if status == 101 {
        return Attempt::Open(stream);
    }
    assert!(
        head.contains("Retry-After: 1"),
        "a 503 says when to retry: {head}"
    );
    Attempt::Refused(status)
}

/// What a flood of attempts found.
#[derive(Default)]
struct Flood {
    open: Mutex<Vec<TcpStream>>,
    refused_503: AtomicUsize,
    closed: AtomicUsize,
    slowest: Mutex<Duration>,
}

/// `total` attempts from 127.0.0.1 on `threads` threads; the upgraded
/// streams stay open (in the result) until it is dropped.
fn flood(addr: SocketAddr, total: usize, threads: usize, started: &AtomicUsize) -> Flood {
    let flood = Flood::default();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                if started.fetch_add(1, Ordering::SeqCst) >= total {
                    return;
                }
                let began = Instant::now();
                let outcome = attempt(addr);
                let took = began.elapsed();
                match outcome {
                    Attempt::Open(stream) => flood.open.lock().unwrap().push(stream),
                    Attempt::Refused(503) => {
                        flood.refused_503.fetch_add(1, Ordering::SeqCst);
                    }
                    Attempt::Refused(other) => panic!("refused with {other}, not 503"),
                    Attempt::Closed => {
                        flood.closed.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let mut slowest = flood.slowest.lock().unwrap();
                *slowest = (*slowest).max(took);
            });
        }
    });
    flood
}

/// While `running`, connect from 127.0.0.2 and echo a message again and
/// again; returns the round trips (connect + upgrade + echo), each bounded
/// by the peer's [`MUST`] timeouts.
fn bystander(addr: SocketAddr, running: &AtomicBool) -> Vec<Duration> {
    let mut trips = Vec::new();
    while running.load(Ordering::SeqCst) || trips.is_empty() {
        let began = Instant::now();
        let mut peer = RawPeer::handshake(connect_from("127.0.0.2", addr), addr, "/");
        peer.send_text("still here");
        let (_, echoed, _) = peer.message();
        assert_eq!(echoed, b"still here");
        trips.push(began.elapsed());
        peer.send_close(1000, "");
        std::thread::sleep(Duration::from_millis(20));
    }
    trips
}

#[test]
fn five_thousand_attempts_from_one_address_let_a_hundred_in_and_others_still_echo() {
    let mut serve = serve_with("127.0.0.1:0", &["--max-connections-per-ip", "100"]);
    let addr = serve.addr;
    assert!(
        serve.proc.stderr().contains("at most 100 per client"),
        "{}",
        serve.proc.stderr()
    );
    let started = AtomicUsize::new(0);
    let running = AtomicBool::new(true);
    let (flood, trips) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            // Start once the flood is under way.
            while started.load(Ordering::SeqCst) < 300 {
                std::thread::sleep(Duration::from_millis(1));
            }
            bystander(addr, &running)
        });
        let flood = flood(addr, 5_000, 16, &started);
        running.store(false, Ordering::SeqCst);
        (flood, watcher.join().unwrap())
    });
    let open = flood.open.lock().unwrap().len();
    let refused = flood.refused_503.load(Ordering::SeqCst);
    let closed = flood.closed.load(Ordering::SeqCst);
    let slowest = *flood.slowest.lock().unwrap();
    let worst_trip = trips.iter().max().copied().unwrap_or_default();
    println!(
        "5,000 attempts: {open} open, {refused} refused 503, {closed} closed; slowest attempt {slowest:?}; \
         127.0.0.2 echoed {} times during the flood, slowest round trip {worst_trip:?}",
        trips.len()
    );
    assert_eq!(open, 100, "exactly the limit gets in");
    assert_eq!(refused, 4_900, "every other attempt hears 503");
    assert_eq!(
        closed, 0,
        "no handshake limit was set: nothing closed unanswered"
    );
    assert!(trips.len() >= 2, "the bystander echoed during the flood");
    // A slot freed is a slot another connection from the address may take.
    drop(flood);
    wait_until(
        MUST,
        "a new connection from 127.0.0.1 once the others left",
        || matches!(attempt(addr), Attempt::Open(_)),
    );
    serve.proc.terminate();
    assert!(
        serve.proc.wait_exit().success(),
        "serve did not stop cleanly"
    );
    let log = serve.proc.stderr();
    assert!(log.contains("over connection limit: 49"), "{log}");
    let counted: u64 = log
        .lines()
        .find_map(|l| l.split("over connection limit: ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{log}"));
    // 4,900 in the flood, and the retries of `wait_until` that came
    // before the last 100 connections were gone.
    assert!(counted >= 4_900, "{counted} counted:\n{log}");
    let lines = log.lines().filter(|l| l.contains("refused 503")).count();
    assert!(
        lines < 100,
        "a flood of refusals is a line a second, not one each: {lines} lines"
    );
}

/// An in-process echo server on a free loopback port with `limits`.
fn echo_server_with(limits: ConnectionLimits) -> RunningServer {
    Server::new()
        .limits(limits)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo)
}

#[test]
fn handshakes_beyond_their_limit_are_closed_at_accept_and_others_still_served() {
    let server = echo_server_with(ConnectionLimits::none().max_handshakes_per_client(5));
    let addr = server.local_addr();
    // Five slowloris sockets that never send their request.
    let idle: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    wait_until(MUST, "the sixth from that address closed unread", || {
        let mut sixth = TcpStream::connect(addr).expect("connect");
        sixth.set_read_timeout(Some(MUST)).expect("timeout");
        let mut byte = [0u8; 1];
        matches!(sixth.read(&mut byte), Ok(0) | Err(_))
    });
    assert!(server.handle().refusals().over_limit >= 1);
    // Another address is not affected, and neither is a finished handshake.
    let mut peer = RawPeer::handshake(connect_from("127.0.0.2", addr), addr, "/");
    peer.send_text("hello");
    assert_eq!(peer.message().1, b"hello");
    // When the idle ones go, the address may connect again.
    drop(idle);
    wait_until(MUST, "127.0.0.1 served again", || {
        matches!(attempt(addr), Attempt::Open(_))
    });
    server.stop().expect("stop");
}

#[test]
fn the_total_limit_refuses_every_address_with_503_and_frees_on_close() {
    let server = echo_server_with(ConnectionLimits::none().max_connections(3));
    let addr = server.local_addr();
    let held: Vec<Attempt> = (0..3).map(|_| attempt(addr)).collect();
    assert!(
        held.iter().all(|a| matches!(a, Attempt::Open(_))),
        "{held:?}"
    );
    let mut other = RawPeer::new(connect_from("127.0.0.2", addr), true);
    other.send(upgrade_request(addr, "/").as_bytes());
    let answer = other.expect_refusal("HTTP/1.1 503 Service Unavailable");
    assert_eq!(answer.header("retry-after"), vec!["1"]);
    assert_eq!(server.handle().refusals().over_limit, 1);
    drop(held);
    wait_until(MUST, "a slot free again", || {
        matches!(attempt(addr), Attempt::Open(_))
    });
    server.stop().expect("stop");
}
