//! Time as the core sees it: instants on the driver's monotonic clock.
//!
//! The core never reads a clock (it is `no_std`, and a conversation must be
//! a pure function of its inputs so tests and fuzzers can replay it). The
//! driver picks an epoch — the event loop uses the moment it started, a
//! test uses zero — and passes [`Timestamp`]s measured from it to every
//! call whose behaviour depends on time. Deadlines come back the same way,
//! from [`crate::Connection::poll_timeout`].

use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time: how long after the driver's chosen epoch it is.
///
/// Like `std::time::Instant`, it only means something next to other
/// timestamps from the same clock. Arithmetic saturates instead of
/// panicking, so a hostile timeout configuration cannot crash the core.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The epoch itself: a fine starting point for tests on a fake clock.
    pub const ZERO: Timestamp = Timestamp(Duration::ZERO);

    /// The instant `since_epoch` after the driver's epoch.
    pub const fn from_duration(since_epoch: Duration) -> Self {
        Timestamp(since_epoch)
    }

    /// How long after the epoch this instant is.
    pub const fn as_duration(self) -> Duration {
        self.0
    }

    /// `self + d`, or `None` past the end of time (`Duration::MAX`).
    pub fn checked_add(self, d: Duration) -> Option<Timestamp> {
        self.0.checked_add(d).map(Timestamp)
    }

    /// How long after `earlier` this instant is, or zero if it is not.
    pub fn saturating_duration_since(self, earlier: Timestamp) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the end of time instead of panicking.
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d))
    }
}

impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, d: Duration) {
        self.0 = self.0.saturating_add(d);
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturates at the epoch instead of panicking.
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d))
    }
}

impl Sub<Timestamp> for Timestamp {
    type Output = Duration;
    /// Zero when `earlier` is in fact later.
    fn sub(self, earlier: Timestamp) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Timestamp::from_duration(Duration::from_secs(5));
        assert_eq!(t - Duration::from_secs(9), Timestamp::ZERO);
        assert_eq!(Timestamp::ZERO - t, Duration::ZERO);
        assert_eq!(t - Timestamp::ZERO, Duration::from_secs(5));
        assert_eq!(t + Duration::MAX, Timestamp::from_duration(Duration::MAX));
        assert_eq!(t.checked_add(Duration::MAX), None);
        let mut u = t;
        u += Duration::from_millis(1500);
        assert_eq!(u.as_duration(), Duration::from_millis(6500));
        assert!(u > t);
    }
}
