//! RFC 7692 permessage-deflate: compressing the payload of data messages
//! with DEFLATE (RFC 1951), negotiated in the opening handshake.
//!
//! * [`negotiate`] — §5 and §7.1: the `Sec-WebSocket-Extensions` grammar
//!   (RFC 6455 §9.1), the server picking the first acceptable offer, the
//!   client's offer and its check of the server's answer;
//! * [`codec`] — §7.2: compressing a whole message (with the `00 00 ff ff`
//!   tail stripped) and inflating one fragment at a time under a size limit;
//! * this file — what we are willing to agree to ([`DeflateConfig`]), what
//!   was agreed ([`DeflateParams`]), and the per-connection state.
//!
//! Everything here is Sans-I/O like the rest of the core: the connection
//! calls it while it parses frames and while it encodes messages. The
//! compressor and decompressor are created on first use and, on a side
//! that agreed to "no context takeover", are reset after every message so
//! that they hold no history (§7.1.1); a side that keeps its context keeps
//! its window apart (`history.rs`) and lends its codecs from the loop's
//! [`CodecPool`] between bursts.

pub mod codec;
mod history;
pub mod negotiate;

use alloc::{boxed::Box, vec::Vec};

use crate::role::Role;
use history::History;

pub use codec::{Compressor, Decompressor, InflateSink, INFLATE_CHUNK};
pub use negotiate::{
    client_offer, negotiate_server, parse_extensions, validate_response, Extension, EXTENSION_NAME,
};

/// The smallest window zlib can compress with: it turns a request for 8
/// into 9, which a peer limited to 8 could not read (RFC 7692 §7.1.2).
pub(crate) const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

/// The largest LZ77 window DEFLATE defines (32 KiB, RFC 7692 §7.1.2).
pub const MAX_WINDOW_BITS: u8 = 15;

/// What a connection is willing to agree to for permessage-deflate (RFC
/// 7692 §7.1) and how it compresses. Put one in
/// [`Config::deflate`](crate::Config::deflate) to turn the
/// extension on: a server then accepts the first acceptable offer, a
/// client offers it.
///
/// Each side's compressor costs about 256 KiB while it holds a window of
/// 32 KiB (`*_max_window_bits = 15`), its decompressor about 40 KiB; both
/// are created on first use, and by default lent from the event loop only
/// while the connection is busy (`release_when_idle`). With "no context
/// takeover" on a side, that side's state is reset after each message and
/// never carries history.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// §7.1.1.1 `server_no_context_takeover`. As a server: reset our
    /// compressor after every message, and say so in the response even if
    /// the client did not ask (the client may then free its window). As a
    /// client: ask the server for it. A client's request is always granted.
    pub server_no_context_takeover: bool,
    /// §7.1.1.2 `client_no_context_takeover`. As a server: ask the client
    /// to reset its compressor after every message, so that our
    /// decompressor keeps no window between messages. As a client: reset
    /// our compressor after every message and tell the server it may rely
    /// on that. A server's request is always granted.
    pub client_no_context_takeover: bool,
    /// §7.1.2.1 `server_max_window_bits`, 9 to 15 (other values are
    /// clamped). As a server: the largest window our compressor uses (a
    /// client may ask for less). As a client: below 15, ask the server to
    /// compress with at most this window.
    pub server_max_window_bits: u8,
    /// §7.1.2.2 `client_max_window_bits`, 9 to 15 (other values are
    /// clamped). As a client: the largest window our compressor uses (the
    /// server may ask for less). As a server: below 15, ask the client for
    /// at most this window — possible only when the client's offer says it
    /// supports the parameter.
    pub client_max_window_bits: u8,
    /// The zlib compression level, 0 (store) to 9 (smallest output);
    /// larger values are clamped to 9. 5 by default, one step below zlib's
    /// (and Node `ws`'s) 6: above a few KiB the compressor is most of a
    /// compressing server's CPU, and level 5's shorter match chains echo
    /// 16 KiB messages about 1.4× faster for about 1–5 % more bytes on the
    /// wire (BENCHMARKS.md measures both). Set 6 to match Node's output.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed (§6:
    /// compression is a per-message choice): for tiny messages the
    /// compressed form is rarely smaller and the work is wasted.
    pub threshold: usize,
    /// Between bursts of traffic, keep only what context takeover needs
    /// (§7.1.1: the last 2^bits bytes each way, a window's worth) and hand
    /// the compressor and decompressor back to the event loop's
    /// [`CodecPool`]. An idle connection then holds its two windows (64 KiB
    /// at 15 bits, 1 KiB at 9) instead of about 340 KB of codec state.
    /// When traffic resumes the connection takes its own codec back if
    /// no other connection needed it meanwhile (no cost), else a pooled
    /// one primed with the window (time in proportion to the window). On
    /// by default; off keeps each connection's codecs for its life
    /// ([`DeflateMemory::Full`]).
    pub release_when_idle: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: 5,
            threshold: 64,
            release_when_idle: true,
        }
    }
}

