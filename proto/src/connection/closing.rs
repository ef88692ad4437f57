//! Closing (RFC 6455 §7) as explicit states: how a connection goes from
//! [`State::Open`] through [`State::CloseSent`] and [`State::Lingering`] to
//! [`State::Closed`], and the one place ([`Connection::settle`]) that
//! decides when it has become `Closed`.
//!
//! - §7.1.2 *Start the WebSocket Closing Handshake*: our close frame is
//!   queued after every data frame and nothing may follow it (§5.5.1) →
//!   `CloseSent`; the close handshake timeout starts.
//! - §7.1.3 *The WebSocket Closing Handshake is Started* (the CLOSING
//!   state) on sending a close (`CloseSent`) or receiving one: we echo the
//!   peer's code unless ours already went (§5.5.1). Close both sent and
//!   received, the handshake is complete and the connection "SHOULD _Close
//!   the WebSocket Connection_" (§7.1.2) → `Lingering`.
//! - §7.1.1 *Close the WebSocket Connection*: the server closes TCP first
//!   (the driver does once the last bytes are out), a client waits for the
//!   server's TCP close ([`Peer::Awaited`]) and closes itself "after a
//!   reasonable amount of time": the linger timeout, which bounds every
//!   wait in `Lingering`.
//! - §7.1.4 *The WebSocket Connection is Closed* → `Closed`; cleanly only
//!   if the close handshake completed.
//! - §7.1.5 *The WebSocket Connection Close Code*: the one
//!   [`crate::Event::Closed`] reports the code the peer's close frame
//!   carried, 1005 when it carried none, and 1006 when no close frame was
//!   received at all (EOF, timeouts, abort, failure).
//! - §7.1.7 *Fail the WebSocket Connection*: a protocol error queues our
//!   close with the error's code (once the handshake is done), reports
//!   [`crate::Event::Failed`] before `Closed`, and the connection lingers
//!   only to flush that frame.

use alloc::{boxed::Box, string::ToString};

use super::input::ReadState;
use super::state::{Ending, Peer, State};
use super::{truncate_reason, Connection, Role};
use crate::close::{encode_close_payload, CloseCode};
use crate::error::ProtocolError;
use crate::time::Timestamp;

impl Connection {
    /// Queue our close frame (§7.1.2) if the connection is open and ours
    /// was not sent yet; it moves the connection to `CloseSent`.
    pub(super) fn send_close(&mut self, code: CloseCode, reason: &str) {
        let mut payload = [0u8; 125];
        let len = encode_close_payload(code, reason, &mut payload).unwrap_or(0);
        self.send_close_payload(payload.get(..len).unwrap_or_default());
    }

    /// [`Connection::send_close`] with the payload encoded.
    fn send_close_payload(&mut self, payload: &[u8]) {
        let Connection {
            active,
            outbound,
            config,
            state,
            ..
        } = self;
        // Once: §5.5.1 nothing may follow our close, not even another one.
        if matches!(state, State::Open(_)) {
            let out = &mut active.get_or_insert_with(Box::default).out;
            outbound.queue_close_payload(out, payload, config);
            state.close_sent();
        }
    }

    /// §7.1.7 Fail the WebSocket Connection: queue a close frame with the
    /// error's code (once the handshake is done), report the error, end.
    pub(super) fn fail(&mut self, err: ProtocolError) {
        if self.state.has_ended() {
            return;
        }
        let reason = err.to_string();
        self.send_close(err.close_code(), truncate_reason(&reason));
        // §7.1.5: no close frame was received, so the close code is 1006.
        self.end(
            Some(Box::new(err)),
            CloseCode::ABNORMAL,
            false,
            Peer::Ignored,
        );
    }

    /// The peer's close frame opened or completed the close handshake
    /// (§7.1.3).
    pub(super) fn on_close_received(&mut self, code: Option<CloseCode>) {
        // §5.5.1: "the endpoint MUST send a Close frame in response …
        // typically echoing the status code it received" — unless ours
        // already went.
        match code {
            Some(code) => self.send_close(code, ""),
            None => self.send_close_payload(&[]),
        }
        let reported = code.unwrap_or(CloseCode::NO_STATUS);
        // §7.1.1: the server closes TCP first; the client waits for it.
        let peer = match self.role {
            Role::Client => Peer::Awaited,
            Role::Server => Peer::Ignored,
        };
        self.end(None, reported, true, peer);
    }

