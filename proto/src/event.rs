//! What the core reports to its driver.
//!
//! Payloads borrow the connection's receive buffer (already unmasked in
//! place), so an event must be handled before the next call into the
//! connection. Every connection ends with exactly one [`Event::Closed`].

use crate::close::CloseCode;
use crate::error::ProtocolError;
use crate::handshake::{Request, Response};

/// One thing that happened on a connection, returned by
/// [`crate::Connection::poll_event`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Server role, §4.2.1: a valid upgrade request arrived. The driver
    /// must answer with `accept`, `reject` or `respond` before the
    /// connection does anything else.
    Request(Request),
    /// Server role: a plain HTTP request (no `Upgrade: websocket`). Answer it
    /// with `respond`; the connection closes once the answer is written.
    HttpRequest(Request),
    /// Client role, §4.1: the server accepted the handshake.
    Connected(Response),
    /// A complete text message, validated as UTF-8 (§5.6, §8.1).
    Text(&'a str),
    /// A complete binary message (§5.6).
    Binary(&'a [u8]),
    /// A ping arrived (§5.5.2); the pong is already queued.
    Ping(&'a [u8]),
    /// A pong arrived (§5.5.3), solicited or not.
    Pong(&'a [u8]),
    /// The peer sent a close frame (§5.5.1, §7.1.5): `code` is `None` when
    /// the frame had no payload (reported as 1005). If we had not closed
    /// yet, the echo is already queued.
    CloseReceived {
        /// The status code the peer sent, if any.
        code: Option<CloseCode>,
        /// The peer's reason, possibly empty.
        reason: &'a str,
    },
    /// Buffered output fell back under `Config::max_output_buffer` after a
    /// send was refused with `UsageError::BufferFull`.
    Writable,
    /// §10.4: the peer went over the connection's
    /// [`RateLimit`](crate::RateLimit) in [`OnExceed::Pause`](crate::OnExceed::Pause)
    /// mode: the message that went over was delivered, and the connection
    /// stops reading until the limit is met again (it resumes by itself at
    /// an instant [`crate::Connection::poll_timeout`] includes). Reported
    /// once at the start of each pause, so a driver can count it; in close
    /// mode [`Event::Failed`] with `ProtocolError::RateLimited` is the
    /// signal instead.
    Throttled,
    /// The peer violated the protocol; the connection failed (§7.1.7). A
    /// close frame with `error.close_code()` is queued (or, during the
    /// handshake, an HTTP error response) and `Closed` follows.
    Failed(ProtocolError),
    /// The connection is over (§7.1.4). Emitted exactly once, last.
    Closed {
        /// §7.1.5 "the WebSocket Connection Close Code": the code of the
        /// close frame received, 1005 if it had none, 1006 if none arrived.
        code: CloseCode,
        /// True when close frames went both ways (§7.1.4 "cleanly").
        clean: bool,
    },
}
