//! The driver behind `vectored_send`: the vectored send path against the
//! plain queueing path, byte for byte.
//!
//! Two connections are opened identically ([`crate::canned::opened`]) with
//! a configuration from the input: A, driven only through the vectored
//! API (`send_text_vectored`, `send_binary_vectored`,
//! `send_prepared_vectored`), and B, a server driven only through the
//! plain one (`send_text`, `send_binary`, `send_prepared`). A script
//! decoded from the input sends messages of input-chosen length and
//! content, prepared messages, pings, pongs and a close on both, and drains
//! input-chosen amounts of their pending output. A's `write` callback (the
//! transport) takes an input-chosen prefix of what it is offered — all,
//! nothing, some bytes (often cutting a header or a payload), or some whole
//! chunks plus a few bytes of the next — and B's transport then takes
//! exactly as many bytes of B's queue at once, so both transports have
//! taken the same number of bytes at every point.
//!
//! Oracles (each failure panics with the step and what differed):
//! * A server with nothing queued and no tracing offers every accepted
//!   message to `write` (at most `2 * FRAMES_PER_WRITE` chunks, never an
//!   empty offer, never again after a short write) and returns exactly the
//!   bytes `write` took; a client, a traced connection, or one with output
//!   queued never calls `write`;
//! * A and B accept and refuse the same sends with the same error, and
//!   give the same events;
//! * when A is a server: after every step the bytes each transport got so
//!   far are equal, and so are `buffered_amount()` and the first bytes of
//!   the pending output, read across the queue's pieces (how the queue
//!   cuts them is its own business);
//!   at the end (both drained completely) A's wire equals B's;
//! * A's wire (and, when A is a client, B's) read back as the peer would
//!   read it: [`crate::wire::check_output_with`] (a strict frame parser:
//!   every frame valid, RSV1 only on a compressed message's first frame,
//!   masked exactly when a client wrote it, no control frame inside a data
//!   frame, no new message inside a fragmented one, nothing after the
//!   close) and a peer `Connection` fed the bytes, which must not
//!   fail; the data messages (and close) it receives equal those sent, in
//!   order, and so do the pings and pongs;
//! * when A is a client (the vectored API must queue: client frames are
//!   masked) the masks make the bytes differ, so A and B are compared by
//!   what they carry: the same messages, and without compression the same
//!   data frames.
//!
//! A fuzz input is `[n: u16 LE][n bytes of script][pool]`: the script is a
//! [`Setup`] and [`Op`]s decoded with `arbitrary`, the pool the bytes
//! payloads are cut from (a fixed pattern continues them when it runs
//! out). The script types (`vectored/script.rs`) also encode, for
//! hand-made seeds (`fuzz/seeds.rs`).

use std::sync::{Arc, OnceLock};

use ws6455_proto::connection::{Sender, Transmit, FRAMES_PER_WRITE};
use ws6455_proto::{CloseCode, Config, Connection, Event, OpCode, PreparedMessage, Role};
use ws6455_proto::{Timestamp, UsageError};

mod script;

pub use script::{Cut, Deflate, Encode, Fragment, Input, Op, Setup, Write};
use script::{BIG, MAX_PAYLOAD, SMALL};

use crate::canned::{new_connection, opened, t0, take_all};
use crate::wire::{check_output_with, message_wire_len, Frame};

/// Wire bytes (counting 16 more per frame) one run may send; sends beyond
/// it are skipped on both connections, so one input stays cheap. Enough
/// for messages past 64 KiB (the 64-bit length form with the default
/// fragment size).
const BUDGET: usize = 512 << 10;

/// The budget when compressing, which costs far more per byte (the
/// compressed path needs no large messages to be covered).
const DEFLATE_BUDGET: usize = 48 << 10;

/// Bytes of the pending output compared after every step (the wires are
/// compared in full; this only catches a different cut early and cheaply).
const PENDING_PREFIX: usize = 512;

/// What a peer receives, owned.
#[derive(Clone, PartialEq, Eq)]
enum Msg {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
}

impl Msg {
    fn is_control(&self) -> bool {
        matches!(self, Msg::Ping(_) | Msg::Pong(_))
    }
}

