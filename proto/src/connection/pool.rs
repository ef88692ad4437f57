//! The parts of a connection that only matter while bytes move, and the
//! pool an event loop keeps them in while connections are idle (an idle
//! connection holds no buffer and, on a side without deflate context
//! takeover, no codec).

use alloc::{boxed::Box, vec::Vec};

use super::input::{ReadState, RecvBuffer};
use super::output::Output;
use crate::assembler::Assembler;

/// What a connection holds only while bytes are moving: the receive
/// buffer, the frame reader's progress, the message assembler and the
/// output queues. Events borrow the receive side while a [`Sender`](super::Sender)
/// borrows `out`.
#[derive(Debug, Default)]
pub(crate) struct Active {
    pub(super) rx: RecvBuffer,
    pub(super) read: ReadState,
    pub(super) assembler: Assembler,
    pub(super) out: Output,
}

impl Active {
    /// Nothing buffered, no frame or message half-read, nothing to write.
    pub(super) fn is_idle(&self) -> bool {
        self.rx.len() == 0
            && self.read == ReadState::Header
            && !self.assembler.in_message()
            && self.out.buffered() == 0
    }

    /// Drop contents and oversized capacity before going into a pool.
    fn recycle(&mut self, keep: usize) {
        self.rx.release_if_larger(keep);
        self.assembler.trim(keep);
        self.out.release_if_larger(keep);
    }
}

/// Spare in-flight parts (receive buffer, assembler, output queue), shared by the connections of one event loop so
/// that parking and unparking idle connections allocates nothing.
#[derive(Debug)]
pub struct BufferPool {
    // Boxed on purpose: a connection holds `Option<Box<Active>>`, and lending
    // is then a pointer move, never a copy or an allocation.
    #[allow(clippy::vec_box)]
    free: Vec<Box<Active>>,
    limit: usize,
    keep: usize,
    /// History-free permessage-deflate codecs (RFC 7692 "no context
    /// takeover" sides), shared the same way.
    #[cfg(feature = "deflate")]
    pub(super) codecs: crate::deflate::CodecPool,
}

/// Spare deflate codecs a pool keeps of each kind: connections lend them
/// for one turn at a time, so a few serve a whole event loop.
#[cfg(feature = "deflate")]
const POOLED_CODECS: usize = 4;

impl BufferPool {
    /// A pool holding at most `limit` spare parts, each keeping buffers of
    /// up to `keep` bytes of capacity (larger ones are freed).
    pub fn new(limit: usize, keep: usize) -> Self {
        BufferPool {
            free: Vec::with_capacity(limit),
            limit,
            keep,
            #[cfg(feature = "deflate")]
            codecs: crate::deflate::CodecPool::new(POOLED_CODECS),
        }
    }

    /// The spare deflate codecs (for tests: feature `testing`).
    #[cfg(all(feature = "deflate", feature = "testing"))]
    pub fn codecs(&self) -> &crate::deflate::CodecPool {
        &self.codecs
    }

    /// Spare parts held now.
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// True when no spare part is held.
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }

    pub(super) fn take(&mut self) -> Box<Active> {
        self.free.pop().unwrap_or_default()
    }

    pub(super) fn give(&mut self, mut active: Box<Active>) {
        if self.free.len() < self.limit {
            active.recycle(self.keep);
            self.free.push(active);
        }
    }
}
