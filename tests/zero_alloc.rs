//! Steady-state echo allocates nothing: a counting global allocator
//! watches the in-memory core pair and the real mio server while they echo
//! thousands of messages, from 20 B to 64 KiB (past the size where the
//! server writes a message straight from its receive buffer with one
//! `writev` instead of queueing it), and 1 MiB messages whole and in
//! fragments (their grown buffers stay pooled while such messages flow).
//! Broadcast allocates only the shared message: a server that sends every
//! message it receives to 24 raw TCP subscribers with `ctx.broadcast`
//! makes one allocation per message (the `PreparedMessage`'s buffer), not
//! one per subscriber.
//!
//! One test function on purpose: the allocator counts the whole process,
//! so nothing else may run beside the measurement.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use ws6455::Timestamp;
use ws6455_test_support::server::Echo;

use ws6455::proto::encode::{push_frame, push_message};
use ws6455::proto::handshake::Request;
use ws6455::proto::{ClientRequest, Config, Connection, Event, OpCode, PreparedMessage};
use ws6455::{ConnId, Ctx, Decision, Handler, Message, Server};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator with the caller's
// arguments unchanged; counting touches only an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::SeqCst)
}

/// The longest one echo may take for a run of them to count as a steady
/// stream: the event loop gives its spare buffers back once a second
/// passes without traffic (`LoopCore::trim_idle_pool`), and the next
/// message then allocates them again — by design. On a loaded machine the
/// test thread can stall that long, so such a run proves nothing.
const STEADY_GAP: std::time::Duration = std::time::Duration::from_millis(500);

/// Watches a stream of echoes for a stall: [`STEADY_GAP`] or more from
/// the end of one echo to the end of the next.
struct Pace(std::time::Instant);

impl Pace {
    /// Runs one echo; `None` if the stream stalled.
    fn echo(&mut self, f: impl FnOnce()) -> Option<()> {
        f();
        let gap = self.0.elapsed();
        self.0 = std::time::Instant::now();
        (gap < STEADY_GAP).then_some(())
    }
}

/// Allocations made during `run`, a stream of echoes paced by the given
/// [`Pace`], which gives `None` when the stream stalled: that run is
/// repeated (up to 5 times), since a stalled stream is not the steady
/// state this measures. Allocations during a run without a stall are
/// returned as they are.
fn steady_allocations(mut run: impl FnMut(&mut Pace) -> Option<()>) -> usize {
    for _ in 0..5 {
        let mut pace = Pace(std::time::Instant::now());
        let before = allocations();
        if run(&mut pace).is_some() {
            return allocations() - before;
        }
    }
    panic!("every run stalled for {STEADY_GAP:?}: the machine is too busy to measure");
}

fn pump(from: &mut Connection, to: &mut Connection) {
    loop {
        let n = {
            let out = from.pending_output();
            if out.is_empty() {
                return;
            }
            to.recv(out);
            out.len()
        };
        from.consume_output(n);
    }
}

fn core_pair() -> (Connection, Connection) {
    let config = Arc::new(Config::default());
    let now = Timestamp::ZERO;
    let mut c = Connection::client(config.clone(), ClientRequest::new("h", "/"), [3; 32], now);
    let mut s = Connection::server(config, now);
    pump(&mut c, &mut s);
    while let Some(ev) = s.poll_event() {
        if matches!(ev, Event::Request(_)) {
            break;
        }
    }
    s.accept(now, None, &[]).unwrap();
    pump(&mut s, &mut c);
    while c.poll_event().is_some() {}
    (c, s)
}

fn core_echo(c: &mut Connection, s: &mut Connection, text: &str) {
    c.send_text(text).unwrap();
    pump(c, s);
    while let Some((event, mut sender)) = s.poll_event_with_sender() {
        if let Event::Text(t) = event {
            sender.send_text(t).unwrap();
        }
    }
    pump(s, c);
    let mut got = 0;
    while let Some(event) = c.poll_event() {
        if let Event::Text(t) = event {
            got += t.len();
        }
    }
    assert_eq!(got, text.len());
}

/// A client that allocates nothing per message: pre-encoded frames out,
/// a fixed buffer in.
fn raw_echo(stream: &mut TcpStream, frame: &[u8], expect: usize, buf: &mut [u8]) {
    stream.write_all(frame).unwrap();
    let mut got = 0;
    while got < expect {
        let n = stream.read(&mut buf[got..expect]).unwrap();
        assert!(n > 0, "server closed");
        got += n;
    }
}

/// Sends every message from `/publish` to every other connection, encoded
/// once (as examples/fanout_server.rs does).
struct Fanout {
    publisher: Option<ConnId>,
    subscribers: Vec<ConnId>,
}

/// The broadcast's frames: 64 KiB messages go out as four frames.
const FRAGMENT: usize = 16 << 10;

impl Handler for Fanout {
    fn on_request(&mut self, _: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        if request.path() == "/publish" {
            self.publisher = Some(id);
        } else {
            self.subscribers.push(id);
        }
        Decision::accept()
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if self.publisher != Some(id) {
            return;
        }
        let prepared = match message {
            Message::Text(t) => PreparedMessage::text(t, FRAGMENT),
            Message::Binary(b) => PreparedMessage::binary(b, FRAGMENT),
        };
        let took = ctx.broadcast(self.subscribers.iter().copied(), &prepared);
        assert_eq!(took, self.subscribers.len(), "every subscriber took it");
    }
}

/// A raw TCP WebSocket client on `path`, its opening handshake done.
fn raw_client(addr: std::net::SocketAddr, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    stream
}

