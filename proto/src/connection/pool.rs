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

    /// The capacity of every buffer these parts own.
    fn capacities(&self) -> [usize; 5] {
        let [data, ctrl, scratch] = self.out.capacities();
        [
            self.rx.capacity(),
            self.assembler.capacity(),
            data,
            ctrl,
            scratch,
        ]
    }

    /// Bytes these parts hold: the box and every buffer's capacity.
    fn held_bytes(&self) -> usize {
        self.capacities()
            .into_iter()
            .fold(core::mem::size_of::<Self>(), usize::saturating_add)
    }

    /// Bytes held by the buffers that grew past `keep` (a large message).
    fn large_bytes(&self, keep: usize) -> usize {
        self.capacities()
            .into_iter()
            .filter(|&c| c > keep)
            .fold(0usize, usize::saturating_add)
    }

    /// Drop contents, keeping every allocation.
    fn clear(&mut self) {
        self.recycle(usize::MAX);
    }

    /// Drop contents and oversized capacity before going into a pool.
    fn recycle(&mut self, keep: usize) {
        self.rx.release_if_larger(keep);
        self.assembler.trim(keep);
        self.out.release_if_larger(keep);
    }
}

/// Spare in-flight parts (receive buffer, assembler, output queue), shared
/// by the connections of one event loop so that parking and unparking idle
/// connections allocates nothing.
///
/// Buffers that grew for a large message are kept too, up to a budget of
/// bytes, so that a stream of large messages does not allocate (and fault
/// in) its buffers anew for every message; the driver hands them back to
/// the allocator with [`BufferPool::release_large`] once they stop being
/// reused (see [`BufferPool::large_reuses`]), and trims the whole pool
/// with [`BufferPool::trim`] once nothing was lent for a while (see
/// [`BufferPool::lends`]), so memory returns after a burst.
///
/// What the pool holds is bounded: at most [`BufferPool::max_held_bytes`]
/// at any time, and after a trim at most what the trim keeps.
#[derive(Debug)]
pub struct BufferPool {
    // Boxed on purpose: a connection holds `Option<Box<Active>>`, and lending
    // is then a pointer move, never a copy or an allocation.
    #[allow(clippy::vec_box)]
    free: Vec<Box<Active>>,
    limit: usize,
    keep: usize,
    /// Most bytes of grown buffers the spare parts may hold in all.
    large_budget: usize,
    /// Bytes of grown buffers the spare parts hold now.
    large_held: usize,
    /// Spare parts with grown buffers taken so far.
    large_reuses: u64,
    /// Parts lent out so far (spare or new).
    lends: u64,
    /// Nothing was given back since the last [`BufferPool::trim`].
    trimmed: bool,
    /// Permessage-deflate codecs that quiet connections handed back
    /// (clean ones from "no context takeover" sides, and ones still
    /// holding a stream for the connection that will want it back), shared
    /// the same way.
    #[cfg(feature = "deflate")]
    pub(super) codecs: crate::deflate::CodecPool,
}

/// Spare deflate codecs a pool keeps of each kind while the loop is busy:
/// connections lend them for one turn at a time, and this many busy
/// connections that keep their context (RFC 7692 §7.1.1) find their own
/// codec again instead of priming another from their window. At most
/// about 16 × 300 KiB at 32 KiB windows, trimmed with the rest of the pool
/// once the loop goes quiet ([`BufferPool::trim`]).
#[cfg(feature = "deflate")]
const POOLED_CODECS: usize = 16;

impl BufferPool {
    /// A pool holding at most `limit` spare parts, each keeping buffers of
    /// up to `keep` bytes of capacity (larger ones are freed).
    pub fn new(limit: usize, keep: usize) -> Self {
        BufferPool {
            free: Vec::with_capacity(limit),
            limit,
            keep,
            large_budget: 0,
            large_held: 0,
            large_reuses: 0,
            lends: 0,
            trimmed: true,
            #[cfg(feature = "deflate")]
            codecs: crate::deflate::CodecPool::new(POOLED_CODECS),
        }
    }

