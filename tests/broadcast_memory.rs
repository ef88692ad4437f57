//! A broadcast is held once, however many slow subscribers queue it: the
//! mio server sends four 64 KiB messages to 1,000 subscribers that never
//! read, so most of every message waits in their output queues (§5.1:
//! server frames are unmasked, the same bytes for all) — and the server
//! thread allocates about one copy of each message, not one per
//! subscriber (which would be 250 MiB).
//!
//! One test function on purpose: the allocator counts per thread, but the
//! process's file descriptors (two per subscriber) are better spent once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;

use socket2::{Domain, Socket, Type};
use ws6455::proto::encode::push_frame;
use ws6455::proto::handshake::Request;
use ws6455::proto::{OpCode, PreparedMessage};
use ws6455::{ConnId, Ctx, Decision, Handler, Message, Server};
use ws6455_test_support::loopback::connections_that_fit;

struct Counting;

thread_local! {
    /// Bytes this thread asked the allocator for. Const-initialised and
    /// without a destructor, so reading it never allocates.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get() + bytes));
}

// SAFETY: every call forwards to the system allocator with the caller's
// arguments unchanged; counting touches only a thread-local cell.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const MESSAGE: usize = 64 << 10;

/// What the server saw once it had broadcast one message.
#[derive(Debug)]
struct Report {
    /// Subscribers that took the message.
    took: usize,
    /// Bytes the server thread allocated while preparing and broadcasting
    /// it.
    allocated: usize,
    /// Bytes queued, summed over the subscribers, after the broadcast.
    buffered: usize,
}

/// Broadcasts every message from `/publish` to every other connection and
/// reports what that cost.
struct Fanout {
    publisher: Option<ConnId>,
    subscribers: Vec<ConnId>,
    reports: mpsc::Sender<Report>,
}

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
        let before = ALLOCATED.with(Cell::get);
        let prepared = match message {
            Message::Text(t) => PreparedMessage::text(t, 16 << 10),
            Message::Binary(b) => PreparedMessage::binary(b, 16 << 10),
        };
        let took = ctx.broadcast(self.subscribers.iter().copied(), &prepared);
        drop(prepared);
        let allocated = ALLOCATED.with(Cell::get) - before;
        let buffered = self
            .subscribers
            .iter()
            .map(|&s| ctx.buffered_amount(s))
            .sum();
        let _ = self.reports.send(Report {
            took,
            allocated,
            buffered,
        });
    }
}

/// A raw WebSocket client on `path` with a small receive buffer (so that
/// the kernel holds little of what the server sends), handshake done.
fn raw_client(addr: SocketAddr, path: &str) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    // Small segments: the server's send buffer grows with its congestion
    // window counted in segments, and loopback's 64 KiB ones would let the
    // kernel hold a megabyte per connection.
    socket.set_tcp_mss(536).expect("TCP_MAXSEG");
    socket.connect(&addr.into()).expect("connect");
    let mut stream: TcpStream = socket.into();
    stream.set_nodelay(true).expect("nodelay");
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("response");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "upgraded");
    stream
}

#[test]
fn a_broadcast_to_slow_subscribers_is_held_once() {
    let n = connections_that_fit(1000);
    assert!(
        n >= 100,
        "too few file descriptors for a meaningful test: {n}"
    );
    let (reports, results) = mpsc::channel();
    let server = Server::new()
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(move || Fanout {
            publisher: None,
            subscribers: Vec::new(),
            reports: reports.clone(),
        });
    let addr = server.local_addr();
    // Subscribers that never read.
    let subscribers: Vec<TcpStream> = (0..n).map(|_| raw_client(addr, "/subscribe")).collect();
    let mut publisher = raw_client(addr, "/publish");

    let mut frame = Vec::new();
    push_frame(
        &mut frame,
        true,
        OpCode::Binary,
        &vec![7; MESSAGE],
        Some([1, 2, 3, 4]),
    );
    let copy = PreparedMessage::binary(&vec![7; MESSAGE], 16 << 10)
        .as_bytes()
        .len();
    let rounds = 4;
    let mut allocated = 0;
    let mut last = None;
    for round in 1..=rounds {
        publisher.write_all(&frame).expect("publish");
        let report = results.recv().expect("a report");
        assert_eq!(report.took, n, "round {round}: every subscriber took it");
        allocated += report.allocated;
        last = Some(report);
    }
    let last = last.expect("four rounds");
    drop(subscribers);
    drop(publisher);
    server.stop().expect("stop");

    // One copy per message and a few hundred bytes per subscriber for its
    // queue is the budget.
    let bound = rounds * copy + n * 1024;
    // The subscribers' queues really hold the messages, beyond what the
    // kernel took: many times the budget, so that a server copying the
    // message per subscriber would have to allocate at least what is queued
    // and fail below. (How much the kernel takes depends on its buffer
    // autotuning, between a quarter and a half of all copies on loopback.)
    let all_copies = n * rounds * copy;
    assert!(
        last.buffered > 8 * bound,
        "queued {} bytes of {all_copies} sent, under 8 × the budget of {bound}: \
         the kernel took too much for the test to mean anything",
        last.buffered
    );
    // …yet the server allocated about one copy per message, and a few
    // hundred bytes per subscriber for its queue.
    assert!(
        allocated <= bound,
        "broadcasting {rounds} × {copy} bytes to {n} subscribers allocated {allocated} bytes \
         (one copy each and 1 KiB per subscriber is {bound}; a copy per subscriber is {all_copies}); \
         {} bytes queued",
        last.buffered
    );
}
