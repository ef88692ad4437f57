//! Reconnection delays: doubling from 100 ms to 5 s, each drawn with ±50 %
//! jitter so servers that lost Redis together do not all knock at once.

use std::time::Duration;

use rand::Rng;

const FIRST: Duration = Duration::from_millis(100);
const MOST: Duration = Duration::from_secs(5);

pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { next: FIRST }
    }

    /// The delay before the next attempt.
    pub(crate) fn delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(MOST);
        base.mul_f64(rand::rng().random_range(0.5..1.5))
    }

    /// A connection succeeded: start small again next time.
    pub(crate) fn reset(&mut self) {
        self.next = FIRST;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter_and_reset() {
        let mut backoff = Backoff::new();
        let first = backoff.delay();
        assert!(first >= FIRST / 2 && first <= FIRST * 3 / 2, "{first:?}");
        for _ in 0..20 {
            let d = backoff.delay();
            assert!(d <= MOST * 3 / 2, "{d:?}");
        }
        let capped = backoff.delay();
        assert!(capped >= MOST / 2, "{capped:?}");
        backoff.reset();
        assert!(backoff.delay() <= FIRST * 3 / 2);
    }
}
