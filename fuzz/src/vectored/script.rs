//! The script a `vectored_send` input decodes to: what is fixed for one
//! run ([`Setup`]), the operations ([`Op`]) with how A's transport cuts
//! what it is offered ([`Cut`], [`Write`]), the split of an input into
//! script and payload pool ([`Input`]), and the inverse encoding the seeds
//! are made with ([`Encode`]).

use arbitrary::{Arbitrary, Unstructured};
use ws6455_proto::deflate::DeflateConfig;
use ws6455_proto::Config;

/// Operations decoded from one input at most.
const MAX_OPS: usize = 512;
/// Lengths are `len % SMALL`, or `len * BIG` when `big`: mostly messages
/// of a few frames, and up to 256 KiB, past the 64-bit length form (§5.2)
/// with the default 64 KiB fragments.
pub(super) const SMALL: usize = 1024;
pub(super) const BIG: usize = 4;

/// The longest payload.
pub(super) const MAX_PAYLOAD: usize = u16::MAX as usize * BIG;

/// What is fixed for one run.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Setup {
    /// A is a client (B stays a server).
    pub client: bool,
    /// `Config::fragment_size`; `None` keeps the default (64 KiB).
    pub fragment: Option<Fragment>,
    /// `Config::max_output_buffer` in units of 64 bytes; 0 means 64 MiB.
    /// Ignored when A is a client (B, a server, would fill later).
    pub max_output: u16,
    /// Negotiate permessage-deflate (RFC 7692) with these parameters.
    pub deflate: Option<Deflate>,
    /// Frame tracing on A (the direct path must then be skipped).
    pub trace: bool,
}

/// A fragment size: small ones make messages of many frames (more than
/// one offer holds).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fragment {
    /// This many bytes (0 counts as 1).
    Small(u8),
    /// 256 more bytes than this: up to past 64 KiB, so that a prepared
    /// message's frames can need the 64-bit length form too.
    Large(u16),
}

impl Fragment {
    pub(super) fn size(self) -> usize {
        match self {
            Fragment::Small(n) => usize::from(n).max(1),
            Fragment::Large(n) => usize::from(n) + 256,
        }
    }
}

/// permessage-deflate parameters.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deflate {
    /// `DeflateConfig::threshold`.
    pub threshold: u8,
    /// Both `*_no_context_takeover`.
    pub no_context_takeover: bool,
    /// zlib level, modulo 10.
    pub level: u8,
}

/// How much of one offer A's transport takes.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Everything.
    All,
    /// Nothing (the socket would block).
    Nothing,
    /// At most this many bytes.
    Bytes(u16),
    /// The first `whole` chunks (header, payload, header, …) and `extra`
    /// bytes of the next.
    Chunks { whole: u8, extra: u8 },
}

/// A's transport during one send: `first` for the first offer, `later` for
/// every further one (the core offers again only after a complete write).
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    pub first: Cut,
    pub later: Cut,
}

/// One step of the script.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A text message of `len % 1024` bytes (`len * 4` when `big`): pool
    /// bytes made
    /// valid UTF-8, then a pattern of mixed-width characters.
    Text { len: u16, big: bool, write: Write },
    /// A binary message of `len % 1024` bytes (`len * 4` when `big`).
    Binary { len: u16, big: bool, write: Write },
    /// A `PreparedMessage` of `len % 1024` bytes (`len * 4` when `big`)
    /// in frames of `fragment`.
    Prepared {
        text: bool,
        len: u16,
        big: bool,
        fragment: Fragment,
        write: Write,
    },
    /// A ping with `len` pool bytes (over 125 must be refused).
    Ping { len: u8 },
    /// An unsolicited pong with `len` pool bytes.
    Pong { len: u8 },
    /// Each transport takes up to `n` bytes of one `pending_output()`.
    Drain { n: u16 },
    /// Each transport takes everything pending.
    DrainAll,
    /// `close`; codes with the top bit clear map into 1000–1015; a reason
    /// of `reason` ASCII letters.
    Close { code: u16, reason: u8 },
}

/// A fuzz input, split.
#[derive(Debug)]
pub struct Input<'a> {
    pub setup: Setup,
    pub ops: Vec<Op>,
    pub pool: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `[n: u16 LE][script][pool]`; a short input is all defaults.
    pub fn parse(data: &'a [u8]) -> Input<'a> {
        let (script, pool) = match data.split_first_chunk::<2>() {
            Some((n, rest)) => rest.split_at(usize::from(u16::from_le_bytes(*n)).min(rest.len())),
            None => (&[][..], data),
        };
        let mut u = Unstructured::new(script);
        let setup = Setup::arbitrary(&mut u).unwrap_or_default();
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            match Op::arbitrary(&mut u) {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        Input { setup, ops, pool }
    }

    /// The input that [`Input::parse`] reads back as `setup`, `ops`, `pool`.
    pub fn encode(setup: &Setup, ops: &[Op], pool: &[u8]) -> Vec<u8> {
        let mut script = Vec::new();
        setup.encode(&mut script);
        for op in ops {
            op.encode(&mut script);
        }
        let mut out = u16::try_from(script.len())
            .expect("script under 64 KiB")
            .to_le_bytes()
            .to_vec();
        out.extend_from_slice(&script);
        out.extend_from_slice(pool);
        out
    }
}

/// The bytes `arbitrary` 1.x decodes as a value (for the seeds; the seeds
/// program checks that every seed decodes back to what it encoded).
pub trait Encode {
    fn encode(&self, out: &mut Vec<u8>);
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
}

impl Encode for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
}