    /// Enter `Lingering` (once) with the final events to report. Starts the
    /// linger timer from the last instant the core was given.
    pub(super) fn end(
        &mut self,
        failed: Option<Box<ProtocolError>>,
        code: CloseCode,
        clean: bool,
        peer: Peer,
    ) {
        if self.state.has_ended() {
            return;
        }
        if let Some(active) = self.active.as_deref_mut() {
            active.read = ReadState::Header;
            active.rx.clear();
        }
        self.opening = None;
        self.state = State::Lingering(Ending {
            failed,
            closed: Some((code, clean)),
            close_sent: matches!(self.state, State::CloseSent(_)),
            peer,
        });
        self.outbound.timers.start_linger(self.config.close_timeout);
    }

    /// End at once, without lingering (handshake or close handshake
    /// timeout): only the final events are left to report.
    pub(super) fn end_now(&mut self) {
        self.end(None, CloseCode::ABNORMAL, false, Peer::Ignored);
        self.outbound.timers.expire_linger();
    }

    /// The peer's TCP is gone: stop reading, stop waiting for it.
    fn peer_gone(&mut self) {
        match &mut self.state {
            State::Lingering(ending) => ending.peer = Peer::Closed,
            State::Closed { peer_closed, .. } => *peer_closed = true,
            _ => {}
        }
    }

    /// The pending `Failed` event, if any (it comes before `Closed`).
    pub(super) fn take_failed(&mut self) -> Option<ProtocolError> {
        match &mut self.state {
            State::Lingering(ending) => ending.failed.take().map(|e| *e),
            _ => None,
        }
    }

    /// The pending `Closed` event, if any: the last one, so the connection
    /// may become `Closed` right after.
    pub(super) fn take_closed(&mut self) -> Option<(CloseCode, bool)> {
        let State::Lingering(ending) = &mut self.state else {
            return None;
        };
        let closed = ending.closed.take();
        self.settle();
        closed
    }

    /// `Lingering` → `Closed` as soon as nothing is left to do: every event
    /// was reported, and the last bytes are written (a client also saw the
    /// server's TCP close, §7.1.1) or the linger timeout passed. Called
    /// wherever one of these can become true, so that `is_closed` is a
    /// plain look at the state.
    pub(super) fn settle(&mut self) {
        let State::Lingering(ending) = &self.state else {
            return;
        };
        let reported = ending.failed.is_none() && ending.closed.is_none();
        let flushed = self.buffered_amount() == 0 && ending.peer != Peer::Awaited;
        if reported && (flushed || self.outbound.timers.linger_expired()) {
            self.state = State::Closed {
                close_sent: ending.close_sent,
                peer_closed: ending.peer == Peer::Closed,
            };
        }
    }

    /// The peer closed its side of TCP at `now`. Without a completed close
    /// handshake this is an abnormal closure (§7.1.5: code 1006); `now`
    /// starts the linger that bounds flushing what is still queued.
    pub fn recv_eof(&mut self, now: Timestamp) {
        if !self.state.has_ended() {
            self.outbound.timers.advance(now);
            self.end(None, CloseCode::ABNORMAL, false, Peer::Closed);
        }
        self.peer_gone();
        self.settle();
    }

    /// The transport failed (reset, write error) or the driver gives up:
    /// end now and drop whatever output is still queued. Reported as an
    /// abnormal closure (1006) unless the connection had already ended.
    pub fn abort(&mut self) {
        if let Some(active) = self.active.as_deref_mut() {
            active.out.discard();
        }
        self.end(None, CloseCode::ABNORMAL, false, Peer::Closed);
        self.peer_gone();
        self.outbound.timers.expire_linger();
        self.settle();
    }

    /// True once the peer closed its side of TCP ([`Connection::recv_eof`]).
    pub fn peer_closed(&self) -> bool {
        match &self.state {
            State::Lingering(ending) => ending.peer == Peer::Closed,
            State::Closed { peer_closed, .. } => *peer_closed,
            _ => false,
        }
    }

    /// True after we queued our close frame (§5.5.1: nothing may follow).
    pub fn close_sent(&self) -> bool {
        match &self.state {
            State::CloseSent(_) => true,
            State::Lingering(ending) => ending.close_sent,
            State::Closed { close_sent, .. } => *close_sent,
            _ => false,
        }
    }

    /// True when the driver should drop the socket: the connection ended,
    /// every event was polled and the last bytes are written (a client also
    /// saw the server close TCP, §7.1.1), or the linger timeout passed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::Connection;

    /// Memory per idle connection is a headline figure: the closing
    /// states must not cost more than the flags they replaced (144 bytes
    /// without deflate, 152 with, before they were states).
    #[test]
    fn an_idle_connection_stays_small() {
        let limit = if cfg!(feature = "deflate") { 144 } else { 136 };
        assert!(
            core::mem::size_of::<Connection>() <= limit,
            "Connection grew to {} bytes",
            core::mem::size_of::<Connection>()
        );
    }
}