/// Short: kind, length and the first bytes (messages reach a megabyte).
impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, bytes) = match self {
            Msg::Text(t) => ("Text", t.as_bytes()),
            Msg::Binary(b) => ("Binary", &b[..]),
            Msg::Ping(p) => ("Ping", &p[..]),
            Msg::Pong(p) => ("Pong", &p[..]),
            Msg::Close(code, reason) => return write!(f, "Close({code:?}, {reason:?})"),
        };
        write!(
            f,
            "{kind}[{} bytes: {:02x?}{}]",
            bytes.len(),
            &bytes[..bytes.len().min(16)],
            if bytes.len() > 16 { " …" } else { "" }
        )
    }
}

/// The payload source: pool bytes, then a fixed pattern.
struct Pool<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn binary_pattern() -> &'static [u8] {
    static BINARY: OnceLock<Vec<u8>> = OnceLock::new();
    BINARY.get_or_init(|| (0..MAX_PAYLOAD).map(|i| (i * 7 + 3) as u8).collect())
}

fn text_pattern() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = String::with_capacity(MAX_PAYLOAD + 4);
        for c in "aé€😀".chars().cycle() {
            if s.len() + c.len_utf8() > MAX_PAYLOAD {
                break;
            }
            s.push(c);
        }
        s
    })
}

impl<'a> Pool<'a> {
    fn take(&mut self, len: usize) -> &'a [u8] {
        let n = len.min(self.bytes.len() - self.pos);
        let bytes = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        bytes
    }

    fn binary(&mut self, len: usize) -> Vec<u8> {
        let head = self.take(len);
        let mut v = Vec::with_capacity(len);
        v.extend_from_slice(head);
        v.extend_from_slice(&binary_pattern()[head.len()..len]);
        v
    }

    /// About `len` bytes of text (invalid pool bytes become U+FFFD).
    fn text(&mut self, len: usize) -> String {
        let mut s = String::from_utf8_lossy(self.take(len)).into_owned();
        let missing = len.saturating_sub(s.len());
        let pattern = text_pattern();
        let mut end = missing.min(pattern.len());
        while !pattern.is_char_boundary(end) {
            end -= 1;
        }
        s.push_str(&pattern[..end]);
        while s.len() < len {
            s.push('z');
        }
        s
    }

    /// `len` ASCII letters (a close reason).
    fn ascii(&mut self, len: usize) -> String {
        self.binary(len)
            .into_iter()
            .map(|b| char::from(b'a' + b % 26))
            .collect()
    }
}

/// One connection and everything its transport took, in order.
struct Side {
    conn: Connection,
    wire: Vec<u8>,
}

impl Side {
    /// The transport takes up to `n` bytes, across `pending_output()`
    /// slices as one `writev` would: how the queue cuts its bytes must not
    /// change how many go.
    fn drain(&mut self, mut n: usize) {
        while n > 0 {
            let pending = self.conn.pending_output();
            if pending.is_empty() {
                return;
            }
            let k = n.min(pending.len());
            self.wire.extend_from_slice(&pending[..k]);
            self.conn.consume_output(k);
            n -= k;
        }
    }

    /// The transport takes exactly `n` bytes, across `pending_output()`
    /// slices.
    fn take_exact(&mut self, mut n: usize, step: usize) {
        while n > 0 {
            let pending = self.conn.pending_output();
            assert!(
                !pending.is_empty(),
                "step {step}: A's transport took {n} bytes more than B has queued"
            );
            let k = n.min(pending.len());
            self.wire.extend_from_slice(&pending[..k]);
            self.conn.consume_output(k);
            n -= k;
        }
    }

    /// The events since the last call, as text.
    fn events(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        while let Some(event) = self.conn.poll_event() {
            assert!(
                !matches!(event, Event::Failed(_)),
                "a connection that receives nothing failed: {event:?}"
            );
            events.push(format!("{event:?}"));
            assert!(events.len() < 1000, "poll_event never runs dry");
        }
        events
    }
}

