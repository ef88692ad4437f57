//! The connection state machine: one WebSocket connection, either role,
//! from the first handshake byte to the last close frame, with no I/O.
//!
//! A driver (the mio event loop, the blocking adapter, a test, a fuzz
//! target) calls its methods in this order, again and again:
//!
//! 1. **input** — [`Connection::recv_buf`] + [`Connection::commit_recv`]
//!    (read straight into the receive buffer) or [`Connection::recv`]
//!    (copy), and [`Connection::recv_eof`] when the peer closed TCP;
//! 2. **time** — [`Connection::handle_timeout`] with the current instant,
//!    after input and whenever [`Connection::poll_timeout`] has passed
//!    (commands whose effect depends on time — `accept`, `respond`,
//!    `close` — and [`Connection::recv_eof`] take the instant themselves);
//! 3. **events** — [`Connection::poll_event`] until it returns `None`,
//!    reacting with the commands (`send_text`, `accept`, `close`, …);
//! 4. **output** — write [`Connection::pending_output`] (or, with one
//!    vectored write, [`Connection::pending_chunks`]) to the socket and
//!    report what was written with [`Connection::consume_output`];
//! 5. **interest** — [`Connection::wants_read`], [`Connection::wants_write`]
//!    and [`Connection::is_closed`] (drop the socket).
//!
//! States (§4, §7; see `closing.rs`): handshake (`ServerReading` →
//! `ServerDeciding`, or `ClientWaiting`) → `Open` → `CloseSent` (§7.1.2:
//! our close queued, sending refused, the peer's close awaited) →
//! `Lingering` (§7.1.3 the close handshake completed, §7.1.7 the connection
//! failed, or §7.1.5 it ended abnormally: the last bytes flush and a client
//! waits for the server's TCP close, §7.1.1, bounded by the linger timeout)
//! → `Closed` (§7.1.4: the driver drops the socket). A protocol error fails
//! the connection (§7.1.7): the close frame with the error's code is
//! queued and one [`Event::Failed`] is reported. Every connection reports
//! exactly one [`Event::Closed`], last, with the §7.1.5 close code.

mod closing;
mod input;
mod opening;
mod output;
mod pool;
#[cfg(test)]
mod reassembly_tests;
mod sender;
mod state;
mod timers;
mod trace;
#[cfg(test)]
mod utf8_tests;
mod vectored;

use alloc::boxed::Box;

use crate::time::Timestamp;
use alloc::sync::Arc;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::assembler::{Assembler, MessageKind};
use crate::close::CloseCode;
use crate::config::Config;
use crate::error::UsageError;
use crate::event::Event;
use crate::frame::OpCode;
use crate::handshake::{ClientRequest, Request, Response};
use crate::prepared::PreparedMessage;
use crate::rate::Limiter;

use input::RecvBuffer;
use opening::Opening;
pub(crate) use pool::Active;
pub use pool::BufferPool;
use sender::Outbound;
pub use sender::Sender;
use state::{Peer, State};
use timers::{Due, Timers};
pub use trace::{Direction, FrameTrace, PREVIEW_LEN};
pub use vectored::{Transmit, FRAMES_PER_WRITE};

pub use crate::role::Role;

/// The most read space offered while a fragmented message streams into the
/// assembler (see [`Connection::recv_buf`]).
pub const STREAM_READ_MAX: usize = 256 << 10;

/// `Writable` notices, held until `poll_event` (the final `Failed` and
/// `Closed` events are held by the `Lingering` state).
#[derive(Debug, Default)]
struct Notices {
    writable: bool,
    /// A send was refused for lack of space: report `Writable` later.
    want_writable: bool,
    /// A rate-limit pause started: report `Throttled` (kept here, not in
    /// the limiter, so a close sent meanwhile does not lose it).
    throttled: bool,
}

