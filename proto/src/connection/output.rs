//! The output side: what is queued for the socket, in which order.
//!
//! Two queues. Data frames (and our close, which must follow them, §5.5.1)
//! go to `data`, in order. Pings and pongs go to `ctrl` and are written at
//! the next frame boundary of `data`, so a large message split into frames
//! never holds a pong back for longer than one frame (§5.4: "control frames
//! MAY be injected in the middle of a fragmented message").

use alloc::vec::Vec;

use rand::rngs::StdRng;
use rand::RngCore;

use crate::encode::{frame_span, push_frame, push_message_rsv};
use crate::frame::{decode_header, OpCode};
use crate::prepared::PreparedMessage;

/// Written bytes at the front of the data queue are dropped once there are
/// at least this many and they are more than half of it.
const COMPACT_AFTER: usize = 16 << 10;

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
    }

    /// Where each queue ends now, so that [`Output::appended`] can show
    /// what a later push added (for frame tracing).
    pub(super) fn mark(&self) -> (usize, usize) {
        (self.data.len(), self.ctrl.len())
    }

    /// The bytes queued since `mark` was taken: data frames, control frames.
    pub(super) fn appended(&self, mark: (usize, usize)) -> (&[u8], &[u8]) {
        (
            self.data.get(mark.0..).unwrap_or_default(),
            self.ctrl.get(mark.1..).unwrap_or_default(),
        )
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

    /// Control frames go next when one is partly written, or when the data
    /// queue stands at a frame boundary.
    fn ctrl_turn(&self) -> bool {
        self.ctrl_pos > 0 || (!self.ctrl.is_empty() && self.data_pos >= self.boundary)
    }

    pub(super) fn pending(&self) -> &[u8] {
        if self.ctrl_turn() {
            self.ctrl.get(self.ctrl_pos..).unwrap_or_default()
        } else if !self.ctrl.is_empty() {
            self.data
                .get(self.data_pos..self.boundary)
                .unwrap_or_default()
        } else {
            self.data.get(self.data_pos..).unwrap_or_default()
        }
    }

    pub(super) fn consume(&mut self, n: usize) {
        if self.ctrl_turn() {
            self.ctrl_pos = self.ctrl_pos.saturating_add(n);
            if self.ctrl_pos >= self.ctrl.len() {
                self.ctrl.clear();
                self.ctrl_pos = 0;
            }
        } else {
            self.data_pos = self.data_pos.saturating_add(n);
            if self.data_pos >= self.data.len() {
                self.data.clear();
                self.data_pos = 0;
                self.boundary = 0;
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
        self.settle_boundary();
        let written = self.data_pos;
        self.data.drain(..written);
        self.data_pos = 0;
        self.boundary = self.boundary.saturating_sub(written);
    }

    /// Find the end of the data frame being written, so a newly queued
    /// control frame can go right after it. Handshake bytes (written raw,
    /// before any frame) count as one unit.
    fn settle_boundary(&mut self) {
        while self.boundary < self.data_pos {
            match self.data.get(self.boundary..).and_then(frame_span) {
                Some(span) => self.boundary = self.boundary.saturating_add(span),
                None => self.boundary = self.data.len(),
            }
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

    /// A pre-encoded message: copied as is by a server; a client must mask,
    /// so it re-encodes each frame with a fresh key.
    pub(super) fn queue_prepared(
        &mut self,
        message: &PreparedMessage,
        mut rng: Option<&mut StdRng>,
    ) {
        let bytes = message.as_bytes();
        if rng.is_none() {
            self.data.extend_from_slice(bytes);
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

    /// Drop everything queued (the transport is gone).
    pub(super) fn discard(&mut self) {
        *self = Output::default();
    }

    /// Bytes allocated by each buffer.
    pub(super) fn capacities(&self) -> [usize; 3] {
        [
            self.data.capacity(),
            self.ctrl.capacity(),
            self.scratch.capacity(),
        ]
    }

    /// Empty both queues (and the compression scratch), keeping their
    /// allocations unless they grew past `keep`.
    pub(super) fn release_if_larger(&mut self, keep: usize) {
        self.data_pos = 0;
        self.boundary = 0;
        self.ctrl_pos = 0;
        self.data.clear();
        self.ctrl.clear();
        if self.data.capacity() > keep {
            self.data = Vec::new();
        }
        if self.ctrl.capacity() > keep {
            self.ctrl = Vec::new();
        }
        self.scratch.clear();
        if self.scratch.capacity() > keep {
            self.scratch = Vec::new();
        }
    }
}