struct Driver<'a> {
    setup: Setup,
    config: Arc<Config>,
    /// Through the vectored API only.
    a: Side,
    /// A server, through the plain API only.
    b: Side,
    pool: Pool<'a>,
    /// Every message A and B accepted, in order.
    sent: Vec<Msg>,
    /// Left of [`BUDGET`].
    budget: usize,
    /// The index of the op being run, for messages.
    step: usize,
    /// Wire bytes already compared.
    compared: usize,
}

/// Runs one fuzz input.
pub fn run(data: &[u8]) {
    let input = Input::parse(data);
    let mut driver = Driver::new(input.setup, input.pool);
    for (i, op) in input.ops.iter().enumerate() {
        driver.step = i;
        driver.apply(op);
        driver.check(op);
    }
    driver.finish();
}

fn scaled(len: u16, big: bool) -> usize {
    if big {
        usize::from(len) * BIG
    } else {
        usize::from(len) % SMALL
    }
}

/// What sending a `len`-byte message in frames of `fragment` costs.
fn cost(len: usize, fragment: usize) -> usize {
    let fragment = fragment.max(1);
    message_wire_len(len, fragment, false) + 16 * len.div_ceil(fragment).max(1)
}

/// Panics at the first difference of two byte strings, with context.
/// The first [`PENDING_PREFIX`] bytes of what `conn` has queued, gathered
/// across its chunks.
fn pending_prefix(conn: &Connection) -> Vec<u8> {
    let mut chunks: [&[u8]; 64] = [&[]; 64];
    let n = conn.pending_chunks(&mut chunks);
    let mut bytes = Vec::with_capacity(PENDING_PREFIX);
    for chunk in &chunks[..n] {
        let room = PENDING_PREFIX - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() == PENDING_PREFIX {
            break;
        }
    }
    bytes
}

fn same_bytes(a: &[u8], b: &[u8], what: &str) {
    if a == b {
        return;
    }
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(8);
    panic!(
        "{what}: differ at byte {at} (lengths {} and {})\n  A: {:02x?}\n  B: {:02x?}",
        a.len(),
        b.len(),
        &a[from..a.len().min(at + 16)],
        &b[from..b.len().min(at + 16)],
    );
}

/// Panics at the first difference of two message lists.
fn same_messages(expected: &[&Msg], got: &[&Msg], what: &str) {
    if expected == got {
        return;
    }
    let at = expected
        .iter()
        .zip(got)
        .position(|(x, y)| x != y)
        .unwrap_or(expected.len().min(got.len()));
    panic!(
        "{what}: {} sent, {} received; first difference at #{at}: sent {:?}, received {:?}",
        expected.len(),
        got.len(),
        expected.get(at),
        got.get(at),
    );
}

impl<'a> Driver<'a> {
    fn new(setup: Setup, pool: &'a [u8]) -> Self {
        let config = Arc::new(setup.config());
        let role = if setup.client {
            Role::Client
        } else {
            Role::Server
        };
        let (mut conn, wire) = opened(role, Arc::clone(&config));
        if setup.trace {
            conn.set_trace(true);
        }
        let a = Side { conn, wire };
        let (conn, wire) = opened(Role::Server, Arc::clone(&config));
        let b = Side { conn, wire };
        let mut driver = Driver {
            setup,
            config,
            a,
            b,
            pool: Pool {
                bytes: pool,
                pos: 0,
            },
            sent: Vec::new(),
            budget: if setup.deflate.is_some() {
                DEFLATE_BUDGET
            } else {
                BUDGET
            },
            step: 0,
            compared: 0,
        };
        driver.check(&Op::DrainAll);
        driver
    }

    /// Takes `cost` from the budget, or says the send is skipped.
    fn afford(&mut self, cost: usize) -> bool {
        if cost > self.budget {
            return false;
        }
        self.budget -= cost;
        true
    }