/// What one parsing step found, without borrowing: `poll_event` turns it
/// into an [`Event`] that borrows the buffers.
#[derive(Debug)]
enum Ready {
    Request(Request),
    HttpRequest(Request),
    Connected(Response),
    /// A message in the receive buffer at this range.
    Single(MessageKind, core::ops::Range<usize>),
    /// A message reassembled in the assembler's buffer.
    Assembled(MessageKind),
    Ping(core::ops::Range<usize>),
    Pong(core::ops::Range<usize>),
    Close(Option<CloseCode>, core::ops::Range<usize>),
}

/// One WebSocket connection's protocol state (RFC 6455 §4–§8), driven by
/// bytes and instants and answering with events and bytes.
pub struct Connection {
    config: Arc<Config>,
    role: Role,
    /// Where the connection is in its life (handshake, open, closing).
    state: State,
    /// Buffers and in-flight parsing state, boxed so an idle connection can
    /// hand them back ([`Connection::park`]) and cost only its state.
    active: Option<Box<Active>>,
    /// What sending owns besides the output buffer.
    outbound: Outbound,
    /// Handshake-time state, freed once the connection is open.
    opening: Option<Box<Opening>>,
    notices: Notices,
    /// The length of the last fragmented message received (saturating):
    /// the next one that outgrows the reassembly buffer is given this much
    /// room at once (see [`Assembler::expect`]). Fits the padding beside
    /// `role` and `notices`, so an idle connection costs nothing more.
    last_fragmented_len: u32,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("buffered_output", &self.buffered_amount())
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A server-side connection waiting for the client's opening handshake
    /// (§4.2). `now` starts the handshake timeout.
    pub fn server(config: Arc<Config>, now: Timestamp) -> Self {
        let timers = Timers::new(now, Some(config.handshake_timeout));
        Self::with_parts(
            config,
            Role::Server,
            State::ServerReading,
            Outbound::new(timers, None),
        )
    }

    /// A client-side connection (§4.1). The opening handshake request is
    /// queued at once; `seed` feeds the CSPRNG that makes the handshake
    /// nonce and every masking key, so it must come from a strong entropy
    /// source (§10.3) — the core itself never draws randomness.
    pub fn client(
        config: Arc<Config>,
        request: ClientRequest,
        seed: [u8; 32],
        now: Timestamp,
    ) -> Self {
        let timers = Timers::new(now, Some(config.handshake_timeout));
        let mut rng = Box::new(StdRng::from_seed(seed));
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let outbound = Outbound::new(timers, Some(rng));
        let config_copy = Arc::clone(&config);
        let mut conn = Self::with_parts(config, Role::Client, State::ClientWaiting, outbound);
        let opening = conn
            .active()
            .out
            .write_raw(|out| Opening::client(request, &nonce, &config_copy, out));
        conn.opening = Some(Box::new(opening));
        conn
    }

    fn with_parts(config: Arc<Config>, role: Role, state: State, outbound: Outbound) -> Self {
        Connection {
            config,
            role,
            state,
            active: None,
            outbound,
            opening: None,
            notices: Notices::default(),
            last_fragmented_len: 0,
        }
    }

