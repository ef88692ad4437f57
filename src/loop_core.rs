//! What a [`Ctx`](crate::Ctx) may touch of an event loop: the connection
//! table, the timer heaps, the buffer pool and the clock reading of this
//! turn — the loop minus `Poll` and the handler.
//!
//! Its own file so that the callbacks' handle (`ctx.rs`) and the
//! per-connection I/O (`conn_io.rs`) look down at the table they share,
//! not up at the loop that drives them.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mio::{Interest, Registry, Token};
use slab::Slab;

use crate::admission::Admission;
use crate::client::{self, ConnectError, ConnectOptions};
use crate::conn_id::ConnId;
use crate::limits::Held;
use crate::proto::config::Config;
use crate::proto::connection::{BufferPool, Connection, Sender, Transmit};
use crate::proto::error::UsageError;
use crate::proto::Timestamp;
use crate::remote::Remote;
use crate::socket::Socket;
use crate::transmit;

/// mio tokens below this are the listener's and the waker's; a slot's
/// token is its index plus this.
pub(crate) const FIRST_CONN: usize = 2;

/// Generations for every loop of the process: a `ConnId` (slot and
/// generation) then names one connection in logs even with several loops,
/// whose slot numbers overlap.
static NEXT_GEN: AtomicU32 = AtomicU32::new(1);

/// One connection's socket and its loop-side bookkeeping.
pub(crate) struct Slot {
    /// `None` only while its event is being handled.
    pub(crate) conn: Option<Connection>,
    pub(crate) socket: Socket,
    pub(crate) gen: u32,
    /// The handshake's outcome (request, response, failure) has not been
    /// dispatched yet: an expired deadline is the handshake timeout.
    pub(crate) handshaking: bool,
    /// The request was plain HTTP, answered through `Handler::on_http`.
    pub(crate) plain_http: bool,
    /// Readiness remembered from edges, cleared on `WouldBlock`.
    pub(crate) can_read: bool,
    pub(crate) can_write: bool,
    /// A client socket whose non-blocking connect has not completed.
    pub(crate) connecting: bool,
    /// The deadline this slot has in the heap, if any.
    pub(crate) deadline: Option<Timestamp>,
    /// Queued in `LoopCore::dirty` for a flush at the end of the turn.
    pub(crate) dirty: bool,
    /// `on_closed` ran, or the loop's own policies refused the connection
    /// before `on_request`: the handler hears nothing (more) of this
    /// connection (a reset arriving while a client waits for the server's
    /// TCP close is not news to it).
    pub(crate) closed_reported: bool,
    /// The connection is over and our side of TCP is shut: the peer's last
    /// bytes are read and dropped until its FIN or the close timeout, so
    /// closing the socket never meets unread data (which would make the
    /// kernel answer with a reset that can overtake our close frame).
    pub(crate) draining: bool,
    /// What it counts against the server's connection limits, given back
    /// when the slot goes.
    pub(crate) held: Held,
}

/// Everything a [`Ctx`] may touch: the loop minus `Poll` and the handler.
pub(crate) struct LoopCore {
    pub(crate) config: Arc<Config>,
    pub(crate) registry: Registry,
    pub(crate) slots: Slab<Slot>,
    /// Slots written to from another connection's callback.
    pub(crate) dirty: Vec<usize>,
    /// Slots with readiness left over after their read budget ran out.
    pub(crate) again: Vec<usize>,
    pub(crate) deadlines: BinaryHeap<Reverse<(Timestamp, usize, u32)>>,
    pub(crate) timers: BinaryHeap<Reverse<(Timestamp, u64, u64)>>,
    pub(crate) timer_seq: u64,
    pub(crate) now: Timestamp,
    pub(crate) shutdown_requested: bool,
    pub(crate) shutdown_deadline: Option<Timestamp>,
    /// New connections record their frames for `Handler::on_frame`.
    pub(crate) trace: bool,
    /// Buffers lent to connections while bytes move and taken back when they
    /// go idle: an idle connection holds none, a busy one allocates none.
    pub(crate) pool: BufferPool,
    /// When to give the pool's memory back.
    pub(crate) pool_trim: PoolTrim,
    /// Accepted connections speak TLS with this configuration (`wss://`).
    #[cfg(feature = "tls")]
    pub(crate) tls_server: Option<Arc<rustls::ServerConfig>>,
    /// The server's policies for upgrade requests (Origin), and the
    /// counts of what they refused.
    pub(crate) admission: Admission,
    /// A handle on this loop's mailbox, for [`crate::Ctx::remote`].
    pub(crate) remote: Remote,
}

