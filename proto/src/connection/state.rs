//! The states of a connection's life (RFC 6455 §4, §7): what each one
//! means and what it still owes the driver. The transitions between them
//! live in `closing.rs` (and `opening.rs` for the handshake); the states
//! are in a file of their own so that reading input and sending, which
//! only ask where the connection is, do not import the transitions.

use alloc::boxed::Box;

use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::rate::Limiter;

/// Where a connection is in its life. Each state means one thing; what
/// used to be flags (close sent, close received, awaiting EOF, EOF seen,
/// the `Closed` event reported, the linger expired) is the state itself or
/// derived from it.
#[derive(Debug)]
pub(super) enum State {
    /// Server: reading the request head (§4.2.1).
    ServerReading,
    /// Server: the request was reported; waiting for `accept`/`respond`
    /// (§4.2.2).
    ServerDeciding,
    /// Client: request queued, waiting for the response head (§4.1).
    ClientWaiting,
    /// Frames flow both ways (§5, §6). With a rate limit configured, the
    /// limiter (§10.4) lives here, boxed so a connection without one pays
    /// one pointer that fits the state's existing size.
    Open(Option<Box<Limiter>>),
    /// §7.1.2: our close frame is queued and nothing may follow it
    /// (§5.5.1), so sending is refused; the closing handshake is started
    /// (§7.1.3) and the peer's frames are still read until its close
    /// arrives. The close handshake timeout bounds the wait; the rate
    /// limiter moves here from `Open`, so the messages still read are
    /// limited as before (a peer must not flood us once we said goodbye).
    CloseSent(Option<Box<Limiter>>),
    /// The connection ended — the close handshake completed (close sent
    /// and received, §7.1.2–§7.1.3), or it failed (§7.1.7) or ended
    /// abnormally (§7.1.5: 1006). Nothing more is read or sent: the last
    /// bytes are flushed, the final events are reported and a client waits
    /// for the server's TCP close (§7.1.1). The linger timer bounds it.
    Lingering(Ending),
    /// Terminal (§7.1.4): every event was reported and the last bytes are
    /// written or the linger gave up on them; the driver drops the socket.
    Closed {
        /// Whether our close frame was queued ([`Connection::close_sent`](super::Connection::close_sent)).
        close_sent: bool,
        /// Whether the peer's TCP close was seen ([`Connection::peer_closed`](super::Connection::peer_closed)).
        peer_closed: bool,
    },
}

impl State {
    /// The rate limiter, while frames are read (`Open`, `CloseSent`).
    pub(super) fn limiter(&self) -> Option<&Limiter> {
        match self {
            State::Open(limiter) | State::CloseSent(limiter) => limiter.as_deref(),
            _ => None,
        }
    }

    /// The same, to take a message from.
    pub(super) fn limiter_mut(&mut self) -> Option<&mut Limiter> {
        match self {
            State::Open(limiter) | State::CloseSent(limiter) => limiter.as_deref_mut(),
            _ => None,
        }
    }

    /// `Open` → `CloseSent`, keeping the limiter (§7.1.2: our close is
    /// queued). Any other state stays as it is.
    pub(super) fn close_sent(&mut self) {
        if let State::Open(limiter) = self {
            let limiter = limiter.take();
            *self = State::CloseSent(limiter);
        }
    }
}

/// What is left to do once the connection ended.
#[derive(Debug)]
pub(super) struct Ending {
    /// §7.1.7: the error that failed the connection, until reported.
    /// Boxed: rare, and an idle connection should not pay for its size.
    pub(super) failed: Option<Box<ProtocolError>>,
    /// The §7.1.5 close code and cleanliness of the `Closed` event, until
    /// reported.
    pub(super) closed: Option<(CloseCode, bool)>,
    /// Whether our close frame was queued before the end.
    pub(super) close_sent: bool,
    /// What we do about the peer's side of TCP.
    pub(super) peer: Peer,
}

/// The peer's side of TCP while a connection lingers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Peer {
    /// Not read any more: a server closes TCP first (§7.1.1), and after an
    /// abnormal end nothing the peer sends matters.
    Ignored,
    /// A client after the close handshake: read until the server closes
    /// TCP (§7.1.1: "the client SHOULD wait for the server to close").
    Awaited,
    /// The peer closed TCP, or the transport is gone (abort).
    Closed,
}

impl Ending {
    /// A client after the close handshake, reading until the server's
    /// TCP close (§7.1.1).
    pub(super) fn awaits_peer(&self) -> bool {
        self.peer == Peer::Awaited
    }
}

impl State {
    /// True from the end of the connection on: input is ignored, nothing
    /// is sent, the timers left are the linger's.
    pub(super) fn has_ended(&self) -> bool {
        matches!(self, State::Lingering(_) | State::Closed { .. })
    }
}
