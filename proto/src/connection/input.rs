//! Reading frames out of the receive buffer (§5.2–§5.5, §8.1).
//!
//! Payloads are unmasked in place as soon as their bytes arrive, and text
//! is validated as it arrives, so an invalid sequence fails the connection
//! at the first byte that proves it invalid, even in the middle of a frame
//! (Autobahn 6.4.x). A message carried by one frame stays where it landed
//! and is handed out from there; fragments stream into the assembler.

use alloc::{boxed::Box, vec::Vec};

use core::ops::Range;

use super::state::State;
use super::trace::Direction;
use super::{Active, Connection, Ready, Role};
use crate::assembler::{FramePlace, MessageKind};
use crate::close::parse_close_payload;
use crate::error::ProtocolError;
use crate::frame::{decode_header, FrameHeader, OpCode};
use crate::mask::apply_mask;
use crate::rate::Verdict;
use crate::utf8::{self, Utf8Validator};

/// The receive buffer: bytes in `buf[start..end]` are received and not yet
/// consumed. `buf` is fully initialised so it can be handed to `read`.
#[derive(Debug, Default)]
pub(super) struct RecvBuffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl RecvBuffer {
    /// Unconsumed bytes.
    pub(super) fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    pub(super) fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Bytes at `range`, relative to the whole buffer (ranges handed out by
    /// the frame reader stay valid until the next input call).
    pub(super) fn slice(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// At least `min` bytes of free space (more while a large frame is
    /// arriving). Grows geometrically, so the memory held is at most about
    /// twice what was actually received plus one read: a header that
    /// announces 16 MiB reserves nothing until the bytes come.
    pub(super) fn spare(&mut self, min: usize, frame_missing: usize) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        let min = min.max(1);
        if self.buf.len().saturating_sub(self.end) < min && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end = self.len();
            self.start = 0;
        }
        let free = self.buf.len().saturating_sub(self.end);
        if free < min {
            let doubled = self.buf.len().saturating_mul(2);
            let wanted = self.end.saturating_add(frame_missing).min(doubled);
            let target = wanted.max(self.end.saturating_add(min));
            self.buf.resize(target, 0);
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    pub(super) fn commit(&mut self, n: usize) {
        self.end = self.end.saturating_add(n).min(self.buf.len());
    }

    pub(super) fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
    }

    pub(super) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// Bytes allocated.
    pub(super) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Empty the buffer, keeping its allocation unless it grew past `keep`
    /// (one huge message must not pin memory in a pool).
    pub(super) fn release_if_larger(&mut self, keep: usize) {
        self.clear();
        if self.buf.len() > keep {
            self.buf = Vec::new();
        }
    }

    /// Mutable unconsumed bytes from `from` (relative to `start`) to `to`.
    fn data_mut(&mut self, from: usize, to: usize) -> &mut [u8] {
        let a = self.start.saturating_add(from);
        let b = self.start.saturating_add(to).min(self.end);
        self.buf.get_mut(a..b).unwrap_or_default()
    }

    /// An absolute range for bytes `from..to` relative to `start`.
    fn absolute(&self, from: usize, to: usize) -> Range<usize> {
        self.start.saturating_add(from)..self.start.saturating_add(to)
    }
}

/// What the frame reader is waiting for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) enum ReadState {
    /// The next frame header, at the start of the unconsumed bytes.
    #[default]
    Header,
    /// The payload of the frame whose header was parsed.
    Payload(PayloadState),
}

impl ReadState {
    /// Bytes still needed to finish the frame being read, so the buffer can
    /// grow once instead of read by read.
    pub(super) fn bytes_missing(&self, buffered: usize) -> usize {
        match self {
            ReadState::Payload(p) if p.keep => {
                let total = (p.header_len as u64).saturating_add(p.header.payload_len);
                usize::try_from(total.saturating_sub(buffered as u64)).unwrap_or(usize::MAX)
            }
            _ => 0,
        }
    }
}

/// Progress through one frame's payload.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct PayloadState {
    header: FrameHeader,
    /// Header bytes still at the front of the unconsumed data (0 once a
    /// streamed fragment's header was dropped).
    header_len: usize,
    /// Payload bytes unmasked and checked so far.
    done: u64,
    /// Keep the whole frame in the receive buffer (control frames and
    /// single-frame messages) instead of streaming it to the assembler.
    keep: bool,
    place: Option<FramePlace>,
    /// Set when a single-frame text message arrives in pieces and has to be
    /// validated piece by piece.
    utf8: Option<Utf8Validator>,
}

