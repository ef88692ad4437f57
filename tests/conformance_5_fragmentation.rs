//! Autobahn 5.x — fragmentation (RFC 6455 §5.4): control frames are never
//! fragmented, may come between the fragments of a message and are
//! answered at once; a continuation needs a message to continue; a new
//! message cannot start inside one. Wrong orders fail the connection with
//! 1002.

use std::time::{Duration, Instant};

use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

const F1: &str = "fragment1";
const F2: &str = "fragment2";

/// How a case's frames are written.
#[derive(Clone, Copy, Debug)]
enum Chops {
    OneWrite,
    PerFrame,
    Octets,
}

fn send(p: &mut CheckedPeer, frames: &[Vec<u8>], chops: Chops) {
    match chops {
        Chops::OneWrite => p.send_all(frames),
        Chops::PerFrame => p.send_frames(frames),
        Chops::Octets => p.send_octets(&frames.concat()),
    }
}

/// 5.1/5.2: a control frame without FIN (§5.5 "Control frames MUST NOT be
/// fragmented"), then a continuation.
fn fragmented_control(role: Role, opcode: u8) {
    run(role, |p| {
        let frames = [p.frame(false, 0, opcode, F1), p.frame(true, 0, CONT, F2)];
        p.send_all(&frames);
        p.assert_failed(1002);
        End::Failed
    });
}

fn case_5_1_ping_in_two_fragments(role: Role) {
    fragmented_control(role, PING);
}

fn case_5_2_pong_in_two_fragments(role: Role) {
    fragmented_control(role, PONG);
}

/// 5.3–5.5: a text message in two fragments.
fn two_fragments(role: Role, chops: Chops) {
    run(role, |p| {
        let frames = [p.frame(false, 0, TEXT, F1), p.frame(true, 0, CONT, F2)];
        send(p, &frames, chops);
        p.expect(Ev::text("fragment1fragment2"));
        End::Open
    });
}

fn case_5_3_two_fragments(role: Role) {
    two_fragments(role, Chops::OneWrite);
}

fn case_5_4_two_fragments_per_frame(role: Role) {
    two_fragments(role, Chops::PerFrame);
}

fn case_5_5_two_fragments_octet_wise(role: Role) {
    two_fragments(role, Chops::Octets);
}

/// 5.6–5.8: a ping between the fragments is answered before the message
/// is complete, hence before its echo.
fn ping_between(role: Role, chops: Chops) {
    run(role, |p| {
        let frames = [
            p.frame(false, 0, TEXT, F1),
            p.ping("ping payload"),
            p.frame(true, 0, CONT, F2),
        ];
        send(p, &frames, chops);
        p.expect_all(&[Ev::pong("ping payload"), Ev::text("fragment1fragment2")]);
        End::Open
    });
}

fn case_5_6_ping_between_fragments(role: Role) {
    ping_between(role, Chops::OneWrite);
}

fn case_5_7_ping_between_fragments_per_frame(role: Role) {
    ping_between(role, Chops::PerFrame);
}

fn case_5_8_ping_between_fragments_octet_wise(role: Role) {
    ping_between(role, Chops::Octets);
}

/// 5.9–5.14: a continuation frame with nothing to continue (§5.4), FIN
/// set or not, then a text message: failed at the continuation.
fn continuation_first(role: Role, fin: bool, chops: Chops) {
    run(role, |p| {
        let frames = [
            p.frame(fin, 0, CONT, "non-continuation payload"),
            p.text("Hello, world!"),
        ];
        send(p, &frames, chops);
        p.assert_failed(1002);
        End::Failed
    });
}

fn case_5_9_continuation_fin_without_message(role: Role) {
    continuation_first(role, true, Chops::OneWrite);
}

fn case_5_10_continuation_fin_without_message_per_frame(role: Role) {
    continuation_first(role, true, Chops::PerFrame);
}

fn case_5_11_continuation_fin_without_message_octet_wise(role: Role) {
    continuation_first(role, true, Chops::Octets);
}

fn case_5_12_continuation_without_message(role: Role) {
    continuation_first(role, false, Chops::OneWrite);
}

fn case_5_13_continuation_without_message_per_frame(role: Role) {
    continuation_first(role, false, Chops::PerFrame);
}

fn case_5_14_continuation_without_message_octet_wise(role: Role) {
    continuation_first(role, false, Chops::Octets);
}

/// 5.15: a complete two-fragment message (echoed), then a continuation
/// with nothing to continue (failed), then a text message (ignored).
fn case_5_15_continuation_after_a_finished_message(role: Role) {
    run(role, |p| {
        let frames = [
            p.frame(false, 0, TEXT, F1),
            p.frame(true, 0, CONT, F2),
            p.frame(false, 0, CONT, "fragment3"),
            p.frame(true, 0, TEXT, "fragment4"),
        ];
        p.send_all(&frames);
        p.assert_end(&[Ev::text("fragment1fragment2"), Ev::close(1002)]);
        End::Failed
    });
}

/// 5.16/5.17: twice (continuation with nothing to continue, then a text
/// message in two fragments): failed at the very first frame.
fn stray_continuation_twice(role: Role, fin: bool) {
    run(role, |p| {
        let mut frames = Vec::new();
        for _ in 0..2 {
            frames.push(p.frame(fin, 0, CONT, F1));
            frames.push(p.frame(false, 0, TEXT, F2));
            frames.push(p.frame(true, 0, CONT, "fragment3"));
        }
        p.send_all(&frames);
        p.assert_failed(1002);
        End::Failed
    });
}

fn case_5_16_stray_continuation_twice(role: Role) {
    stray_continuation_twice(role, false);
}

