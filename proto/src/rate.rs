//! Per-connection message rate limits (RFC 6455 §10.4: "implementations
//! SHOULD impose implementation-specific limits").
//!
//! A [`RateLimit`] bounds how fast the peer may send data messages: a
//! bucket on messages, optionally one on payload bytes, each with a burst
//! and a sustained rate. Each bucket is a GCRA (the generic cell rate
//! algorithm, "virtual scheduling"): one "theoretical arrival time" (TAT)
//! per bucket instead of a token count and a refill timer, so checking a
//! message is a few integer operations and needs no clock of its own.
//!
//! Time is kept in exact integer units: a bucket of `count` per `per`
//! measures instants in nanoseconds × `count`, so a message costs exactly
//! `per` nanoseconds of those units and the burst window is `per × count`.
//! Nothing rounds, so "at most `count` in any `per`" holds to the
//! nanosecond; everything saturates, so no configuration can panic.

use core::time::Duration;

use crate::time::Timestamp;

/// What happens to a message that goes over the limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnExceed {
    /// The message is not delivered and the connection fails with close
    /// code 1008 (§7.4.1 "policy violation";
    /// [`ProtocolError::RateLimited`](crate::ProtocolError::RateLimited)).
    #[default]
    Close,
    /// The message is delivered, and then the connection stops reading
    /// (backpressure: TCP pushes back on the peer) until the limit is met
    /// again; [`Event::Throttled`](crate::Event::Throttled) reports each
    /// pause as it starts.
    Pause,
}

/// One bucket: at most `count` in any `per`, in a burst or spread out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bucket {
    /// At least 1: a bucket that allows nothing is a closed connection,
    /// which needs no rate limit.
    count: u64,
    per: Duration,
}

/// A per-connection limit on the rate of received data messages (RFC 6455
/// §10.4). Set it in [`Config::rate_limit`](crate::Config::rate_limit);
/// the default is no limit. Control frames (ping, pong, close) are not
/// counted: they are bounded by §5.5's 125 bytes and answered at once.
///
/// A limit of `count` per `per` allows a burst of `count` messages at
/// once, and `count` per `per` sustained: the allowance refills
/// continuously, one message every `per / count`.
///
/// ```
/// use std::time::Duration;
/// use ws6455_proto::rate::{OnExceed, RateLimit};
///
/// // 20 messages a second, and 64 KiB of payload a second; a peer that
/// // sends faster is not read from until it is within the limit again.
/// let limit = RateLimit::messages(20, Duration::from_secs(1))
///     .bytes(64 << 10, Duration::from_secs(1))
///     .pause();
/// assert_eq!(limit.on_exceed(), OnExceed::Pause);
/// assert_eq!(limit.message_limit(), Some((20, Duration::from_secs(1))));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    messages: Option<Bucket>,
    bytes: Option<Bucket>,
    on_exceed: OnExceed,
}

impl RateLimit {
    /// At most `count` messages in any `per` (a burst of `count`, then
    /// `count` per `per`), closing with 1008 when exceeded. A `count` of 0
    /// is taken as 1; a zero `per` allows everything.
    pub fn messages(count: u32, per: Duration) -> Self {
        RateLimit {
            messages: Some(Bucket::new(u64::from(count), per)),
            bytes: None,
            on_exceed: OnExceed::Close,
        }
    }

    /// A limit on payload bytes only (see [`RateLimit::bytes`]), closing
    /// with 1008 when exceeded.
    pub fn bytes_only(count: u64, per: Duration) -> Self {
        RateLimit {
            messages: None,
            bytes: Some(Bucket::new(count, per)),
            on_exceed: OnExceed::Close,
        }
    }

    /// Also at most `count` payload bytes in any `per` (as delivered: a
    /// compressed message counts its inflated size). The burst is `count`
    /// bytes, so it also caps a single message: with [`OnExceed::Close`]
    /// a message larger than `count` can never pass; with
    /// [`OnExceed::Pause`] it is delivered and reading pauses for as long
    /// as its size takes to refill. A `count` of 0 is taken as 1.
    #[must_use]
    pub fn bytes(mut self, count: u64, per: Duration) -> Self {
        self.bytes = Some(Bucket::new(count, per));
        self
    }

    /// When exceeded, deliver the message and pause reading until the
    /// limit is met again ([`OnExceed::Pause`]).
    #[must_use]
    pub fn pause(mut self) -> Self {
        self.on_exceed = OnExceed::Pause;
        self
    }

    /// When exceeded, fail the connection with 1008 ([`OnExceed::Close`],
    /// the default).
    #[must_use]
    pub fn close(mut self) -> Self {
        self.on_exceed = OnExceed::Close;
        self
    }

    /// What happens when the limit is exceeded.
    pub fn on_exceed(&self) -> OnExceed {
        self.on_exceed
    }