impl Connection {
    /// Reads frames until one produces an event or the input runs out.
    pub(super) fn read_frames(&mut self) -> Option<Ready> {
        loop {
            let result = match self.active().read {
                ReadState::Header => self.read_header(),
                ReadState::Payload(_) => self.read_payload(),
            };
            match result {
                Ok(Progress::NeedMore) => return None,
                Ok(Progress::Continue) => continue,
                Ok(Progress::Event(ready)) => return Some(ready),
                Err(err) => {
                    self.fail(err);
                    return None;
                }
            }
        }
    }

    fn read_header(&mut self) -> Result<Progress, ProtocolError> {
        let role = self.role;
        let compression = self.compression_agreed();
        let expected = self.last_fragmented_len;
        let config = &*self.config;
        let a = self.active.get_or_insert_with(Box::default);
        let data = a.rx.data();
        // Fail fast, and judge the header in byte order — everything byte 0
        // shows (opcode, FIN of a control frame, RSV), then byte 1 (control
        // length, MASK), then the rest — so the error reported never
        // depends on where the input was cut.
        if let Some(&b0) = data.first() {
            decode_header(&[b0])?;
            check_rsv((b0 >> 4) & 0b111, b0 & 0x0f, compression)?;
        }
        if let Some(first_two) = data.get(..2) {
            decode_header(first_two)?;
            check_mask(role, first_two.get(1).is_some_and(|&b1| b1 & 0x80 != 0))?;
        }
        let Some((header, header_len)) = decode_header(data)? else {
            return Ok(Progress::NeedMore);
        };
        if header.payload_len > frame_limit(config.max_frame_size, compression) {
            return Err(ProtocolError::FrameTooLarge(header.payload_len));
        }
        let place = if header.opcode.is_control() {
            None
        } else {
            Some(a.assembler.begin_frame_rsv1(
                header.opcode,
                header.fin,
                header.payload_len,
                config.max_message_size,
                header.rsv & RSV1 != 0,
            )?)
        };
        let keep = place.is_none_or(|p| p.single);
        if !keep && header.opcode != OpCode::Continuation {
            let cap = usize::try_from(config.max_message_size).unwrap_or(usize::MAX);
            a.assembler
                .expect(usize::try_from(expected).unwrap_or(usize::MAX).min(cap));
        }
        let mut header_len = header_len;
        if !keep {
            // A fragment streams into the assembler: its header is done with.
            a.rx.consume(header_len);
            header_len = 0;
        }
        a.read = ReadState::Payload(PayloadState {
            header,
            header_len,
            done: 0,
            keep,
            place,
            utf8: None,
        });
        Ok(Progress::Continue)
    }

    /// True when RSV1 means "compressed" on this connection (RFC 7692 §6).
    fn compression_agreed(&self) -> bool {
        #[cfg(feature = "deflate")]
        if self.outbound.deflate.is_some() {
            return true;
        }
        false
    }

    fn read_payload(&mut self) -> Result<Progress, ProtocolError> {
        let Connection {
            active,
            outbound,
            config,
            ..
        } = self;
        let a = active.get_or_insert_with(Box::default);
        let ReadState::Payload(state) = &mut a.read else {
            return Ok(Progress::NeedMore);
        };
        let total = state.header.payload_len;
        let buffered_payload = (a.rx.len().saturating_sub(state.header_len)) as u64;
        let available = if state.keep {
            buffered_payload.min(total)
        } else {
            // Streamed fragments drop processed bytes, so everything
            // buffered is new.
            state.done.saturating_add(buffered_payload).min(total)
        };
        let fresh = usize::try_from(available.saturating_sub(state.done)).unwrap_or(0);
        if fresh > 0 || total == 0 {
            let from = if state.keep {
                state
                    .header_len
                    .saturating_add(usize::try_from(state.done).unwrap_or(0))
            } else {
                0
            };
            let chunk = a.rx.data_mut(from, from.saturating_add(fresh));
            if let Some(key) = state.header.mask {
                apply_mask(chunk, key, usize::try_from(state.done & 3).unwrap_or(0));
            }
            let complete = available == total;
            if state.keep {
                if let Some(place) = state.place {
                    let arrived_whole = complete && state.done == 0;
                    if place.kind == MessageKind::Text && !arrived_whole {
                        // Fail fast inside a frame that arrives in pieces.
                        state
                            .utf8
                            .get_or_insert_with(Utf8Validator::new)
                            .feed(chunk)?;
                    }
                }
            } else if let Some(place) = state.place {
                if place.compressed {
                    let max = config.max_message_size;
                    inflate(outbound, &mut a.assembler, place.kind, chunk, max, false)?;
                } else {
                    a.assembler.push_fragment(place.kind, chunk)?;
                }
                a.rx.consume(fresh);
            }
            state.done = available;
        }
        if state.done < total {
            return Ok(Progress::NeedMore);
        }
        let ReadState::Payload(state) = core::mem::replace(&mut a.read, ReadState::Header) else {
            return Ok(Progress::NeedMore);
        };
        self.finish_frame(state)
    }

