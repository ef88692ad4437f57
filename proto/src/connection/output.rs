//! The output side: what is queued for the socket, in which order.
//!
//! Two queues. Data frames (and our close, which must follow them, §5.5.1)
//! go to `data`, in order. Pings and pongs go to `ctrl` and are written at
//! the next frame boundary of `data`, so a large message split into frames
//! never holds a pong back for longer than one frame (§5.4: "control frames
//! MAY be injected in the middle of a fragmented message").
//!
//! A server's broadcast ([`PreparedMessage`]) is not copied into `data`:
//! the queue holds a reference to its shared frames (§5.1: server frames
//! are unmasked, so the same bytes serve every connection), placed between
//! the owned bytes where it was queued. The wire order is
//! `data[..at₀]`, shared₀, `data[at₀..at₁]`, shared₁, …, `data[atₙ..]`,
//! and [`Output::chunks`] hands the driver that order as slices for one
//! vectored write. Frame boundaries are tracked in shared messages exactly
//! as in `data`, so a pong still goes between their frames, never inside
//! one.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;

use rand::rngs::StdRng;
use rand::RngCore;

use crate::encode::{frame_span, push_frame, push_message_rsv};
use crate::frame::{decode_header, OpCode};
use crate::prepared::PreparedMessage;

/// Written bytes at the front of the data queue are dropped once there are
/// at least this many and they are more than half of it.
const COMPACT_AFTER: usize = 16 << 10;

/// Prepared messages shorter than this are copied into the data queue
/// rather than referenced: a reference costs a queue entry, a
/// reference-count update and a slice of its own in the vectored write,
/// which is more than copying a few dozen bytes.
pub(super) const SHARE_MIN: usize = 64;

/// A reference to a shared message in the queue.
#[derive(Debug)]
struct Shared {
    /// Where it sits in the data queue: after `data[..at]`, before
    /// `data[at..]`. Always a frame boundary of `data`.
    at: usize,
    /// Whole unmasked frames (§5.2), shared with other connections.
    bytes: Arc<[u8]>,
}

/// Bytes waiting to be written.
#[derive(Debug, Default)]
pub(super) struct Output {
    data: Vec<u8>,
    data_pos: usize,
    /// A frame boundary in `data`. While `ctrl` holds bytes it is the end of
    /// the data frame being written (`>= data_pos`).
    boundary: usize,
    ctrl: Vec<u8>,
    ctrl_pos: usize,
    /// Where a message is compressed before it is framed (RFC 7692);
    /// pooled with the rest so that compressing allocates nothing.
    pub(super) scratch: Vec<u8>,
    /// Shared messages, in the order queued. The list keeps its capacity,
    /// so queueing one allocates nothing in steady state.
    shared: VecDeque<Shared>,
    /// Bytes of the front shared message already written.
    shared_pos: usize,
    /// A frame boundary in the front shared message, as `boundary` is in
    /// `data` (meaningful while it is being written).
    shared_boundary: usize,
    /// Unwritten bytes of every shared message, for [`Output::buffered`].
    shared_bytes: usize,
}

/// The queue lengths at one moment, to find what a push added (tracing).
#[derive(Clone, Copy, Debug)]
pub(super) struct Mark {
    data: usize,
    shared: usize,
    ctrl: usize,
}

/// Fills a slice list in order, skipping empty slices; `false` once full.
struct Fill<'s, 'a> {
    out: &'s mut [&'a [u8]],
    len: usize,
}

impl<'a> Fill<'_, 'a> {
    fn push(&mut self, chunk: &'a [u8]) -> bool {
        if chunk.is_empty() {
            return true;
        }
        match self.out.get_mut(self.len) {
            Some(slot) => {
                *slot = chunk;
                self.len = self.len.saturating_add(1);
                true
            }
            None => false,
        }
    }
}

/// A fresh masking key per frame for clients (§5.3), none for servers.
fn mask_key(rng: &mut Option<&mut StdRng>) -> Option<[u8; 4]> {
    rng.as_deref_mut().map(|r| r.next_u32().to_ne_bytes())
}

impl Output {
    /// Bytes queued and not yet written.
    pub(super) fn buffered(&self) -> usize {
        self.data
            .len()
            .saturating_sub(self.data_pos)
            .saturating_add(self.ctrl.len().saturating_sub(self.ctrl_pos))
            .saturating_add(self.shared_bytes)
    }

    /// Where each queue ends now, so that [`Output::appended`] can show
    /// what a later push added (for frame tracing).
    pub(super) fn mark(&self) -> Mark {
        Mark {
            data: self.data.len(),
            shared: self.shared.len(),
            ctrl: self.ctrl.len(),
        }
    }