    fn apply(&mut self, op: &Op) {
        let fragment = self.config.fragment_size;
        match *op {
            Op::Text { len, big, write } => {
                let len = scaled(len, big);
                if !self.afford(cost(len, fragment)) {
                    return;
                }
                let text = self.pool.text(len);
                let a = self.vectored(write, |s, w| s.send_text_vectored(&text, w));
                let b = self.b.conn.send_text(&text);
                self.settle(a, b, Msg::Text(text));
            }
            Op::Binary { len, big, write } => {
                let len = scaled(len, big);
                if !self.afford(cost(len, fragment)) {
                    return;
                }
                let data = self.pool.binary(len);
                let a = self.vectored(write, |s, w| s.send_binary_vectored(&data, w));
                let b = self.b.conn.send_binary(&data);
                self.settle(a, b, Msg::Binary(data));
            }
            Op::Prepared {
                text,
                len,
                big,
                fragment,
                write,
            } => {
                let len = scaled(len, big);
                let fragment = fragment.size();
                if !self.afford(cost(len, fragment)) {
                    return;
                }
                let (message, msg) = if text {
                    let text = self.pool.text(len);
                    (PreparedMessage::text(&text, fragment), Msg::Text(text))
                } else {
                    let data = self.pool.binary(len);
                    (PreparedMessage::binary(&data, fragment), Msg::Binary(data))
                };
                let a = self.vectored(write, |s, w| s.send_prepared_vectored(&message, w));
                let b = self.b.conn.send_prepared(&message);
                self.settle(a, b, msg);
            }
            Op::Ping { len } | Op::Pong { len } => {
                let payload = self.pool.binary(usize::from(len));
                let ping = matches!(op, Op::Ping { .. });
                let (a, b) = if ping {
                    (
                        self.a.conn.send_ping(&payload),
                        self.b.conn.send_ping(&payload),
                    )
                } else {
                    (
                        self.a.conn.send_pong(&payload),
                        self.b.conn.send_pong(&payload),
                    )
                };
                if payload.len() > 125 {
                    assert_eq!(a, Err(UsageError::ControlPayloadTooLong));
                }
                let msg = if ping {
                    Msg::Ping(payload)
                } else {
                    Msg::Pong(payload)
                };
                self.settle(a.map(|()| 0), b, msg);
            }
            Op::Drain { n } => {
                self.a.drain(usize::from(n));
                self.b.drain(usize::from(n));
            }
            Op::DrainAll => {
                let rest = take_all(&mut self.a.conn);
                self.a.wire.extend_from_slice(&rest);
                let rest = take_all(&mut self.b.conn);
                self.b.wire.extend_from_slice(&rest);
            }
            Op::Close { code, reason } => {
                let code = if code & 0x8000 == 0 {
                    1000 + code % 16
                } else {
                    code
                };
                let reason = self.pool.ascii(usize::from(reason));
                let now: Timestamp = t0();
                let a = self.a.conn.close(now, CloseCode(code), &reason);
                let b = self.b.conn.close(now, CloseCode(code), &reason);
                self.settle(a.map(|()| 0), b, Msg::Close(Some(code), reason));
            }
        }
    }

    /// One send on A through the vectored API, its transport cutting as
    /// `write` says; checks how the core used the transport and returns
    /// the bytes it took.
    fn vectored(
        &mut self,
        write: Write,
        send: impl FnOnce(&mut Sender<'_>, &mut Transmit<'_>) -> Result<usize, UsageError>,
    ) -> Result<usize, UsageError> {
        let step = self.step;
        // The direct path's preconditions (sender.rs): a server, no
        // tracing, nothing queued.
        let direct = !self.setup.client && !self.setup.trace && self.a.conn.buffered_amount() == 0;
        let mut calls = 0usize;
        let mut taken = 0usize;
        let mut short = false;
        let Side { conn, wire } = &mut self.a;
        let result = {
            let mut transmit = |chunks: &[&[u8]]| -> usize {
                assert!(
                    direct,
                    "step {step}: write called although the message must be queued \
                     (client {}, tracing {}, or output queued)",
                    self.setup.client, self.setup.trace
                );
                assert!(
                    !short,
                    "step {step}: write offered more after a short write"
                );
                assert!(
                    chunks.len() <= 2 * FRAMES_PER_WRITE,
                    "step {step}: {} chunks offered at once",
                    chunks.len()
                );
                let total: usize = chunks.iter().map(|c| c.len()).sum();
                assert!(total > 0, "step {step}: an empty offer");
                let cut = if calls == 0 { write.first } else { write.later };
                calls += 1;
                let n = cut.limit(chunks).min(total);
                let mut left = n;
                for chunk in chunks {
                    let k = left.min(chunk.len());
                    wire.extend_from_slice(&chunk[..k]);
                    left -= k;
                }
                short = n < total;
                taken += n;
                n
            };
            send(&mut conn.sender(), &mut transmit)
        };
        match result {
            Ok(n) => {
                assert_eq!(
                    n, taken,
                    "step {step}: the vectored send returned {n}, but write took {taken}"
                );
                assert!(
                    !direct || calls > 0,
                    "step {step}: a server with nothing queued queued a message \
                     instead of offering it to write"
                );
            }
            Err(e) => assert_eq!(
                calls, 0,
                "step {step}: write called for a refused send ({e:?})"
            ),
        }
        result
    }

