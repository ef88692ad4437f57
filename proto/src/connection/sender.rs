//! Sending: the commands a driver gives a connection (§5.4–§5.6, §7.1.2).
//!
//! [`Sender`] borrows only the output side of a [`super::Connection`], so a
//! driver can hold an event (which borrows the receive buffer) and answer
//! on the same connection at once — an echo copies each payload exactly
//! once, from the receive buffer into the output buffer.

use alloc::boxed::Box;

use rand::rngs::StdRng;

use super::output::Output;
use super::state::State;
use super::timers::Timers;
use super::trace::TraceLog;
use super::vectored::{self, Transmit};
use crate::close::{encode_close_payload, CloseCode};
use crate::config::Config;
use crate::error::UsageError;
use crate::frame::OpCode;
use crate::prepared::PreparedMessage;
use crate::time::Timestamp;

/// The output side of a connection besides its buffer: the masking key
/// source, the timers that sending starts, tracing.
#[derive(Debug)]
pub(super) struct Outbound {
    /// Client only: the CSPRNG behind masking keys (§5.3, §10.3).
    rng: Option<Box<StdRng>>,
    pub(super) timers: Timers,
    /// Frame records, only while tracing is on (see `trace.rs`).
    pub(super) trace: Option<Box<TraceLog>>,
    /// RFC 7692 permessage-deflate, once agreed: both directions' state,
    /// kept here because a [`Sender`] compresses while an event borrows
    /// the receive side. One pointer when not negotiated.
    #[cfg(feature = "deflate")]
    pub(super) deflate: Option<Box<crate::deflate::DeflateState>>,
}

impl Outbound {
    /// A message may bypass the queue: server frames (a client masks each
    /// frame into a copy anyway) and no tracing (which records the queue).
    fn can_write_direct(&self) -> bool {
        self.rng.is_none() && self.trace.is_none()
    }

    pub(super) fn new(timers: Timers, rng: Option<Box<StdRng>>) -> Self {
        Outbound {
            rng,
            timers,
            trace: None,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }

    /// Every frame goes into the output through here, so that tracing,
    /// when on, sees each one once; when off this is a single check.
    fn push(&mut self, out: &mut Output, write: impl FnOnce(&mut Output, Option<&mut StdRng>)) {
        let Outbound { rng, trace, .. } = self;
        push_traced(out, rng, trace, write);
    }

    /// A control frame, ahead of queued data frames. The caller checked
    /// that our close has not gone (§5.5.1: nothing may follow it).
    pub(super) fn queue_control(&mut self, out: &mut Output, opcode: OpCode, payload: &[u8]) {
        self.push(out, |out, rng| out.queue_control(opcode, payload, rng));
    }

    /// Our close frame, after every queued data frame (§5.5.1), and the
    /// close handshake timeout (§7.1.1). The caller makes it happen once,
    /// by moving the connection from `Open` to `CloseSent`.
    pub(super) fn queue_close_payload(
        &mut self,
        out: &mut Output,
        payload: &[u8],
        config: &Config,
    ) {
        self.push(out, |out, rng| out.queue_close(payload, rng));
        self.timers.start_close(config.close_timeout);
    }
}

/// [`Outbound::push`] on the fields it needs, so that a caller can hold
/// another field (the compressed payload) at the same time.
fn push_traced(
    out: &mut Output,
    rng: &mut Option<Box<StdRng>>,
    trace: &mut Option<Box<TraceLog>>,
    write: impl FnOnce(&mut Output, Option<&mut StdRng>),
) {
    match trace.as_deref_mut() {
        None => write(out, rng.as_deref_mut()),
        Some(log) => {
            let mark = out.mark();
            write(out, rng.as_deref_mut());
            for frames in out.appended(mark) {
                log.sent(frames);
            }
        }
    }
}

/// Sends on one connection. Get one from
/// [`super::Connection::sender`] or, together with an event,
/// [`super::Connection::poll_event_with_sender`].
pub struct Sender<'a> {
    config: &'a Config,
    /// The connection's state: checked before sending, `CloseSent` after
    /// our close.
    state: &'a mut State,
    out: &'a mut Output,
    outbound: &'a mut Outbound,
    want_writable: &'a mut bool,
}

