//! The whole-connection driver behind `connection_server`,
//! `connection_client` and `connection_rate` (the server with a rate
//! limit, RFC 6455 §10.4; its input starts with four bytes choosing the
//! limit, see [`Input::parse_rate_limited`]).
//!
//! A fuzz input is `[n: u16 LE][n bytes of script][stream]`. The script is
//! decoded with `arbitrary` into a [`Setup`] (limits, timeouts, mode, the
//! server's decision) and a list of [`Op`]s; the stream is what the peer
//! sends. In the default mode a valid opening (the §1.2 request for the
//! server, the right 101 for the client's key for the client) is put in
//! front of the stream so the fuzzer works on frames; `raw` hands it the
//! handshake too. An empty script means: defaults, feed the whole stream.
//!
//! Oracles, checked after every step:
//! * nothing panics, and `poll_event` runs dry;
//! * `buffered_amount()` ≤ `max_output_buffer` + the largest message the
//!   driver itself queued + a little for control frames and handshake
//!   answers; the heap the connection holds (measured with a counting
//!   allocator) stays within a bound derived from the configured limits and
//!   the largest chunk fed in — so neither buffer grows with traffic (the
//!   output queue may keep [`COMPACTION_SLACK`] of written bytes before it
//!   compacts);
//! * every send is refused exactly when it should be, and an accepted one
//!   adds exactly its wire size;
//! * events obey the protocol: sizes within limits, one handshake event
//!   first, at most one `Failed`, exactly one `Closed` (by the end), and
//!   nothing after it;
//! * from `Failed` (and from `Closed`) on, no new byte is produced;
//! * after `handle_timeout(now)` the next deadline is in the future;
//! * at the end, everything written parses as one HTTP head and well-formed
//!   frames ([`crate::wire::check_output`]), with at most one close frame,
//!   last; after a protocol error that close carries the error's code;
//! * with a rate limit of `count` per `per`: at most `count` + 1 +
//!   `count × elapsed / per` data messages are delivered (GCRA: a burst of
//!   `count`, then the sustained rate; a paused connection delivers the one
//!   message that put it in debt); `Throttled` only in pause mode, after
//!   which the connection does not read; `RateLimited` only in close mode;
//! * chunking invariance: the stream fed in the script's chunks, byte by
//!   byte once open, and whole, without API calls, gives the same events and
//!   the same output.

use std::sync::Arc;
use std::time::Duration;

use ws6455_proto::rate::OnExceed;
use ws6455_proto::Timestamp;
use ws6455_proto::{CloseCode, Config, Connection, Event, PreparedMessage, Request};
use ws6455_proto::{ProtocolError, Role, UsageError};

pub use crate::canned::client_request;
use crate::canned::{new_connection, t0};
use crate::payload::{patterns, payload};
use crate::wire::{check_output, frame_wire_len, message_wire_len};
use crate::{live_bytes, OFFERED_PROTOCOLS, RFC_REQUEST};

/// Room over `max_output_buffer` for what is queued without asking the
/// application: pongs, our close, a heartbeat ping, handshake answers.
const CONTROL_SLACK: usize = 2048;

/// Written bytes the output queue may keep before compacting (16 KiB in
/// `proto/src/connection/output.rs`), doubled for `Vec` growth: the heap
/// oracle allows this much beyond the buffered output.
const COMPACTION_SLACK: usize = 2 * 2 * (16 << 10);

mod invariance;

pub use crate::script::client_accept_response;
pub use crate::script::Input;
use crate::script::{Decision, Op, Setup};
use invariance::invariance;

/// An owned copy of an event, to compare runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Request(String, Vec<String>, Option<String>),
    Http(String),
    Connected(Option<String>),
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    CloseReceived(Option<u16>, String),
    Writable,
    Failed(ProtocolError),
    Closed(u16, bool),
    Throttled,
}

