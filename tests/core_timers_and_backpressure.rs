//! The core on a fake clock: handshake, heartbeat, close and linger
//! timeouts; backpressure; prepared messages; usage errors.

use std::sync::Arc;
use std::time::Duration;

use ws6455::proto::{CloseCode, Config, Connection, OpCode, PreparedMessage};
use ws6455::UsageError;
use ws6455_test_support::core::*;

#[test]
fn a_stalled_handshake_times_out() {
    let mut s = Connection::server(cfg(|c| c.handshake_timeout = Duration::from_secs(2)), t0());
    s.recv(b"GET / HTTP/1.1\r\n");
    assert_eq!(s.poll_timeout(), Some(t0() + Duration::from_secs(2)));
    s.handle_timeout(t0() + Duration::from_secs(1));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t0() + Duration::from_secs(2));
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert!(s.is_closed());
}

#[test]
fn heartbeat_pings_a_silent_peer_and_gives_up_on_a_dead_one() {
    let hb = cfg(|c| {
        c.ping_interval = Some(Duration::from_secs(10));
        c.pong_timeout = Duration::from_secs(5);
    });
    let (mut c, mut s) = pair_with(Arc::new(Config::default()), hb);
    assert_eq!(s.poll_timeout(), Some(t0() + Duration::from_secs(10)));
    s.handle_timeout(t0() + Duration::from_secs(10));
    let ping = take_output(&mut s);
    assert_eq!(ping, [0x89, 0x00]);
    // The peer answers: the next ping is due an interval later.
    c.recv(&ping);
    drain(&mut c);
    pump(&mut c, &mut s);
    s.handle_timeout(t0() + Duration::from_secs(11));
    drain(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0() + Duration::from_secs(21)));
    // Then it goes silent.
    s.handle_timeout(t0() + Duration::from_secs(21));
    assert_eq!(take_output(&mut s), [0x89, 0x00]);
    s.handle_timeout(t0() + Duration::from_secs(26));
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert_eq!(close_code_sent(&take_output(&mut s)), Some(1001));
    assert!(s.is_closed());
}

#[test]
fn an_unanswered_close_times_out() {
    let (_c, mut s) = pair_with(
        Arc::new(Config::default()),
        cfg(|c| c.close_timeout = Duration::from_secs(3)),
    );
    s.close(t0(), CloseCode::NORMAL, "").unwrap();
    take_output(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0() + Duration::from_secs(3)));
    s.handle_timeout(t0() + Duration::from_secs(3));
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert!(s.is_closed());
}

#[test]
fn backpressure_refuses_sends_and_pauses_input_until_drained() {
    let (mut c, mut s) = pair_with(
        Arc::new(Config::default()),
        cfg(|c| c.max_output_buffer = 1000),
    );
    s.send_binary(&[0; 1500]).unwrap();
    assert_eq!(s.send_binary(b"more"), Err(UsageError::BufferFull));
    assert!(!s.wants_read());
    c.send_text("queued behind the backlog").unwrap();
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), vec![], "no events while output is backed up");
    let n = s.pending_output().len();
    s.consume_output(n);
    assert_eq!(
        drain(&mut s),
        vec![Ev::Writable, Ev::Text("queued behind the backlog".into())]
    );
    assert!(s.wants_read());
}

#[test]
fn prepared_messages_go_out_as_encoded_or_remasked() {
    let (mut c, mut s) = pair();
    let msg = PreparedMessage::text("tick", 2);
    s.send_prepared(&msg).unwrap();
    assert_eq!(s.pending_output(), msg.as_bytes());
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), vec![Ev::Text("tick".into())]);
    c.send_prepared(&msg).unwrap();
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), vec![Ev::Text("tick".into())]);
}

#[test]
fn usage_errors_leave_the_connection_untouched() {
    let (_c, mut s) = pair();
    assert_eq!(
        s.send_ping(&[0; 126]),
        Err(UsageError::ControlPayloadTooLong)
    );
    assert_eq!(
        s.close(t0(), CloseCode(1005), ""),
        Err(UsageError::InvalidCloseCode(1005))
    );
    assert_eq!(
        s.close(t0(), CloseCode::NORMAL, &"x".repeat(124)),
        Err(UsageError::CloseReasonTooLong)
    );
    assert!(s.is_open());
    let mut fresh = Connection::server(Arc::new(Config::default()), t0());
    assert_eq!(fresh.send_text("x"), Err(UsageError::NotOpen));
}