/// Named trade-offs between the memory a compressing connection keeps
/// and how well it compresses, for [`DeflateConfig::preset`]. Figures are
/// per connection with context takeover both ways, after a message went
/// each way and the connection went quiet (BENCHMARKS.md measures them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeflateMemory {
    /// 32 KiB windows, codecs kept for the connection's life (about 340 KB
    /// of codec state): for a few connections that are always busy.
    Full,
    /// 32 KiB windows, codecs handed back to the loop between bursts: the
    /// same compression, 64 KiB of windows kept. The default
    /// ([`DeflateConfig::default`]).
    Windows,
    /// 4 KiB windows (12 bits), codecs handed back: about 8.5 KB kept.
    Small,
    /// 512-byte windows (9 bits), codecs handed back: about 1.5 KB kept.
    Tiny,
}

impl DeflateConfig {
    /// The settings of a memory preset (the other fields as in
    /// [`Default`]). A server asks the client for the smaller window only
    /// when the client's offer allows it (§7.1.2.2); otherwise it keeps a
    /// 32 KiB window for what it receives.
    pub fn preset(memory: DeflateMemory) -> Self {
        let (bits, release_when_idle) = match memory {
            DeflateMemory::Full => (MAX_WINDOW_BITS, false),
            DeflateMemory::Windows => (MAX_WINDOW_BITS, true),
            DeflateMemory::Small => (12, true),
            DeflateMemory::Tiny => (MIN_COMPRESS_WINDOW_BITS, true),
        };
        DeflateConfig {
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            release_when_idle,
            ..DeflateConfig::default()
        }
    }

    /// The server window we will use or ask for, within 9..=15.
    pub fn server_bits(&self) -> u8 {
        clamp_bits(self.server_max_window_bits)
    }

    /// The client window we will use or ask for, within 9..=15.
    pub fn client_bits(&self) -> u8 {
        clamp_bits(self.client_max_window_bits)
    }

    /// The compression level, within 0..=9.
    pub fn level(&self) -> u32 {
        self.level.min(9)
    }
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_COMPRESS_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// The permessage-deflate parameters both ends agreed to in the opening
/// handshake (RFC 7692 §7.1), named as on the wire: `server_*` governs
/// what the server sends, `client_*` what the client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// §7.1.1.1: the server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// §7.1.1.2: the client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// §7.1.2.1: the server compresses with a window of at most 2^n bytes
    /// (8 to 15; 15 when the response did not say).
    pub server_max_window_bits: u8,
    /// §7.1.2.2: the client compresses with a window of at most 2^n bytes
    /// (8 to 15; 15 when nothing limited it).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// What a bare `permessage-deflate` agreement means: both sides keep
    /// their context, both windows 32 KiB.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl DeflateParams {
    /// The window `role` compresses with, or `None` when the agreed limit
    /// is 8, which zlib cannot produce: such an endpoint sends every
    /// message uncompressed (allowed per message, §6) rather than a stream
    /// its peer might not be able to read.
    pub fn send_window(&self, role: Role) -> Option<u8> {
        let bits = match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        };
        (bits >= MIN_COMPRESS_WINDOW_BITS).then_some(bits.min(MAX_WINDOW_BITS))
    }

    /// The window `role` decompresses with: the peer's limit, and at least
    /// 9 (a larger window reads anything a smaller one wrote).
    pub fn receive_window(&self, role: Role) -> u8 {
        let bits = match role {
            Role::Server => self.client_max_window_bits,
            Role::Client => self.server_max_window_bits,
        };
        clamp_bits(bits)
    }

    /// True when `role` must reset its compressor after every message.
    pub fn send_resets(&self, role: Role) -> bool {
        match role {
            Role::Server => self.server_no_context_takeover,
            Role::Client => self.client_no_context_takeover,
        }
    }

    /// True when the peer of `role` resets its compressor after every
    /// message, so `role`'s decompressor need not keep a window.
    pub fn receive_resets(&self, role: Role) -> bool {
        match role {
            Role::Server => self.client_no_context_takeover,
            Role::Client => self.server_no_context_takeover,
        }
    }
}