    /// The message bucket: `(count, per)`, if there is one.
    pub fn message_limit(&self) -> Option<(u64, Duration)> {
        self.messages.map(|b| (b.count, b.per))
    }

    /// The byte bucket: `(count, per)`, if there is one.
    pub fn byte_limit(&self) -> Option<(u64, Duration)> {
        self.bytes.map(|b| (b.count, b.per))
    }
}

impl Bucket {
    fn new(count: u64, per: Duration) -> Self {
        Bucket {
            count: count.max(1),
            per,
        }
    }

    /// `now` in this bucket's units (nanoseconds × count).
    fn scaled(&self, now: Timestamp) -> u128 {
        now.as_duration()
            .as_nanos()
            .saturating_mul(u128::from(self.count))
    }

    /// The burst window, `per`, in this bucket's units.
    fn window(&self) -> u128 {
        self.per.as_nanos().saturating_mul(u128::from(self.count))
    }

    /// Take `units` (messages or bytes) at `now` from a bucket whose TAT
    /// is `tat`: the TAT after it, and whether it conforms, that is
    /// whether the bucket held them (GCRA: `max(tat, now) + cost - window
    /// <= now`).
    fn take(&self, tat: u128, now: Timestamp, units: u64) -> (u128, bool) {
        let now = self.scaled(now);
        let cost = u128::from(units).saturating_mul(self.per.as_nanos());
        let after = tat.max(now).saturating_add(cost);
        (after, after <= now.saturating_add(self.window()))
    }

    /// The first instant at which a bucket whose TAT is `tat` is out of
    /// debt (`tat - window <= now`).
    fn clear_at(&self, tat: u128) -> Timestamp {
        let nanos = tat
            .saturating_sub(self.window())
            .div_ceil(u128::from(self.count));
        Timestamp::from_duration(duration_from_nanos(nanos))
    }
}

/// `nanos` as a `Duration`, `Duration::MAX` if it does not fit.
fn duration_from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10^9, so it fits a u32.
        Ok(secs) => Duration::new(
            secs,
            u32::try_from(nanos % NANOS_PER_SEC).unwrap_or_default(),
        ),
        Err(_) => Duration::MAX,
    }
}

/// What to do with a message, once checked against the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Within the limit.
    Deliver,
    /// Over the limit, [`OnExceed::Close`]: fail the connection.
    Refuse,
    /// Over the limit, [`OnExceed::Pause`]: deliver, then stop reading
    /// until the instant given.
    Pause(Timestamp),
}

/// One open connection's rate limit and where its buckets stand; boxed in
/// the connection's `Open` state, allocated only when a limit is set.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// The buckets' theoretical arrival times, in their own units.
    messages_tat: u128,
    bytes_tat: u128,
    /// Reading is paused before this instant ([`OnExceed::Pause`]).
    paused_until: Option<Timestamp>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Limiter {
            limit,
            messages_tat: 0,
            bytes_tat: 0,
            paused_until: None,
        }
    }

    /// A data message of `len` payload bytes arrived at `now`: take it
    /// from the buckets, or not.
    pub(crate) fn admit(&mut self, now: Timestamp, len: usize) -> Verdict {
        let len = u64::try_from(len).unwrap_or(u64::MAX);
        let (messages_tat, messages_ok) = match &self.limit.messages {
            Some(b) => b.take(self.messages_tat, now, 1),
            None => (self.messages_tat, true),
        };
        let (bytes_tat, bytes_ok) = match &self.limit.bytes {
            Some(b) => b.take(self.bytes_tat, now, len),
            None => (self.bytes_tat, true),
        };
        if !(messages_ok && bytes_ok) && self.limit.on_exceed == OnExceed::Close {
            // Refused: the message is not taken, so the buckets stand.
            return Verdict::Refuse;
        }
        self.messages_tat = messages_tat;
        self.bytes_tat = bytes_tat;
        if messages_ok && bytes_ok {
            return Verdict::Deliver;
        }
        // In debt: wait until every bucket is out of it.
        let clear = |b: &Option<Bucket>, tat| b.map_or(Timestamp::ZERO, |b| b.clear_at(tat));
        let until = clear(&self.limit.messages, messages_tat)
            .max(clear(&self.limit.bytes, bytes_tat))
            .max(now);
        self.paused_until = Some(until);
        Verdict::Pause(until)
    }

    /// True while reading is paused at `now`.
    pub(crate) fn paused(&self, now: Timestamp) -> bool {
        self.paused_until.is_some_and(|until| now < until)
    }

    /// When a pause ends, while one runs at `now`.
    pub(crate) fn resume_at(&self, now: Timestamp) -> Option<Timestamp> {
        self.paused_until.filter(|&until| now < until)
    }
}

#[cfg(test)]
#[path = "rate_tests.rs"]
mod tests;