    /// This connection's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits this connection runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// True once the opening handshake completed and until the connection
    /// ends; sending is possible while this holds and no close was sent.
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_) | State::CloseSent(_))
    }

    // ----- tracing ------------------------------------------------------

    /// Start (or stop, dropping unpolled records) keeping a [`FrameTrace`]
    /// of every frame this connection parses or queues, for
    /// [`Connection::poll_trace`]. Off by default; off costs one check per
    /// frame. Frames that fail the connection while their header is read
    /// are reported by [`Event::Failed`] instead.
    pub fn set_trace(&mut self, on: bool) {
        self.outbound.trace = on.then(Box::default);
    }

    /// The oldest frame record not yet polled, if tracing is on. Records
    /// are in the order frames were parsed or queued; `poll_event` parses,
    /// so a received frame's record is there once `poll_event` has
    /// returned the event the frame caused (or `None`).
    pub fn poll_trace(&mut self) -> Option<FrameTrace> {
        self.outbound.trace.as_deref_mut()?.pop()
    }

    // ----- events -------------------------------------------------------

    /// The next event, or `None` when more input (or time, or output
    /// space) is needed. Call it until it returns `None` after every input.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.poll_event_with_sender().map(|(event, _)| event)
    }

    /// Like [`Connection::poll_event`], with a [`Sender`] to answer on
    /// this connection while the event (which borrows the receive buffer)
    /// is still held: an echo copies the payload once, straight from the
    /// receive buffer into the output buffer.
    pub fn poll_event_with_sender(&mut self) -> Option<(Event<'_>, Sender<'_>)> {
        let ready = self.next_ready()?;
        let Connection {
            config,
            state,
            active,
            outbound,
            notices,
            ..
        } = self;
        let Active {
            rx, assembler, out, ..
        } = &mut **active.get_or_insert_with(Box::default);
        let sender = Sender::new(config, state, out, outbound, &mut notices.want_writable);
        let event = match ready {
            Next::Notice(event) => event,
            Next::Ready(ready) => materialize(rx, assembler, ready),
        };
        Some((event, sender))
    }

    fn next_ready(&mut self) -> Option<Next> {
        if self.notices.writable {
            self.notices.writable = false;
            return Some(Next::Notice(Event::Writable));
        }
        if self.notices.throttled {
            self.notices.throttled = false;
            return Some(Next::Notice(Event::Throttled));
        }
        if let Some(err) = self.take_failed() {
            return Some(Next::Notice(Event::Failed(err)));
        }
        let ready = if self.input_paused() {
            None
        } else {
            self.step()
        };
        if let Some(ready) = ready {
            return Some(Next::Ready(ready));
        }
        if let Some(err) = self.take_failed() {
            return Some(Next::Notice(Event::Failed(err)));
        }
        let (code, clean) = self.take_closed()?;
        Some(Next::Notice(Event::Closed { code, clean }))
    }

    /// Parses as far as the next event, mutating state; `None` when the
    /// input is exhausted or the connection is not reading.
    fn step(&mut self) -> Option<Ready> {
        match self.state {
            State::ServerReading => self.opening_read_request(),
            State::ClientWaiting => self.opening_read_response(),
            // §7.1.3: after our close the peer's frames are still read,
            // up to its close.
            State::Open(_) | State::CloseSent(_) => self.read_frames(),
            State::ServerDeciding | State::Lingering(_) | State::Closed { .. } => None,
        }
    }

    /// While our output is backed up past the bound, stop turning input
    /// into events: the peer's bytes wait, the socket stops being read, and
    /// TCP pushes back on a peer that sends faster than it reads. The same
    /// while a rate limit in pause mode waits for the peer's allowance to
    /// refill (§10.4).
    fn input_paused(&self) -> bool {
        self.buffered_amount() >= self.config.max_output_buffer || self.rate_paused()
    }

    /// True while a rate limit pauses reading.
    fn rate_paused(&self) -> bool {
        self.state
            .limiter()
            .is_some_and(|l| l.paused(self.outbound.timers.now()))
    }

    /// The `Open` state a connection enters once its handshake completes,
    /// with its own limiter if the configuration sets a rate limit (the
    /// one allocation that costs, once per connection; none without).
    fn open_state(&self) -> State {
        State::Open(self.config.rate_limit.map(|l| Box::new(Limiter::new(l))))
    }

    /// The in-flight parts, created when the connection has none (the
    /// event loop lends them from its pool first, so this rarely allocates).
    fn active(&mut self) -> &mut Active {
        self.active.get_or_insert_with(Box::default)
    }

    /// The in-flight parts and the output side, borrowed together.
    fn parts(&mut self) -> (&mut Active, &mut Outbound, &Config) {
        (
            self.active.get_or_insert_with(Box::default),
            &mut self.outbound,
            &self.config,
        )
    }

    /// Take in-flight parts from `pool` ahead of I/O, so that reading and
    /// sending reuse buffers instead of allocating.
    pub fn unpark(&mut self, pool: &mut BufferPool) {
        if self.active.is_none() {
            self.active = Some(pool.take());
        }
        #[cfg(feature = "deflate")]
        if let Some(deflate) = self.outbound.deflate.as_deref_mut() {
            deflate.lend(&mut pool.codecs);
        }
    }

    /// Give the in-flight parts back to `pool` when nothing is buffered or
    /// half-done: an idle connection then holds no buffer at all (nor a
    /// deflate codec that keeps no history).
    pub fn park(&mut self, pool: &mut BufferPool) {
        if self.active.as_deref().is_some_and(Active::is_idle) {
            if let Some(active) = self.active.take() {
                pool.give(active);
            }
            #[cfg(feature = "deflate")]
            if let Some(deflate) = self.outbound.deflate.as_deref_mut() {
                deflate.give_back(Some(&mut pool.codecs));
            }
        }
    }

    /// True while the connection holds in-flight parts (buffers).
    pub fn is_parked(&self) -> bool {
        self.active.is_none()
    }

    // ----- input --------------------------------------------------------

    /// Free space to read into; the driver reads into it and reports how
    /// many bytes arrived with [`Connection::commit_recv`].
    ///
    /// The space offered is `Config::read_buffer_size`, more while a frame
    /// kept whole is arriving (up to its announced size, growing as its
    /// bytes come), and more while a fragmented message streams into the
    /// assembler: up to as much as the assembler already holds (at most
    /// [`STREAM_READ_MAX`]), so fewer reads carry a large message and
    /// memory stays within twice what the peer actually sent.
    pub fn recv_buf(&mut self) -> &mut [u8] {
        let size = self.config.read_buffer_size;
        let active = self.active();
        let need = active.read.bytes_missing(active.rx.len());
        let streamed = active.assembler.buffered().min(STREAM_READ_MAX);
        active.rx.spare(size.max(streamed), need)
    }

    /// `n` bytes were read into [`Connection::recv_buf`].
    pub fn commit_recv(&mut self, n: usize) {
        let ended = self.state.has_ended();
        let rx = &mut self.active().rx;
        rx.commit(n);
        // Once the connection ended (a close was received, or it failed),
        // input is read only to see EOF and is otherwise ignored (§7.1.7).
        if ended {
            rx.clear();
        }
        if n > 0 {
            self.outbound.timers.saw_activity();
        }
    }

    /// Copy received bytes in (for tests, fuzzing and simple drivers). Call
    /// `poll_event` until `None` between calls so memory stays bounded.
    pub fn recv(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let spare = self.recv_buf();
            let n = spare.len().min(data.len());
            let (now, rest) = data.split_at(n);
            if let Some(dst) = spare.get_mut(..n) {
                dst.copy_from_slice(now);
            }
            self.commit_recv(n);
            data = rest;
        }
    }

    /// True when the driver should read from the socket.
    pub fn wants_read(&self) -> bool {
        match &self.state {
            State::ServerDeciding | State::Closed { .. } => false,
            // §7.1.1: a client reads on until the server closes TCP.
            State::Lingering(ending) => ending.awaits_peer(),
            State::ServerReading | State::ClientWaiting | State::Open(_) | State::CloseSent(_) => {
                !self.input_paused()
            }
        }
    }

    // ----- output -------------------------------------------------------

    /// Bytes to write to the socket now (empty when there are none): the
    /// first slice of [`Connection::pending_chunks`]. Write as much as the
    /// socket takes, then call [`Connection::consume_output`].
    pub fn pending_output(&self) -> &[u8] {
        self.active.as_deref().map_or(&[], |a| a.out.pending())
    }

    /// The bytes to write, as up to `chunks.len()` slices in wire order,
    /// for one vectored write (`writev`); returns how many were filled (0
    /// when nothing is queued). The slices are the queued bytes where they
    /// already are — owned frames, and a broadcast's frames in the buffer
    /// every connection shares ([`PreparedMessage`]) — with each waiting
    /// ping or pong placed between two frames, never inside one (§5.4,
    /// §5.5). Report what the transport took with
    /// [`Connection::consume_output`]: any count up to the slices' total,
    /// across slices.
    pub fn pending_chunks<'a>(&'a self, chunks: &mut [&'a [u8]]) -> usize {
        self.active.as_deref().map_or(0, |a| a.out.chunks(chunks))
    }

    /// `n` bytes were written: the start of [`Connection::pending_output`],
    /// or of [`Connection::pending_chunks`] (any count, across slices).
    pub fn consume_output(&mut self, n: usize) {
        if let Some(active) = self.active.as_deref_mut() {
            active.out.consume(n);
        }
        // Nothing can be sent once the connection ended, and `Closed` must
        // stay the last event.
        if self.notices.want_writable
            && !self.state.has_ended()
            && self.buffered_amount() < self.config.max_output_buffer
        {
            self.notices.want_writable = false;
            self.notices.writable = true;
        }
        // The last byte written may be all a lingering connection waited for.
        self.settle();
    }

    /// True when there is output waiting.
    pub fn wants_write(&self) -> bool {
        self.buffered_amount() > 0
    }

    /// Bytes queued and not yet written.
    pub fn buffered_amount(&self) -> usize {
        self.active.as_deref().map_or(0, |a| a.out.buffered())
    }

    /// Hand back buffers that hold no data, so an idle connection costs
    /// only its state. Steady traffic reuses buffers; call this when a
    /// connection goes quiet.
    pub fn release_idle_memory(&mut self) {
        if self.active.as_deref().is_some_and(Active::is_idle) {
            self.active = None;
            #[cfg(feature = "deflate")]
            if let Some(deflate) = self.outbound.deflate.as_deref_mut() {
                deflate.give_back(None);
            }
        }
    }

    /// The permessage-deflate parameters agreed in the opening handshake
    /// (RFC 7692 §7.1), or `None` when the connection runs uncompressed.
    #[cfg(feature = "deflate")]
    pub fn deflate_params(&self) -> Option<crate::deflate::DeflateParams> {
        self.outbound.deflate.as_deref().map(|d| d.params)
    }

    /// Whether this connection holds a deflate (compressor, decompressor)
    /// now — for memory tests (feature `testing`): a side without context
    /// takeover holds none while the connection is parked.
    #[cfg(all(feature = "deflate", feature = "testing"))]
    pub fn deflate_codecs(&self) -> (bool, bool) {
        self.outbound
            .deflate
            .as_deref()
            .map_or((false, false), |d| d.holds_codecs())
    }

    // ----- time ---------------------------------------------------------

    /// The earliest instant at which [`Connection::handle_timeout`] has
    /// work to do, if any.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let timers = &self.outbound.timers;
        match self.state {
            // The handshake timeout, and §7.1.1 the close handshake's.
            State::ServerReading | State::ServerDeciding | State::ClientWaiting => {
                timers.deadline()
            }
            State::Open(_) | State::CloseSent(_) => {
                let due = if matches!(self.state, State::Open(_)) {
                    timers.open_deadline(&self.config)
                } else {
                    timers.deadline()
                };
                let resume = self.state.limiter().and_then(|l| l.resume_at(timers.now()));
                match (due, resume) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            State::Lingering(_) => timers.linger_deadline(),
            State::Closed { .. } => None,
        }
    }

    /// Tell the connection the time. Fires whatever is due: handshake
    /// timeout, heartbeat ping, dead-peer detection, idle timeout, close
    /// handshake timeout. Cheap when nothing is due.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        // A peer we do not read because of its rate limit is not silent:
        // it is waiting for us. Heartbeats and the idle timeout must not
        // call it dead for the time we chose not to listen.
        if self.rate_paused() {
            self.outbound.timers.saw_activity();
        }
        self.outbound.timers.set_now(now);
        match self.state {
            State::ServerReading | State::ServerDeciding | State::ClientWaiting => {
                if self.outbound.timers.deadline_passed() {
                    self.end_now();
                }
            }
            State::Open(_) => self.open_timers(),
            State::CloseSent(_) => {
                if self.outbound.timers.deadline_passed() {
                    // §7.1.1 the peer never answered our close: give up.
                    self.end_now();
                }
            }
            State::Lingering(_) | State::Closed { .. } => {}
        }
        // The linger timeout may be what a lingering connection waited for.
        self.settle();
    }

    fn open_timers(&mut self) {
        match self.outbound.timers.due(&self.config) {
            Due::Nothing => {}
            Due::Idle => self.send_close(CloseCode::GOING_AWAY, "idle timeout"),
            Due::Ping => {
                let (active, outbound, _) = self.parts();
                outbound.queue_control(&mut active.out, OpCode::Ping, &[]);
                outbound.timers.ping_sent();
            }
            Due::PeerDead => {
                // No answer to our ping: say why, but don't wait for a reply
                // from a peer we believe is gone.
                self.send_close(CloseCode::GOING_AWAY, "ping timeout");
                self.end(None, CloseCode::ABNORMAL, false, Peer::Ignored);
            }
        }
    }

    // ----- commands -----------------------------------------------------

    /// A [`Sender`] for this connection.
    pub fn sender(&mut self) -> Sender<'_> {
        let out = &mut self.active.get_or_insert_with(Box::default).out;
        Sender::new(
            &self.config,
            &mut self.state,
            out,
            &mut self.outbound,
            &mut self.notices.want_writable,
        )
    }

    /// Send a text message (§5.6); see [`Sender::send_text`].
    pub fn send_text(&mut self, text: &str) -> Result<(), UsageError> {
        self.sender().send_text(text)
    }

    /// Send a binary message (§5.6); see [`Sender::send_binary`].
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.sender().send_binary(data)
    }

    /// Send a pre-encoded message; see [`Sender::send_prepared`].
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), UsageError> {
        self.sender().send_prepared(message)
    }

    /// Send a ping (§5.5.2); see [`Sender::send_ping`].
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.sender().send_ping(payload)
    }

    /// Send an unsolicited pong (§5.5.3); see [`Sender::send_pong`].
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.sender().send_pong(payload)
    }

    /// Start the closing handshake (§7.1.2) at `now`; see [`Sender::close`].
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), UsageError> {
        self.sender().close(now, code, reason)
    }

    /// Send any frame, even an invalid one; see [`Sender::send_raw_frame`].
    /// Only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn send_raw_frame(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
    ) -> Result<(), UsageError> {
        self.sender().send_raw_frame(fin, rsv, opcode, payload)
    }
}