/// A connection's permessage-deflate state once the extension was agreed:
/// the parameters, and the compressor and decompressor, each created on
/// first use (an idle connection that never sent or received a compressed
/// message holds neither).
///
/// A side that agreed to "no context takeover" keeps no history between
/// messages, so its compressor or decompressor is lent from a
/// [`CodecPool`] while the connection is busy and handed back when it goes
/// quiet: connections of one event loop then share a few of them.
#[derive(Debug)]
pub(crate) struct DeflateState {
    pub(crate) params: DeflateParams,
    pub(crate) role: Role,
    level: u32,
    threshold: usize,
    compressor: Option<Box<Compressor>>,
    decompressor: Option<Box<Decompressor>>,
    /// With `release_when_idle`, on a side that keeps its context: the
    /// window that side's codec must resume from once it was handed back,
    /// and whether the codec held now has been given it (false from the
    /// moment one is handed back until the next is primed).
    sent: Option<History>,
    received: Option<History>,
    send_primed: bool,
    receive_primed: bool,
    /// Marks the codecs this connection hands back mid-stream (see
    /// [`CodecPool`]); 0 until it first hands one back.
    ticket: u64,
}

impl DeflateState {
    pub(crate) fn new(params: DeflateParams, role: Role, config: &DeflateConfig) -> Self {
        let release = config.release_when_idle;
        let sent = params
            .send_window(role)
            .filter(|_| release && !params.send_resets(role))
            .map(|bits| History::new(1 << bits));
        let received = (release && !params.receive_resets(role))
            .then(|| History::new(1 << params.receive_window(role)));
        DeflateState {
            params,
            role,
            level: config.level(),
            threshold: config.threshold,
            compressor: None,
            decompressor: None,
            sent,
            received,
            send_primed: true,
            receive_primed: true,
            ticket: 0,
        }
    }

    /// Compress `payload` into `out` (emptied first) if it is worth it: at
    /// least the threshold long, and a window we can produce was agreed.
    /// False: send the message as it is.
    pub(crate) fn compress(&mut self, payload: &[u8], out: &mut Vec<u8>) -> bool {
        if payload.len() < self.threshold {
            return false;
        }
        let Some(window) = self.params.send_window(self.role) else {
            return false;
        };
        let level = self.level;
        let compressor = self
            .compressor
            .get_or_insert_with(|| Box::new(Compressor::new(level, window)));
        if !self.send_primed {
            self.send_primed = true;
            if let Some(history) = self.sent.as_mut().filter(|h| h.len() > 0) {
                compressor.prime(history.contiguous());
            }
        }
        out.clear();
        let ok = compressor.compress(payload, out);
        if !ok || self.params.send_resets(self.role) {
            // No history may be kept (§7.1.1), or the compressor failed
            // and its history is unknown: start afresh. A fresh
            // compressor's output is readable by a decompressor that kept
            // its window, so a reset never needs telling the peer.
            compressor.reset();
            if let Some(history) = self.sent.as_mut() {
                history.clear();
            }
        } else if let Some(history) = self.sent.as_mut() {
            history.push(payload);
        }
        ok
    }