    fn finish_frame(&mut self, state: PayloadState) -> Result<Progress, ProtocolError> {
        let a = self.active.get_or_insert_with(Box::default);
        let len = usize::try_from(state.header.payload_len).unwrap_or(0);
        let payload_end = state.header_len.saturating_add(len);
        let range = a.rx.absolute(state.header_len, payload_end);
        if let Some(log) = self.outbound.trace.as_deref_mut() {
            // A streamed fragment's payload is the assembler's tail.
            let payload = if state.keep {
                a.rx.slice(range.clone())
            } else if state.place.is_some_and(|p| p.compressed) {
                // The compressed bytes were inflated and are gone.
                &[]
            } else {
                let message = a.assembler.message();
                message
                    .get(message.len().saturating_sub(len)..)
                    .unwrap_or_default()
            };
            log.received(&state.header, payload);
        }
        if state.keep {
            a.rx.consume(payload_end);
        }
        match (state.header.opcode, state.place) {
            (OpCode::Ping, _) => {
                // §5.5.2 "MUST send a Pong frame in response" — unless our
                // close already went (§5.5.1: nothing may follow it).
                if matches!(self.state, State::Open(_)) {
                    let Active { rx, out, .. } = &mut **a;
                    self.outbound
                        .queue_control(out, OpCode::Pong, rx.slice(range.clone()));
                }
                Ok(Progress::Event(Ready::Ping(range)))
            }
            (OpCode::Pong, _) => Ok(Progress::Event(Ready::Pong(range))),
            (OpCode::Close, _) => {
                let frame = parse_close_payload(a.rx.slice(range.clone()))?;
                let code = frame.code;
                let reason = if frame.reason.is_empty() {
                    range.end..range.end
                } else {
                    range.start.saturating_add(2)..range.end
                };
                self.on_close_received(code);
                Ok(Progress::Event(Ready::Close(code, reason)))
            }
            (_, Some(place)) if place.single => {
                if place.kind == MessageKind::Text {
                    match state.utf8 {
                        Some(mut v) => v.finish()?,
                        None => {
                            utf8::validate(a.rx.slice(range.clone()))?;
                        }
                    }
                }
                self.admit_message(len)?;
                Ok(Progress::Event(Ready::Single(place.kind, range)))
            }
            (_, Some(place)) => {
                if !state.header.fin {
                    return Ok(Progress::Continue);
                }
                if place.compressed {
                    let max = self.config.max_message_size;
                    inflate(
                        &mut self.outbound,
                        &mut a.assembler,
                        place.kind,
                        &[],
                        max,
                        true,
                    )?;
                    if let Some(log) = self.outbound.trace.as_deref_mut() {
                        let opcode = match place.kind {
                            MessageKind::Text => OpCode::Text,
                            MessageKind::Binary => OpCode::Binary,
                        };
                        log.compressed_message(
                            Direction::Received,
                            opcode.as_u8(),
                            a.assembler.message(),
                            a.assembler.wire_size(),
                        );
                    }
                }
                a.assembler.finish_message()?;
                let len = a.assembler.message().len();
                self.last_fragmented_len = u32::try_from(len).unwrap_or(u32::MAX);
                self.admit_message(len)?;
                Ok(Progress::Event(Ready::Assembled(place.kind)))
            }
            // A data opcode always has a place; nothing to report otherwise.
            (_, None) => Ok(Progress::Continue),
        }
    }
}

impl Connection {
    /// §10.4: a complete data message of `len` payload bytes is about to
    /// be delivered; check it against the rate limit, if there is one.
    /// Over the limit, close mode refuses it (the connection fails with
    /// 1008 and the message is never seen); pause mode lets it through and
    /// stops reading until the limit is met again.
    fn admit_message(&mut self, len: usize) -> Result<(), ProtocolError> {
        let now = self.outbound.timers.now();
        let Some(limiter) = self.state.limiter_mut() else {
            return Ok(());
        };
        match limiter.admit(now, len) {
            Verdict::Deliver => Ok(()),
            Verdict::Refuse => Err(ProtocolError::RateLimited),
            Verdict::Pause(_) => {
                self.notices.throttled = true;
                Ok(())
            }
        }
    }
}