impl<'a> Sender<'a> {
    pub(super) fn new(
        config: &'a Config,
        state: &'a mut State,
        out: &'a mut Output,
        outbound: &'a mut Outbound,
        want_writable: &'a mut bool,
    ) -> Self {
        Sender {
            config,
            state,
            out,
            outbound,
            want_writable,
        }
    }

    /// True while the connection is open and our close is not sent.
    pub fn is_open(&self) -> bool {
        self.check_open().is_ok()
    }

    /// Bytes queued and not yet written.
    pub fn buffered_amount(&self) -> usize {
        self.out.buffered()
    }

    fn check_open(&self) -> Result<(), UsageError> {
        match self.state {
            State::Open(_) => Ok(()),
            State::CloseSent(_) | State::Lingering(_) | State::Closed { .. } => {
                Err(UsageError::Closed)
            }
            State::ServerReading | State::ServerDeciding | State::ClientWaiting => {
                Err(UsageError::NotOpen)
            }
        }
    }

    /// Open, and room in the output buffer (else `BufferFull`, and a
    /// `Writable` event once there is room again).
    fn check_can_send(&mut self) -> Result<(), UsageError> {
        self.check_open()?;
        if self.out.buffered() >= self.config.max_output_buffer {
            *self.want_writable = true;
            return Err(UsageError::BufferFull);
        }
        Ok(())
    }

    /// Send a text message (§5.6). Messages longer than
    /// `Config::fragment_size` go out as several frames (§5.4), so control
    /// frames can pass between them.
    pub fn send_text(&mut self, text: &str) -> Result<(), UsageError> {
        self.send_message(OpCode::Text, text.as_bytes(), None)
            .map(drop)
    }