    /// The bytes queued since `mark` was taken: data frames copied, a
    /// shared message referenced (a push adds at most one), control frames.
    pub(super) fn appended(&self, mark: Mark) -> [&[u8]; 3] {
        let shared = match self.shared.back() {
            Some(s) if self.shared.len() > mark.shared => &*s.bytes,
            _ => &[],
        };
        [
            self.data.get(mark.data..).unwrap_or_default(),
            shared,
            self.ctrl.get(mark.ctrl..).unwrap_or_default(),
        ]
    }

    /// Append bytes that form one unit no control frame may cut into:
    /// handshake bytes, or the rest of a frame a short write cut.
    pub(super) fn write_raw<R>(&mut self, write: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let result = write(&mut self.data);
        self.boundary = self.data.len();
        result
    }

    /// The data queue, to append whole frames to; control frames may go
    /// between them.
    pub(super) fn frames(&mut self) -> &mut Vec<u8> {
        &mut self.data
    }

    /// The shared message being written, once the owned bytes before it
    /// are.
    fn shared_front(&self) -> Option<&Shared> {
        self.shared.front().filter(|s| s.at <= self.data_pos)
    }

    /// Where the owned bytes being written end: at the next shared message
    /// or the end of the queue.
    fn data_end(&self) -> usize {
        let len = self.data.len();
        self.shared.front().map_or(len, |s| s.at.min(len))
    }

    /// True when the data stream stands at a frame boundary.
    fn at_boundary(&self) -> bool {
        match self.shared_front() {
            Some(_) => self.shared_pos >= self.shared_boundary,
            None => self.data_pos >= self.boundary,
        }
    }

    /// Control frames go next when one is partly written, or when the data
    /// stream stands at a frame boundary.
    fn ctrl_turn(&self) -> bool {
        self.ctrl_pos > 0 || (!self.ctrl.is_empty() && self.at_boundary())
    }

    /// The data stream's next contiguous piece: the rest of the owned bytes
    /// or of the shared message being written, only up to the end of the
    /// frame being written while a control frame waits for it.
    fn data_piece(&self) -> &[u8] {
        let waiting = !self.ctrl.is_empty();
        match self.shared_front() {
            Some(s) => {
                let len = s.bytes.len();
                let end = if waiting {
                    self.shared_boundary.min(len)
                } else {
                    len
                };
                s.bytes.get(self.shared_pos..end).unwrap_or_default()
            }
            None => {
                let end = self.data_end();
                let end = if waiting { end.min(self.boundary) } else { end };
                self.data.get(self.data_pos..end).unwrap_or_default()
            }
        }
    }

    /// The next contiguous bytes to write (a prefix of [`Output::chunks`]).
    pub(super) fn pending(&self) -> &[u8] {
        if self.ctrl_turn() {
            self.ctrl.get(self.ctrl_pos..).unwrap_or_default()
        } else {
            self.data_piece()
        }
    }