    /// The decompressor for a compressed message arriving now, and the
    /// window to feed with its output when one is kept apart from it.
    pub(crate) fn receiving(&mut self) -> (&mut Decompressor, Option<&mut History>) {
        let window = self.params.receive_window(self.role);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Box::new(Decompressor::new(window)));
        if !self.receive_primed {
            self.receive_primed = true;
            if let Some(history) = self.received.as_mut().filter(|h| h.len() > 0) {
                decompressor.prime(history.contiguous());
            }
        }
        (decompressor, self.received.as_mut())
    }

    /// A compressed message was received whole: forget its window when
    /// the peer does not keep its context (§7.1.1), or when its stream
    /// ended inside the message.
    pub(crate) fn finished_receiving(&mut self) {
        let restarted = self.decompressor.as_deref().is_some_and(|d| d.restarted());
        if restarted {
            if let Some(history) = self.received.as_mut() {
                history.clear();
            }
        }
        if self.params.receive_resets(self.role) {
            if let Some(d) = self.decompressor.as_deref_mut() {
                d.reset();
            }
        }
    }

    /// Take codecs from `pool` ahead of I/O, so that a busy connection
    /// does not allocate them: history-free ones, and with
    /// `release_when_idle` the ones that resume from a kept window — the
    /// very codec this connection handed back if no other took it (still
    /// mid-stream), else one primed from the window on first use (so a
    /// burst that compresses nothing pays nothing).
    pub(crate) fn lend(&mut self, pool: &mut CodecPool) {
        let send_pooled = self.params.send_resets(self.role) || self.sent.is_some();
        if self.compressor.is_none() && send_pooled {
            if let Some(window) = self.params.send_window(self.role) {
                let owner = self.owner(self.sent.is_some());
                if let Some((c, own)) = pool.take_compressor(self.level, window, owner) {
                    self.compressor = Some(c);
                    self.send_primed = own;
                }
            }
        }
        let receive_pooled = self.params.receive_resets(self.role) || self.received.is_some();
        if self.decompressor.is_none() && receive_pooled {
            let window = self.params.receive_window(self.role);
            let owner = self.owner(self.received.is_some());
            if let Some((d, own)) = pool.take_decompressor(window, owner) {
                self.decompressor = Some(d);
                self.receive_primed = own;
            }
        }
    }

    /// The ticket this connection's codecs carry in a pool when they keep
    /// its stream (`keeps`), or 0.
    fn owner(&self, keeps: bool) -> u64 {
        if keeps {
            self.ticket
        } else {
            0
        }
    }

    /// Hand back to `pool` (or free, when `pool` is `None`) what the
    /// connection need not keep between bursts: a side without context
    /// takeover holds no history, and with `release_when_idle` a side's
    /// history is its kept window (the codec goes back mid-stream, marked
    /// as this connection's). An idle connection then keeps only the
    /// parameters and those windows.
    pub(crate) fn give_back(&mut self, mut pool: Option<&mut CodecPool>) {
        if self.ticket == 0 && (self.sent.is_some() || self.received.is_some()) {
            if let Some(pool) = pool.as_deref_mut() {
                self.ticket = pool.ticket();
            }
        }
        if self.params.send_resets(self.role) || self.sent.is_some() {
            if let Some(c) = self.compressor.take() {
                let owner = self.owner(self.sent.is_some() && self.send_primed);
                self.send_primed = false;
                if let Some(pool) = pool.as_deref_mut() {
                    pool.put_compressor(c, owner);
                }
            }
        }
        let between_messages = self.decompressor.as_deref().is_none_or(|d| !d.in_message());
        if (self.params.receive_resets(self.role) || self.received.is_some()) && between_messages {
            if let Some(d) = self.decompressor.take() {
                let owner = self.owner(self.received.is_some() && self.receive_primed);
                self.receive_primed = false;
                if let Some(pool) = pool {
                    pool.put_decompressor(d, owner);
                }
            }
        }
    }

    /// Whether the compressor and the decompressor exist now.
    #[cfg(feature = "testing")]
    pub fn holds_codecs(&self) -> (bool, bool) {
        (self.compressor.is_some(), self.decompressor.is_some())
    }
}

/// Spare compressors and decompressors shared by the connections of one
/// event loop, at most `limit` of each (each is about 256 KiB or 40 KiB at
/// a 32 KiB window); a connection lends them while it is busy and hands
/// them back when it goes quiet.
///
/// A codec handed back by a connection that keeps its context (RFC 7692
/// §7.1.1) stays as it was, marked with that connection's ticket: when the
/// same connection comes back before another one needed the codec, it
/// takes it back mid-stream and need not prime a fresh one from its
/// window. A connection without its own takes a clean codec; failing
/// that it makes a new one while the pool has room, and once it is full
/// takes the one whose owner has been quiet the longest, and primes it.
/// So up to `limit` busy connections run as fast as with codecs of their
/// own, and many quiet ones cost only their windows.
#[derive(Debug, Default)]
pub struct CodecPool {
    /// Oldest first.
    compressors: Vec<Spare<Compressor>>,
    decompressors: Vec<Spare<Decompressor>>,
    limit: usize,
    /// The last ticket handed out (0 marks a clean codec).
    tickets: u64,
}

/// A pooled codec and the ticket of the connection whose stream it holds
/// (0: none, it was reset).
#[derive(Debug)]
struct Spare<T> {
    codec: Box<T>,
    owner: u64,
}