    /// Send a binary message (§5.6), split like [`Sender::send_text`].
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), UsageError> {
        self.send_message(OpCode::Binary, data, None).map(drop)
    }

    /// [`Sender::send_text`], offering the frames to `write` before
    /// anything is queued: see [`Sender::send_binary_vectored`].
    pub fn send_text_vectored(
        &mut self,
        text: &str,
        write: &mut Transmit<'_>,
    ) -> Result<usize, UsageError> {
        self.send_message(OpCode::Text, text.as_bytes(), Some(write))
    }

    /// [`Sender::send_binary`] without the copy into the output queue when
    /// the transport can take the message now: if nothing is queued and
    /// this is a server (client frames are masked, §5.3, so they are
    /// copied anyway), the frames are offered to `write` as one list of
    /// chunks — header, payload slice, header, … (§5.2, §5.4) — and only
    /// the bytes it did not take are queued. Returns the bytes `write`
    /// took (0 when the message was queued whole). The bytes on the wire
    /// are the same either way.
    pub fn send_binary_vectored(
        &mut self,
        data: &[u8],
        write: &mut Transmit<'_>,
    ) -> Result<usize, UsageError> {
        self.send_message(OpCode::Binary, data, Some(write))
    }

    /// `write`, when given and the queue is empty and nothing else needs
    /// the frames to pass through it.
    fn direct<'w, 'x>(&self, write: Option<&'w mut Transmit<'x>>) -> Option<&'w mut Transmit<'x>> {
        write.filter(|_| self.out.buffered() == 0 && self.outbound.can_write_direct())
    }

    /// Queue (or, with `write`, first offer) a data message: compressed
    /// (RSV1 on its first frame, RFC 7692 §6) when permessage-deflate was
    /// agreed and the message is at least the configured threshold long,
    /// as it is otherwise.
    fn send_message(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        write: Option<&mut Transmit<'_>>,
    ) -> Result<usize, UsageError> {
        self.check_can_send()?;
        let fragment = self.config.fragment_size;
        let direct = self.direct(write);
        #[cfg(feature = "deflate")]
        {
            let Outbound {
                rng,
                trace,
                deflate,
                ..
            } = &mut *self.outbound;
            let out = &mut *self.out;
            if let Some(d) = deflate.as_deref_mut() {
                if d.compress(payload, &mut out.scratch) {
                    if let Some(write) = direct {
                        let scratch = core::mem::take(&mut out.scratch);
                        let n =
                            vectored::send_message(out, opcode, 0b100, &scratch, fragment, write);
                        out.scratch = scratch;
                        return Ok(n);
                    }
                    if let Some(log) = trace.as_deref_mut() {
                        log.compressed_message(
                            super::trace::Direction::Sent,
                            opcode.as_u8(),
                            payload,
                            out.scratch.len() as u64,
                        );
                    }
                    push_traced(out, rng, trace, |out, rng| {
                        out.queue_scratch_message(opcode, 0b100, fragment, rng)
                    });
                    return Ok(0);
                }
            }
        }
        if let Some(write) = direct {
            return Ok(vectored::send_message(
                self.out, opcode, 0, payload, fragment, write,
            ));
        }
        self.outbound.push(self.out, |out, rng| {
            out.queue_message(opcode, 0, payload, fragment, rng)
        });
        Ok(0)
    }

    /// Send a message encoded once for many connections (broadcast). A
    /// server queues a reference to its shared frames (§5.1: unmasked, the
    /// same bytes for every connection) rather than a copy; a client must
    /// mask every frame (§5.3), so it re-encodes them into its own queue.
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), UsageError> {
        self.send_prepared_vectored_opt(message, None).map(drop)
    }

    /// [`Sender::send_prepared`], offering the frames to `write` first when
    /// nothing is queued (as [`Sender::send_binary_vectored`] does): they
    /// go to the transport straight from the shared buffer, and the queue
    /// keeps a reference to whatever it did not take. Returns the bytes
    /// `write` took.
    pub fn send_prepared_vectored(
        &mut self,
        message: &PreparedMessage,
        write: &mut Transmit<'_>,
    ) -> Result<usize, UsageError> {
        self.send_prepared_vectored_opt(message, Some(write))
    }

    fn send_prepared_vectored_opt(
        &mut self,
        message: &PreparedMessage,
        write: Option<&mut Transmit<'_>>,
    ) -> Result<usize, UsageError> {
        self.check_can_send()?;
        if let Some(write) = self.direct(write) {
            return Ok(vectored::send_frames(self.out, message, write));
        }
        self.outbound
            .push(self.out, |out, rng| out.queue_prepared(message, rng));
        Ok(0)
    }

    /// Send a ping (§5.5.2), ahead of queued data frames.
    pub fn send_ping(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Ping, payload)
    }

    /// Send an unsolicited pong (§5.5.3: "a unidirectional heartbeat").
    pub fn send_pong(&mut self, payload: &[u8]) -> Result<(), UsageError> {
        self.send_control(OpCode::Pong, payload)
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), UsageError> {
        if payload.len() > 125 {
            return Err(UsageError::ControlPayloadTooLong);
        }
        self.check_can_send()?;
        self.outbound.queue_control(self.out, opcode, payload);
        Ok(())
    }

    /// Start the closing handshake (§7.1.2) with a code that may be sent
    /// (§7.4) and a reason of at most 123 bytes. Queued data frames go out
    /// first; nothing can be sent after it. Never refused for lack of
    /// buffer space. `now` starts the close handshake timeout
    /// ([`crate::Config::close_timeout`], §7.1.1).
    pub fn close(
        &mut self,
        now: Timestamp,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), UsageError> {
        let mut payload = [0u8; 125];
        let len = encode_close_payload(code, reason, &mut payload)?;
        self.check_open()?;
        self.outbound.timers.advance(now);
        self.outbound.queue_close_payload(
            self.out,
            payload.get(..len).unwrap_or_default(),
            self.config,
        );
        self.state.close_sent();
        Ok(())
    }

    /// Send one frame exactly as given — any FIN, RSV bits and opcode, even
    /// invalid ones — for conformance testing of other endpoints. The
    /// role's masking rule (§5.1) still applies. Only with the `testing`
    /// feature: a production connection cannot put an invalid frame on
    /// the wire.
    #[cfg(feature = "testing")]
    pub fn send_raw_frame(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
    ) -> Result<(), UsageError> {
        self.check_can_send()?;
        self.outbound.push(self.out, |out, rng| {
            out.queue_raw(fin, rsv, opcode, payload, rng)
        });
        Ok(())
    }
}
