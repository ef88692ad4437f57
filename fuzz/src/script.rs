//! The fuzz input of the connection targets: limits, timeouts, the
//! server's decision and the operations a script performs, decoded with
//! `arbitrary`.

use std::sync::Arc;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use ws6455_proto::handshake::{parse_request, write_accept_response};
use ws6455_proto::rate::RateLimit;
use ws6455_proto::Config;
use ws6455_proto::Role;

use crate::canned::new_connection;
use crate::OFFERED_PROTOCOLS;

/// Limits, each 0 meaning "a moderate default" so that an empty script runs
/// the seed conversations to their end.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Limits {
    pub(crate) max_frame: u16,
    pub(crate) max_message: u16,
    pub(crate) max_output: u16,
    pub(crate) max_handshake: u16,
    pub(crate) fragment: u16,
    pub(crate) read_buffer: u16,
}

/// Timeouts in units of 50 ms; 0 means the library's default.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Timeouts {
    pub(crate) handshake: u8,
    pub(crate) close: u8,
    pub(crate) ping: Option<u8>,
    pub(crate) pong: u8,
    pub(crate) idle: Option<u8>,
}

/// What the server answers to the request (and, for the client target,
/// which subprotocol the canned 101 selects).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Decision {
    /// `accept`: 0 = no subprotocol, 1/2 = the first/second offered, 3 = one
    /// the client (probably) did not offer.
    Accept { protocol: u8 },
    /// `reject(200 + status % 400, …)`.
    Reject { status: u16 },
    /// `respond(200 + status % 400, …, body of `body` bytes)`.
    Respond { status: u16, body: u8 },
    /// Never decide.
    Ignore,
}

/// Everything fixed for one run.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Setup {
    /// Hand the fuzzer the opening handshake too.
    pub raw: bool,
    pub(crate) limits: Limits,
    pub(crate) timeouts: Timeouts,
    pub(crate) decision: Decision,
    /// Echo every message back through `poll_event_with_sender`.
    pub(crate) echo: bool,
    /// The rate limit (`connection_rate`'s prefix; never drawn from the
    /// script, so the other targets' inputs keep their meaning).
    #[arbitrary(default)]
    pub(crate) rate: Option<RateLimit>,
}

/// One step of the script.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// Feed the next `len` stream bytes with `recv` (if the core wants to
    /// read).
    Recv { len: u16 },
    /// Feed up to `len` bytes through `recv_buf` / `commit_recv`.
    RecvBuf { len: u16 },
    /// Write `n` bytes of pending output.
    Consume { n: u16 },
    /// Write all pending output.
    ConsumeAll,
    /// `send_text` with an arbitrary string.
    SendText(String),
    /// `send_text` / `send_binary` with a generated payload of `len` bytes.
    SendBig { len: u16, text: bool },
    /// `send_ping`.
    SendPing(Vec<u8>),
    /// `send_pong`.
    SendPong(Vec<u8>),
    /// `send_prepared` with a generated payload.
    SendPrepared { len: u16, text: bool, fragment: u8 },
    /// `close`; codes with the top bit clear map into 1000–1015.
    Close { code: u16, reason: String },
    /// Advance the clock and `handle_timeout`.
    Tick { millis: u16 },
    /// Jump to `poll_timeout()` and `handle_timeout`.
    TickToDeadline,
    /// `recv_eof`.
    Eof,
    /// `abort`.
    Abort,
    /// `release_idle_memory`.
    ReleaseIdle,
}

