//! The library's clock: std's monotonic [`Instant`], seen by the core as
//! [`Timestamp`]s measured from one process-wide epoch.
//!
//! The core (`ws6455-proto`) is `no_std` and never reads a clock; every
//! shell here reads `Instant::now()` and converts at the boundary, both
//! ways: instants into the core's commands, the core's deadlines
//! ([`crate::proto::Connection::poll_timeout`]) back into instants for
//! poll timeouts and socket read timeouts. A program that drives
//! [`crate::proto::Connection`] itself on std can use the same functions.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::proto::Timestamp;

/// The instant every [`Timestamp`] of this process counts from: the first
/// time any function here was called.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The current time, as the core counts it.
pub fn now() -> Timestamp {
    timestamp(Instant::now())
}

/// `at` as the core counts it. Instants from before the epoch (read before
/// this module was first used) count as the epoch itself.
pub fn timestamp(at: Instant) -> Timestamp {
    Timestamp::from_duration(at.saturating_duration_since(epoch()))
}

/// A core timestamp back on std's clock, e.g. to turn a deadline from
/// `poll_timeout` into a poll or socket timeout. A deadline too far away
/// to represent comes back as a year from now (it will not fire).
pub fn instant(at: Timestamp) -> Instant {
    let epoch = epoch();
    epoch
        .checked_add(at.as_duration())
        .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_core_clock() {
        // Instants from before the epoch saturate to it: start the clock
        // first, or `a` could fall before it.
        let _ = now();
        let a = Instant::now();
        let b = a + Duration::from_millis(250);
        assert_eq!(timestamp(b) - timestamp(a), Duration::from_millis(250));
        assert_eq!(instant(timestamp(b)), b);
        assert!(now() >= timestamp(a));
    }

    #[test]
    fn far_deadlines_do_not_panic() {
        let far = Timestamp::from_duration(Duration::MAX);
        assert!(instant(far) > Instant::now());
    }
}
