//! What a conformance case is: the events it expects, how it wants the
//! connection to end, and the judgement wstest passes on both when the TCP
//! connection is gone (autobahntestsuite's `Case.onConnectionLost`).

use super::peer::Peer;

/// A verdict, spelled as wstest spells it in `index.json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Behaved exactly as expected.
    Ok,
    /// Acceptable, but not the strict behaviour (e.g. failed only after
    /// the whole frame instead of at the first invalid byte).
    NonStrict,
    /// Wrong.
    Failed,
    /// Closed with a code the case does not allow.
    WrongCode,
    /// The case required a clean close and the close was not clean.
    Unclean,
    /// The client dropped the TCP connection where the server should have.
    FailedByClient,
    /// Behaviour left open by the RFC: recorded, not judged.
    Informational,
    /// The peer does not implement what the case tests (permessage-deflate).
    Unimplemented,
}

impl Verdict {
    /// The name wstest writes for this verdict.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::NonStrict => "NON-STRICT",
            Verdict::Failed => "FAILED",
            Verdict::WrongCode => "WRONG CODE",
            Verdict::Unclean => "UNCLEAN",
            Verdict::FailedByClient => "FAILED BY CLIENT",
            Verdict::Informational => "INFORMATIONAL",
            Verdict::Unimplemented => "UNIMPLEMENTED",
        }
    }
}

/// Something the case saw the peer do, in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A whole message: payload and whether it was binary.
    Message(Vec<u8>, bool),
    /// A pong and its payload.
    Pong(Vec<u8>),
    /// A wait of the case ran out with the connection still open (the tag
    /// names which wait).
    Timeout(&'static str),
}

/// How the case wants the connection to end (wstest's `expectedClose`).
#[derive(Clone, Debug, Default)]
pub struct ExpectedClose {
    /// Whether we, not the peer, should start the closing handshake.
    pub closed_by_me: bool,
    /// The close codes the peer may send (the first is the one we send when
    /// we close).
    pub codes: Vec<u16>,
    /// Whether the close must be clean (a completed closing handshake).
    pub require_clean: bool,
    /// UTF-8 cases: if the wrong endpoint closed, the peer did not detect
    /// the invalid payload at all, which fails the case itself.
    pub wrong_endpoint_is_fatal: bool,
}

impl ExpectedClose {
    /// We close, with 1000, and the close must be clean.
    pub fn normal_by_me() -> Self {
        ExpectedClose {
            closed_by_me: true,
            codes: vec![1000],
            require_clean: true,
            wrong_endpoint_is_fatal: false,
        }
    }

    /// The peer fails the connection, with one of `codes` or by dropping it.
    pub fn failed_by_peer(codes: &[u16]) -> Self {
        ExpectedClose {
            closed_by_me: false,
            codes: codes.to_vec(),
            require_clean: false,
            wrong_endpoint_is_fatal: false,
        }
    }
}

/// A case's bookkeeping: what it expects, what it saw and the verdicts.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Acceptable event sequences, each with the verdict it earns, in the
    /// order the case listed them.
    pub expected: Vec<(Verdict, Vec<Observed>)>,
    /// How the connection should end.
    pub expected_close: ExpectedClose,
    /// What was seen.
    pub received: Vec<Observed>,
    /// The verdict on the events.
    pub behavior: Verdict,
    /// The verdict on how the connection ended.
    pub behavior_close: Verdict,
    /// Why `behavior` is what it is.
    pub result: String,
    /// Why `behavior_close` is what it is.
    pub result_close: String,
    /// Stop `finish_when_done` from closing (cases that close oddly).
    pub suppress_close: bool,
    /// Whether the report shows the duration (performance cases).
    pub report_time: bool,
}

impl Default for Outcome {
    fn default() -> Self {
        Outcome {
            expected: Vec::new(),
            expected_close: ExpectedClose::default(),
            received: Vec::new(),
            behavior: Verdict::Failed,
            behavior_close: Verdict::Failed,
            result: "Actual events differ from any expected.".into(),
            result_close: "TCP connection was dropped without close handshake".into(),
            suppress_close: false,
            report_time: false,
        }
    }
}

/// The permessage-deflate parameters of one offer or answer (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateOffer {
    /// `server_no_context_takeover` / `client_no_context_takeover` asked of
    /// the other side.
    pub request_no_context_takeover: bool,
    /// `*_max_window_bits` asked of the other side (0: not asked).
    pub request_max_window_bits: u8,
}

/// One conformance case: callbacks the runner calls as the connection
/// goes, with the peer to act on. Defaults are wstest's `Case` defaults.
pub trait Case: Send {
    /// The connection is open: send what the case sends.
    fn on_open(&mut self, p: &mut Peer);

    /// A whole message arrived.
    fn on_message(&mut self, p: &mut Peer, payload: Vec<u8>, binary: bool) {
        p.outcome.received.push(Observed::Message(payload, binary));
        p.finish_when_done();
    }

    /// A pong arrived.
    fn on_pong(&mut self, p: &mut Peer, payload: Vec<u8>) {
        p.outcome.received.push(Observed::Pong(payload));
        p.finish_when_done();
    }

    /// A wait set with [`Peer::continue_later`] ran out (connection still
    /// not closed).
    fn on_timer(&mut self, _p: &mut Peer, _tag: u32) {}

    /// The TCP connection is gone: judge.
    fn on_connection_lost(&mut self, p: &mut Peer) {
        p.judge();
    }

    /// Server mode: the permessage-deflate offers of the opening request
    /// (empty: none).
    fn deflate_offers(&self) -> Vec<DeflateOffer> {
        Vec::new()
    }

    /// Client mode: which of the client's offers (parsed) to accept, and
    /// with what we ask back; `None` accepts no extension.
    fn deflate_accept(&self, _offers: &[ClientDeflateOffer]) -> Option<DeflateAccept> {
        None
    }
}

/// A permessage-deflate offer as a client made it (RFC 7692 §7.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientDeflateOffer {
    /// The client allows `client_no_context_takeover` (it always may: a
    /// client can decline context takeover by itself).
    pub accept_no_context_takeover: bool,
    /// The client sent `client_max_window_bits` (so the server may limit it).
    pub accept_max_window_bits: bool,
    /// `server_no_context_takeover` asked by the client.
    pub request_no_context_takeover: bool,
    /// `server_max_window_bits` asked by the client (0: not asked).
    pub request_max_window_bits: u8,
}

/// How the fuzzing server answers an accepted offer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeflateAccept {
    /// The offer accepted.
    pub offer: ClientDeflateOffer,
    /// Ask `client_no_context_takeover`.
    pub request_no_context_takeover: bool,
    /// Ask `client_max_window_bits` (0: not asked).
    pub request_max_window_bits: u8,
}
