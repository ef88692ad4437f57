//! The core's per-connection rate limit (RFC 6455 §10.4) on a fake clock:
//! close mode fails with 1008 and never delivers the message that went
//! over; pause mode stops reading until the allowance refills, wakes up
//! through `poll_timeout`, and does not let heartbeats call the paused
//! peer dead.

use std::time::Duration;

use ws6455::proto::close::parse_close_payload;
use ws6455::proto::{OpCode, RateLimit};
use ws6455::ProtocolError;
use ws6455_test_support::core::*;

fn text(s: &str) -> Vec<u8> {
    client_frame(true, OpCode::Text, s.as_bytes())
}

fn texts(names: &[&str]) -> Vec<u8> {
    names.iter().flat_map(|n| text(n)).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The reason of the close frame at the end of a server's output.
fn close_reason_sent(bytes: &[u8]) -> Option<String> {
    let mut rest = bytes;
    let mut last = None;
    while let Ok(Some((h, hl))) = ws6455::proto::frame::decode_header(rest) {
        let end = hl + h.payload_len as usize;
        if h.opcode == OpCode::Close {
            let frame = parse_close_payload(&rest[hl..end]).ok()?;
            last = Some(frame.reason.to_owned());
        }
        rest = &rest[end..];
    }
    last
}

#[test]
fn close_mode_delivers_the_burst_then_fails_with_1008() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(3, Duration::from_secs(1)));
    }));
    s.recv(&texts(&["a", "b", "c", "d", "e"]));
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::Text("a".into()),
            Ev::Text("b".into()),
            Ev::Text("c".into()),
            Ev::Failed(ProtocolError::RateLimited),
            Ev::Closed(1006, false),
        ],
        "the fourth message is refused, not delivered"
    );
    let out = take_output(&mut s);
    assert_eq!(close_code_sent(&out), Some(1008));
    assert_eq!(
        close_reason_sent(&out).as_deref(),
        Some("message rate limit exceeded")
    );
}

/// Found by the `connection_rate` fuzz target: once our close was
/// queued, the limiter was dropped, so a peer could send any number of
/// messages until its close or the close timeout. It now stays with the
/// connection until the end.
#[test]
fn the_limit_still_holds_after_our_close() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(2, Duration::from_secs(1)));
    }));
    s.recv(&texts(&["a"]));
    assert_eq!(drain(&mut s), vec![Ev::Text("a".into())]);
    s.close(t0(), ws6455::CloseCode::NORMAL, "bye").unwrap();
    s.recv(&texts(&["b", "c", "d", "e"]));
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::Text("b".into()),
            Ev::Failed(ProtocolError::RateLimited),
            Ev::Closed(1006, false),
        ],
        "after our close, messages over the limit are still refused"
    );
}

#[test]
fn close_mode_refills_over_time() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(2, Duration::from_secs(1)));
    }));
    s.recv(&texts(&["a", "b"]));
    assert_eq!(drain(&mut s).len(), 2);
    // Half a second refills one message, and only one.
    s.handle_timeout(t0() + ms(500));
    s.recv(&text("c"));
    assert_eq!(drain(&mut s), vec![Ev::Text("c".into())]);
    s.recv(&text("d"));
    assert!(drain(&mut s).contains(&Ev::Failed(ProtocolError::RateLimited)));
}

#[test]
fn fragmented_messages_count_once_and_control_frames_not_at_all() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(1, Duration::from_secs(1)));
    }));
    let mut bytes = client_frame(false, OpCode::Text, b"he");
    bytes.extend(client_frame(false, OpCode::Continuation, b"l"));
    bytes.extend(client_frame(true, OpCode::Continuation, b"lo"));
    for _ in 0..10 {
        bytes.extend(client_frame(true, OpCode::Ping, b"p"));
    }
    s.recv(&bytes);
    let evs = drain(&mut s);
    assert_eq!(evs.first(), Some(&Ev::Text("hello".into())));
    assert_eq!(
        evs.iter()
            .filter(|e| **e == Ev::Ping(b"p".to_vec()))
            .count(),
        10
    );
    assert!(!evs.iter().any(|e| matches!(e, Ev::Failed(_))));
    // A second fragmented message is over.
    let mut bytes = client_frame(false, OpCode::Binary, b"x");
    bytes.extend(client_frame(true, OpCode::Continuation, b"y"));
    s.recv(&bytes);
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::Failed(ProtocolError::RateLimited),
            Ev::Closed(1006, false)
        ]
    );
}

