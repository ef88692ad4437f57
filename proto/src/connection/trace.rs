//! Frame tracing, for people watching the wire: when switched on with
//! [`Connection::set_trace`](super::Connection::set_trace), the core keeps a
//! short record of every frame it parses or queues, and the driver drains
//! them with [`Connection::poll_trace`](super::Connection::poll_trace).
//!
//! Only the core knows where frames begin and end; a shell that wanted to
//! log them would have to parse the byte stream a second time, which
//! DESIGN.md forbids. So the core records, and the shell only prints (the
//! event loop hands each record to `Handler::on_frame`).
//!
//! Off, it costs one `Option` check per frame and no memory. On, each record
//! is a fixed-size value (the first [`PREVIEW_LEN`] payload bytes, no
//! allocation per frame) in a bounded queue: a driver that stops polling
//! loses records, counted in [`FrameTrace::lost`], never memory.

use alloc::collections::VecDeque;

use crate::frame::FrameHeader;
use crate::mask::apply_mask;
use crate::raw_header::read_raw_header;

/// How many payload bytes a [`FrameTrace`] keeps (enough for a close code
/// and the start of its reason, or the start of a message).
pub const PREVIEW_LEN: usize = 32;

/// How many records wait to be polled before new ones are counted as lost.
const CAPACITY: usize = 256;

/// Which way a traced frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Parsed from the peer's bytes.
    Received,
    /// Queued by us for the peer (in the order queued; a ping or pong may
    /// overtake queued data frames on the wire, §5.4).
    Sent,
}

/// A short description of one frame (§5.2) that crossed a traced
/// connection: its header fields and the start of its unmasked payload.
/// The `ws6455-describe` package renders it as one line (`TraceLine`),
/// e.g. `← text fin len=5 "Hello"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameTrace {
    /// Received or sent.
    pub direction: Direction,
    /// FIN: the final fragment of its message (§5.4).
    pub fin: bool,
    /// RSV1–RSV3 as three bits (0b100 = RSV1), §5.2.
    pub rsv: u8,
    /// The 4-bit opcode as on the wire (§5.2). Raw, because a frame sent
    /// with `send_raw_frame` may carry a reserved one.
    pub opcode: u8,
    /// Whether the frame was masked on the wire (§5.3).
    pub masked: bool,
    /// Payload length (§5.2).
    pub len: u64,
    /// Records dropped just before this one because the driver did not
    /// poll them in time.
    pub lost: u64,
    /// `Some(n)`: this record is not a frame but a whole message that went
    /// compressed (RFC 7692 §7.2): `len` is its size uncompressed, the
    /// preview its start, and `n` its compressed payload bytes on the wire.
    /// Received, it follows the message's frames (it was inflated from
    /// them); sent, it precedes them.
    pub compressed_len: Option<u64>,
    preview: [u8; PREVIEW_LEN],
    preview_len: u8,
}

impl FrameTrace {
    /// A record of a frame with these header fields whose unmasked payload
    /// starts with `payload` (only the first [`PREVIEW_LEN`] bytes are
    /// kept).
    pub fn new(
        direction: Direction,
        fin: bool,
        rsv: u8,
        opcode: u8,
        masked: bool,
        len: u64,
        payload: &[u8],
    ) -> Self {
        let mut preview = [0; PREVIEW_LEN];
        let mut kept = 0u8;
        for (slot, byte) in preview.iter_mut().zip(payload) {
            *slot = *byte;
            kept = kept.saturating_add(1);
        }
        FrameTrace {
            direction,
            fin,
            rsv: rsv & 0b111,
            opcode: opcode & 0x0f,
            masked,
            len,
            lost: 0,
            compressed_len: None,
            preview,
            preview_len: kept,
        }
    }

    /// A record of a whole compressed message (RFC 7692): `len` bytes
    /// uncompressed, starting with `payload`, carried in `compressed_len`
    /// bytes of compressed payload. `opcode` is the message's (text or
    /// binary).
    pub fn compressed_message(
        direction: Direction,
        opcode: u8,
        len: u64,
        compressed_len: u64,
        payload: &[u8],
    ) -> Self {
        FrameTrace {
            compressed_len: Some(compressed_len),
            ..FrameTrace::new(direction, true, 0, opcode, false, len, payload)
        }
    }

    /// The first payload bytes, unmasked: all of them when
    /// `preview().len() as u64 == len`.
    pub fn preview(&self) -> &[u8] {
        self.preview
            .get(..usize::from(self.preview_len))
            .unwrap_or_default()
    }
}

/// The bounded queue of records of one connection.
#[derive(Debug, Default)]
pub(super) struct TraceLog {
    queue: VecDeque<FrameTrace>,
    lost: u64,
}

impl TraceLog {
    fn push(&mut self, mut trace: FrameTrace) {
        if self.queue.len() >= CAPACITY {
            self.lost = self.lost.saturating_add(1);
            return;
        }
        trace.lost = core::mem::take(&mut self.lost);
        self.queue.push_back(trace);
    }

    /// A frame parsed from the peer; `payload` is already unmasked (for a
    /// fragment streamed into the assembler, whatever of it is at hand).
    pub(super) fn received(&mut self, header: &FrameHeader, payload: &[u8]) {
        self.push(FrameTrace::new(
            Direction::Received,
            header.fin,
            header.rsv,
            header.opcode.as_u8(),
            header.mask.is_some(),
            header.payload_len,
            payload,
        ));
    }

    /// Whole frames we just queued, as they will go on the wire (masked
    /// when we are a client).
    pub(super) fn sent(&mut self, mut bytes: &[u8]) {
        while let Ok(raw) = read_raw_header(bytes) {
            let payload = bytes.get(raw.header_len..).unwrap_or_default();
            let len = usize::try_from(raw.payload_len).unwrap_or(usize::MAX);
            let mut head = [0; PREVIEW_LEN];
            let kept = payload.len().min(len).min(PREVIEW_LEN);
            let (Some(dst), Some(src)) = (head.get_mut(..kept), payload.get(..kept)) else {
                return;
            };
            dst.copy_from_slice(src);
            if let Some(key) = raw.mask {
                apply_mask(dst, key, 0);
            }
            self.push(FrameTrace::new(
                Direction::Sent,
                raw.fin,
                raw.rsv,
                raw.opcode,
                raw.mask.is_some(),
                raw.payload_len,
                dst,
            ));
            bytes = payload.get(len.min(payload.len())..).unwrap_or_default();
        }
    }

    /// A message inflated from (received) or deflated into (sent) the
    /// frames around this record.
    pub(super) fn compressed_message(
        &mut self,
        direction: Direction,
        opcode: u8,
        message: &[u8],
        compressed_len: u64,
    ) {
        self.push(FrameTrace::compressed_message(
            direction,
            opcode,
            message.len() as u64,
            compressed_len,
            message,
        ));
    }

    pub(super) fn pop(&mut self) -> Option<FrameTrace> {
        self.queue.pop_front()
    }
}
