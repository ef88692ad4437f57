//! The runner's side of one case's connection: a WebSocket endpoint that
//! behaves like wstest's own (autobahn 0.10.9 with `failByDrop = False`),
//! because the verdicts are judged from its point of view: who closed
//! first, whether the close was clean, which code came back.
//!
//! Sans-I/O like the core: bytes in ([`Peer::receive`]), bytes out
//! ([`Peer::next_write`]), time in ([`Peer::fire_due`]). It reads the peer's
//! frames with the core's header reader, UTF-8 validator and inflater, and
//! writes its own with the core's raw frame encoder, the one path that
//! may put frames RFC 6455 forbids on the wire.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ws6455::proto::encode::push_raw_frame;
use ws6455::proto::utf8::Utf8Validator;

use super::case::{ExpectedClose, Observed, Outcome, Verdict};
use super::compress::Session as Deflate;
use super::wirelog::{Entry, Wirelog};

mod frame;
mod reader;

pub use frame::Frame;

/// wstest's `closeHandshakeTimeout`: how long we wait for the peer's close
/// after sending ours.
const CLOSE_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);
/// wstest's `serverConnectionDropTimeout`: how long a client waits for the
/// server to drop TCP after the closing handshake.
const SERVER_DROP_TIMEOUT: Duration = Duration::from_secs(1);

/// `payload` repeated (and cut) to `n` bytes, copying ever larger runs.
fn repeat_to(payload: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    out.extend_from_slice(payload.get(..n.min(payload.len())).unwrap_or_default());
    while out.len() < n {
        let more = out.len().min(n - out.len());
        out.extend_from_within(..more);
    }
    out
}

/// Where the connection is (RFC 6455 §4, §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Opening handshake under way.
    Connecting,
    /// Messages flow.
    Open,
    /// A close frame was sent.
    Closing,
    /// TCP is (being) dropped.
    Closed,
}

/// Something scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// `killAfter`: fail the connection.
    Kill,
    /// `closeAfter`: start the closing handshake.
    Close,
    /// `continueLater`: call the case back with this tag.
    Continue(u32),
    /// Our close went unanswered.
    CloseHandshake,
    /// The server kept TCP open after the closing handshake.
    ServerDrop,
}

/// What the driver must pass to the case.
#[derive(Debug)]
pub enum Event {
    /// A whole message (payload, binary).
    Message(Vec<u8>, bool),
    /// A pong.
    Pong(Vec<u8>),
    /// A `continue_later` wait ran out (its tag).
    Continue(u32),
}

/// How the driver must end the TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drop {
    /// Write what is buffered, then close.
    Flush,
    /// Close now.
    Abort,
}

/// A frame being read.
struct InFrame {
    opcode: u8,
    fin: bool,
    rsv: u8,
    len: u64,
    mask: Option<[u8; 4]>,
    got: u64,
}

/// Our endpoint for one connection; public fields are what the judgement
/// and the report read.
pub struct Peer {
    /// What the case expects and saw, and the verdicts.
    pub outcome: Outcome,
    /// We are the server (client mode: the implementation under test is
    /// the client).
    pub is_server: bool,
    /// The connection's state.
    pub state: State,
    /// The opening handshake completed.
    pub connection_was_open: bool,
    /// We sent the first close frame.
    pub closed_by_me: bool,
    /// We failed the connection (a protocol violation by the peer).
    pub failed_by_me: bool,
    /// We dropped the TCP connection.
    pub dropped_by_me: bool,
    /// The closing handshake completed.
    pub was_clean: bool,
    /// Why the close was not clean.
    pub was_not_clean_reason: Option<String>,
    /// The close code we sent.
    pub local_close_code: Option<u16>,
    /// The close reason we sent.
    pub local_close_reason: Option<Vec<u8>>,
    /// The close code the peer sent.
    pub remote_close_code: Option<u16>,
    /// The close reason the peer sent.
    pub remote_close_reason: Option<String>,
    /// Messages are split into frames of at most this many bytes (0: not).
    pub auto_fragment_size: usize,
    /// The permessage-deflate session, when negotiated.
    pub deflate: Option<Deflate>,
    /// Frames and octets as they went, for the report.
    pub wirelog: Wirelog,
    /// Frames sent, per opcode (wstest's `txFrameStats`).
    pub tx_frames: [u64; 16],
    input: Vec<u8>,
    frame: Option<InFrame>,
    control: Vec<u8>,
    inside_message: bool,
    message_binary: bool,
    message_compressed: bool,
    message: Vec<u8>,
    utf8: Option<Utf8Validator>,
    utf8_valid: bool,
    /// Bytes handed to the transport, written as soon as it takes them.
    transport: Vec<u8>,
    /// Writes that go one per turn of the loop (chopped or synchronous).
    queue: VecDeque<(Vec<u8>, bool)>,
    /// The driver's turn count ([`Peer::begin_turn`]).
    turn: u64,
    /// The turn on which the next queued piece moves into the transport
    /// (wstest's `_send` re-armed with `call_later`); `None` while the
    /// queue is not being pumped (wstest's `triggered` off).
    pump_at: Option<u64>,
    timers: Vec<(Instant, Timer)>,
    events: VecDeque<Event>,
    drop: Option<Drop>,
}