impl Encode for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.is_some().encode(out);
        if let Some(v) = self {
            v.encode(out);
        }
    }
}

/// The derive's variant choice: a `u32` that `(x * count) >> 32` maps to
/// `index`.
fn variant(out: &mut Vec<u8>, index: u64, count: u64) {
    let x = (index << 32).div_ceil(count);
    out.extend_from_slice(&u32::try_from(x).unwrap().to_le_bytes());
}

impl Encode for Setup {
    fn encode(&self, out: &mut Vec<u8>) {
        self.client.encode(out);
        self.fragment.encode(out);
        self.max_output.encode(out);
        self.deflate.encode(out);
        self.trace.encode(out);
    }
}

impl Encode for Fragment {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Fragment::Small(n) => {
                variant(out, 0, 2);
                n.encode(out);
            }
            Fragment::Large(n) => {
                variant(out, 1, 2);
                n.encode(out);
            }
        }
    }
}

impl Encode for Deflate {
    fn encode(&self, out: &mut Vec<u8>) {
        self.threshold.encode(out);
        self.no_context_takeover.encode(out);
        self.level.encode(out);
    }
}

impl Encode for Cut {
    fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Cut::All => variant(out, 0, 4),
            Cut::Nothing => variant(out, 1, 4),
            Cut::Bytes(n) => {
                variant(out, 2, 4);
                n.encode(out);
            }
            Cut::Chunks { whole, extra } => {
                variant(out, 3, 4);
                whole.encode(out);
                extra.encode(out);
            }
        }
    }
}

impl Encode for Write {
    fn encode(&self, out: &mut Vec<u8>) {
        self.first.encode(out);
        self.later.encode(out);
    }
}

impl Encode for Op {
    fn encode(&self, out: &mut Vec<u8>) {
        const COUNT: u64 = 8;
        match *self {
            Op::Text { len, big, write } => {
                variant(out, 0, COUNT);
                len.encode(out);
                big.encode(out);
                write.encode(out);
            }
            Op::Binary { len, big, write } => {
                variant(out, 1, COUNT);
                len.encode(out);
                big.encode(out);
                write.encode(out);
            }
            Op::Prepared {
                text,
                len,
                big,
                fragment,
                write,
            } => {
                variant(out, 2, COUNT);
                text.encode(out);
                len.encode(out);
                big.encode(out);
                fragment.encode(out);
                write.encode(out);
            }
            Op::Ping { len } => {
                variant(out, 3, COUNT);
                len.encode(out);
            }
            Op::Pong { len } => {
                variant(out, 4, COUNT);
                len.encode(out);
            }
            Op::Drain { n } => {
                variant(out, 5, COUNT);
                n.encode(out);
            }
            Op::DrainAll => variant(out, 6, COUNT),
            Op::Close { code, reason } => {
                variant(out, 7, COUNT);
                code.encode(out);
                reason.encode(out);
            }
        }
    }
}

impl Setup {
    /// The configuration of A, B and the peers that read them back.
    pub fn config(&self) -> Config {
        let mut config = Config::default();
        config.max_frame_size = 8 << 20;
        config.max_message_size = 8 << 20;
        config.max_output_buffer = if self.client || self.max_output == 0 {
            64 << 20
        } else {
            usize::from(self.max_output) * 64
        };
        if let Some(f) = self.fragment {
            config.fragment_size = f.size();
        }
        config.ping_interval = None;
        config.deflate = self.deflate.map(|d| {
            let mut deflate = DeflateConfig::default();
            deflate.server_no_context_takeover = d.no_context_takeover;
            deflate.client_no_context_takeover = d.no_context_takeover;
            deflate.level = u32::from(d.level % 10);
            deflate.threshold = usize::from(d.threshold);
            deflate
        });
        config
    }
}

impl Cut {
    /// Bytes taken of `chunks` (before clamping to what they hold).
    pub(super) fn limit(self, chunks: &[&[u8]]) -> usize {
        match self {
            Cut::All => usize::MAX,
            Cut::Nothing => 0,
            Cut::Bytes(n) => usize::from(n),
            Cut::Chunks { whole, extra } => {
                let whole = usize::from(whole);
                let head: usize = chunks.iter().take(whole).map(|c| c.len()).sum();
                head + chunks
                    .get(whole)
                    .map_or(0, |c| c.len().min(usize::from(extra)))
            }
        }
    }
}