fn case_5_17_stray_final_continuation_twice(role: Role) {
    stray_continuation_twice(role, true);
}

/// 5.18: the second fragment carries the text opcode instead of 0 (§5.4:
/// a new message cannot start inside one).
fn case_5_18_two_text_starts(role: Role) {
    run(role, |p| {
        let frames = [p.frame(false, 0, TEXT, F1), p.frame(true, 0, TEXT, F2)];
        p.send_all(&frames);
        p.assert_failed(1002);
        End::Failed
    });
}

/// 5.19/5.20: two fragments and a ping, a pause of one second, two more
/// fragments, another ping, the last fragment. The first pong must come
/// during the pause — before the rest of the message is even sent — and
/// nothing else may (the message is incomplete).
fn pause_in_message(role: Role, chops: Chops) {
    const PAUSE: Duration = Duration::from_secs(1);
    run(role, |p| {
        let first = [
            p.frame(false, 0, TEXT, F1),
            p.frame(false, 0, CONT, F2),
            p.ping("pongme 1!"),
        ];
        let rest = [
            p.frame(false, 0, CONT, "fragment3"),
            p.frame(false, 0, CONT, "fragment4"),
            p.ping("pongme 2!"),
            p.frame(true, 0, CONT, "fragment5"),
        ];
        let start = Instant::now();
        send(p, &first, chops);
        // Nothing more is sent until this pong arrives, so it cannot be
        // late: the last fragment is provably not there yet.
        p.expect(Ev::pong("pongme 1!"));
        // Sit out the rest of the pause mid-message; nothing may arrive.
        let left = PAUSE.saturating_sub(start.elapsed());
        assert_eq!(p.next(left), Next::Timeout, "nothing but the pong");
        send(p, &rest, chops);
        p.expect_all(&[
            Ev::pong("pongme 2!"),
            Ev::text("fragment1fragment2fragment3fragment4fragment5"),
        ]);
        End::Open
    });
}

fn case_5_19_ping_answered_mid_message_during_pause(role: Role) {
    pause_in_message(role, Chops::OneWrite);
}

fn case_5_20_same_with_per_frame_writes(role: Role) {
    pause_in_message(role, Chops::PerFrame);
}

/// Not an Autobahn case: a binary message in many fragments (some empty)
/// with a ping and an unsolicited pong between every two of them.
fn case_5_x_binary_fragments_with_control_frames_between(role: Role) {
    run(role, |p| {
        let pieces: [&[u8]; 6] = [b"\x00\x01", b"", b"\xfe\xff", b"\x80", b"", b"\x7f"];
        let mut frames = Vec::new();
        let mut expected = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            let opcode = if i == 0 { BINARY } else { CONT };
            frames.push(p.frame(i == pieces.len() - 1, 0, opcode, piece));
            if i < pieces.len() - 1 {
                let payload = format!("ping {i}");
                frames.push(p.ping(&payload));
                frames.push(p.pong("unsolicited"));
                expected.push(Ev::pong(payload));
            }
        }
        expected.push(Ev::binary(pieces.concat()));
        p.send_all(&frames);
        p.expect_all(&expected);
        End::Open
    });
}

/// Not an Autobahn case: a binary start inside a text message, and a text
/// start inside a binary message, are refused like 5.18.
fn case_5_x_other_kind_started_inside_a_message(role: Role) {
    for (first, second) in [(TEXT, BINARY), (BINARY, TEXT), (BINARY, BINARY)] {
        run(role, |p| {
            let frames = [p.frame(false, 0, first, F1), p.frame(true, 0, second, F2)];
            p.send_all(&frames);
            p.assert_failed(1002);
            End::Failed
        });
    }
}

/// Not an Autobahn case: after a fragmented message the next message of
/// either kind, fragmented or not, starts afresh.
fn case_5_x_messages_after_a_fragmented_one(role: Role) {
    run(role, |p| {
        let frames = [
            p.frame(false, 0, TEXT, F1),
            p.frame(true, 0, CONT, F2),
            p.text("single"),
            p.frame(false, 0, BINARY, "b1"),
            p.frame(true, 0, CONT, "b2"),
        ];
        p.send_all(&frames);
        p.expect_all(&[
            Ev::text("fragment1fragment2"),
            Ev::text("single"),
            Ev::binary("b1b2"),
        ]);
        End::Open
    });
}

conformance!(
    [server, client, blocking]
    [
        case_5_1_ping_in_two_fragments,
        case_5_2_pong_in_two_fragments,
        case_5_3_two_fragments,
        case_5_4_two_fragments_per_frame,
        case_5_5_two_fragments_octet_wise,
        case_5_6_ping_between_fragments,
        case_5_7_ping_between_fragments_per_frame,
        case_5_8_ping_between_fragments_octet_wise,
        case_5_9_continuation_fin_without_message,
        case_5_10_continuation_fin_without_message_per_frame,
        case_5_11_continuation_fin_without_message_octet_wise,
        case_5_12_continuation_without_message,
        case_5_13_continuation_without_message_per_frame,
        case_5_14_continuation_without_message_octet_wise,
        case_5_15_continuation_after_a_finished_message,
        case_5_16_stray_continuation_twice,
        case_5_17_stray_final_continuation_twice,
        case_5_18_two_text_starts,
        case_5_19_ping_answered_mid_message_during_pause,
        case_5_20_same_with_per_frame_writes,
        case_5_x_binary_fragments_with_control_frames_between,
        case_5_x_other_kind_started_inside_a_message,
        case_5_x_messages_after_a_fragmented_one,
    ]
);

conformance!([cli] [case_5_6_ping_between_fragments, case_5_15_continuation_after_a_finished_message]);