/// The rule for giving the buffer pool's memory back, checked at intervals
/// of [`POOL_IDLE`]:
/// - grown buffers (large messages) are freed when none was lent out
///   since the last check: a steady stream of large messages keeps
///   reusing them (no allocation per message), and within two checks of
///   its end they are gone;
/// - the whole pool is trimmed to what an idle loop needs when no part at
///   all was lent since the last check: the spares a burst of busy
///   connections left behind go back too.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolTrim {
    checked: Timestamp,
    large_seen: u64,
    lends_seen: u64,
}

/// What a check of [`PoolTrim`] found to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TrimDue {
    Nothing,
    /// Free the grown buffers.
    Large,
    /// Trim the pool to its idle size.
    All,
}

impl PoolTrim {
    pub(crate) fn new(now: Timestamp) -> Self {
        PoolTrim {
            checked: now,
            large_seen: 0,
            lends_seen: 0,
        }
    }

    /// What to free now, given what the pool says of itself.
    fn due(&mut self, now: Timestamp, pool: PoolCounts) -> TrimDue {
        if now.saturating_duration_since(self.checked) < POOL_IDLE {
            return TrimDue::Nothing;
        }
        let large_idle = pool.large_reuses == self.large_seen;
        let idle = pool.lends == self.lends_seen;
        self.checked = now;
        self.large_seen = pool.large_reuses;
        self.lends_seen = pool.lends;
        if idle && !pool.trimmed {
            TrimDue::All
        } else if large_idle && pool.large_held > 0 {
            TrimDue::Large
        } else {
            TrimDue::Nothing
        }
    }

    /// The next check, while there is something to free.
    fn next(&self, pool: PoolCounts) -> Option<Timestamp> {
        (!pool.trimmed || pool.large_held > 0)
            .then(|| self.checked.checked_add(POOL_IDLE))
            .flatten()
    }
}

/// What [`PoolTrim`] reads of a [`BufferPool`].
#[derive(Clone, Copy, Debug)]
struct PoolCounts {
    lends: u64,
    large_reuses: u64,
    large_held: usize,
    trimmed: bool,
}

impl PoolCounts {
    fn of(pool: &BufferPool) -> Self {
        PoolCounts {
            lends: pool.lends(),
            large_reuses: pool.large_reuses(),
            large_held: pool.large_held(),
            trimmed: pool.is_trimmed(),
        }
    }
}

/// How long the pool must go unused before [`PoolTrim`] frees memory.
pub(crate) const POOL_IDLE: Duration = Duration::from_secs(1);
/// Spare buffer sets an idle loop keeps: enough for the next few messages
/// to allocate nothing.
pub(crate) const IDLE_SPARES: usize = 4;
/// The most each buffer of an idle loop's spares keeps (a default read's
/// worth: `Config::read_buffer_size`).
pub(crate) const IDLE_KEEP: usize = 16 << 10;

impl LoopCore {
    pub(crate) fn now(&self) -> Timestamp {
        self.now
    }

    /// Accepted connections speak TLS: pages that open them are `https:`.
    pub(crate) fn secure(&self) -> bool {
        #[cfg(feature = "tls")]
        if self.tls_server.is_some() {
            return true;
        }
        false
    }