/// The publisher sends `frame`; every subscriber reads `expected`.
fn raw_broadcast(
    publisher: &mut TcpStream,
    subscribers: &mut [TcpStream],
    frame: &[u8],
    expected: &[u8],
    buf: &mut [u8],
) {
    publisher.write_all(frame).unwrap();
    for sub in subscribers.iter_mut() {
        sub.read_exact(&mut buf[..expected.len()]).unwrap();
        assert!(
            buf[..expected.len()] == *expected,
            "the broadcast arrived whole"
        );
    }
}

/// The mio server broadcasting to raw subscribers: one allocation per
/// message (the shared buffer), nothing per subscriber.
///
/// Every subscriber holds in-flight parts (its output queue) from the
/// broadcast until the end of the loop's turn, and the loop pools 32 spare
/// parts (`POOLED_BUFFERS` in src/event_loop.rs): past about 30
/// subscribers, each further one allocates its parts (and its queue's
/// list) every turn and frees them after the flush. That is the pool's
/// bound, not the queue's, so this stays within it.
fn broadcast_allocates_one_buffer_per_message(sizes: &[usize]) {
    const SUBSCRIBERS: usize = 24;
    let server = Server::new().bind("127.0.0.1:0").unwrap().spawn(|| Fanout {
        publisher: None,
        subscribers: Vec::with_capacity(SUBSCRIBERS),
    });
    let addr = server.local_addr();
    let mut subscribers: Vec<TcpStream> = (0..SUBSCRIBERS)
        .map(|_| raw_client(addr, "/subscribe"))
        .collect();
    let mut publisher = raw_client(addr, "/publish");
    let mut buf = vec![0u8; 128 << 10];
    let mut during = 0;
    let mut messages = 0;
    for &n in sizes {
        let payload = vec![9u8; n];
        let mut frame = Vec::new();
        push_frame(
            &mut frame,
            true,
            OpCode::Binary,
            &payload,
            Some([5, 6, 7, 8]),
        );
        let expected = PreparedMessage::binary(&payload, FRAGMENT)
            .as_bytes()
            .to_vec();
        for _ in 0..100 {
            raw_broadcast(
                &mut publisher,
                &mut subscribers,
                &frame,
                &expected,
                &mut buf,
            );
        }
        let before = allocations();
        for _ in 0..500 {
            raw_broadcast(
                &mut publisher,
                &mut subscribers,
                &frame,
                &expected,
                &mut buf,
            );
        }
        during += allocations() - before;
        messages += 500;
    }
    drop(subscribers);
    drop(publisher);
    server.stop().unwrap();
    assert_eq!(
        during, messages,
        "broadcasting {messages} messages to {SUBSCRIBERS} subscribers: one allocation each (the shared buffer) expected"
    );
}

#[test]
fn echo_allocates_nothing_in_steady_state() {
    // The in-memory core pair.
    let (mut c, mut s) = core_pair();
    let sizes = [20usize, 1 << 10, 8 << 10, 64 << 10];
    let texts: Vec<String> = sizes.iter().map(|&n| "a".repeat(n)).collect();
    for text in &texts {
        for _ in 0..100 {
            core_echo(&mut c, &mut s, text);
        }
    }
    let before = allocations();
    for text in &texts {
        for _ in 0..2000 {
            core_echo(&mut c, &mut s, text);
        }
    }
    assert_eq!(
        allocations() - before,
        0,
        "core echo allocated in steady state"
    );

    // The mio server on loopback.
    let server = Server::new().bind("127.0.0.1:0").unwrap().spawn(|| Echo);
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
        .write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let mut buf = vec![0u8; 128 << 10];
    let frames: Vec<(Vec<u8>, usize)> = sizes
        .iter()
        .map(|&n| {
            let mut frame = Vec::new();
            push_frame(
                &mut frame,
                true,
                OpCode::Binary,
                &vec![7; n],
                Some([1, 2, 3, 4]),
            );
            let header = match n {
                0..126 => 2,
                126..65536 => 4,
                _ => 10,
            };
            (frame, n + header)
        })
        .collect();
    for (frame, expect) in &frames {
        for _ in 0..200 {
            raw_echo(&mut stream, frame, *expect, &mut buf);
        }
    }
    let during = steady_allocations(|pace| {
        for (frame, expect) in &frames {
            for _ in 0..2000 {
                pace.echo(|| raw_echo(&mut stream, frame, *expect, &mut buf))?;
            }
        }
        Some(())
    });
    assert_eq!(
        during, 0,
        "the mio server allocated while echoing 8000 messages"
    );

    // 1 MiB messages, in one frame and in 64 KiB fragments: the buffers
    // they grow stay pooled while such messages keep coming.
    let big = vec![9u8; 1 << 20];
    let mut echoed = Vec::new();
    push_message(&mut echoed, OpCode::Binary, &big, 64 << 10, || None);
    let mut single = Vec::new();
    push_frame(&mut single, true, OpCode::Binary, &big, Some([5, 6, 7, 8]));
    let mut fragmented = Vec::new();
    push_message(&mut fragmented, OpCode::Binary, &big, 64 << 10, || {
        Some([5, 6, 7, 8])
    });
    let mut buf = vec![0u8; echoed.len()];
    for frame in [&single, &fragmented] {
        for _ in 0..20 {
            raw_echo(&mut stream, frame, echoed.len(), &mut buf);
        }
    }
    let during = steady_allocations(|pace| {
        for frame in [&single, &fragmented] {
            for _ in 0..100 {
                pace.echo(|| raw_echo(&mut stream, frame, echoed.len(), &mut buf))?;
            }
        }
        Some(())
    });
    drop(stream);
    server.stop().unwrap();
    assert_eq!(
        during, 0,
        "the mio server allocated while echoing 200 messages of 1 MiB"
    );

    broadcast_allocates_one_buffer_per_message(&sizes);
}
