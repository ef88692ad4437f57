//! Tests of the GCRA buckets behind [`super::RateLimit`].

use super::*;
use proptest::prelude::*;

fn at_ms(ms: u64) -> Timestamp {
    Timestamp::from_duration(Duration::from_millis(ms))
}

fn at_ns(ns: u64) -> Timestamp {
    Timestamp::from_duration(Duration::from_nanos(ns))
}

const SEC: Duration = Duration::from_secs(1);

#[test]
fn a_burst_of_count_then_refusal_and_a_refusal_takes_nothing() {
    let mut l = Limiter::new(RateLimit::messages(3, SEC));
    let t = at_ms(5000);
    for _ in 0..3 {
        assert_eq!(l.admit(t, 10), Verdict::Deliver);
    }
    assert_eq!(l.admit(t, 10), Verdict::Refuse);
    assert_eq!(l.admit(t, 10), Verdict::Refuse);
    // One message refills every 333.33… ms; the refusals took nothing, so
    // exactly one is back then, not a nanosecond earlier.
    assert_eq!(
        l.admit(t + Duration::from_nanos(333_333_333), 0),
        Verdict::Refuse
    );
    assert_eq!(
        l.admit(t + Duration::from_nanos(333_333_334), 0),
        Verdict::Deliver
    );
    assert_eq!(
        l.admit(t + Duration::from_nanos(333_333_334), 0),
        Verdict::Refuse
    );
    assert!(!l.paused(t + SEC));
}

#[test]
fn the_allowance_refills_over_time() {
    let mut l = Limiter::new(RateLimit::messages(20, SEC));
    let t = at_ms(0);
    for _ in 0..20 {
        assert_eq!(l.admit(t, 1), Verdict::Deliver);
    }
    assert_eq!(l.admit(t, 1), Verdict::Refuse);
    // A whole period later the whole burst is back, and no more.
    let later = t + SEC;
    for _ in 0..20 {
        assert_eq!(l.admit(later, 1), Verdict::Deliver);
    }
    assert_eq!(l.admit(later, 1), Verdict::Refuse);
    // Sustained: one every 50 ms goes through forever.
    for i in 1..100u64 {
        assert_eq!(
            l.admit(later + Duration::from_millis(50 * i), 1),
            Verdict::Deliver
        );
    }
}

#[test]
fn the_byte_bucket_counts_payload_and_caps_a_single_message() {
    let limit = RateLimit::bytes_only(100, SEC);
    let mut l = Limiter::new(limit);
    assert_eq!(l.admit(at_ms(0), 60), Verdict::Deliver);
    assert_eq!(l.admit(at_ms(0), 40), Verdict::Deliver);
    assert_eq!(l.admit(at_ms(0), 1), Verdict::Refuse);
    // Any number of messages, as long as they are empty.
    assert_eq!(l.admit(at_ms(0), 0), Verdict::Deliver);
    // One byte refills every 10 ms.
    assert_eq!(l.admit(at_ms(10), 1), Verdict::Deliver);
    assert_eq!(l.admit(at_ms(10), 1), Verdict::Refuse);
    // More than the burst never passes in close mode, however long one waits.
    assert_eq!(l.admit(at_ms(100_000), 101), Verdict::Refuse);
    assert_eq!(l.admit(at_ms(100_000), 100), Verdict::Deliver);

    // Both buckets: the stricter one decides.
    let mut l = Limiter::new(RateLimit::messages(10, SEC).bytes(100, SEC));
    assert_eq!(l.admit(at_ms(0), 90), Verdict::Deliver);
    assert_eq!(l.admit(at_ms(0), 20), Verdict::Refuse);
    for _ in 0..9 {
        assert_eq!(l.admit(at_ms(0), 1), Verdict::Deliver);
    }
    // 100 bytes taken, 10 messages taken: both empty now.
    assert_eq!(l.admit(at_ms(0), 0), Verdict::Refuse);
}

#[test]
fn pause_mode_delivers_then_pauses_until_out_of_debt() {
    let mut l = Limiter::new(RateLimit::messages(2, SEC).pause());
    let t = at_ms(1000);
    assert_eq!(l.admit(t, 0), Verdict::Deliver);
    assert_eq!(l.admit(t, 0), Verdict::Deliver);
    assert!(!l.paused(t));
    // The third is over: delivered, and the bucket owes one message,
    // which takes half a second to refill.
    assert_eq!(l.admit(t, 0), Verdict::Pause(at_ms(1500)));
    assert!(l.paused(t));
    assert!(l.paused(at_ms(1499)));
    assert_eq!(l.resume_at(t), Some(at_ms(1500)));
    assert!(!l.paused(at_ms(1500)));
    assert_eq!(l.resume_at(at_ms(1500)), None);
    // Out of debt, but empty: the next one pauses again, for one period
    // per message.
    assert_eq!(l.admit(at_ms(1500), 0), Verdict::Pause(at_ms(2000)));

    // A message bigger than the byte burst pauses for its own size.
    let mut l = Limiter::new(RateLimit::bytes_only(100, SEC).pause());
    assert_eq!(l.admit(at_ms(0), 300), Verdict::Pause(at_ms(2000)));
}

