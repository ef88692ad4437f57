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
//! that they hold no history (§7.1.1).

pub mod codec;
pub mod negotiate;

use alloc::{boxed::Box, vec::Vec};

use crate::role::Role;

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
/// are created on first use. With "no context takeover" on a side, that
/// side's state is reset after each message and never carries history.
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
    /// larger values are clamped to 9. 6 is zlib's default.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed (§6:
    /// compression is a per-message choice): for tiny messages the
    /// compressed form is rarely smaller and the work is wasted.
    pub threshold: usize,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            level: 6,
            threshold: 64,
        }
    }
}

impl DeflateConfig {
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
}

impl DeflateState {
    pub(crate) fn new(params: DeflateParams, role: Role, config: &DeflateConfig) -> Self {
        DeflateState {
            params,
            role,
            level: config.level(),
            threshold: config.threshold,
            compressor: None,
            decompressor: None,
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
        out.clear();
        let ok = compressor.compress(payload, out);
        if !ok || self.params.send_resets(self.role) {
            // No history may be kept (§7.1.1), or the compressor failed
            // and its history is unknown: start afresh. A fresh
            // compressor's output is readable by a decompressor that kept
            // its window, so a reset never needs telling the peer.
            compressor.reset();
        }
        ok
    }

    /// The decompressor for a compressed message arriving now.
    pub(crate) fn decompressor(&mut self) -> &mut Decompressor {
        let window = self.params.receive_window(self.role);
        self.decompressor
            .get_or_insert_with(|| Box::new(Decompressor::new(window)))
    }

    /// A compressed message was received whole: forget its window when
    /// the peer does not keep its context (§7.1.1).
    pub(crate) fn finished_receiving(&mut self) {
        if self.params.receive_resets(self.role) {
            if let Some(d) = self.decompressor.as_deref_mut() {
                d.reset();
            }
        }
    }

    /// Take history-free codecs from `pool` ahead of I/O, so that a busy
    /// connection does not allocate them.
    pub(crate) fn lend(&mut self, pool: &mut CodecPool) {
        if self.compressor.is_none() && self.params.send_resets(self.role) {
            if let Some(window) = self.params.send_window(self.role) {
                self.compressor = pool.take_compressor(self.level, window);
            }
        }
        if self.decompressor.is_none() && self.params.receive_resets(self.role) {
            let window = self.params.receive_window(self.role);
            self.decompressor = pool.take_decompressor(window);
        }
    }

    /// Hand back what holds no history (a side without context takeover,
    /// between messages) to `pool`, or free it when `pool` is `None`: an
    /// idle connection then keeps only the parameters.
    pub(crate) fn give_back(&mut self, mut pool: Option<&mut CodecPool>) {
        if self.params.send_resets(self.role) {
            if let (Some(c), Some(pool)) = (self.compressor.take(), pool.as_deref_mut()) {
                pool.put_compressor(c);
            }
        }
        let between_messages = self.decompressor.as_deref().is_none_or(|d| !d.in_message());
        if self.params.receive_resets(self.role) && between_messages {
            if let (Some(d), Some(pool)) = (self.decompressor.take(), pool) {
                pool.put_decompressor(d);
            }
        }
    }

    /// Whether the compressor and the decompressor exist now.
    #[cfg(feature = "testing")]
    pub fn holds_codecs(&self) -> (bool, bool) {
        (self.compressor.is_some(), self.decompressor.is_some())
    }
}

/// Spare history-free compressors and decompressors shared by the
/// connections of one event loop (a connection lends them while it is
/// busy and hands them back when it goes quiet), at most `limit`
/// of each. Each is about 256 KiB or 40 KiB at a 32 KiB window.
#[derive(Debug, Default)]
pub struct CodecPool {
    #[allow(clippy::vec_box)]
    compressors: Vec<Box<Compressor>>,
    #[allow(clippy::vec_box)]
    decompressors: Vec<Box<Decompressor>>,
    limit: usize,
}

impl CodecPool {
    /// A pool keeping at most `limit` spare codecs of each kind.
    pub fn new(limit: usize) -> Self {
        CodecPool {
            compressors: Vec::new(),
            decompressors: Vec::new(),
            limit,
        }
    }

    /// Spare (compressors, decompressors) held now.
    pub fn len(&self) -> (usize, usize) {
        (self.compressors.len(), self.decompressors.len())
    }

    fn take_compressor(&mut self, level: u32, window: u8) -> Option<Box<Compressor>> {
        let at = self
            .compressors
            .iter()
            .position(|c| c.settings() == (level, window))?;
        Some(self.compressors.swap_remove(at))
    }

    fn take_decompressor(&mut self, window: u8) -> Option<Box<Decompressor>> {
        let at = self
            .decompressors
            .iter()
            .position(|d| d.window() == window)?;
        Some(self.decompressors.swap_remove(at))
    }

    fn put_compressor(&mut self, mut c: Box<Compressor>) {
        if self.compressors.len() < self.limit {
            c.reset();
            self.compressors.push(c);
        }
    }

    fn put_decompressor(&mut self, mut d: Box<Decompressor>) {
        if self.decompressors.len() < self.limit {
            d.reset();
            self.decompressors.push(d);
        }
    }
}