    /// Compares A's and B's answers to the same send; when accepted,
    /// records the message and lets B's transport take what A's took.
    fn settle(&mut self, a: Result<usize, UsageError>, b: Result<(), UsageError>, msg: Msg) {
        assert_eq!(
            a.map(drop),
            b,
            "step {}: A (vectored) and B (plain) answered {msg:?} differently",
            self.step
        );
        if let Ok(took) = a {
            self.b.take_exact(took, self.step);
            self.sent.push(msg);
        }
    }

    /// The oracles between steps.
    fn check(&mut self, op: &Op) {
        let step = self.step;
        while self.a.conn.poll_trace().is_some() {}
        let (ea, eb) = (self.a.events(), self.b.events());
        assert_eq!(
            ea, eb,
            "step {step} ({op:?}): A and B gave different events"
        );
        if self.setup.client {
            return;
        }
        let (a, b) = (&self.a.wire, &self.b.wire);
        let upto = a.len().min(b.len());
        same_bytes(
            &a[self.compared..upto],
            &b[self.compared..upto],
            &format!(
                "step {step} ({op:?}): the wire from byte {} on",
                self.compared
            ),
        );
        self.compared = upto;
        assert_eq!(
            a.len(),
            b.len(),
            "step {step} ({op:?}): A's transport got {} bytes, B's {}",
            a.len(),
            b.len()
        );
        assert_eq!(
            self.a.conn.buffered_amount(),
            self.b.conn.buffered_amount(),
            "step {step} ({op:?}): buffered_amount differs"
        );
        // What waits to be written, as one byte stream: how the queue cuts
        // it into pieces (a remainder queued after a vectored write, a
        // frame queued whole) is its own business.
        let (pa, pb) = (pending_prefix(&self.a.conn), pending_prefix(&self.b.conn));
        same_bytes(&pa, &pb, &format!("step {step} ({op:?}): pending output"));
    }

    /// Drains both completely and reads back what they wrote.
    fn finish(mut self) {
        self.step = usize::MAX;
        self.apply(&Op::DrainAll);
        self.check(&Op::DrainAll);
        assert_eq!(self.a.conn.buffered_amount(), 0);
        assert_eq!(self.b.conn.buffered_amount(), 0);
        let (role, config) = (self.a.conn.role(), &self.config);
        let (frames_a, got_a) = read_back(role, &self.a.wire, config, "A");
        let sent: Vec<&Msg> = self.sent.iter().collect();
        compare(&sent, &got_a, "A");
        if self.setup.client {
            let (frames_b, got_b) = read_back(Role::Server, &self.b.wire, config, "B");
            compare(&sent, &got_b, "B");
            if self.setup.deflate.is_none() {
                let data = |frames: Vec<Frame>| -> Vec<Frame> {
                    frames
                        .into_iter()
                        .filter(|f| !matches!(f.opcode, OpCode::Ping | OpCode::Pong))
                        .collect()
                };
                let (fa, fb) = (data(frames_a), data(frames_b));
                assert_eq!(
                    fa.len(),
                    fb.len(),
                    "client A and server B sent different data frame counts"
                );
                for (i, (x, y)) in fa.iter().zip(&fb).enumerate() {
                    let brief = |f: &Frame| (f.opcode, f.fin, f.payload.len());
                    assert!(
                        x == y,
                        "data frame #{i} differs: client A {:?}, server B {:?}",
                        brief(x),
                        brief(y)
                    );
                }
            }
        }
    }
}

