//! Autobahn 9.x — limits and performance, scaled down for a debug build:
//! large messages whole (up to 4 MiB), fragmented at many sizes, chopped
//! into small writes, many small round trips; one 16 MiB message to show
//! the default limit (§10.4 "implementation-specific limits") lets
//! Autobahn's largest case through; and messages over a configured limit
//! failing with 1009 (§7.4.1 "a message that is too big for it to
//! process") as soon as a header shows the limit is crossed.

use ws6455::Config;
use ws6455_test_support::conformance;
use ws6455_test_support::conformance::*;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// `len` bytes repeating `block`, built by copying (tests run unoptimised).
fn repeat(block: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + block.len());
    while out.len() < len {
        out.extend_from_slice(block);
    }
    out.truncate(len);
    out
}

/// Autobahn's text filler: ASCII, so any split is valid UTF-8.
fn text_of(len: usize) -> Vec<u8> {
    repeat(b"BAsd7&jh23", len)
}

/// Every byte value, in a period (4093, prime) that no fragment or chop
/// size divides.
fn binary_of(len: usize) -> Vec<u8> {
    let block: Vec<u8> = (0..4093u32).map(|i| (i * 7 + (i >> 8)) as u8).collect();
    repeat(&block, len)
}

fn payload(opcode: u8, len: usize) -> Vec<u8> {
    if opcode == TEXT {
        text_of(len)
    } else {
        binary_of(len)
    }
}

fn echo(opcode: u8, data: &[u8]) -> Ev {
    if opcode == TEXT {
        Ev::text(data)
    } else {
        Ev::binary(data)
    }
}

/// 9.1.1–9.1.4 / 9.2.1–9.2.4: 64 KiB to 4 MiB in one frame.
fn whole(role: Role, opcode: u8) {
    let mut testee = Testee::new(role, Config::default());
    for len in [64 * KIB, 256 * KIB, MIB, 4 * MIB] {
        testee.session(&format!("{len} bytes"), |p| {
            let data = payload(opcode, len);
            let frame = p.frame(true, 0, opcode, &data);
            p.send(&frame);
            p.expect(echo(opcode, &data));
            End::Open
        });
    }
}

fn case_9_1_text_up_to_4_mib(role: Role) {
    whole(role, TEXT);
}

fn case_9_2_binary_up_to_4_mib(role: Role) {
    whole(role, BINARY);
}

/// 9.3.x / 9.4.x: a message in fragments of 64 B … 1 MiB (1 MiB instead
/// of 4 MiB, to stay quick in a debug build; 4 MiB whole is in 9.1/9.2).
fn fragmented(role: Role, opcode: u8) {
    let mut testee = Testee::new(role, Config::default());
    let sizes = [64, 256, KIB, 4 * KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB];
    for size in sizes {
        testee.session(&format!("1 MiB in {size}-byte fragments"), |p| {
            let data = payload(opcode, MIB);
            let frames = p.fragmented(opcode, &data, size);
            p.send(&frames);
            p.expect(echo(opcode, &data));
            End::Open
        });
    }
}

fn case_9_3_fragmented_text(role: Role) {
    fragmented(role, TEXT);
}

fn case_9_4_fragmented_binary(role: Role) {
    fragmented(role, BINARY);
}

/// 9.5.x / 9.6.x: one frame written in chops of 64 … 2048 octets
/// (256 KiB instead of 1 MiB).
fn chopped(role: Role, opcode: u8) {
    let mut testee = Testee::new(role, Config::default());
    for chop in [64, 128, 256, 512, 1024, 2048] {
        testee.session(&format!("chops of {chop}"), |p| {
            let data = payload(opcode, 256 * KIB);
            let frame = p.frame(true, 0, opcode, &data);
            p.send_chops(&frame, chop);
            p.expect(echo(opcode, &data));
            End::Open
        });
    }
}

fn case_9_5_text_chopped(role: Role) {
    chopped(role, TEXT);
}

fn case_9_6_binary_chopped(role: Role) {
    chopped(role, BINARY);
}

/// 9.7.x / 9.8.x: round trips of small messages, one at a time (200 per
/// size instead of 1000).
fn round_trips(role: Role, opcode: u8) {
    run(role, |p| {
        for len in [0, 16, 64, 256, 1024, 4096] {
            let data = payload(opcode, len);
            for _ in 0..200 {
                let frame = p.frame(true, 0, opcode, &data);
                p.send(&frame);
                p.expect(echo(opcode, &data));
            }
        }
        End::Open
    });
}