#[test]
fn a_client_stops_waiting_for_the_servers_tcp_close_after_the_timeout() {
    let (mut c, mut s) = pair_with(
        cfg(|c| c.close_timeout = Duration::from_secs(2)),
        Arc::new(Config::default()),
    );
    s.close(t0(), CloseCode::NORMAL, "").unwrap();
    pump(&mut s, &mut c);
    assert_eq!(
        drain(&mut c),
        vec![
            Ev::CloseReceived(Some(1000), String::new()),
            Ev::Closed(1000, true)
        ]
    );
    take_output(&mut c);
    assert!(!c.is_closed(), "waits for the server to close TCP (§7.1.1)");
    c.handle_timeout(t0() + Duration::from_secs(2));
    assert!(c.is_closed());
}

#[test]
fn nothing_is_sent_after_our_close() {
    let (_c, mut s) = pair();
    s.close(t0(), CloseCode::NORMAL, "").unwrap();
    assert_eq!(s.send_binary(b"x"), Err(UsageError::Closed));
    assert_eq!(s.send_ping(b"x"), Err(UsageError::Closed));
    assert_eq!(
        s.close(t0(), CloseCode::NORMAL, ""),
        Err(UsageError::Closed)
    );
    // A ping from the peer after our close is reported but not answered.
    s.recv(&client_frame(true, OpCode::Ping, b"late"));
    assert_eq!(drain(&mut s), vec![Ev::Ping(b"late".to_vec())]);
    let out = take_output(&mut s);
    assert_eq!(
        out,
        [0x88, 0x02, 0x03, 0xe8],
        "only our close frame goes out"
    );
}

/// A server that decides late (a slow `on_request`): heartbeats count from
/// the instant `accept` was given, not from the last `handle_timeout`.
#[test]
fn heartbeats_count_from_the_instant_of_accept() {
    let hb = cfg(|c| c.ping_interval = Some(Duration::from_secs(10)));
    let mut s = Connection::server(hb, t0());
    s.recv(REQUEST);
    assert_eq!(drain(&mut s), vec![Ev::Request("/chat".into())]);
    let later = t0() + Duration::from_secs(4);
    s.accept(later, None, &[]).unwrap();
    take_output(&mut s);
    assert_eq!(s.poll_timeout(), Some(later + Duration::from_secs(10)));
}

/// EOF after a quiet spell: the linger that bounds flushing what is queued
/// starts at the EOF, not at the last instant the core was given.
#[test]
fn the_linger_after_eof_starts_at_the_eof() {
    let (_c, mut s) = pair_with(
        Arc::new(Config::default()),
        cfg(|c| c.close_timeout = Duration::from_secs(3)),
    );
    s.send_text("still queued").unwrap();
    let eof = t0() + Duration::from_secs(60);
    s.recv_eof(eof);
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert!(!s.is_closed(), "the queued message still goes out");
    assert_eq!(s.poll_timeout(), Some(eof + Duration::from_secs(3)));
    s.handle_timeout(eof + Duration::from_secs(1));
    assert!(!s.is_closed());
    take_output(&mut s);
    assert!(s.is_closed(), "closed once the last byte is written");
    assert_eq!(s.poll_timeout(), None);
}

/// The linger gives up on output the peer does not take.
#[test]
fn the_linger_gives_up_on_unwritten_output() {
    let (_c, mut s) = pair_with(
        Arc::new(Config::default()),
        cfg(|c| c.close_timeout = Duration::from_secs(3)),
    );
    s.send_text("never taken").unwrap();
    s.recv_eof(t0());
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    s.handle_timeout(t0() + Duration::from_secs(3));
    assert!(s.is_closed());
    assert!(s.wants_write(), "the bytes are still there, but abandoned");
    assert_eq!(s.poll_timeout(), None);
}