    /// Up to `out.len()` slices to write, in wire order: what
    /// [`Output::pending`] returns, then what it would return after that
    /// was written, and so on. Returns how many were filled.
    ///
    /// A control frame waiting for the end of the frame being written is
    /// placed right there, as [`Output::consume`] will find it.
    pub(super) fn chunks<'a>(&'a self, out: &mut [&'a [u8]]) -> usize {
        let mut fill = Fill { out, len: 0 };
        let ctrl = self.ctrl.get(self.ctrl_pos..).unwrap_or_default();
        let mut ctrl_due = !ctrl.is_empty();
        if self.ctrl_turn() {
            fill.push(ctrl);
            ctrl_due = false;
        }
        // Each piece of the data stream in turn; a waiting control frame
        // goes at `cut` bytes into the first (the end of the frame being
        // written).
        let mut piece = |bytes: &'a [u8], cut: usize| -> bool {
            if ctrl_due {
                ctrl_due = false;
                let (head, tail) = bytes.split_at(cut.min(bytes.len()));
                fill.push(head) && fill.push(ctrl) && fill.push(tail)
            } else {
                fill.push(bytes)
            }
        };
        let mut pos = self.data_pos;
        let mut first = true;
        for (i, s) in self.shared.iter().enumerate() {
            let at = s.at.min(self.data.len());
            if at > pos {
                let owned = self.data.get(pos..at).unwrap_or_default();
                let cut = self.boundary.saturating_sub(pos);
                if !piece(owned, if first { cut } else { 0 }) {
                    return fill.len;
                }
                first = false;
                pos = at;
            }
            let (start, cut) = if i == 0 {
                let cut = self.shared_boundary.saturating_sub(self.shared_pos);
                (self.shared_pos, cut)
            } else {
                (0, 0)
            };
            let bytes = s.bytes.get(start..).unwrap_or_default();
            if !piece(bytes, if first { cut } else { 0 }) {
                return fill.len;
            }
            first = false;
        }
        let owned = self.data.get(pos..).unwrap_or_default();
        let cut = self.boundary.saturating_sub(pos);
        piece(owned, if first { cut } else { 0 });
        fill.len
    }

    /// `n` bytes of [`Output::chunks`] (or of [`Output::pending`], its
    /// first slice) were written.
    pub(super) fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let piece = self.pending().len();
            if piece == 0 {
                return;
            }
            let k = n.min(piece);
            self.advance(k);
            n = n.saturating_sub(k);
        }
    }

    /// `k` bytes of [`Output::pending`] (at most all of it) were written.
    fn advance(&mut self, k: usize) {
        if self.ctrl_turn() {
            self.ctrl_pos = self.ctrl_pos.saturating_add(k);
            if self.ctrl_pos >= self.ctrl.len() {
                self.ctrl.clear();
                self.ctrl_pos = 0;
            }
        } else if let Some(len) = self.shared_front().map(|s| s.bytes.len()) {
            self.shared_pos = self.shared_pos.saturating_add(k);
            self.shared_bytes = self.shared_bytes.saturating_sub(k);
            if self.shared_pos >= len {
                // The last reference may free the message here.
                self.shared.pop_front();
                self.shared_pos = 0;
                self.shared_boundary = 0;
            }
        } else {
            self.data_pos = self.data_pos.saturating_add(k);
            if self.data_pos >= self.data.len() {
                // Shared messages still queued all sit at the end.
                self.data.clear();
                self.data_pos = 0;
                self.boundary = 0;
                for s in &mut self.shared {
                    s.at = 0;
                }
            } else if self.data_pos >= COMPACT_AFTER && self.data_pos > self.data.len() / 2 {
                self.compact();
            }
        }
    }

    /// Drop the written prefix of the data queue. A driver that never lets
    /// the queue drain completely (the peer reads just slower than we
    /// send) must not make it grow forever; moving at most as many bytes
    /// as were written keeps this amortised O(1) per byte.
    fn compact(&mut self) {
        // The boundary must stay a frame start after the shift.
        self.settle_data_boundary();
        let written = self.data_pos;
        self.data.drain(..written);
        self.data_pos = 0;
        self.boundary = self.boundary.saturating_sub(written);
        for s in &mut self.shared {
            s.at = s.at.saturating_sub(written);
        }
    }

    /// Find the end of the frame being written (in `data` or in the shared
    /// message being written), so a newly queued control frame can go
    /// right after it.
    fn settle_boundary(&mut self) {
        let Output {
            shared,
            shared_pos,
            shared_boundary,
            data_pos,
            ..
        } = self;
        match shared.front().filter(|s| s.at <= *data_pos) {
            Some(s) => {
                while *shared_boundary < *shared_pos {
                    *shared_boundary = next_frame(&s.bytes, *shared_boundary);
                }
            }
            None => self.settle_data_boundary(),
        }
    }

    /// [`Output::settle_boundary`] in `data`. Handshake bytes (written
    /// raw, before any frame) count as one unit.
    fn settle_data_boundary(&mut self) {
        while self.boundary < self.data_pos {
            self.boundary = next_frame(&self.data, self.boundary);
        }
    }

    fn push_ctrl(&mut self, opcode: OpCode, payload: &[u8], mut rng: Option<&mut StdRng>) {
        if self.ctrl.is_empty() {
            self.settle_boundary();
        }
        let key = mask_key(&mut rng);
        push_frame(&mut self.ctrl, true, opcode, payload, key);
    }

    /// A ping or pong, ahead of queued data frames.
    pub(super) fn queue_control(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        rng: Option<&mut StdRng>,
    ) {
        self.push_ctrl(opcode, payload, rng);
    }

    /// Our close frame, after every data frame already queued.
    pub(super) fn queue_close(&mut self, payload: &[u8], mut rng: Option<&mut StdRng>) {
        let key = mask_key(&mut rng);
        push_frame(&mut self.data, true, OpCode::Close, payload, key);
    }

    /// A data message split into frames; `rsv` goes on the first frame
    /// (RSV1 for a compressed message, RFC 7692 §6.1).
    pub(super) fn queue_message(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        payload: &[u8],
        fragment_size: usize,
        mut rng: Option<&mut StdRng>,
    ) {
        push_message_rsv(&mut self.data, opcode, rsv, payload, fragment_size, || {
            mask_key(&mut rng)
        });
    }

    /// [`Output::queue_message`] with the payload in `scratch`.
    #[cfg(feature = "deflate")]
    pub(super) fn queue_scratch_message(
        &mut self,
        opcode: OpCode,
        rsv: u8,
        fragment_size: usize,
        mut rng: Option<&mut StdRng>,
    ) {
        push_message_rsv(
            &mut self.data,
            opcode,
            rsv,
            &self.scratch,
            fragment_size,
            || mask_key(&mut rng),
        );
    }

    #[cfg(feature = "testing")]
    pub(super) fn queue_raw(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
        mut rng: Option<&mut StdRng>,
    ) {
        let key = mask_key(&mut rng);
        crate::encode::push_raw_frame(&mut self.data, fin, rsv, opcode, payload, key);
    }

    /// A pre-encoded message. A server queues a reference to its shared
    /// frames (a short one is copied, see [`SHARE_MIN`]); a client must
    /// mask (§5.3), so it re-encodes each frame with a fresh key.
    pub(super) fn queue_prepared(
        &mut self,
        message: &PreparedMessage,
        mut rng: Option<&mut StdRng>,
    ) {
        let bytes = message.as_bytes();
        if rng.is_none() {
            if bytes.len() < SHARE_MIN {
                self.data.extend_from_slice(bytes);
            } else {
                self.queue_shared(message.shared(), 0);
            }
            return;
        }
        let mut rest = bytes;
        while let Ok(Some((header, header_len))) = decode_header(rest) {
            let end = usize::try_from(header.payload_len)
                .ok()
                .and_then(|len| len.checked_add(header_len));
            let Some((frame, tail)) = end.and_then(|end| rest.split_at_checked(end)) else {
                break;
            };
            let payload = frame.get(header_len..).unwrap_or_default();
            let key = mask_key(&mut rng);
            push_frame(&mut self.data, header.fin, header.opcode, payload, key);
            rest = tail;
        }
    }

    /// A reference to whole unmasked frames shared with other connections
    /// (§5.1), after everything queued, of which the first `written` bytes
    /// already went straight to the transport — which only happens when
    /// nothing was queued before them. The frame that cut goes on as one
    /// unit: no control frame may enter it.
    pub(super) fn queue_shared(&mut self, bytes: &Arc<[u8]>, written: usize) {
        let rest = bytes.len().saturating_sub(written);
        if rest == 0 {
            return;
        }
        if written > 0 {
            let cut = frame_end_after(bytes, written);
            if self.buffered() > 0 {
                // Not reached (the caller checked that nothing is
                // queued); copying keeps the order right regardless.
                self.write_raw(|v| {
                    v.extend_from_slice(bytes.get(written..cut).unwrap_or_default())
                });
                self.data
                    .extend_from_slice(bytes.get(cut..).unwrap_or_default());
                return;
            }
            self.shared_pos = written;
            self.shared_boundary = cut;
        }
        self.shared.push_back(Shared {
            at: self.data.len(),
            bytes: Arc::clone(bytes),
        });
        self.shared_bytes = self.shared_bytes.saturating_add(rest);
    }

    /// Drop everything queued (the transport is gone).
    pub(super) fn discard(&mut self) {
        *self = Output::default();
    }

    /// Bytes allocated by each buffer: the data queue, the two small
    /// queues (control frames and the list of shared messages, together),
    /// the compression scratch.
    pub(super) fn capacities(&self) -> [usize; 3] {
        [
            self.data.capacity(),
            self.small_capacity(),
            self.scratch.capacity(),
        ]
    }

    fn small_capacity(&self) -> usize {
        self.shared
            .capacity()
            .saturating_mul(core::mem::size_of::<Shared>())
            .saturating_add(self.ctrl.capacity())
    }

    /// Empty the queues (and the compression scratch), dropping every
    /// reference to a shared message and keeping the allocations unless
    /// they grew past `keep`.
    pub(super) fn release_if_larger(&mut self, keep: usize) {
        self.data_pos = 0;
        self.boundary = 0;
        self.ctrl_pos = 0;
        self.shared_pos = 0;
        self.shared_boundary = 0;
        self.shared_bytes = 0;
        self.data.clear();
        self.ctrl.clear();
        self.shared.clear();
        if self.data.capacity() > keep {
            self.data = Vec::new();
        }
        if self.small_capacity() > keep {
            self.ctrl = Vec::new();
            self.shared = VecDeque::new();
        }
        self.scratch.clear();
        if self.scratch.capacity() > keep {
            self.scratch = Vec::new();
        }
    }
}

/// The start of the frame after the one at `at` in `frames` (the end of
/// the bytes when its header is incomplete or it is not a frame).
fn next_frame(frames: &[u8], at: usize) -> usize {
    match frames.get(at..).and_then(frame_span) {
        Some(span) if span > 0 => at.saturating_add(span),
        _ => frames.len(),
    }
}

/// The end of the frame that byte `at` of `frames` belongs to (`at` itself
/// when it starts a frame).
pub(super) fn frame_end_after(frames: &[u8], at: usize) -> usize {
    let mut end = 0usize;
    while end < at {
        end = next_frame(frames, end);
    }
    end.min(frames.len())
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
