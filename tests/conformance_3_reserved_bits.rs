//! Autobahn 3.x — reserved bits (RFC 6455 §5.2: RSV1–3 "MUST be 0 unless
//! an extension is negotiated that defines meanings for non-zero values";
//! no extension is ever negotiated here). A frame with any RSV bit fails
//! the connection with 1002 at once: what came before is answered, what
//! comes after (a ping) is not.

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

const HELLO: &str = "Hello, world!";

/// 3.1: a small text message with RSV = 1.
fn case_3_1_text_rsv_1(role: Role) {
    run(role, |p| {
        let frame = p.frame(true, 1, TEXT, HELLO);
        p.send(&frame);
        p.assert_failed(1002);
        End::Failed
    });
}

/// How the three frames of 3.2–3.4 are written.
#[derive(Clone, Copy)]
enum Chops {
    OneWrite,
    PerFrame,
    Octets,
}

/// A good text message, the same with `rsv`, then a ping: the first is
/// echoed, the second fails the connection, the ping gets no pong.
fn echo_then_rsv_then_ping(role: Role, rsv: u8, chops: Chops) {
    run(role, |p| {
        let frames = [
            p.text(HELLO),
            p.frame(true, rsv, TEXT, HELLO),
            p.ping(HELLO),
        ];
        match chops {
            Chops::OneWrite => p.send_all(&frames),
            Chops::PerFrame => p.send_frames(&frames),
            Chops::Octets => p.send_octets(&frames.concat()),
        }
        p.assert_end(&[Ev::text(HELLO), Ev::close(1002)]);
        End::Failed
    });
}

/// 3.2: RSV = 2, everything in one write.
fn case_3_2_rsv_2_after_a_good_message(role: Role) {
    echo_then_rsv_then_ping(role, 2, Chops::OneWrite);
}

/// 3.3: RSV = 3, written frame by frame …
fn case_3_3_rsv_3_per_frame_writes(role: Role) {
    echo_then_rsv_then_ping(role, 3, Chops::PerFrame);
}

/// … and octet by octet (the catalog names both chop styles).
fn case_3_3_rsv_3_octet_wise(role: Role) {
    echo_then_rsv_then_ping(role, 3, Chops::Octets);
}

/// 3.4: RSV = 4, octet by octet.
fn case_3_4_rsv_4_octet_wise(role: Role) {
    echo_then_rsv_then_ping(role, 4, Chops::Octets);
}

/// 3.5: a small binary message with RSV = 5.
fn case_3_5_binary_rsv_5(role: Role) {
    run(role, |p| {
        let frame = p.frame(
            true,
            5,
            BINARY,
            [0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff],
        );
        p.send(&frame);
        p.assert_failed(1002);
        End::Failed
    });
}

/// 3.6: a ping with RSV = 6: failed, not answered.
fn case_3_6_ping_rsv_6(role: Role) {
    run(role, |p| {
        let frame = p.frame(true, 6, PING, HELLO);
        p.send(&frame);
        p.assert_failed(1002);
        End::Failed
    });
}

/// 3.7: a close with RSV = 7: failed with 1002, not a normal close echo.
fn case_3_7_close_rsv_7(role: Role) {
    run(role, |p| {
        let frame = p.frame(true, 7, CLOSE, 1000u16.to_be_bytes());
        p.send(&frame);
        p.assert_failed(1002);
        End::Failed
    });
}

/// Not an Autobahn case: every RSV combination on every frame type
/// (including a continuation inside a fragmented message), and the failure
/// comes from the first header byte alone — only that octet is sent.
fn case_3_x_every_rsv_on_every_frame_type(role: Role) {
    let mut testee = Testee::new(role, Config::default());
    for rsv in 1..=7u8 {
        for opcode in [TEXT, BINARY, CONT, PING, PONG, CLOSE] {
            testee.session(&format!("rsv {rsv} opcode {opcode}"), |p| {
                if opcode == CONT {
                    let first = p.frame(false, 0, TEXT, "frag");
                    p.send(&first);
                }
                let frame = p.frame(true, rsv, opcode, [0x41; 2]);
                p.send(&frame[..1]);
                p.assert_failed(1002);
                End::Failed
            });
        }
    }
}

conformance!(
    [server, client, blocking]
    [
        case_3_1_text_rsv_1,
        case_3_2_rsv_2_after_a_good_message,
        case_3_3_rsv_3_per_frame_writes,
        case_3_3_rsv_3_octet_wise,
        case_3_4_rsv_4_octet_wise,
        case_3_5_binary_rsv_5,
        case_3_6_ping_rsv_6,
        case_3_7_close_rsv_7,
        case_3_x_every_rsv_on_every_frame_type,
    ]
);

conformance!([cli] [case_3_2_rsv_2_after_a_good_message, case_3_4_rsv_4_octet_wise]);
