//! [`Refusals`]: how many connections a server turned away or held back,
//! counted across every event loop of the server: by its own policies
//! before any [`Handler`](crate::Handler) callback (Origin, connection
//! limits), by the handler's `on_request` refusing with 401 or 403
//! (authentication), and by the per-connection rate limit.
//!
//! A connection a policy refused never reaches the handler (neither
//! `on_request` nor `on_closed`), so these counters are the one place it
//! shows besides the log. Read them with [`Ctx::refusals`](crate::Ctx::refusals),
//! [`ServerHandle::refusals`](crate::ServerHandle::refusals) or
//! [`EventLoop::refusals`](crate::EventLoop::refusals).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a server's refusal counters, since it started.
/// `#[non_exhaustive]`: policies still to come add fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusals {
    /// Upgrade requests answered 403 because their `Origin` was not allowed
    /// (RFC 6455 §10.2; [`OriginPolicy`](crate::OriginPolicy)).
    pub origin: u64,
    /// Upgrade requests the handler's `on_request` refused with 401 or 403
    /// ([`Decision::unauthorized`](crate::Decision::unauthorized),
    /// [`Decision::forbidden`](crate::Decision::forbidden), or a `Reject` or
    /// `Refuse` with either status): counted by the library as it answers,
    /// so handlers need not.
    pub auth_failed: u64,
    /// Connections refused by the [`ConnectionLimits`](crate::ConnectionLimits):
    /// answered 503 when the request arrived, or closed at accept (too many
    /// handshakes in progress).
    pub over_limit: u64,
    /// Times a connection went over its message rate limit
    /// ([`RateLimit`](crate::proto::RateLimit), RFC 6455 §10.4): closed
    /// with 1008, or its reading paused, per the limit's mode.
    pub rate_limited: u64,
}

impl Refusals {
    /// Every refusal, whatever the reason.
    pub fn total(&self) -> u64 {
        self.origin
            .saturating_add(self.auth_failed)
            .saturating_add(self.over_limit)
            .saturating_add(self.rate_limited)
    }
}

impl fmt::Display for Refusals {
    /// `origin 3, auth failed 2, over limit 0, rate limited 1`: each
    /// reason and its count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "origin {}, auth failed {}, over limit {}, rate limited {}",
            self.origin, self.auth_failed, self.over_limit, self.rate_limited
        )
    }
}

/// The live counters behind [`Refusals`], shared (in an `Arc`) by every
/// loop of a server. Relaxed: each is a tally read now and then, ordered
/// with nothing else.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    origin: AtomicU64,
    auth_failed: AtomicU64,
    over_limit: AtomicU64,
    rate_limited: AtomicU64,
}

impl Counters {
    /// One more request refused for its `Origin`.
    pub(crate) fn count_origin(&self) {
        self.origin.fetch_add(1, Ordering::Relaxed);
    }

    /// One more request the handler refused with 401 or 403.
    pub(crate) fn count_auth_failed(&self) {
        self.auth_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// One more connection refused by the connection limits.
    pub(crate) fn count_over_limit(&self) {
        self.over_limit.fetch_add(1, Ordering::Relaxed);
    }

    /// One more time a connection went over its rate limit.
    pub(crate) fn count_rate_limited(&self) {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Refusals {
        Refusals {
            origin: self.origin.load(Ordering::Relaxed),
            auth_failed: self.auth_failed.load(Ordering::Relaxed),
            over_limit: self.over_limit.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_in_the_snapshot() {
        let counters = Counters::default();
        assert_eq!(counters.snapshot(), Refusals::default());
        counters.count_origin();
        counters.count_origin();
        counters.count_auth_failed();
        counters.count_over_limit();
        counters.count_rate_limited();
        counters.count_rate_limited();
        let seen = counters.snapshot();
        assert_eq!(seen.origin, 2);
        assert_eq!(seen.auth_failed, 1);
        assert_eq!(seen.over_limit, 1);
        assert_eq!(seen.rate_limited, 2);
        assert_eq!(seen.total(), 6);
        assert_eq!(
            seen.to_string(),
            "origin 2, auth failed 1, over limit 1, rate limited 2"
        );
    }
}
