//! RFC 6455 §7.4 status codes: the number that says why a connection
//! closed, and which of them may travel in a close frame.
//!
//! Its own file so that errors (which know their close code) and close
//! payloads (which report errors) both look down at it, not at each other.

use core::fmt;

/// A close status code (§7.4): why an endpoint is closing. Any `u16` can be
/// held, because the CLI and the connection must be able to talk about
/// codes they reject; [`CloseCode::is_valid_on_wire`] says which may be sent
/// or received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000, §7.4.1: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001, §7.4.1: the endpoint is going away (server shutdown, page left).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002, §7.4.1: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003, §7.4.1: a data type the endpoint cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005, §7.4.1: the close frame had no status code. Reported locally,
    /// never sent.
    pub const NO_STATUS: CloseCode = CloseCode(1005);
    /// 1006, §7.4.1: the connection ended without a close frame. Reported
    /// locally, never sent.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007, §7.4.1: message data inconsistent with its type, such as
    /// invalid UTF-8 in a text message (§8.1).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008, §7.4.1: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009, §7.4.1: a message too big to process (§10.4).
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010, §7.4.1: the client needed an extension the server did not
    /// negotiate.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011, §7.4.1: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012, IANA registry (§11.7): the server is restarting.
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013, IANA registry (§11.7): temporary overload; try again later.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014, IANA registry (§11.7): a gateway got an invalid upstream response.
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015, §7.4.1: the TLS handshake failed. Reported locally, never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a close frame on the wire, sent or
    /// received (§7.4): 1000–1003, 1007–1014 and 3000–4999. Never 0–999
    /// (unused), 1004 (reserved), 1005, 1006 and 1015 (local-only),
    /// 1016–2999 (reserved for future RFCs) or 5000 and up (undefined).
    pub const fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// A short human meaning of the code (§7.4.1, §7.4.2, IANA registry),
    /// for logs and the CLI.
    pub const fn meaning(self) -> &'static str {
        match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake failure",
            1004 | 1016..=2999 => "reserved",
            3000..=3999 => "registered by IANA (3000–3999)",
            4000..=4999 => "private use (4000–4999)",
            _ => "invalid",
        }
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

/// Shows the number and its meaning, e.g. `1000 (normal closure)`.
impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.meaning())
    }
}