fn case_9_7_text_round_trips(role: Role) {
    round_trips(role, TEXT);
}

fn case_9_8_binary_round_trips(role: Role) {
    round_trips(role, BINARY);
}

/// 9.1.6 / 9.2.6: 16 MiB, the largest Autobahn message, passes the
/// default limits (`max_message_size` = `max_frame_size` = 16 MiB).
fn case_9_x_16_mib_passes_the_default_limit(role: Role) {
    run(role, |p| {
        let data = binary_of(16 * MIB);
        let frame = p.binary(&data);
        p.send(&frame);
        p.expect(Ev::binary(&data));
        End::Open
    });
}

/// One byte over the default limit fails with 1009 from the header alone
/// (no payload is ever sent): a single frame, and a fragmented message
/// whose second header crosses it.
fn case_9_x_one_byte_over_the_default_limit_fails_at_header(role: Role) {
    run(role, |p| {
        let (header, _) = p.header(true, BINARY, 16 * MIB as u64 + 1);
        p.send(&header);
        p.assert_failed(1009);
        End::Failed
    });
    run(role, |p| {
        let first = p.frame(false, 0, BINARY, [1, 2, 3]);
        let (second, _) = p.header(true, CONT, 16 * MIB as u64 - 2);
        p.send_all(&[first, second]);
        p.assert_failed(1009);
        End::Failed
    });
}

/// A 64 KiB limit on messages and frames.
fn small_limit() -> Config {
    {
        let mut config = Config::default();
        config.max_message_size = 64 * KIB as u64;
        config.max_frame_size = 64 * KIB as u64;
        config
    }
}

/// With a configured 64 KiB limit: exactly 64 KiB passes, whole or in two
/// fragments; one byte more fails with 1009 — at the header, before the
/// payload — for a single frame and for a fragmented message (the third
/// header crosses the limit).
fn case_9_x_configured_limit(role: Role) {
    let mut testee = Testee::new(role, small_limit());
    testee.session("64 KiB whole", |p| {
        let data = text_of(64 * KIB);
        let frame = p.text(&data);
        p.send(&frame);
        p.expect(Ev::text(&data));
        End::Open
    });
    testee.session("64 KiB in two fragments", |p| {
        let data = binary_of(64 * KIB);
        let frames = p.fragmented(BINARY, &data, 32 * KIB);
        p.send(&frames);
        p.expect(Ev::binary(&data));
        End::Open
    });
    testee.session("64 KiB + 1 whole", |p| {
        let (header, _) = p.header(true, TEXT, 64 * KIB as u64 + 1);
        p.send(&header);
        p.assert_failed(1009);
        End::Failed
    });
    testee.session("64 KiB + 1 in three fragments", |p| {
        let a = p.frame(false, 0, BINARY, binary_of(32 * KIB));
        let b = p.frame(false, 0, CONT, binary_of(32 * KIB));
        let (c, _) = p.header(true, CONT, 1);
        p.send_all(&[a, b, c]);
        p.assert_failed(1009);
        End::Failed
    });
    testee.session("64 KiB + 1 with pings between", |p| {
        // The limit counts data, not control frames in between.
        let a = p.frame(false, 0, TEXT, text_of(64 * KIB));
        let ping = p.ping("still here");
        let b = p.frame(true, 0, CONT, "x");
        p.send_all(&[a, ping, b]);
        p.assert_end(&[Ev::pong("still here"), Ev::close(1009)]);
        End::Failed
    });
}

conformance!(
    [server, client, blocking]
    [
        case_9_1_text_up_to_4_mib,
        case_9_2_binary_up_to_4_mib,
        case_9_3_fragmented_text,
        case_9_4_fragmented_binary,
        case_9_5_text_chopped,
        case_9_6_binary_chopped,
        case_9_7_text_round_trips,
        case_9_8_binary_round_trips,
        case_9_x_one_byte_over_the_default_limit_fails_at_header,
        case_9_x_configured_limit,
    ]
);

/// 16 MiB costs seconds of unoptimised copying per role: the server, the
/// event-loop client and the binary (below) show the default limit.
mod sixteen_mib {
    use super::*;

    #[test]
    fn server() {
        case_9_x_16_mib_passes_the_default_limit(Role::Server);
    }

    #[test]
    fn client() {
        case_9_x_16_mib_passes_the_default_limit(Role::Client(ClientKind::EventLoop));
    }
}

conformance!(
    [cli]
    [
        case_9_x_16_mib_passes_the_default_limit,
        case_9_x_one_byte_over_the_default_limit_fails_at_header,
    ]
);