impl Peer {
    /// A fresh endpoint; `is_server` as above.
    pub fn new(is_server: bool) -> Self {
        Peer {
            outcome: Outcome::default(),
            is_server,
            state: State::Connecting,
            connection_was_open: false,
            closed_by_me: false,
            failed_by_me: false,
            dropped_by_me: false,
            was_clean: false,
            was_not_clean_reason: None,
            local_close_code: None,
            local_close_reason: None,
            remote_close_code: None,
            remote_close_reason: None,
            auto_fragment_size: 0,
            deflate: None,
            wirelog: Wirelog::default(),
            tx_frames: [0; 16],
            input: Vec::new(),
            frame: None,
            control: Vec::new(),
            inside_message: false,
            message_binary: false,
            message_compressed: false,
            message: Vec::new(),
            utf8: None,
            utf8_valid: true,
            transport: Vec::new(),
            queue: VecDeque::new(),
            turn: 0,
            pump_at: None,
            timers: Vec::new(),
            events: VecDeque::new(),
            drop: None,
        }
    }

    // ---- what cases call -------------------------------------------------

    /// Expect `events` for verdict `verdict` (wstest's `expected[verdict]`).
    pub fn expect(&mut self, verdict: Verdict, events: Vec<Observed>) {
        self.outcome.expected.retain(|(v, _)| *v != verdict);
        self.outcome.expected.push((verdict, events));
    }

    /// How the connection should end.
    pub fn expect_close(&mut self, close: ExpectedClose) {
        self.outcome.expected_close = close;
    }

    /// Send one frame exactly as given (wstest's `sendFrame`): any opcode,
    /// RSV bits and FIN; `payload_len` repeats `payload` to that length;
    /// `chop` writes the frame in pieces of that many bytes, one per turn
    /// of the loop; `sync` writes it on its own turn. Client frames are
    /// masked with a fresh key unless `mask` gives one.
    pub fn send_frame(&mut self, f: Frame<'_>) {
        if self.state == State::Closed {
            return;
        }
        let repeated;
        let payload: &[u8] = match f.payload_len {
            Some(n) if !f.payload.is_empty() => {
                repeated = repeat_to(f.payload, n);
                &repeated
            }
            _ => f.payload,
        };
        let mask = f.mask.or_else(|| (!self.is_server).then(rand::random));
        let mut raw = Vec::with_capacity(payload.len().saturating_add(14));
        push_raw_frame(&mut raw, f.fin, f.rsv, f.opcode, payload, mask);
        if let Some(n) = self.tx_frames.get_mut(usize::from(f.opcode & 0x0f)) {
            *n += 1;
        }
        self.wirelog.push(|| Entry::TxFrame {
            opcode: f.opcode,
            fin: f.fin,
            rsv: f.rsv,
            len: payload.len(),
            head: payload.iter().take(64).copied().collect(),
            chop: f.chop,
            sync: f.sync,
        });
        self.send_data(raw, f.sync, f.chop);
    }

