//! Names for connections: what a handler is told and what it passes back
//! to [`Ctx`](crate::Ctx) to act on one.

use std::fmt;

/// Identifies one connection of an event loop. Ids are never reused while
/// the process runs (a process-wide generation counter tells a new
/// connection in a reused slot from the old one, and one loop's
/// connections from another's), so a stale id is simply unknown.
///
/// Its `Display` is `#slot.generation`, e.g. `#3.7`: the slot is reused,
/// the pair is not, so log lines of different connections never share one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// The id of the connection in slab slot `idx`, generation `gen`.
    pub(crate) fn new(idx: usize, gen: u32) -> Self {
        // Slots past 2³² cannot exist: a token per slot would exhaust
        // memory long before.
        ConnId(u64::from(gen) << 32 | (idx as u64 & 0xffff_ffff))
    }

    /// The id as a number (for logs and maps).
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.0 & 0xffff_ffff, self.0 >> 32)
    }
}