/// Where in `spares` to take a codec for `owner` from: its own if there,
/// else a clean one that `fits`, else — only when the pool is full
/// (`full`), so that busy connections each end up with a codec of their
/// own — the oldest one that fits. The bool says whether it is the
/// owner's own.
fn pick<T>(
    spares: &[Spare<T>],
    owner: u64,
    full: bool,
    fits: impl Fn(&T) -> bool,
) -> Option<(usize, bool)> {
    if owner != 0 {
        if let Some(at) = spares.iter().position(|s| s.owner == owner) {
            return Some((at, true));
        }
    }
    let clean = spares.iter().position(|s| s.owner == 0 && fits(&s.codec));
    let oldest = || {
        full.then(|| spares.iter().position(|s| fits(&s.codec)))
            .flatten()
    };
    clean.or_else(oldest).map(|at| (at, false))
}

/// A codec the pool can make clean (forget its stream).
trait Reset {
    fn reset(&mut self);
}

impl Reset for Compressor {
    fn reset(&mut self) {
        Compressor::reset(self);
    }
}

impl Reset for Decompressor {
    fn reset(&mut self) {
        Decompressor::reset(self);
    }
}

/// Take the codec [`pick`] chooses out of `spares` (`limit` of them make
/// the pool full), reset unless it is `owner`'s own.
fn take<T: Reset>(
    spares: &mut Vec<Spare<T>>,
    limit: usize,
    owner: u64,
    fits: impl Fn(&T) -> bool,
) -> Option<(Box<T>, bool)> {
    let (at, own) = pick(spares, owner, spares.len() >= limit, fits)?;
    let mut spare = spares.remove(at);
    if !own && spare.owner != 0 {
        spare.codec.reset();
    }
    Some((spare.codec, own))
}

/// Keep `spare` as the newest (reset first when it has no owner),
/// dropping the oldest when `limit` are held.
fn keep<T: Reset>(spares: &mut Vec<Spare<T>>, mut spare: Spare<T>, limit: usize) {
    if limit == 0 {
        return;
    }
    if spare.owner == 0 {
        spare.codec.reset();
    }
    if spares.len() >= limit {
        spares.remove(0);
    }
    spares.push(spare);
}

impl CodecPool {
    /// A pool keeping at most `limit` spare codecs of each kind.
    pub fn new(limit: usize) -> Self {
        CodecPool {
            compressors: Vec::new(),
            decompressors: Vec::new(),
            limit,
            tickets: 0,
        }
    }

    /// Spare (compressors, decompressors) held now.
    pub fn len(&self) -> (usize, usize) {
        (self.compressors.len(), self.decompressors.len())
    }

    /// Keep at most `spares` codecs of each kind, the most recently handed
    /// back (for an event loop that went quiet).
    pub fn trim(&mut self, spares: usize) {
        drop_oldest(&mut self.compressors, spares);
        drop_oldest(&mut self.decompressors, spares);
    }

    /// A new ticket, never 0.
    fn ticket(&mut self) -> u64 {
        self.tickets = self.tickets.wrapping_add(1).max(1);
        self.tickets
    }

    /// A compressor for `owner` (0: any clean one), and whether it is the
    /// one `owner` handed back, still mid-stream. Any other was reset.
    fn take_compressor(
        &mut self,
        level: u32,
        window: u8,
        owner: u64,
    ) -> Option<(Box<Compressor>, bool)> {
        take(&mut self.compressors, self.limit, owner, |c| {
            c.settings() == (level, window)
        })
    }

    fn take_decompressor(&mut self, window: u8, owner: u64) -> Option<(Box<Decompressor>, bool)> {
        take(&mut self.decompressors, self.limit, owner, |d| {
            d.window() == window
        })
    }

    /// Keep `codec` for later: as `owner`'s, mid-stream, or reset when
    /// `owner` is 0.
    fn put_compressor(&mut self, codec: Box<Compressor>, owner: u64) {
        keep(&mut self.compressors, Spare { codec, owner }, self.limit);
    }

    fn put_decompressor(&mut self, codec: Box<Decompressor>, owner: u64) {
        keep(&mut self.decompressors, Spare { codec, owner }, self.limit);
    }
}

/// Drop the oldest of `spares` until at most `left` remain.
fn drop_oldest<T>(spares: &mut Vec<Spare<T>>, left: usize) {
    let drop = spares.len().saturating_sub(left);
    spares.drain(..drop);
}

#[cfg(test)]
#[path = "release_tests.rs"]
mod release_tests;