    /// Send a whole message the way wstest's `sendMessage` does:
    /// compressed when permessage-deflate was agreed, split into frames of
    /// `auto_fragment_size`.
    pub fn send_message(&mut self, payload: &[u8], binary: bool) {
        self.send_message_split(payload, binary, None, false);
    }

    /// [`Peer::send_message`] with wstest's `fragmentSize` (else
    /// `auto_fragment_size`) and `sync`. As wstest does, a payload that is
    /// an exact multiple of the size ends with an empty final frame.
    pub fn send_message_split(
        &mut self,
        payload: &[u8],
        binary: bool,
        size: Option<usize>,
        sync: bool,
    ) {
        if self.state != State::Open {
            return;
        }
        let opcode = if binary { 2 } else { 1 };
        let (body, rsv) = match self.deflate.as_mut() {
            Some(d) => (d.compress(payload), 4),
            None => (payload.to_vec(), 0),
        };
        let size = size.or((self.auto_fragment_size > 0).then_some(self.auto_fragment_size));
        let size = match size {
            Some(size) if body.len() > size => size.max(1),
            _ => {
                self.send_frame(Frame::new(opcode, &body).rsv(rsv).sync(sync));
                return;
            }
        };
        let mut start = 0;
        loop {
            let end = start + size;
            let done = end > body.len();
            let piece = body.get(start..end.min(body.len())).unwrap_or_default();
            let frame = if start == 0 {
                Frame::new(opcode, piece).rsv(rsv)
            } else {
                Frame::new(0, piece)
            };
            self.send_frame(frame.fin(done).sync(sync));
            if done {
                break;
            }
            start = end;
        }
    }

    /// Start the closing handshake (wstest's `sendClose`).
    pub fn send_close(&mut self, code: Option<u16>, reason: Option<&[u8]>) {
        self.send_close_frame(code, reason, false);
    }

    /// Send a close frame with any code and reason, even invalid ones
    /// (wstest's `sendCloseFrame`), once.
    pub fn send_close_frame(&mut self, code: Option<u16>, reason: Option<&[u8]>, is_reply: bool) {
        if self.state != State::Open {
            return;
        }
        let mut payload = Vec::new();
        if let Some(code) = code {
            payload.extend_from_slice(&code.to_be_bytes());
        }
        if let Some(reason) = reason {
            payload.extend_from_slice(reason);
        }
        self.send_frame(Frame::new(8, &payload));
        self.state = State::Closing;
        self.closed_by_me = !is_reply;
        self.local_close_code = code;
        self.local_close_reason = reason.map(<[u8]>::to_vec);
        if self.closed_by_me {
            self.schedule(CLOSE_HANDSHAKE_TIMEOUT, Timer::CloseHandshake);
        }
    }

    /// Fail the connection after `secs` if it is still there.
    pub fn kill_after(&mut self, secs: f64) {
        self.wirelog
            .push(|| Entry::Note(format!("FAIL CONNECTION AFTER {secs:.6} sec")));
        self.schedule(Duration::from_secs_f64(secs), Timer::Kill);
    }

    /// Start the closing handshake after `secs` if still connected.
    pub fn close_after(&mut self, secs: f64) {
        self.wirelog
            .push(|| Entry::Note(format!("CLOSE CONNECTION AFTER {secs:.6} sec")));
        self.schedule(Duration::from_secs_f64(secs), Timer::Close);
    }

    /// Call the case's `on_timer(tag)` after `secs` if still connected.
    pub fn continue_later(&mut self, secs: f64, tag: u32) {
        self.wirelog
            .push(|| Entry::Note(format!("DELAY {secs:.6} sec for TAG {tag}")));
        self.schedule(Duration::from_secs_f64(secs), Timer::Continue(tag));
    }

    /// Turn the wire log on or off (performance cases keep it short).
    pub fn enable_wirelog(&mut self, on: bool) {
        self.wirelog.enable(on);
    }