#[test]
fn a_zero_count_is_one_and_a_zero_period_is_no_limit() {
    let mut l = Limiter::new(RateLimit::messages(0, SEC));
    assert_eq!(l.admit(at_ms(0), 0), Verdict::Deliver);
    assert_eq!(l.admit(at_ms(0), 0), Verdict::Refuse);
    assert_eq!(RateLimit::messages(0, SEC).message_limit(), Some((1, SEC)));

    let mut l = Limiter::new(RateLimit::messages(1, Duration::ZERO).bytes(1, Duration::ZERO));
    for _ in 0..1000 {
        assert_eq!(l.admit(at_ms(0), usize::MAX), Verdict::Deliver);
    }
}

#[test]
fn huge_values_saturate_instead_of_panicking() {
    let end = Timestamp::from_duration(Duration::MAX);
    for limit in [
        RateLimit::messages(u32::MAX, Duration::MAX).bytes(u64::MAX, Duration::MAX),
        RateLimit::messages(u32::MAX, Duration::MAX)
            .bytes(u64::MAX, Duration::MAX)
            .pause(),
        RateLimit::messages(1, Duration::MAX)
            .bytes(1, Duration::MAX)
            .pause(),
        RateLimit::bytes_only(u64::MAX, Duration::from_nanos(1)).pause(),
    ] {
        let mut l = Limiter::new(limit);
        for now in [Timestamp::ZERO, at_ms(1), end] {
            for len in [0, 1, usize::MAX] {
                let _ = l.admit(now, len);
                let _ = l.paused(now);
                let _ = l.resume_at(now);
            }
        }
    }
    // A pause that would end past the end of time ends at the end of time.
    let mut l = Limiter::new(RateLimit::bytes_only(1, Duration::MAX).pause());
    assert_eq!(l.admit(at_ms(0), usize::MAX), Verdict::Pause(end));
}

/// Delivery times a driver sees for `arrivals` (sorted), holding back a
/// message while the limiter pauses reading, as the connection does.
fn deliveries(limit: RateLimit, arrivals: &[u64]) -> Vec<u64> {
    let mut l = Limiter::new(limit);
    let mut delivered = Vec::new();
    let mut clock = 0u64;
    for &arrival in arrivals {
        clock = clock.max(arrival);
        if let Some(resume) = l.resume_at(at_ns(clock)) {
            clock = u64::try_from(resume.as_duration().as_nanos()).unwrap_or(u64::MAX);
        }
        match l.admit(at_ns(clock), 0) {
            Verdict::Deliver | Verdict::Pause(_) => delivered.push(clock),
            Verdict::Refuse => {}
        }
    }
    delivered
}

/// In every window `[a, b]` between two deliveries, at most `burst` plus
/// the refill over `b - a` were delivered.
fn check_windows(delivered: &[u64], burst: u64, count: u64, per: u64) -> Result<(), TestCaseError> {
    for (i, &a) in delivered.iter().enumerate() {
        for (j, &b) in delivered.iter().enumerate().skip(i) {
            let n = (j - i + 1) as u64;
            let refill = (u128::from(b - a) * u128::from(count) / u128::from(per)) as u64;
            prop_assert!(
                n <= burst + refill,
                "{n} messages in [{a}, {b}] with a burst of {burst} and {count} per {per}"
            );
        }
    }
    Ok(())
}

proptest! {
    /// Close mode: over any arrival schedule, the messages delivered in
    /// any window of length `w` are at most `count + count * w / per`.
    #[test]
    fn close_mode_never_delivers_more_than_burst_plus_rate(
        count in 1u32..8,
        per in 1u64..1_000,
        mut arrivals in proptest::collection::vec(0u64..5_000, 0..80),
    ) {
        arrivals.sort_unstable();
        let limit = RateLimit::messages(count, Duration::from_nanos(per));
        let delivered = deliveries(limit, &arrivals);
        check_windows(&delivered, u64::from(count), u64::from(count), per)?;
    }

    /// Pause mode: the same bound with one message more (the one that
    /// goes into debt and starts the pause), and nothing is dropped.
    #[test]
    fn pause_mode_delivers_everything_within_burst_plus_one_plus_rate(
        count in 1u32..8,
        per in 1u64..1_000,
        mut arrivals in proptest::collection::vec(0u64..5_000, 0..80),
    ) {
        arrivals.sort_unstable();
        let limit = RateLimit::messages(count, Duration::from_nanos(per)).pause();
        let delivered = deliveries(limit, &arrivals);
        prop_assert_eq!(delivered.len(), arrivals.len());
        check_windows(&delivered, u64::from(count) + 1, u64::from(count), per)?;
    }
}