fn owned(ev: &Event<'_>) -> Ev {
    match ev {
        Event::Request(r) => Ev::Request(
            r.target().into(),
            r.protocols().to_vec(),
            r.key().map(Into::into),
        ),
        Event::HttpRequest(r) => Ev::Http(r.target().into()),
        Event::Connected(r) => Ev::Connected(r.protocol().map(Into::into)),
        Event::Text(t) => Ev::Text((*t).into()),
        Event::Binary(b) => Ev::Binary(b.to_vec()),
        Event::Ping(p) => Ev::Ping(p.to_vec()),
        Event::Pong(p) => Ev::Pong(p.to_vec()),
        Event::CloseReceived { code, reason } => {
            Ev::CloseReceived(code.map(|c| c.0), (*reason).into())
        }
        Event::Writable => Ev::Writable,
        Event::Failed(e) => Ev::Failed(e.clone()),
        Event::Closed { code, clean } => Ev::Closed(code.0, *clean),
        Event::Throttled => Ev::Throttled,
        other => panic!("an event the oracle does not model: {other:?}"),
    }
}

/// The stream the peer sends: the canned opening (unless `raw`) and the
/// fuzzer's bytes.
pub fn full_stream(role: Role, setup: &Setup, stream: &[u8]) -> Vec<u8> {
    let mut all = if setup.raw {
        Vec::new()
    } else {
        match role {
            Role::Server => RFC_REQUEST.to_vec(),
            Role::Client => client_accept_response(setup.client_protocol()),
        }
    };
    all.extend_from_slice(stream);
    all
}

/// Runs one fuzz input against a connection in `role`.
pub fn run(role: Role, data: &[u8]) {
    run_input(role, Input::parse(data));
}

/// Runs one `connection_rate` input: a server with the rate limit its
/// first four bytes choose.
pub fn run_rate_limited(data: &[u8]) {
    run_input(Role::Server, Input::parse_rate_limited(data));
}

fn run_input(role: Role, input: Input<'_>) {
    let stream = full_stream(role, &input.setup, input.stream);
    invariance(role, &input, &stream);
    let mut driver = Driver::new(role, input.setup, &stream);
    for op in &input.ops {
        driver.step(op);
    }
    driver.finish();
}

/// What the server does with a request, after the event's borrow ends.
fn decide(conn: &mut Connection, now: Timestamp, decision: Decision, request: &Request) {
    let upgrade = request.is_websocket();
    match decision {
        Decision::Accept { protocol } => {
            let offered = request.protocols();
            let choice = match protocol % 4 {
                0 => None,
                1 => offered.first().map(String::as_str),
                2 => offered.get(1).map(String::as_str),
                _ => Some("x-not-offered"),
            };
            let result = conn.accept(now, choice, &[("Set-Cookie", "id=1")]);
            if !upgrade {
                assert_eq!(
                    result,
                    Err(UsageError::WrongState),
                    "accepted a plain HTTP request"
                );
                assert_eq!(conn.respond(now, 404, &[], b"not found"), Ok(()));
            } else if choice.is_none_or(|c| offered.iter().any(|o| o == c)) {
                assert_eq!(result, Ok(()));
            } else {
                assert_eq!(result, Err(UsageError::ProtocolNotOffered));
                assert_eq!(conn.accept(now, None, &[]), Ok(()));
            }
            assert_eq!(
                conn.accept(now, None, &[]),
                Err(UsageError::WrongState),
                "accepted twice"
            );
        }
        Decision::Reject { status } => {
            assert_eq!(conn.reject(now, 200 + status % 400, "no"), Ok(()));
        }
        Decision::Respond { status, body } => {
            let body = vec![b'x'; usize::from(body)];
            assert_eq!(
                conn.respond(now, 200 + status % 400, &[("X-Fuzz", "1")], &body),
                Ok(())
            );
        }
        Decision::Ignore => {}
    }
}

/// Drives one connection through a script and checks every oracle.
struct Driver<'s> {
    role: Role,
    setup: Setup,
    config: Arc<Config>,
    conn: Connection,
    now: Timestamp,
    stream: &'s [u8],
    pos: usize,
    /// Every byte written to the "socket".
    written: Vec<u8>,
    /// Heap bytes in use before the connection existed.
    baseline: isize,
    largest_queued: usize,
    largest_chunk: usize,
    handshake_seen: bool,
    close_received: bool,
    failed: Option<ProtocolError>,
    /// Our close was already queued when the failure happened.
    closed_before_failure: bool,
    closed: bool,
    /// No byte may be produced past this count (set by Failed and Closed).
    frozen: Option<usize>,
    aborted: bool,
    /// Data messages delivered, for the rate limit's oracle.
    delivered: u64,
}