    /// wstest's `finishWhenDone`: once what arrived matches every expected
    /// sequence, close if the case says we close.
    pub fn finish_when_done(&mut self) {
        let all = self
            .outcome
            .expected
            .iter()
            .all(|(_, events)| *events == self.outcome.received);
        if all && self.outcome.expected_close.closed_by_me && !self.outcome.suppress_close {
            let code = self.outcome.expected_close.codes.first().copied();
            self.send_close(code, None);
        }
    }

    /// Fail the connection (wstest's `failConnection`, `failByDrop` off):
    /// send a close with `code`, or drop TCP if a close was already sent.
    pub fn fail_connection(&mut self, code: u16, reason: &str) {
        if self.state == State::Closed {
            return;
        }
        self.failed_by_me = true;
        if self.state != State::Closing {
            let reason = reason.as_bytes();
            let reason = reason.get(..reason.len().min(123)).unwrap_or_default();
            self.send_close_frame(Some(code), Some(reason), false);
        } else {
            self.drop_connection(Drop::Flush);
        }
    }

    /// Drop the TCP connection.
    pub fn drop_connection(&mut self, how: Drop) {
        if self.state != State::Closed {
            self.dropped_by_me = true;
            self.state = State::Closed;
            self.drop = Some(how);
        }
    }

    /// wstest's `Case.onConnectionLost`: the verdicts.
    pub fn judge(&mut self) {
        let o = &mut self.outcome;
        if let Some((verdict, _)) = o.expected.iter().find(|(_, e)| *e == o.received) {
            o.behavior = *verdict;
            o.result = "Actual events match at least one expected.".into();
        }
        if !self.connection_was_open {
            o.behavior_close = Verdict::Failed;
            o.result_close = "The WebSocket opening handshake was never completed!".into();
            return;
        }
        let close = &o.expected_close;
        if close.closed_by_me != self.closed_by_me {
            o.behavior_close = Verdict::Failed;
            o.result_close = "The connection was failed by the wrong endpoint".into();
        } else if close.require_clean && !self.was_clean {
            o.behavior_close = Verdict::Unclean;
            o.result_close = "The spec requires the connection to be failed cleanly here".into();
        } else if self
            .remote_close_code
            .is_some_and(|code| !close.codes.contains(&code))
        {
            o.behavior_close = Verdict::WrongCode;
            let codes: Vec<String> = close.codes.iter().map(u16::to_string).collect();
            o.result_close = format!(
                "The close code should have been {} or empty",
                codes.join(",")
            );
        } else if !self.is_server && self.dropped_by_me {
            o.behavior_close = Verdict::FailedByClient;
            o.result_close = "It is preferred that the server close the TCP connection".into();
        } else {
            o.behavior_close = Verdict::Ok;
            o.result_close = "Connection was properly closed".into();
        }
        if close.wrong_endpoint_is_fatal && close.closed_by_me != self.closed_by_me {
            o.behavior = Verdict::Failed;
        }
    }

    // ---- what the driver calls ------------------------------------------

    /// The opening handshake succeeded.
    pub fn opened(&mut self) {
        self.state = State::Open;
        self.connection_was_open = true;
    }

