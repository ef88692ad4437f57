//! Autobahn 10.x — auto-fragmentation (RFC 6455 §5.4: "An intermediary
//! MAY change the fragmentation of a message"; a receiver must not care).
//! A message arriving in 1300-byte fragments is echoed whole; and ws6455's
//! own sending splits every message longer than `Config::fragment_size`
//! into frames of exactly that size (so control frames can pass between
//! them), a client masking each with a fresh key (§5.3).

use std::collections::HashSet;
use std::time::Duration;

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;
use ws6455_test_support::peer::FrameInfo;

fn text_of(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 10);
    while out.len() < len {
        out.extend_from_slice(b"BAsd7&jh23");
    }
    out.truncate(len);
    out
}

/// The frames that carried the last message: everything since `before`.
fn frames_since(p: &CheckedPeer, before: usize) -> Vec<FrameInfo> {
    p.frames[before..].to_vec()
}

/// The frames a message of `len` bytes must be sent as with
/// `fragment_size`: first with the message's opcode, the rest
/// continuations, FIN on the last only, every one `fragment_size` long but
/// the last.
#[track_caller]
fn assert_split(frames: &[FrameInfo], opcode: u8, len: usize, fragment_size: usize) {
    let count = len.div_ceil(fragment_size).max(1);
    assert_eq!(frames.len(), count, "frame count for {len} bytes");
    for (i, f) in frames.iter().enumerate() {
        let last = i == count - 1;
        assert_eq!(f.opcode, if i == 0 { opcode } else { CONT }, "frame {i}");
        assert_eq!(f.fin, last, "FIN of frame {i}");
        let expected = if last {
            len - i * fragment_size
        } else {
            fragment_size
        };
        assert_eq!(f.len, expected, "length of frame {i}");
    }
    // §5.3: "a fresh masking key for each frame": a client's keys differ
    // (a CSPRNG repeating a 32-bit key among a few hundred is ~1e-5).
    let keys: Vec<_> = frames.iter().filter_map(|f| f.key).collect();
    if !keys.is_empty() {
        assert_eq!(keys.len(), frames.len(), "every client frame masked");
        let distinct: HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len(), "a fresh key per frame");
    }
}

/// 10.1.1: 65536 bytes of text sent as 1300-byte fragments (50 full and
/// one of 536) come back as the same message — in one frame, since the
/// testee's default `fragment_size` is 64 KiB.
fn case_10_1_1_fragmented_65536_echoed_whole(role: Role) {
    run(role, |p| {
        let data = text_of(65536);
        let frames = p.fragmented(TEXT, &data, 1300);
        p.send(&frames);
        let before = p.frames.len();
        p.expect(Ev::text(&data));
        assert_split(&frames_since(p, before), TEXT, 65536, 65536);
        End::Open
    });
}

/// The testee's own sending with `fragment_size` = 1300: the 10.1.1
/// message goes out as 51 frames (50 × 1300 + 536), and the sizes around
/// the boundary split as they must: 0, 1299, 1300 in one frame; 1301 and
/// 2600 in two; 2601 in three.
fn case_10_x_own_sending_splits_at_fragment_size(role: Role) {
    let config = {
        let mut config = Config::default();
        config.fragment_size = 1300;
        config
    };
    run_with(role, config, |p| {
        for (opcode, len) in [
            (TEXT, 65536),
            (BINARY, 0),
            (TEXT, 1299),
            (BINARY, 1300),
            (TEXT, 1301),
            (BINARY, 2600),
            (TEXT, 2601),
        ] {
            let data = text_of(len);
            let frame = p.frame(true, 0, opcode, &data);
            p.send(&frame);
            let before = p.frames.len();
            let echo = if opcode == TEXT {
                Ev::text(&data)
            } else {
                Ev::binary(&data)
            };
            p.expect(echo);
            assert_split(&frames_since(p, before), opcode, len, 1300);
        }
        End::Open
    });
}

/// With the default `fragment_size` (64 KiB): a 256 KiB + 1 message goes
/// out as four full frames and one of a single byte.
fn case_10_x_default_fragment_size(role: Role) {
    run(role, |p| {
        let len = 256 * 1024 + 1;
        let data = text_of(len);
        let frame = p.binary(&data);
        p.send(&frame);
        let before = p.frames.len();
        p.expect(Ev::binary(&data));
        assert_split(&frames_since(p, before), BINARY, len, 64 * 1024);
        End::Open
    });
}

/// A configuration whose only deadlines are far away: no heartbeat, a
/// handshake timeout longer than [`MUST`]. Anything the testee sends must
/// then be sent because of the bytes it got, not because a timer happened
/// to wake its loop.
fn no_timers(fragment_size: usize) -> Config {
    {
        let mut config = Config::default();
        config.fragment_size = fragment_size;
        config.ping_interval = None;
        config.handshake_timeout = Duration::from_secs(60);
        config
    }
}

/// Not an Autobahn case: a ping right behind a message whose echo (1 MiB
/// in 512-byte frames, so more than `max_output_buffer` with headers)
/// pauses the testee's input, and a small message behind the ping. Once
/// the echo has drained, the held input must be answered: the pong (at a
/// frame boundary of the echo or after it) and the small echo — without
/// waiting for another socket event or a timer.
fn case_10_x_input_held_by_backpressure_is_answered(role: Role) {
    run_with(role, no_timers(512), |p| {
        let data = text_of(1 << 20);
        let frames = [p.text(&data), p.ping("between"), p.text("after")];
        p.send_all(&frames);
        let mut got = vec![];
        for _ in 0..3 {
            match p.next(MUST) {
                Next::Ev(ev) => got.push(ev),
                other => panic!("expected echoes and the pong, got {got:?} then {other:?}"),
            }
        }
        let big = Ev::text(&data);
        let pong = Ev::pong("between");
        let after = Ev::text("after");
        assert!(
            got == [big.clone(), pong.clone(), after.clone()] || got == [pong, big, after],
            "{got:?}"
        );
        End::Open
    });
}

conformance!(
    [server, client, blocking]
    [
        case_10_1_1_fragmented_65536_echoed_whole,
        case_10_x_own_sending_splits_at_fragment_size,
        case_10_x_default_fragment_size,
        case_10_x_input_held_by_backpressure_is_answered,
    ]
);

conformance!([cli] [case_10_1_1_fragmented_65536_echoed_whole, case_10_x_default_fragment_size]);