impl<'s> Driver<'s> {
    fn new(role: Role, setup: Setup, stream: &'s [u8]) -> Self {
        let config = Arc::new(setup.config());
        // Everything the driver owns is allocated before the baseline, so
        // what is measured afterwards is the connection's (and `written`,
        // which is subtracted). That includes the payload patterns: built
        // lazily by the first send of a process, they were counted as heap
        // the connection holds (262,140 bytes for the text one), so an
        // input replayed alone measured more than inside a fuzzing run.
        patterns();
        let written = Vec::with_capacity(64);
        let baseline = live_bytes();
        let conn = new_connection(role, config.clone());
        Driver {
            role,
            setup,
            config,
            conn,
            now: t0(),
            stream,
            pos: 0,
            written,
            baseline,
            largest_queued: 0,
            largest_chunk: 0,
            handshake_seen: false,
            close_received: false,
            failed: None,
            closed_before_failure: false,
            closed: false,
            frozen: None,
            aborted: false,
            delivered: 0,
        }
    }

    fn masked(&self) -> bool {
        self.role == Role::Client
    }

    /// Bytes produced so far: written plus still queued.
    fn produced(&self) -> usize {
        self.written.len() + self.conn.buffered_amount()
    }

    fn can_send(&self) -> bool {
        self.conn.is_open()
            && !self.conn.close_sent()
            && self.conn.buffered_amount() < self.config.max_output_buffer
    }

    /// Checks a send's result against what it should have been, and that an
    /// accepted one queued exactly `wire_len` bytes.
    fn sent(
        &mut self,
        expected_ok: bool,
        before: usize,
        result: Result<(), UsageError>,
        wire_len: usize,
    ) {
        assert_eq!(result.is_ok(), expected_ok, "send result {result:?}");
        if result.is_ok() {
            assert_eq!(
                self.conn.buffered_amount(),
                before + wire_len,
                "queued bytes != wire size"
            );
            self.largest_queued = self.largest_queued.max(wire_len);
        } else {
            assert_eq!(
                self.conn.buffered_amount(),
                before,
                "a refused send queued bytes"
            );
        }
    }

    fn feed(&mut self, len: usize, zero_copy: bool) {
        if !self.conn.wants_read() {
            return;
        }
        let n = len.min(self.stream.len() - self.pos);
        if n == 0 {
            return;
        }
        let bytes = &self.stream[self.pos..self.pos + n];
        if zero_copy {
            let spare = self.conn.recv_buf();
            assert!(!spare.is_empty(), "recv_buf offers no space");
            let k = n.min(spare.len());
            spare[..k].copy_from_slice(&bytes[..k]);
            self.conn.commit_recv(k);
            self.pos += k;
            self.largest_chunk = self.largest_chunk.max(k);
        } else {
            self.conn.recv(bytes);
            self.pos += n;
            self.largest_chunk = self.largest_chunk.max(n);
        }
    }

    /// Writes up to `n` bytes: odd counts as a vectored write of up to
    /// four `pending_chunks` slices (a count may span them), even ones
    /// from `pending_output`.
    fn consume(&mut self, n: usize) {
        if n % 2 == 1 {
            let mut chunks: [&[u8]; 4] = [&[]; 4];
            let filled = self.conn.pending_chunks(&mut chunks);
            assert!(filled <= chunks.len());
            if filled > 0 {
                assert_eq!(
                    chunks[0],
                    self.conn.pending_output(),
                    "the first chunk is pending_output"
                );
            }
            let mut k = 0;
            for chunk in &chunks[..filled] {
                assert!(!chunk.is_empty(), "no empty chunk");
                let take = chunk.len().min(n - k);
                self.written.extend_from_slice(&chunk[..take]);
                k += take;
            }
            self.conn.consume_output(k);
            return;
        }
        let pending = self.conn.pending_output();
        let k = n.min(pending.len());
        self.written.extend_from_slice(&pending[..k]);
        self.conn.consume_output(k);
    }