/// A fuzz input, split.
#[derive(Debug)]
pub struct Input<'a> {
    /// Limits, mode, decision.
    pub setup: Setup,
    /// The script.
    pub ops: Vec<Op>,
    /// The peer's bytes.
    pub stream: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `[n: u16 LE][script][stream]`; a short input is all defaults.
    /// (`connection_rate` puts four bytes of rate limit in front:
    /// [`Input::parse_rate_limited`].)
    pub fn parse(data: &'a [u8]) -> Input<'a> {
        let (script, stream) = match data.split_first_chunk::<2>() {
            Some((n, rest)) => rest.split_at(usize::from(u16::from_le_bytes(*n)).min(rest.len())),
            None => (&[][..], data),
        };
        let mut u = Unstructured::new(script);
        let setup = Setup::arbitrary(&mut u)
            .unwrap_or_else(|_| Setup::arbitrary(&mut Unstructured::new(&[])).unwrap());
        let ops = Vec::<Op>::arbitrary_take_rest(u).unwrap_or_default();
        Input { setup, ops, stream }
    }

    /// `[rate: 4 bytes][n: u16 LE][script][stream]`: the input of
    /// `connection_rate`, whose first four bytes choose a rate limit
    /// ([`rate_from`]) and the rest is [`Input::parse`]'s.
    pub fn parse_rate_limited(data: &'a [u8]) -> Input<'a> {
        let (prefix, rest) = match data.split_first_chunk::<4>() {
            Some((prefix, rest)) => (*prefix, rest),
            None => ([0; 4], &[][..]),
        };
        let mut input = Input::parse(rest);
        input.setup.rate = Some(rate_from(prefix));
        input
    }

    /// Builds an input from its parts (for the seeds).
    pub fn encode(script: &[u8], stream: &[u8]) -> Vec<u8> {
        let mut out = (script.len() as u16).to_le_bytes().to_vec();
        out.extend_from_slice(script);
        out.extend_from_slice(stream);
        out
    }
}

/// A rate limit from four bytes: 1–16 messages per 50–1,000 ms; with bit
/// 0 of the third byte also a byte bucket of 1–16,321 bytes per the same
/// period (small enough for the fuzzer's messages to trip it); bit 1
/// picks pause over close.
pub fn rate_from([count, per, flags, bytes]: [u8; 4]) -> RateLimit {
    let per = Duration::from_millis(50 * (1 + u64::from(per % 20)));
    let mut limit = RateLimit::messages(1 + u32::from(count % 16), per);
    if flags & 1 != 0 {
        limit = limit.bytes(1 + 64 * u64::from(bytes), per);
    }
    if flags & 2 != 0 {
        limit = limit.pause();
    }
    limit
}

pub(crate) fn or(v: u16, default: usize) -> usize {
    if v == 0 {
        default
    } else {
        usize::from(v)
    }
}

pub(crate) fn millis(units: u8, default_ms: u64) -> Duration {
    if units == 0 {
        Duration::from_millis(default_ms)
    } else {
        Duration::from_millis(u64::from(units) * 50)
    }
}

impl Setup {
    /// The configuration this setup describes: small limits so the memory
    /// bounds are tight, nonzero timeouts so deadlines always move.
    pub fn config(&self) -> Config {
        let l = self.limits;
        let t = self.timeouts;
        let mut config = Config::default();
        config.max_frame_size = or(l.max_frame, 16 << 10) as u64;
        config.max_message_size = or(l.max_message, 32 << 10) as u64;
        config.max_output_buffer = or(l.max_output, 8 << 10);
        config.max_handshake_size = or(l.max_handshake, 4 << 10);
        config.fragment_size = or(l.fragment, 4 << 10);
        config.read_buffer_size = or(l.read_buffer, 4 << 10);
        config.handshake_timeout = millis(t.handshake, 10_000);
        config.close_timeout = millis(t.close, 5_000);
        config.ping_interval = t.ping.map(|p| millis(p, 30_000));
        config.pong_timeout = millis(t.pong, 15_000);
        config.idle_timeout = t.idle.map(|i| millis(i, 60_000));
        // The connection targets' oracles model uncompressed traffic;
        // the inflate and extensions targets cover RFC 7692.
        config.deflate = None;
        config.rate_limit = self.rate;
        config
    }

    /// The subprotocol the canned 101 of the client target selects.
    pub(crate) fn client_protocol(&self) -> Option<&'static str> {
        match self.decision {
            Decision::Accept { protocol } => OFFERED_PROTOCOLS
                .get(usize::from(protocol % 3).wrapping_sub(1))
                .copied(),
            _ => None,
        }
    }
}

/// The 101 that accepts `connection_client`'s request, selecting
/// `protocol`: computed from the key in the request the client writes.
pub fn client_accept_response(protocol: Option<&str>) -> Vec<u8> {
    let conn = new_connection(Role::Client, Arc::new(Config::default()));
    let (request, _) = parse_request(conn.pending_output(), 1 << 16)
        .expect("our client writes a valid request")
        .expect("our client writes a complete request");
    assert!(request.is_websocket());
    assert_eq!(request.protocols(), OFFERED_PROTOCOLS);
    let mut out = Vec::new();
    write_accept_response(&mut out, request.key().unwrap(), protocol, None, &[]);
    out
}
