//! Errors, split by whose fault they are.
//!
//! * [`ProtocolError`]: the peer broke RFC 6455. Each variant knows its wire
//!   consequence in exactly one place: the close code it fails the connection
//!   with (§7.1.7, §7.4.1) or, during the opening handshake, the HTTP status the
//!   server answers with (§4.2.1).
//! * [`UsageError`]: our caller asked for something the protocol or the
//!   connection's state does not allow. Nothing is sent; the connection is
//!   unaffected.
//!
//! I/O errors never appear here: the core does no I/O.

use core::fmt;

use crate::close_code::CloseCode;

/// A violation of RFC 6455 by the peer. Receiving one fails the connection
/// (§7.1.7): the core queues a close frame with [`ProtocolError::close_code`],
/// reports the error once and becomes terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// §5.2: an RSV bit was set but no negotiated extension defines it.
    ReservedBitsSet(u8),
    /// §5.2: opcode 0x3–0x7 or 0xB–0xF.
    ReservedOpcode(u8),
    /// §5.1: a client sent a frame without the MASK bit.
    UnmaskedClientFrame,
    /// §5.1: a server sent a masked frame.
    MaskedServerFrame,
    /// §5.2: a 64-bit payload length with its most significant bit set.
    LengthTopBitSet,
    /// §5.5: a control frame whose payload exceeds 125 bytes.
    ControlFrameTooLong(u64),
    /// §5.5: a control frame without FIN.
    FragmentedControlFrame,
    /// §10.4: a frame longer than the configured maximum (close 1009).
    FrameTooLarge(u64),
    /// §10.4: a message longer than the configured maximum (close 1009).
    MessageTooLarge(u64),
    /// §5.4: a continuation frame with no message in progress.
    UnexpectedContinuation,
    /// §5.4: a text or binary frame while a fragmented message is in progress.
    ExpectedContinuation,
    /// §8.1: a text message (or close reason) is not valid UTF-8 (close 1007).
    InvalidUtf8,
    /// §5.5.1: a close frame whose payload is exactly one byte.
    ClosePayloadTooShort,
    /// §7.4: a close code that may not appear on the wire.
    InvalidCloseCode(u16),
    /// RFC 7692 §6.1: RSV1 ("Per-Message Compressed") on a control frame
    /// or on a continuation frame.
    CompressionBitMisplaced,
    /// RFC 7692 §7.2.2: a compressed message is not valid DEFLATE data
    /// (close 1007).
    BadCompressedData,
    /// §10.4: the peer sent data messages faster than the connection's
    /// [`RateLimit`](crate::RateLimit) allows, which closes in this mode
    /// (close 1008, §7.4.1 "policy violation"). The message that went over
    /// was not delivered.
    RateLimited,
    /// §4: the opening handshake was malformed or refused.
    Handshake(HandshakeError),
}

impl ProtocolError {
    /// The status code of the close frame sent when this error fails the
    /// connection (§7.4.1): 1009 for size limits, 1007 for bad UTF-8 or
    /// undecodable compressed data, 1008 for the rate limit, 1002 for every
    /// other protocol violation.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::FrameTooLarge(_) | ProtocolError::MessageTooLarge(_) => {
                CloseCode::MESSAGE_TOO_BIG
            }
            ProtocolError::InvalidUtf8 | ProtocolError::BadCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::RateLimited => CloseCode::POLICY_VIOLATION,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::ReservedBitsSet(bits) => {
                write!(
                    f,
                    "reserved bits {bits:#05b} set without an extension (RFC 6455 §5.2)"
                )
            }
            ProtocolError::ReservedOpcode(op) => {
                write!(f, "reserved opcode {op:#x} (RFC 6455 §5.2)")
            }
            ProtocolError::UnmaskedClientFrame => {
                f.write_str("client frame is not masked (RFC 6455 §5.1)")
            }
            ProtocolError::MaskedServerFrame => {
                f.write_str("server frame is masked (RFC 6455 §5.1)")
            }
            ProtocolError::LengthTopBitSet => {
                f.write_str("64-bit payload length has its top bit set (RFC 6455 §5.2)")
            }
            ProtocolError::ControlFrameTooLong(n) => {
                write!(
                    f,
                    "control frame payload of {n} bytes exceeds 125 (RFC 6455 §5.5)"
                )
            }
            ProtocolError::FragmentedControlFrame => {
                f.write_str("control frame without FIN (RFC 6455 §5.5)")
            }
            ProtocolError::FrameTooLarge(n) => write!(f, "frame of {n} bytes exceeds the limit"),
            ProtocolError::MessageTooLarge(n) => {
                write!(f, "message of at least {n} bytes exceeds the limit")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a message in progress (RFC 6455 §5.4)")
            }
            ProtocolError::ExpectedContinuation => f.write_str(
                "new data frame while a fragmented message is in progress (RFC 6455 §5.4)",
            ),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text (RFC 6455 §8.1)"),
            ProtocolError::ClosePayloadTooShort => {
                f.write_str("close frame payload of 1 byte (RFC 6455 §5.5.1)")
            }
            ProtocolError::InvalidCloseCode(code) => {
                write!(
                    f,
                    "close code {code} may not be sent on the wire (RFC 6455 §7.4)"
                )
            }
            ProtocolError::CompressionBitMisplaced => {
                f.write_str("RSV1 set on a control frame or a continuation frame (RFC 7692 §6.1)")
            }
            ProtocolError::BadCompressedData => {
                f.write_str("compressed message is not valid DEFLATE data (RFC 7692 §7.2.2)")
            }
            // Also the close reason the peer reads (a chat page shows it).
            ProtocolError::RateLimited => f.write_str("message rate limit exceeded"),
            ProtocolError::Handshake(e) => write!(f, "opening handshake: {e}"),
        }
    }
}