    fn consume_all(&mut self) {
        for _ in 0..100_000 {
            if self.conn.pending_output().is_empty() {
                assert_eq!(
                    self.conn.buffered_amount(),
                    0,
                    "bytes buffered but none pending"
                );
                return;
            }
            self.consume(usize::MAX);
        }
        panic!("output never drains");
    }

    fn tick(&mut self, to: Timestamp) {
        self.now = self.now.max(to);
        self.conn.handle_timeout(self.now);
        if let Some(next) = self.conn.poll_timeout() {
            assert!(
                next > self.now,
                "deadline {next:?} not after handle_timeout({:?})",
                self.now
            );
        }
    }

    fn step(&mut self, op: &Op) {
        let masked = self.masked();
        let before = self.conn.buffered_amount();
        let fragment = self.config.fragment_size;
        match op {
            Op::Recv { len } => self.feed(usize::from(*len), false),
            Op::RecvBuf { len } => self.feed(usize::from(*len), true),
            Op::Consume { n } => self.consume(usize::from(*n)),
            Op::ConsumeAll => self.consume_all(),
            Op::SendText(text) => {
                let ok = self.can_send();
                let result = self.conn.send_text(text);
                self.sent(
                    ok,
                    before,
                    result,
                    message_wire_len(text.len(), fragment, masked),
                );
            }
            Op::SendBig { len, text } => {
                let bytes = payload(usize::from(*len), *text);
                let ok = self.can_send();
                let result = if *text {
                    self.conn.send_text(std::str::from_utf8(&bytes).unwrap())
                } else {
                    self.conn.send_binary(&bytes)
                };
                self.sent(
                    ok,
                    before,
                    result,
                    message_wire_len(bytes.len(), fragment, masked),
                );
            }
            Op::SendPing(p) | Op::SendPong(p) => {
                let ok = p.len() <= 125 && self.can_send();
                let result = if matches!(op, Op::SendPing(_)) {
                    self.conn.send_ping(p)
                } else {
                    self.conn.send_pong(p)
                };
                if p.len() > 125 {
                    assert_eq!(result, Err(UsageError::ControlPayloadTooLong));
                }
                self.sent(ok, before, result, frame_wire_len(p.len(), masked));
            }
            Op::SendPrepared {
                len,
                text,
                fragment,
            } => {
                let bytes = payload(usize::from(*len), *text);
                let fragment = usize::from(*fragment).max(1) * 64;
                let message = if *text {
                    PreparedMessage::text(std::str::from_utf8(&bytes).unwrap(), fragment)
                } else {
                    PreparedMessage::binary(&bytes, fragment)
                };
                let ok = self.can_send();
                let result = self.conn.send_prepared(&message);
                self.sent(
                    ok,
                    before,
                    result,
                    message_wire_len(bytes.len(), fragment, masked),
                );
            }
            Op::Close { code, reason } => {
                let code = if code & 0x8000 == 0 {
                    1000 + code % 16
                } else {
                    *code
                };
                let ok = CloseCode(code).is_valid_on_wire()
                    && reason.len() <= 123
                    && self.conn.is_open()
                    && !self.conn.close_sent();
                let result = self.conn.close(self.now, CloseCode(code), reason);
                self.sent(ok, before, result, frame_wire_len(2 + reason.len(), masked));
            }
            Op::Tick { millis } => {
                let to = self.now + Duration::from_millis(u64::from(*millis));
                self.tick(to);
            }
            Op::TickToDeadline => {
                if let Some(deadline) = self.conn.poll_timeout() {
                    self.tick(deadline);
                }
            }
            Op::Eof => self.conn.recv_eof(self.now),
            Op::Abort => {
                self.conn.abort();
                self.aborted = true;
                assert_eq!(self.conn.buffered_amount(), 0, "abort kept output");
            }
            Op::ReleaseIdle => {
                self.conn.release_idle_memory();
            }
        }
        self.drain();
        self.check();
    }

