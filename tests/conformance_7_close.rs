//! Autobahn 7.x — the closing handshake (RFC 6455 §5.5.1, §7). A close is
//! answered with a close echoing the code (§5.5.1), nothing is sent or
//! answered after it, and the server closes TCP first (§7.1.1) while a
//! client waits for that. Malformed close frames (one-byte payload, over
//! 125 bytes, a reason that is not UTF-8, a code that may not be sent)
//! fail the connection.

use std::time::Duration;

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

const HELLO: &str = "Hello World!";

/// Send `frames` in one write; the testee must send one of `accepted`
/// and close TCP — with an orderly FIN when nothing followed the close
/// frame (`nothing_after`), since then nothing is left unread.
#[track_caller]
fn expect_one_of(
    p: &mut CheckedPeer,
    frames: &[Vec<u8>],
    accepted: &[&[Ev]],
    nothing_after: bool,
) -> Vec<Ev> {
    p.send_all(frames);
    let outcome = p.finish();
    assert!(
        accepted.iter().any(|a| outcome.events == *a),
        "[{}] got {:?}, accepted {accepted:?}",
        p.label,
        outcome.events
    );
    assert!(outcome.tcp_closed(), "[{}] TCP: {:?}", p.label, outcome.tcp);
    if nothing_after {
        assert_eq!(outcome.tcp, Some(TcpEnd::Eof), "[{}]", p.label);
    }
    outcome.events
}

/// What a ws6455 client must report for a case with several accepted
/// failure outcomes: a protocol error if it sent a close, nothing to check
/// if it dropped the connection.
fn failure_end(events: &[Ev]) -> End {
    match events {
        [Ev::Close(Some(_))] => End::Failed,
        _ => End::Any,
    }
}

/// 7.1.1: a message, then a close: the echo, then the close echo.
fn case_7_1_1_message_then_close(role: Role) {
    run(role, |p| {
        let frames = [p.text(HELLO), p.close(1000)];
        expect_one_of(p, &frames, &[&[Ev::text(HELLO), Ev::close(1000)]], true);
        End::Closed(1000)
    });
}

/// 7.1.2–7.1.5: after a close, nothing more is read: a second close, a
/// ping (no pong), a text message (no echo), the rest of a fragmented
/// message (never echoed).
fn case_7_1_2_to_7_1_5_nothing_after_close(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    type Build = fn(&mut CheckedPeer) -> Vec<Vec<u8>>;
    let cases: [(&str, Build); 4] = [
        ("7.1.2", |p| vec![p.close(1000), p.close(1000)]),
        ("7.1.3", |p| vec![p.close(1000), p.ping(HELLO)]),
        ("7.1.4", |p| vec![p.close(1000), p.text(HELLO)]),
        ("7.1.5", |p| {
            vec![
                p.frame(false, 0, TEXT, "fragment1"),
                p.close(1000),
                p.frame(true, 0, CONT, "fragment2"),
            ]
        }),
    ];
    for (label, build) in cases {
        testee.session(label, |p| {
            let frames = build(p);
            expect_one_of(p, &frames, &[&[Ev::close(1000)]], false);
            End::Closed(1000)
        });
    }
}

/// 7.1.6: a 256 KiB message, a small one, a close, a ping, back to back.
/// The catalog leaves the outcome to the implementation (an asynchronous
/// one may close before the large echo is written); ws6455 answers in
/// order and queues its close behind the echoes already queued (§5.5.1),
/// so both echoes come, then the close — and no pong.
fn case_7_1_6_large_message_then_close_then_ping(role: Role) {
    run(role, |p| {
        let big = "BAsd7&jh23".repeat(26 * 1024);
        let frames = [p.text(&big), p.text(HELLO), p.close(1000), p.ping("")];
        expect_one_of(
            p,
            &frames,
            &[&[Ev::text(&big), Ev::text(HELLO), Ev::close(1000)]],
            false,
        );
        End::Closed(1000)
    });
}

/// 7.3.1: a close without payload. The answer is a close without a code
/// (or with 1000: both are "normal"); a client reports 1005 (§7.1.5).
fn case_7_3_1_empty_close(role: Role) {
    run(role, |p| {
        let frame = p.frame(true, 0, CLOSE, []);
        expect_one_of(p, &[frame], &[&[Ev::Close(None)], &[Ev::close(1000)]], true);
        End::Closed(1005)
    });
}

/// 7.3.2: a one-byte close payload (§5.5.1: a body starts with a 2-byte
/// code): 1002 or a dropped connection.
fn case_7_3_2_one_byte_close(role: Role) {
    run(role, |p| {
        let frame = p.frame(true, 0, CLOSE, "a");
        let events = expect_one_of(p, &[frame], &[&[Ev::close(1002)], &[]], true);
        failure_end(&events)
    });
}

/// 7.3.3–7.3.5: a code alone, with a reason, with the longest reason
/// (123 bytes: 125 minus the code): each answered with 1000.
fn case_7_3_3_to_7_3_5_valid_close_payloads(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    for (label, reason) in [
        ("7.3.3", String::new()),
        ("7.3.4", HELLO.to_string()),
        ("7.3.5", "*".repeat(123)),
    ] {
        testee.session(label, |p| {
            let frame = p.frame(
                true,
                0,
                CLOSE,
                ws6455_test_support::wire::close_payload(1000, reason.as_bytes()),
            );
            expect_one_of(p, &[frame], &[&[Ev::close(1000)]], true);
            End::Closed(1000)
        });
    }
}