/// The messages sent against those received: data messages and the close
/// in order, pings and pongs in order (they may overtake data frames).
fn compare(sent: &[&Msg], got: &[Msg], who: &str) {
    let got: Vec<&Msg> = got.iter().collect();
    let (data_sent, ctrl_sent): (Vec<&Msg>, Vec<&Msg>) =
        sent.iter().copied().partition(|m| !m.is_control());
    let (data_got, ctrl_got): (Vec<&Msg>, Vec<&Msg>) =
        got.iter().copied().partition(|m| !m.is_control());
    same_messages(&data_sent, &data_got, &format!("{who}'s data messages"));
    same_messages(&ctrl_sent, &ctrl_got, &format!("{who}'s pings and pongs"));
}

/// Reads `wire`, everything a `writer` connection wrote (handshake
/// included), as its peer would: the strict frame parser, then a peer
/// connection, which must not fail. Returns the frames and what the peer
/// received.
fn read_back(writer: Role, wire: &[u8], config: &Arc<Config>, who: &str) -> (Vec<Frame>, Vec<Msg>) {
    let out = check_output_with(writer, wire, true, config.deflate.is_some());
    if writer == Role::Server {
        assert_eq!(out.status, Some(101), "{who} did not answer 101");
    }
    // The same configuration (so the same request, key and offers), but
    // room for every pong and close the peer answers with.
    let mut peer_config = Config::clone(config);
    peer_config.max_output_buffer = 64 << 20;
    let peer_config = Arc::new(peer_config);
    let mut peer = match writer {
        Role::Server => {
            let mut client = new_connection(Role::Client, peer_config);
            take_all(&mut client);
            client
        }
        Role::Client => new_connection(Role::Server, peer_config),
    };
    let mut got = Vec::new();
    let mut pos = 0;
    let mut opened = false;
    loop {
        for _ in 0..1_000_000 {
            let Some(event) = peer.poll_event() else {
                break;
            };
            let mut accept = false;
            match event {
                Event::Request(r) => {
                    assert!(r.is_websocket(), "{who}'s request is not an upgrade");
                    accept = true;
                }
                Event::Connected(r) => {
                    assert_eq!(r.status(), 101);
                    opened = true;
                }
                Event::Text(t) => got.push(Msg::Text(t.into())),
                Event::Binary(b) => got.push(Msg::Binary(b.to_vec())),
                Event::Ping(p) => got.push(Msg::Ping(p.to_vec())),
                Event::Pong(p) => got.push(Msg::Pong(p.to_vec())),
                Event::CloseReceived { code, reason } => {
                    got.push(Msg::Close(code.map(|c| c.0), reason.into()))
                }
                Event::Writable | Event::Closed { .. } => {}
                Event::Failed(e) => panic!(
                    "the peer failed reading {who}'s wire ({} bytes, {pos} fed): {e:?}",
                    wire.len()
                ),
                other => panic!("the peer got an unexpected event reading {who}'s wire: {other:?}"),
            }
            if accept {
                peer.accept(t0(), None, &[]).expect("the peer accepts");
                opened = true;
            }
        }
        let answered = take_all(&mut peer);
        if !answered.is_empty() {
            // Output space may be what the peer waited for.
            continue;
        }
        if pos == wire.len() || !peer.wants_read() {
            break;
        }
        let spare = peer.recv_buf();
        assert!(!spare.is_empty(), "the peer offers no room to read into");
        let n = spare.len().min(wire.len() - pos);
        spare[..n].copy_from_slice(&wire[pos..pos + n]);
        peer.commit_recv(n);
        pos += n;
    }
    assert!(opened, "the peer never opened on {who}'s wire");
    if pos < wire.len() {
        assert!(
            matches!(got.last(), Some(Msg::Close(..))),
            "the peer stopped reading {who}'s wire at {pos} of {} bytes before any close",
            wire.len()
        );
    }
    (out.frames, got)
}