    /// Bytes from the socket.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.wirelog
            .push(|| Entry::RxOctets(bytes.len(), bytes.iter().take(64).copied().collect()));
        self.input.extend_from_slice(bytes);
    }

    /// Read frames until one yields an event for the case, or the input
    /// runs out. Call again after the case has acted on the event: what it
    /// did (closing, say) changes how the next frame is taken.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Some(ev);
            }
            if !matches!(self.state, State::Open | State::Closing) || !self.process() {
                return self.events.pop_front();
            }
        }
    }

    /// The TCP connection ended (EOF or error) without our dropping it.
    pub fn lost(&mut self) {
        self.state = State::Closed;
        if !self.was_clean && !self.dropped_by_me && self.was_not_clean_reason.is_none() {
            self.was_not_clean_reason = Some(
                "peer dropped the TCP connection without previous WebSocket closing handshake"
                    .into(),
            );
        }
    }

    /// How the driver should end TCP, once we decided to.
    pub fn drop_request(&self) -> Option<Drop> {
        self.drop
    }

    /// Queue bytes for the socket the way wstest's `sendData` does.
    pub fn send_data(&mut self, data: Vec<u8>, sync: bool, chop: Option<usize>) {
        match chop {
            Some(size) if size > 0 => {
                for piece in data.chunks(size) {
                    self.queue.push_back((piece.to_vec(), true));
                }
                self.trigger();
            }
            _ if sync || !self.queue.is_empty() => {
                self.queue.push_back((data, sync));
                self.trigger();
            }
            _ => {
                self.wirelog.push(|| {
                    Entry::TxOctets(data.len(), data.iter().take(64).copied().collect(), false)
                });
                if self.transport.is_empty() {
                    self.transport = data;
                } else {
                    self.transport.extend_from_slice(&data);
                }
            }
        }
    }

    /// wstest's `_trigger`: the first queued piece goes into the transport
    /// at once, the next one a turn later. So a sequence started while
    /// reading (an `on_open`, an `on_message`) has its first two pieces
    /// written together on the next turn, as wstest's reactor writes them
    /// (3.3: the message and the bad frame behind it in one segment).
    fn trigger(&mut self) {
        if self.pump_at.is_none() {
            self.pump();
        }
    }

    /// wstest's `_send`: move one queued piece into the transport (behind
    /// what it still holds) and come back next turn; stop when none is left.
    fn pump(&mut self) {
        let Some((piece, sync)) = self.queue.pop_front() else {
            self.pump_at = None;
            return;
        };
        if self.state != State::Closed {
            self.wirelog.push(|| {
                Entry::TxOctets(piece.len(), piece.iter().take(64).copied().collect(), sync)
            });
            self.transport.extend_from_slice(&piece);
        }
        self.pump_at = Some(self.turn.saturating_add(1));
    }

    /// A new turn of the driver's loop begins.
    pub fn begin_turn(&mut self) {
        self.turn = self.turn.saturating_add(1);
    }

    /// Whether the queue is being pumped (a piece went out on this turn or
    /// the last, and more may follow).
    pub fn pumping(&self) -> bool {
        self.pump_at.is_some()
    }

    /// Whether a queued piece moves into the transport on this turn.
    pub fn pump_due(&self) -> bool {
        self.pump_at.is_some_and(|at| at <= self.turn) && self.state != State::Closed
    }

    /// This turn's piece of the queue, if one is due (see [`Peer::pump_due`]).
    pub fn pump_turn(&mut self) {
        if self.pump_due() {
            self.pump();
        }
    }

    /// The bytes to write now.
    pub fn next_write(&self) -> &[u8] {
        &self.transport
    }

    /// `n` bytes of [`Peer::next_write`] were written.
    pub fn wrote(&mut self, n: usize) {
        self.transport.drain(..n.min(self.transport.len()));
    }

    /// Bytes of the transport buffer not yet written.
    pub fn transport_pending(&self) -> bool {
        !self.transport.is_empty()
    }

    /// Bytes held for frames and messages not yet complete.
    pub fn buffered(&self) -> usize {
        self.input
            .len()
            .saturating_add(self.message.len())
            .saturating_add(self.control.len())
    }

    /// Pieces still queued for later turns.
    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty() && self.state != State::Closed
    }

    /// When the next timer is due.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    /// Run the timers due at `now`.
    pub fn fire_due(&mut self, now: Instant) {
        while let Some(i) = self.timers.iter().position(|(at, _)| *at <= now) {
            let (_, timer) = self.timers.swap_remove(i);
            self.fire(timer);
        }
    }

    // ---- inside ----------------------------------------------------------

    fn schedule(&mut self, after: Duration, timer: Timer) {
        self.timers.push((Instant::now() + after, timer));
    }

    fn fire(&mut self, timer: Timer) {
        match timer {
            Timer::Kill => {
                if self.state != State::Closed {
                    self.wirelog
                        .push(|| Entry::Note("FAILING CONNECTION".into()));
                    self.fail_connection(1001, "Going Away");
                }
            }
            Timer::Close => {
                if self.state != State::Closed {
                    self.wirelog
                        .push(|| Entry::Note("CLOSING CONNECTION".into()));
                    self.send_close(None, None);
                }
            }
            Timer::Continue(tag) => {
                if self.state != State::Closed {
                    self.wirelog
                        .push(|| Entry::Note(format!("DELAY TIMEOUT on TAG {tag}")));
                    self.events.push_back(Event::Continue(tag));
                }
            }
            Timer::CloseHandshake => {
                if self.state != State::Closed {
                    self.was_clean = false;
                    self.was_not_clean_reason =
                        Some("peer did not respond (in time) in closing handshake".into());
                    self.drop_connection(Drop::Abort);
                }
            }
            Timer::ServerDrop => {
                if self.state != State::Closed {
                    self.was_clean = false;
                    self.was_not_clean_reason =
                        Some("server did not drop TCP connection (in time)".into());
                    self.drop_connection(Drop::Abort);
                }
            }
        }
    }

    fn protocol_violation(&mut self, reason: &str) {
        self.fail_connection(1002, reason);
    }

    fn invalid_payload(&mut self, reason: &str) {
        self.fail_connection(1007, reason);
    }

    fn abort_on_error(&mut self) {
        self.state = State::Closed;
        self.drop = Some(Drop::Abort);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_repeat_to_any_length() {
        assert_eq!(repeat_to(b"abc", 0), b"");
        assert_eq!(repeat_to(b"abc", 2), b"ab");
        assert_eq!(repeat_to(b"abc", 10), b"abcabcabca");
        let long = repeat_to(b"BAsd7&jh23", 1 << 20);
        assert_eq!(long.len(), 1 << 20);
        assert!(long.chunks(10).all(|c| b"BAsd7&jh23".starts_with(c)));
    }

    /// wstest's `_trigger`/`_send`: the first queued piece is in the
    /// transport at once, each later one joins it a turn later, so a
    /// sequence queued while reading goes out as (1 + 2), 3, 4 …
    #[test]
    fn queued_pieces_join_the_transport_one_turn_apart() {
        let mut p = Peer::new(true);
        p.opened();
        p.send_data(vec![1], true, None);
        p.send_data(vec![2], true, None);
        p.send_data(vec![3, 4], false, Some(1));
        assert_eq!(p.next_write(), [1]);
        assert!(!p.pump_due(), "the next piece waits for the next turn");
        p.begin_turn();
        p.pump_turn();
        assert_eq!(p.next_write(), [1, 2]);
        p.wrote(2);
        for expected in [3, 4] {
            p.begin_turn();
            assert!(p.pump_due());
            p.pump_turn();
            assert_eq!(p.next_write(), [expected]);
            p.wrote(1);
        }
        p.begin_turn();
        p.pump_turn();
        assert!(!p.pumping() && !p.has_queued());
        // An unqueued write goes straight to the transport.
        p.send_data(vec![5], false, None);
        assert_eq!(p.next_write(), [5]);
    }

    #[test]
    fn a_peer_close_is_answered_and_a_server_drops_tcp() {
        let mut p = Peer::new(true);
        p.opened();
        // A masked close 1000 from the client.
        let mut frame = Vec::new();
        push_raw_frame(
            &mut frame,
            true,
            0,
            8,
            &1000u16.to_be_bytes(),
            Some([1, 2, 3, 4]),
        );
        p.receive(&frame);
        assert!(p.poll_event().is_none());
        assert!(p.was_clean && !p.closed_by_me);
        assert_eq!(p.remote_close_code, Some(1000));
        assert_eq!(p.drop_request(), Some(Drop::Flush));
        assert_eq!(p.next_write(), [0x88, 0x02, 0x03, 0xe8]);
    }

    #[test]
    fn a_violation_fails_with_1002_and_a_second_one_drops() {
        let mut p = Peer::new(false);
        p.opened();
        p.receive(&[0x83, 0x00]); // reserved opcode 3
        let _ = p.poll_event();
        assert!(p.failed_by_me && p.state == State::Closing);
        assert_eq!(p.local_close_code, Some(1002));
        p.receive(&[0x84, 0x00]);
        let _ = p.poll_event();
        assert_eq!(p.drop_request(), Some(Drop::Flush));
        p.judge();
        assert_eq!(
            p.outcome.behavior_close,
            Verdict::Failed,
            "no close expected: default"
        );
    }
}