impl core::error::Error for ProtocolError {}

impl From<HandshakeError> for ProtocolError {
    fn from(e: HandshakeError) -> Self {
        ProtocolError::Handshake(e)
    }
}

/// Why an opening handshake (§4) failed. On the server side each variant maps
/// to the HTTP status written back ([`HandshakeError::http_status`]); on the
/// client side the connection simply fails.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not a well-formed HTTP/1.1 message head.
    MalformedHttp(&'static str),
    /// The request head grew past the configured maximum (431).
    HeadTooLarge,
    /// §4.2.1 item 1: the method is not GET (405).
    MethodNotAllowed,
    /// §4.2.1: the request broke a MUST of the opening handshake (400); the
    /// text names the rule.
    BadRequest(&'static str),
    /// §4.2.1 item 6: `Sec-WebSocket-Version` is not 13 (426).
    UnsupportedVersion,
    /// §4.1: the server answered with a status other than 101.
    UnexpectedStatus(u16),
    /// §4.1: the server's response broke a MUST of the handshake; the text
    /// names the rule.
    BadResponse(&'static str),
}

impl HandshakeError {
    /// The HTTP status a server answers this failure with (§4.2.1, §4.4).
    pub fn http_status(&self) -> u16 {
        match self {
            HandshakeError::HeadTooLarge => 431,
            HandshakeError::MethodNotAllowed => 405,
            HandshakeError::UnsupportedVersion => 426,
            _ => 400,
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::MalformedHttp(why) => write!(f, "malformed HTTP: {why}"),
            HandshakeError::HeadTooLarge => f.write_str("request head too large"),
            HandshakeError::MethodNotAllowed => f.write_str("method must be GET (RFC 6455 §4.2.1)"),
            HandshakeError::BadRequest(why) => f.write_str(why),
            HandshakeError::UnsupportedVersion => {
                f.write_str("Sec-WebSocket-Version must be 13 (RFC 6455 §4.2.1)")
            }
            HandshakeError::UnexpectedStatus(s) => {
                write!(f, "server answered {s} instead of 101 (RFC 6455 §4.1)")
            }
            HandshakeError::BadResponse(why) => f.write_str(why),
        }
    }
}

impl core::error::Error for HandshakeError {}

/// A request our caller made that the protocol or the connection's state does
/// not allow. Nothing was queued; the connection is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// Buffered output has reached `Config::max_output_buffer`; wait for
    /// [`crate::Event::Writable`] and try again.
    BufferFull,
    /// The opening handshake has not completed yet.
    NotOpen,
    /// We already sent a close frame (§5.5.1: nothing may follow it), or the
    /// connection is closed.
    Closed,
    /// §5.5: control frame payloads are at most 125 bytes.
    ControlPayloadTooLong,
    /// §7.4: this close code may not be sent.
    InvalidCloseCode(u16),
    /// §5.5: code plus reason exceed 125 bytes (the reason is at most 123).
    CloseReasonTooLong,
    /// The call does not fit the connection's role or phase (for example
    /// accepting a handshake on a client, or twice).
    WrongState,
    /// §4.2.2: the subprotocol chosen on accept was not offered by the client.
    ProtocolNotOffered,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::BufferFull => f.write_str("output buffer full"),
            UsageError::NotOpen => f.write_str("connection is not open yet"),
            UsageError::Closed => f.write_str("connection is closing or closed"),
            UsageError::ControlPayloadTooLong => {
                f.write_str("control frame payload exceeds 125 bytes")
            }
            UsageError::InvalidCloseCode(c) => write!(f, "close code {c} may not be sent"),
            UsageError::CloseReasonTooLong => f.write_str("close reason exceeds 123 bytes"),
            UsageError::WrongState => f.write_str("not allowed in this connection state"),
            UsageError::ProtocolNotOffered => {
                f.write_str("the client did not offer that subprotocol")
            }
        }
    }
}

impl core::error::Error for UsageError {}
