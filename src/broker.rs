//! Brokers: one application across several processes (or machines), each
//! with its own event loops, joined by a shared publish/subscribe engine.
//!
//! A connection can only be sent to from its own loop, so a chat room or a
//! game whose users sit on two servers needs something between them. The
//! [`Broker`] trait is that something as a loop's handler sees it: publish
//! a message on a channel, subscribe this loop to a channel, and keep
//! presence — named sets of members that each process refreshes while its
//! members are there and that forget a dead process's members by
//! themselves. Everything it does returns at once; what comes back
//! (messages, presence lists, the broker going down and up) arrives as
//! [`BrokerEvent`]s, drained in [`crate::Handler::on_notify`].
//!
//! The layering: a broker sits above the event loop and below the
//! applications. It never touches a connection; the handler turns each
//! message it hears into one [`crate::PreparedMessage`] and broadcasts it
//! to its own subscribers ([`crate::Ctx::broadcast`]), so a message from
//! another server is encoded once per loop, never once per subscriber.
//!
//! A loop never hears its own publishes back: it delivers to its own
//! connections itself, at once, which is also why its local users keep
//! talking while the broker is down.
//!
//! The implementation is `redis::RedisBroker` (feature `redis`).

#[cfg(feature = "redis")]
pub mod redis;

use std::fmt;
use std::sync::Arc;

/// What a broker hands a loop (RFC-free: this is the application's
/// plumbing, not the WebSocket protocol).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerEvent {
    /// Another loop published `payload` on `channel`, to which this loop
    /// is subscribed. The payload is shared by every loop of the process
    /// that hears it.
    Message {
        /// The channel, as the application named it.
        channel: Arc<str>,
        /// The bytes another loop passed to [`Broker::publish`].
        payload: Arc<[u8]>,
    },
    /// The members of a watched presence set changed (or the broker came
    /// back and read it again): every member of every process, sorted.
    Presence {
        /// The set, as the application named it.
        set: Arc<str>,
        /// Its members now.
        members: Arc<[String]>,
    },
    /// This loop's publish was accepted but never reached the broker
    /// (the connection failed with it in flight): the other servers did
    /// not get it.
    Undelivered {
        /// The channel it was published on.
        channel: Arc<str>,
        /// What was published.
        payload: Arc<[u8]>,
    },
    /// The broker is reachable again: subscriptions and this process's
    /// presence entries are restored; watched sets follow as
    /// [`BrokerEvent::Presence`].
    Up,
    /// The broker became unreachable: until [`BrokerEvent::Up`], publishes
    /// fail with [`NotSent::Down`] and remote members are unknown.
    Down,
}

/// Why [`Broker::publish`] did not take a message. Either way the other
/// servers will not see it; the loop's own delivery is unaffected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotSent {
    /// The broker is unreachable (reconnecting).
    Down,
    /// Too many messages are waiting to go out: the broker is reachable
    /// but slower than the publishers, and the queue is bounded.
    Backlog,
}

impl fmt::Display for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NotSent::Down => "the broker is unreachable",
            NotSent::Backlog => "the broker's queue is full",
        })
    }
}

impl std::error::Error for NotSent {}

/// A loop's end of a broker. Every method returns at once: the work is
/// done by the broker's own threads, and what it brings back is queued
/// for [`Broker::next_event`].
pub trait Broker {
    /// Send `payload` to every other loop subscribed to `channel`, on
    /// every process sharing the broker.
    fn publish(&mut self, channel: &str, payload: &[u8]) -> Result<(), NotSent>;

    /// Hear messages published on `channel` (idempotent).
    fn subscribe(&mut self, channel: &str);

    /// Stop hearing `channel` (idempotent).
    fn unsubscribe(&mut self, channel: &str);

    /// Add `member` to presence set `set` for as long as this loop is
    /// alive and does not leave: the broker refreshes it, and drops it
    /// within the presence TTL of this process dying. The member is
    /// announced once this loop's earlier [`Broker::subscribe`]s are in
    /// effect, so subscribe first to be reachable by whoever sees it.
    fn join_presence(&mut self, set: &str, member: &str);

    /// Take `member` out of `set` now.
    fn leave_presence(&mut self, set: &str, member: &str);

    /// Be sent [`BrokerEvent::Presence`] for `set` whenever its members
    /// change (at once on a join or leave anywhere, within the refresh
    /// interval on an expiry).
    fn watch_presence(&mut self, set: &str);

    /// Stop watching `set`.
    fn unwatch_presence(&mut self, set: &str);

    /// The next event for this loop, oldest first; drain until `None`
    /// when notified.
    fn next_event(&mut self) -> Option<BrokerEvent>;

    /// Whether the broker is reachable, as last seen.
    fn is_up(&self) -> bool;
}