/// 7.3.6: a 124-byte reason makes a 126-byte control frame (§5.5): 1002
/// or a dropped connection.
fn case_7_3_6_close_reason_too_long(role: Role) {
    run(role, |p| {
        let payload = ws6455_test_support::wire::close_payload(1000, "*".repeat(124).as_bytes());
        let frame = p.frame(true, 0, CLOSE, payload);
        let events = expect_one_of(p, &[frame], &[&[Ev::close(1002)], &[]], true);
        failure_end(&events)
    });
}

/// 7.5.1: a close reason that is not UTF-8 (§5.5.1 "MUST be UTF-8"):
/// 1002, 1007 or a dropped connection.
fn case_7_5_1_close_reason_not_utf8(role: Role) {
    run(role, |p| {
        let reason = hex("cebae1bdb9cf83cebcceb5eda080656469746564");
        let frame = p.frame(
            true,
            0,
            CLOSE,
            ws6455_test_support::wire::close_payload(1000, &reason),
        );
        let events = expect_one_of(
            p,
            &[frame],
            &[&[Ev::close(1002)], &[Ev::close(1007)], &[]],
            true,
        );
        failure_end(&events)
    });
}

/// 7.7.1–7.7.13: every code that may be sent (§7.4.1, §7.4.2 ranges):
/// answered with the same code or 1000; a client reports the code.
fn case_7_7_x_valid_codes_echoed(role: Role) {
    let codes = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    let mut testee = Testee::new(role, Config::default());
    for (i, code) in codes.into_iter().enumerate() {
        testee.session(&format!("7.7.{} ({code})", i + 1), |p| {
            let frame = p.close(code);
            expect_one_of(p, &[frame], &[&[Ev::close(code)], &[Ev::close(1000)]], true);
            End::Closed(code)
        });
    }
}

/// 7.9.1–7.9.9: codes that may not be sent (§7.4.1: 1004–1006 reserved,
/// 0–999 unused, 1016–2999 for future RFCs): 1002 or a dropped connection.
fn case_7_9_x_invalid_codes_fail(role: Role) {
    let codes = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];
    let mut testee = Testee::new(role, Config::default());
    for (i, code) in codes.into_iter().enumerate() {
        testee.session(&format!("7.9.{} ({code})", i + 1), |p| {
            let frame = p.close(code);
            let events = expect_one_of(p, &[frame], &[&[Ev::close(1002)], &[]], true);
            failure_end(&events)
        });
    }
}

/// 7.13.1/7.13.2: codes 5000 and 65535 are outside every range §7.4
/// defines; the catalog leaves the outcome open, ws6455 treats them like
/// 7.9.x: 1002.
fn case_7_13_x_out_of_range_codes_fail(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    for (label, code) in [("7.13.1", 5000), ("7.13.2", 65535)] {
        testee.session(label, |p| {
            let frame = p.close(code);
            expect_one_of(p, &[frame], &[&[Ev::close(1002)]], true);
            End::Failed
        });
    }
}

conformance!(
    [server, client, blocking]
    [
        case_7_1_1_message_then_close,
        case_7_1_2_to_7_1_5_nothing_after_close,
        case_7_1_6_large_message_then_close_then_ping,
        case_7_3_1_empty_close,
        case_7_3_2_one_byte_close,
        case_7_3_3_to_7_3_5_valid_close_payloads,
        case_7_3_6_close_reason_too_long,
        case_7_5_1_close_reason_not_utf8,
        case_7_7_x_valid_codes_echoed,
        case_7_9_x_invalid_codes_fail,
        case_7_13_x_out_of_range_codes_fail,
    ]
);

conformance!(
    [cli]
    [
        case_7_1_1_message_then_close,
        case_7_7_x_valid_codes_echoed,
        case_7_9_x_invalid_codes_fail,
    ]
);

/// §7.1.1: after the closing handshake the *server* closes TCP; a client
/// waits for that instead of closing first. The ws6455 client, having
/// echoed our close, must keep TCP open until we close it, then finish
/// cleanly.
#[test]
fn client_waits_for_the_server_to_close_tcp() {
    for kind in [ClientKind::EventLoop, ClientKind::Blocking] {
        let raw = RawServer::bind();
        let client = EchoClient::spawn(kind, raw.url(), Config::default());
        let mut p = raw.accept(&[]);
        let close = p.close(1000);
        p.send(&close);
        p.expect(Ev::close(1000));
        // A client that closed TCP first would show EOF here (it cannot
        // show a false failure: a correct client sends nothing more).
        assert_eq!(p.next(Duration::from_millis(200)), Next::Timeout);
        assert!(
            !client.is_finished(),
            "{kind:?} client ended before the server closed TCP"
        );
        p.close_tcp();
        assert_eq!(p.next(MUST), Next::End(TcpEnd::Eof));
        drop(p);
        check_report("client waits", End::Closed(1000), &client.join());
    }
}

/// A server that starts the closing handshake itself (graceful shutdown:
/// 1001) waits for our close, then closes TCP first (§7.1.1).
#[test]
fn server_shutdown_closes_with_1001_then_closes_tcp() {
    let server = echo_server(Config::default());
    let mut p = connect(server.local_addr());
    let hello = p.text(HELLO);
    p.send(&hello);
    p.expect(Ev::text(HELLO));
    server.handle().shutdown();
    p.expect(Ev::close(1001));
    // §7.1.2: nothing after its close; our answer completes the handshake.
    let close = p.close(1001);
    p.send(&close);
    assert_eq!(p.next(MUST), Next::End(TcpEnd::Eof));
    drop(p);
    server.stop().unwrap();
}