    /// Polls every event, checking each and reacting as an application
    /// would (the server's decision, echoes).
    fn drain(&mut self) {
        for _ in 0..100_000 {
            let close_sent = self.conn.close_sent();
            let max_output = self.config.max_output_buffer;
            let masked = self.masked();
            let fragment = self.config.fragment_size;
            let Some((event, mut sender)) = self.conn.poll_event_with_sender() else {
                return;
            };
            assert!(!self.closed, "event {event:?} after Closed");
            // Taken after the poll, which may itself have queued a close.
            let produced = self.written.len() + sender.buffered_amount();
            let mut request = None;
            match event {
                Event::Request(r) | Event::HttpRequest(r) => {
                    assert_eq!(self.role, Role::Server);
                    assert!(!self.handshake_seen, "two handshake events");
                    self.handshake_seen = true;
                    request = Some(r);
                }
                Event::Connected(r) => {
                    assert_eq!(self.role, Role::Client);
                    assert!(!self.handshake_seen, "two handshake events");
                    self.handshake_seen = true;
                    assert_eq!(r.status(), 101);
                    if let Some(p) = r.protocol() {
                        assert!(OFFERED_PROTOCOLS.contains(&p));
                    }
                    if !self.setup.raw {
                        assert_eq!(r.protocol(), self.setup.client_protocol());
                    }
                }
                Event::Text(_) | Event::Binary(_) => {
                    let (bytes, is_text) = match event {
                        Event::Text(t) => (t.as_bytes(), true),
                        Event::Binary(b) => (b, false),
                        _ => unreachable!(),
                    };
                    assert!(self.handshake_seen, "message before the handshake");
                    assert!(
                        bytes.len() as u64 <= self.config.max_message_size,
                        "message over the limit"
                    );
                    self.delivered += 1;
                    if self.setup.echo {
                        let ok = sender.is_open() && sender.buffered_amount() < max_output;
                        let before = sender.buffered_amount();
                        let result = if is_text {
                            sender.send_text(std::str::from_utf8(bytes).unwrap())
                        } else {
                            sender.send_binary(bytes)
                        };
                        let wire = message_wire_len(bytes.len(), fragment, masked);
                        assert_eq!(result.is_ok(), ok, "echo result {result:?}");
                        let expected = if result.is_ok() {
                            before + wire
                        } else {
                            before
                        };
                        assert_eq!(sender.buffered_amount(), expected);
                        if result.is_ok() {
                            self.largest_queued = self.largest_queued.max(wire);
                        }
                    }
                }
                Event::Ping(p) | Event::Pong(p) => {
                    assert!(self.handshake_seen);
                    assert!(p.len() <= 125, "control payload over 125");
                }
                Event::CloseReceived { code, reason } => {
                    assert!(self.handshake_seen);
                    assert!(!self.close_received, "two close frames received");
                    self.close_received = true;
                    assert!(reason.len() <= 123);
                    if let Some(code) = code {
                        assert!(code.is_valid_on_wire());
                    }
                }
                Event::Writable => {
                    assert!(sender.buffered_amount() < max_output, "Writable while full");
                }
                Event::Throttled => {
                    let mode = self.config.rate_limit.map(|r| r.on_exceed());
                    assert_eq!(
                        mode,
                        Some(OnExceed::Pause),
                        "Throttled without a pause limit"
                    );
                }
                Event::Failed(e) => {
                    if e == ProtocolError::RateLimited {
                        let mode = self.config.rate_limit.map(|r| r.on_exceed());
                        assert_eq!(
                            mode,
                            Some(OnExceed::Close),
                            "RateLimited without a close limit"
                        );
                    }
                    assert!(self.failed.is_none(), "two Failed events");
                    self.failed = Some(e);
                    self.closed_before_failure = close_sent;
                    self.frozen = Some(produced);
                }
                Event::Closed { code, clean } => {
                    self.closed = true;
                    if self.failed.is_some() {
                        assert_eq!((code, clean), (CloseCode::ABNORMAL, false));
                    }
                    if clean {
                        assert!(self.close_received);
                    }
                    self.frozen = Some(self.frozen.map_or(produced, |f| f.min(produced)));
                }
                other => panic!("an event the oracle does not model: {other:?}"),
            }
            if let Some(r) = request {
                decide(&mut self.conn, self.now, self.setup.decision, &r);
                drop(r);
                // The answer to the handshake is queued without asking.
                self.largest_queued = self.largest_queued.max(self.conn.buffered_amount());
            }
        }
        panic!("poll_event never ran dry");
    }