#[test]
fn the_byte_bucket_refuses_a_large_message() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(
            RateLimit::messages(100, Duration::from_secs(1)).bytes(10, Duration::from_secs(1)),
        );
    }));
    s.recv(&texts(&["12345", "12345", "1"]));
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::Text("12345".into()),
            Ev::Text("12345".into()),
            Ev::Failed(ProtocolError::RateLimited),
            Ev::Closed(1006, false),
        ]
    );
}

#[test]
fn pause_mode_stops_reading_and_resumes_at_the_deadline() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(2, Duration::from_secs(1)).pause());
        c.ping_interval = None;
    }));
    assert_eq!(s.poll_timeout(), None);
    s.recv(&texts(&["a", "b", "c", "d"]));
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::Text("a".into()),
            Ev::Text("b".into()),
            Ev::Text("c".into()),
            Ev::Throttled,
        ],
        "the message that goes over is delivered, then reading pauses"
    );
    assert!(!s.wants_read());
    assert!(s.is_open());
    // "c" put the bucket half a second into debt.
    assert_eq!(s.poll_timeout(), Some(t0() + ms(500)));
    s.handle_timeout(t0() + ms(499));
    assert_eq!(drain(&mut s), vec![]);
    assert!(!s.wants_read());
    s.handle_timeout(t0() + ms(500));
    assert!(s.wants_read());
    // "d" waited in the receive buffer; it is over again (the bucket is
    // empty), so another pause, of one message's refill.
    assert_eq!(drain(&mut s), vec![Ev::Text("d".into()), Ev::Throttled]);
    assert_eq!(s.poll_timeout(), Some(t0() + ms(1000)));
    // Nothing was closed.
    assert_eq!(close_code_sent(&take_output(&mut s)), None);
    // After a quiet second the whole burst is back.
    s.handle_timeout(t0() + ms(2000));
    s.recv(&texts(&["e", "f"]));
    assert_eq!(
        drain(&mut s),
        vec![Ev::Text("e".into()), Ev::Text("f".into())]
    );
    assert!(s.wants_read());
}

#[test]
fn heartbeats_do_not_call_a_paused_peer_dead() {
    let mut s = open_server(cfg(|c| {
        c.rate_limit = Some(RateLimit::messages(1, Duration::from_secs(60)).pause());
        c.ping_interval = Some(Duration::from_secs(10));
        c.pong_timeout = Duration::from_secs(5);
        c.idle_timeout = Some(Duration::from_secs(20));
    }));
    s.recv(&texts(&["a", "b", "c"]));
    assert_eq!(
        drain(&mut s),
        vec![Ev::Text("a".into()), Ev::Text("b".into()), Ev::Throttled]
    );
    // Paused for a minute; the heartbeat and idle deadlines come first
    // and find the peer waiting on us, not silent.
    let resume = t0() + Duration::from_secs(60);
    let mut now = t0();
    let mut wakeups = 0;
    loop {
        let next = s
            .poll_timeout()
            .expect("a paused connection has a deadline");
        assert!(next > now, "the deadline moves on");
        if next >= resume {
            assert_eq!(next, resume);
            break;
        }
        now = next;
        wakeups += 1;
        s.handle_timeout(now);
        assert_eq!(drain(&mut s), vec![], "nothing happens at {now:?}");
        assert!(s.is_open(), "not closed at {now:?}");
        assert_eq!(take_output(&mut s), Vec::<u8>::new(), "no ping, no close");
    }
    assert!(wakeups >= 5, "heartbeat and idle deadlines came and went");
    assert!(!s.wants_read());
    s.handle_timeout(resume);
    assert!(s.wants_read());
    // The pause over, "c" is read at last (and pauses again).
    assert_eq!(drain(&mut s), vec![Ev::Text("c".into()), Ev::Throttled]);
}

#[test]
fn no_rate_limit_by_default() {
    let mut s = open_server(cfg(|_| {}));
    let names: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    s.recv(&texts(&refs));
    let evs = drain(&mut s);
    assert_eq!(evs.len(), 1000);
    assert!(evs.iter().all(|e| matches!(e, Ev::Text(_))));
}