/// RSV1, as the three RSV bits of a frame header hold it.
const RSV1: u8 = 0b100;

/// §5.2: "MUST be 0 unless an extension is negotiated that defines
/// meanings for non-zero values". With permessage-deflate agreed
/// (`compression`), RSV1 marks a compressed message, on its first frame
/// only: RFC 7692 §6.1 "An endpoint MUST NOT set the "Per-Message
/// Compressed" bit of control frames and non-first fragments of a data
/// message. An endpoint receiving such a frame MUST _Fail the WebSocket
/// Connection_."
/// The largest frame payload accepted. With permessage-deflate agreed, a
/// frame may carry deflate's overhead on top of `max_frame_size`: a peer
/// compressing incompressible data of exactly the limit sends stored
/// blocks, 5 bytes per block, and small blocks (Python `websockets` uses
/// 2 KiB ones) make that 0.25 %. zlib's bound for any settings
/// (`deflateBound` without its fast path: n + n/8 + n/64 + 5) covers
/// every sender. This costs no memory: fragments of a compressed message
/// stream through the inflater, and what a message may *become* is held
/// to `max_message_size` while inflating.
fn frame_limit(max_frame_size: u64, compression: bool) -> u64 {
    if !compression {
        return max_frame_size;
    }
    let overhead = (max_frame_size >> 3)
        .saturating_add(max_frame_size >> 6)
        .saturating_add(64);
    max_frame_size.saturating_add(overhead)
}

fn check_rsv(rsv: u8, opcode: u8, compression: bool) -> Result<(), ProtocolError> {
    if rsv & !RSV1 != 0 || (rsv != 0 && !compression) {
        return Err(ProtocolError::ReservedBitsSet(rsv));
    }
    // Continuation (0x0) and control frames (0x8 and up).
    if rsv != 0 && (opcode == 0 || opcode & 0x08 != 0) {
        return Err(ProtocolError::CompressionBitMisplaced);
    }
    Ok(())
}

/// Inflate the next compressed bytes of a message into the assembler
/// (RFC 7692 §7.2.2), text validated as it comes (§8.1 fail-fast) and the
/// inflated size held to `max` (§10.4) while inflating. `end` marks the
/// end of the message: the tail is added and the window forgotten if the
/// peer does not keep its context.
#[cfg(feature = "deflate")]
fn inflate(
    outbound: &mut super::sender::Outbound,
    assembler: &mut crate::assembler::Assembler,
    kind: MessageKind,
    compressed: &[u8],
    max: u64,
    end: bool,
) -> Result<(), ProtocolError> {
    use crate::deflate::codec::InflateSink;
    let Some(deflate) = outbound.deflate.as_deref_mut() else {
        return Err(ProtocolError::ReservedBitsSet(RSV1));
    };
    let mut produced = assembler.buffered() as u64;
    let (decompressor, mut window) = deflate.receiving();
    let mut sink = InflateSink {
        produced: &mut produced,
        limit: max,
        push: |bytes: &[u8]| {
            if let Some(window) = window.as_deref_mut() {
                window.push(bytes);
            }
            assembler.push_fragment(kind, bytes)
        },
    };
    decompressor.inflate(compressed, &mut sink)?;
    if end {
        decompressor.finish(&mut sink)?;
        deflate.finished_receiving();
    }
    Ok(())
}

/// Without the `deflate` feature nothing is ever agreed, so `check_rsv`
/// refuses RSV1 before a message could be marked compressed.
#[cfg(not(feature = "deflate"))]
fn inflate(
    _: &mut super::sender::Outbound,
    _: &mut crate::assembler::Assembler,
    _: MessageKind,
    _: &[u8],
    _: u64,
    _: bool,
) -> Result<(), ProtocolError> {
    Err(ProtocolError::ReservedBitsSet(RSV1))
}

/// §5.1: "a client MUST mask all frames that it sends to the server" and
/// "a server MUST NOT mask any frames that it sends to the client".
fn check_mask(role: Role, masked: bool) -> Result<(), ProtocolError> {
    match (role, masked) {
        (Role::Server, false) => Err(ProtocolError::UnmaskedClientFrame),
        (Role::Client, true) => Err(ProtocolError::MaskedServerFrame),
        _ => Ok(()),
    }
}

/// The outcome of one parsing step.
enum Progress {
    NeedMore,
    Continue,
    Event(Ready),
}