    /// The rate limit's oracle: no more data messages than its burst, the
    /// sustained rate over the time the script let pass, and (paused) the
    /// one message that went into debt.
    fn check_rate(&self) {
        let Some((count, per)) = self.config.rate_limit.and_then(|r| r.message_limit()) else {
            return;
        };
        let elapsed = self.now.saturating_duration_since(t0()).as_nanos();
        let refilled = elapsed * u128::from(count) / per.as_nanos().max(1);
        let allowed = u128::from(count) + 1 + refilled;
        assert!(
            u128::from(self.delivered) <= allowed,
            "{} messages delivered under {count} per {per:?} in {elapsed} ns",
            self.delivered
        );
    }

    /// The oracles that hold between any two steps.
    fn check(&mut self) {
        self.check_rate();
        let buffered = self.conn.buffered_amount();
        let cfg = &self.config;
        let bound = cfg.max_output_buffer + self.largest_queued + CONTROL_SLACK;
        assert!(
            buffered <= bound,
            "buffered {buffered} > max_output_buffer {} + largest message {} + slack",
            cfg.max_output_buffer,
            self.largest_queued
        );
        assert_eq!(self.conn.wants_write(), buffered > 0);
        if let Some(frozen) = self.frozen {
            assert!(
                self.produced() <= frozen,
                "output produced after Failed/Closed"
            );
        }
        let backlog = COMPACTION_SLACK;
        let held = live_bytes() - self.baseline - self.written.capacity() as isize;
        let max_frame = cfg.max_frame_size as usize;
        let max_message = cfg.max_message_size as usize;
        let heap_bound = 4 * bound
            + backlog
            + 4 * (max_frame
                + 14
                + cfg.max_handshake_size
                + self.largest_chunk
                + cfg.read_buffer_size)
            + 2 * max_message
            + 16 * 1024;
        assert!(
            held <= heap_bound as isize,
            "connection holds {held} heap bytes, bound {heap_bound} (buffered {buffered})"
        );
    }

    /// Feeds the rest of the stream (writing output when the core pushes
    /// back), ends the connection, and checks the whole conversation.
    fn finish(mut self) {
        for _ in 0..self.stream.len() + 16 {
            if self.pos < self.stream.len() && self.conn.wants_read() {
                self.feed(usize::MAX, false);
            } else if self.conn.buffered_amount() >= self.config.max_output_buffer {
                self.consume_all();
            } else {
                break;
            }
            self.drain();
            self.check();
        }
        self.conn.recv_eof(self.now);
        self.drain();
        self.check();
        self.consume_all();
        self.drain();
        self.check();
        assert!(self.closed, "no Closed event after EOF");
        assert!(
            self.conn.is_closed(),
            "not closed after EOF with all output written"
        );
        assert_eq!(
            self.conn.poll_timeout(),
            None,
            "a deadline on a closed connection"
        );
        assert!(self.conn.poll_event().is_none());

        let out = check_output(self.role, &self.written, !self.aborted);
        assert!(out.closes().count() <= 1, "more than one close frame");
        if self.aborted {
            return;
        }
        if self.close_received {
            assert_eq!(out.closes().count(), 1, "a received close was not answered");
        }
        match &self.failed {
            Some(ProtocolError::Handshake(e)) => {
                if self.role == Role::Server {
                    assert_eq!(out.status, Some(e.http_status()), "error answer status");
                }
                assert!(out.frames.is_empty());
            }
            Some(e) => {
                let last = out.frames.last().expect("a failed connection sent a close");
                assert_eq!(
                    last.opcode,
                    ws6455_proto::OpCode::Close,
                    "close is not last after Failed"
                );
                if !self.closed_before_failure {
                    let code = u16::from_be_bytes([last.payload[0], last.payload[1]]);
                    assert_eq!(code, e.close_code().0, "close code for {e:?}");
                }
            }
            None => {}
        }
    }
}