    /// Give the pool's memory back once it goes unused (see [`PoolTrim`]).
    pub(crate) fn trim_idle_pool(&mut self) {
        match self.pool_trim.due(self.now, PoolCounts::of(&self.pool)) {
            TrimDue::All => self.pool.trim(IDLE_SPARES, IDLE_KEEP),
            TrimDue::Large => self.pool.release_large(),
            TrimDue::Nothing => {}
        }
    }

    pub(crate) fn id(&self, idx: usize) -> Option<ConnId> {
        self.slots.get(idx).map(|s| ConnId::new(idx, s.gen))
    }

    pub(crate) fn index(&self, id: ConnId) -> Option<usize> {
        let idx = usize::try_from(id.0 & 0xffff_ffff).ok()?;
        let gen = u32::try_from(id.0 >> 32).ok()?;
        (self.slots.get(idx)?.gen == gen).then_some(idx)
    }

    pub(crate) fn with_sender<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Sender<'_>) -> Result<R, UsageError>,
    ) -> Result<R, UsageError> {
        self.with_transmit(id, |sender, _| f(sender))
    }

    /// Run `f` with a sender for connection `id` (not the one whose event
    /// is being handled) and a [`Transmit`] that writes to its socket;
    /// queued output is flushed at the end of the turn.
    pub(crate) fn with_transmit<R>(
        &mut self,
        id: ConnId,
        f: impl FnOnce(&mut Sender<'_>, &mut Transmit<'_>) -> Result<R, UsageError>,
    ) -> Result<R, UsageError> {
        let idx = self.index(id).ok_or(UsageError::Closed)?;
        let LoopCore {
            slots, pool, dirty, ..
        } = self;
        let Slot {
            conn,
            socket,
            can_write,
            connecting,
            dirty: queued,
            ..
        } = slots.get_mut(idx).ok_or(UsageError::Closed)?;
        let conn = conn.as_mut().ok_or(UsageError::Closed)?;
        // An idle connection borrows buffers from the pool, not the heap.
        conn.unpark(pool);
        let mut write = |chunks: &[&[u8]]| {
            if *connecting {
                0
            } else {
                transmit::write_chunks(socket, can_write, chunks)
            }
        };
        let result = f(&mut conn.sender(), &mut write);
        if (conn.wants_write() || socket.has_pending()) && !*queued {
            *queued = true;
            dirty.push(idx);
        }
        conn.park(pool);
        result
    }

    pub(crate) fn peer_addr(&self, id: ConnId) -> Option<SocketAddr> {
        let slot = self.slots.get(self.index(id)?)?;
        slot.socket.tcp.peer_addr().ok()
    }

    pub(crate) fn open_ids(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.slots.iter().filter_map(|(idx, slot)| {
            let open = slot
                .conn
                .as_ref()
                .is_some_and(|c| c.is_open() && !c.close_sent());
            open.then(|| ConnId::new(idx, slot.gen))
        })
    }

    pub(crate) fn set_timer(&mut self, delay: Duration, token: u64) {
        let at = self.now.checked_add(delay).unwrap_or(self.now);
        self.timer_seq = self.timer_seq.wrapping_add(1);
        self.timers.push(Reverse((at, self.timer_seq, token)));
    }

    pub(crate) fn request_shutdown(&mut self) {
        self.shutdown_requested = true;
    }

    /// Put a new socket with its core in the table.
    pub(crate) fn insert(
        &mut self,
        mut socket: Socket,
        mut conn: Connection,
        connecting: bool,
        held: Held,
    ) -> io::Result<usize> {
        if self.trace {
            conn.set_trace(true);
        }
        let entry = self.slots.vacant_entry();
        let idx = entry.key();
        let token = Token(
            idx.checked_add(FIRST_CONN)
                .ok_or(io::ErrorKind::OutOfMemory)?,
        );
        self.registry.register(
            &mut socket.tcp,
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        // Relaxed: only uniqueness matters, not ordering with other memory.
        let gen = NEXT_GEN.fetch_add(1, Ordering::Relaxed);
        entry.insert(Slot {
            conn: Some(conn),
            socket,
            gen,
            handshaking: true,
            plain_http: false,
            can_read: !connecting,
            can_write: !connecting,
            connecting,
            deadline: None,
            dirty: false,
            closed_reported: false,
            draining: false,
            held,
        });
        self.schedule(idx);
        Ok(idx)
    }

    pub(crate) fn connect(
        &mut self,
        url: &str,
        options: &ConnectOptions,
    ) -> Result<ConnId, ConnectError> {
        let (socket, conn) = client::open(url, options, &self.config, self.now)?;
        let idx = self
            .insert(socket, conn, true, Held::Nothing)
            .map_err(ConnectError::Io)?;
        self.id(idx)
            .ok_or(ConnectError::Io(io::ErrorKind::NotFound.into()))
    }

    /// Make sure the heap holds this slot's earliest deadline.
    pub(crate) fn schedule(&mut self, idx: usize) {
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        let Some(due) = slot.conn.as_ref().and_then(Connection::poll_timeout) else {
            return;
        };
        if slot.deadline.is_none_or(|d| due < d) {
            slot.deadline = Some(due);
            self.deadlines.push(Reverse((due, idx, slot.gen)));
        }
    }

    pub(crate) fn earliest(&self) -> Option<Timestamp> {
        let conn = self.deadlines.peek().map(|Reverse((t, _, _))| *t);
        let timer = self.timers.peek().map(|Reverse((t, _, _))| *t);
        let trim = self.pool_trim.next(PoolCounts::of(&self.pool));
        [conn, timer, self.shutdown_deadline, trim]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Timestamp {
        Timestamp::from_duration(Duration::from_millis(ms))
    }

    fn pool(lends: u64, large_reuses: u64, large_held: usize, trimmed: bool) -> PoolCounts {
        PoolCounts {
            lends,
            large_reuses,
            large_held,
            trimmed,
        }
    }

    #[test]
    fn grown_buffers_go_once_a_whole_interval_passes_without_reuse() {
        let mut rule = PoolTrim::new(at(0));
        assert_eq!(
            rule.next(pool(0, 0, 0, true)),
            None,
            "nothing held: no wake-up"
        );
        assert_eq!(rule.next(pool(0, 0, 10, true)), Some(at(1000)));
        // Small messages keep flowing (lends move); grown buffers reused
        // during the first interval: kept.
        assert_eq!(
            rule.due(at(500), pool(5, 3, 10, false)),
            TrimDue::Nothing,
            "checks are an interval apart"
        );
        assert_eq!(rule.due(at(1000), pool(9, 3, 10, false)), TrimDue::Nothing);
        assert_eq!(rule.due(at(2100), pool(20, 7, 10, false)), TrimDue::Nothing);
        // A whole interval without reuse of grown buffers, small ones
        // still lent: only the grown ones go.
        assert_eq!(rule.due(at(3200), pool(30, 7, 10, false)), TrimDue::Large);
        assert_eq!(rule.due(at(4300), pool(40, 7, 0, false)), TrimDue::Nothing);
    }

    #[test]
    fn the_whole_pool_is_trimmed_once_an_interval_passes_without_lends() {
        let mut rule = PoolTrim::new(at(0));
        assert_eq!(rule.next(pool(0, 0, 0, false)), Some(at(1000)));
        assert_eq!(rule.due(at(1000), pool(8, 0, 0, false)), TrimDue::Nothing);
        // No lend in a whole interval: everything beyond the idle size goes.
        assert_eq!(rule.due(at(2000), pool(8, 2, 500, false)), TrimDue::All);
        // Trimmed and nothing came back: no more wake-ups.
        assert_eq!(rule.next(pool(8, 2, 0, true)), None);
        assert_eq!(rule.due(at(3000), pool(8, 2, 0, true)), TrimDue::Nothing);
    }
}