/// Either a notice or a parsed event, before borrowing.
enum Next {
    Notice(Event<'static>),
    Ready(Ready),
}

fn materialize<'a>(rx: &'a RecvBuffer, assembler: &'a Assembler, ready: Ready) -> Event<'a> {
    match ready {
        Ready::Request(r) => Event::Request(r),
        Ready::HttpRequest(r) => Event::HttpRequest(r),
        Ready::Connected(r) => Event::Connected(r),
        Ready::Single(kind, range) => message_event(kind, rx.slice(range)),
        Ready::Assembled(kind) => message_event(kind, assembler.message()),
        Ready::Ping(range) => Event::Ping(rx.slice(range)),
        Ready::Pong(range) => Event::Pong(rx.slice(range)),
        Ready::Close(code, range) => Event::CloseReceived {
            code,
            // Validated as UTF-8 when the frame was parsed.
            reason: core::str::from_utf8(rx.slice(range)).unwrap_or_default(),
        },
    }
}

fn message_event(kind: MessageKind, bytes: &[u8]) -> Event<'_> {
    match kind {
        MessageKind::Binary => Event::Binary(bytes),
        // The bytes were validated while they arrived (fail-fast, §8.1).
        MessageKind::Text => Event::Text(crate::utf8::already_validated(bytes)),
    }
}

/// Cut a close reason to the 123 bytes a close frame can carry, at a
/// character boundary.
fn truncate_reason(reason: &str) -> &str {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    reason.get(..end).unwrap_or_default()
}