    /// Also keep buffers larger than `keep`, up to `bytes` of them in all,
    /// until [`BufferPool::release_large`].
    pub fn with_large_budget(mut self, bytes: usize) -> Self {
        self.large_budget = bytes;
        self
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

    /// Bytes of grown (larger than `keep`) buffers the spare parts hold.
    pub fn large_held(&self) -> usize {
        self.large_held
    }

    /// How many times a spare part with grown buffers was lent out: while
    /// this moves, large messages are still flowing.
    pub fn large_reuses(&self) -> u64 {
        self.large_reuses
    }

    /// Free every grown buffer the spare parts hold (the small ones stay).
    pub fn release_large(&mut self) {
        for active in &mut self.free {
            active.recycle(self.keep);
        }
        self.large_held = 0;
    }

    /// How many times parts were lent to a connection: while this moves,
    /// bytes are flowing somewhere on the loop.
    pub fn lends(&self) -> u64 {
        self.lends
    }

    /// Bytes the spare parts hold now: their boxes and buffers (the spare
    /// deflate codecs not included: [`CodecPool`](crate::deflate::CodecPool)
    /// bounds those).
    pub fn held_bytes(&self) -> usize {
        self.free
            .iter()
            .map(|active| active.held_bytes())
            .fold(0, usize::saturating_add)
    }

    /// The most bytes the spare parts can ever hold: `limit` parts of five
    /// buffers, each kept only up to `keep` bytes unless it fits the
    /// budget of grown buffers.
    pub fn max_held_bytes(&self) -> usize {
        let part = self
            .keep
            .saturating_mul(5)
            .saturating_add(core::mem::size_of::<Active>());
        self.limit
            .saturating_mul(part)
            .saturating_add(self.large_budget)
    }

    /// True when nothing was given back since the last
    /// [`BufferPool::trim`]: trimming again would free nothing.
    pub fn is_trimmed(&self) -> bool {
        self.trimmed
    }

    /// Shrink the pool to what an idle event loop needs: at most `spares`
    /// spare parts, each with buffers of at most `keep` bytes, and at most
    /// `spares` deflate codecs of each kind; the rest goes back to the
    /// allocator. Meant for when no part was lent for a
    /// while (see [`BufferPool::lends`]): the next busy moment allocates
    /// again what it needs, once.
    pub fn trim(&mut self, spares: usize, keep: usize) {
        self.free.truncate(spares);
        for active in &mut self.free {
            active.recycle(keep.min(self.keep));
        }
        self.large_held = 0;
        self.trimmed = true;
        #[cfg(feature = "deflate")]
        self.codecs.trim(spares);
    }

    pub(super) fn take(&mut self) -> Box<Active> {
        self.lends = self.lends.wrapping_add(1);
        let Some(active) = self.free.pop() else {
            return Box::default();
        };
        let large = active.large_bytes(self.keep);
        if large > 0 {
            self.large_held = self.large_held.saturating_sub(large);
            self.large_reuses = self.large_reuses.wrapping_add(1);
        }
        active
    }

    pub(super) fn give(&mut self, mut active: Box<Active>) {
        if self.free.len() >= self.limit {
            return;
        }
        self.trimmed = false;
        let large = active.large_bytes(self.keep);
        let fits = self
            .large_held
            .checked_add(large)
            .is_some_and(|held| held <= self.large_budget);
        if large > 0 && fits {
            active.clear();
            self.large_held = self.large_held.saturating_add(large);
        } else {
            active.recycle(self.keep);
        }
        self.free.push(active);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grown(bytes: usize) -> Box<Active> {
        let mut active = Box::<Active>::default();
        active.out.frames().reserve_exact(bytes);
        active
    }

    #[test]
    fn grown_buffers_stay_within_the_budget_until_released() {
        let mut pool = BufferPool::new(8, 1000).with_large_budget(5000);
        pool.give(grown(3000));
        pool.give(grown(3000)); // over budget: shrunk before pooling
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.large_held(), 3000);

        let taken = pool.take(); // the shrunk one (last in, first out)
        assert_eq!(taken.large_bytes(1000), 0);
        assert_eq!(pool.large_reuses(), 0);
        let taken_large = pool.take();
        assert_eq!(taken_large.large_bytes(1000), 3000);
        assert_eq!((pool.large_held(), pool.large_reuses()), (0, 1));

        pool.give(taken_large);
        assert_eq!(pool.large_held(), 3000);
        pool.release_large();
        assert_eq!(pool.large_held(), 0);
        assert_eq!(pool.take().large_bytes(1000), 0);
    }

    /// Parts whose output queue and compression scratch both grew.
    fn grown_twice(bytes: usize) -> Box<Active> {
        let mut active = grown(bytes);
        active.out.scratch.reserve_exact(bytes / 2);
        active
    }

    #[test]
    fn what_the_pool_holds_never_exceeds_its_bound() {
        let mut pool = BufferPool::new(4, 1000).with_large_budget(5000);
        let bound = pool.max_held_bytes();
        for bytes in [10, 900, 3000, 1200, 6000, 999, 40_000, 2500, 700] {
            pool.give(grown_twice(bytes));
            assert!(pool.len() <= 4);
            assert!(
                pool.held_bytes() <= bound,
                "{} held, bound {bound}",
                pool.held_bytes()
            );
        }
        assert!(pool.held_bytes() > 0);
    }

    #[test]
    fn a_trim_keeps_only_what_an_idle_loop_needs() {
        let mut pool = BufferPool::new(8, 100_000).with_large_budget(1 << 20);
        assert!(pool.is_trimmed(), "a new pool holds nothing to trim");
        for bytes in [50_000, 90_000, 300_000, 20_000, 60_000] {
            pool.give(grown_twice(bytes));
        }
        assert!(!pool.is_trimmed());
        assert!(pool.held_bytes() > 400_000);

        pool.trim(2, 1000);
        assert!(pool.is_trimmed());
        assert_eq!((pool.len(), pool.large_held()), (2, 0));
        let part = core::mem::size_of::<Active>() + 5 * 1000;
        assert!(pool.held_bytes() <= 2 * part, "{}", pool.held_bytes());

        let lends = pool.lends();
        let active = pool.take();
        pool.take(); // the other spare
        pool.take(); // none left: a new one
        assert_eq!(pool.lends(), lends + 3);
        pool.give(active);
        assert!(!pool.is_trimmed(), "a part came back: something to trim");
    }

    #[test]
    fn without_a_budget_grown_buffers_are_freed() {
        let mut pool = BufferPool::new(8, 1000);
        pool.give(grown(3000));
        assert_eq!(pool.large_held(), 0);
        assert_eq!(pool.take().large_bytes(1000), 0);
    }
}
