//! Writes the seed corpora under `fuzz/corpus/<target>/`:
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! Seeds come from RFC 6455 itself — the §1.2/§1.3 handshake, the §5.7
//! example frames — and from conversations like those of
//! `tests/core_conversations.rs`: every size class, fragmentation with
//! interleaved control frames, both close directions, and typical
//! failures. Deterministic: running it twice writes the same files.

use std::fs;
use std::path::{Path, PathBuf};

use ws6455_fuzz::conn::{client_accept_response, Input};
use ws6455_fuzz::vectored::{self, Cut, Deflate, Fragment, Op, Setup, Write};
use ws6455_fuzz::{RFC_MASK, RFC_REQUEST, RFC_RESPONSE};
use ws6455_proto::encode::push_frame;
use ws6455_proto::OpCode;

/// §5.7 examples, unmasked (server → client).
const RFC_FRAMES: &[(&str, &[u8])] = &[
    ("text-hello", &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
    (
        "fragmented-hello",
        &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f],
    ),
    ("ping-hello", &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]),
];

/// §5.7 examples, masked (client → server).
const RFC_MASKED: &[(&str, &[u8])] = &[
    (
        "masked-text-hello",
        &[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
    ),
    (
        "masked-pong-hello",
        &[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ],
    ),
];

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    fs::write(corpus(target).join(name), bytes).unwrap();
}

/// A frame as `role` writes it: masked with the §5.7 key for a client.
fn frame(masked: bool, fin: bool, opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_frame(&mut out, fin, opcode, payload, masked.then_some(RFC_MASK));
    out
}

/// Peer conversations: what a client sends a server (`masked`) or a server
/// sends a client.
fn conversations(masked: bool) -> Vec<(&'static str, Vec<u8>)> {
    let f = |fin, op, payload: &[u8]| frame(masked, fin, op, payload);
    let close = |code: u16, reason: &str| {
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice(reason.as_bytes());
        f(true, OpCode::Close, &p)
    };
    let mut out: Vec<(&str, Vec<u8>)> = vec![
        (
            "echo-close",
            [f(true, OpCode::Text, b"Hello"), close(1000, "bye")].concat(),
        ),
        (
            "sizes",
            [
                f(true, OpCode::Binary, &[]),
                f(true, OpCode::Binary, &[7; 125]),
                f(true, OpCode::Binary, &[8; 126]),
                f(true, OpCode::Text, "κόσμε".repeat(60).as_bytes()),
            ]
            .concat(),
        ),
        (
            "fragments-with-ping",
            [
                f(false, OpCode::Text, "κό".as_bytes()),
                f(true, OpCode::Ping, b"p"),
                f(false, OpCode::Continuation, &"σμε".as_bytes()[..3]),
                f(true, OpCode::Continuation, &"σμε".as_bytes()[3..]),
                f(true, OpCode::Pong, b"unsolicited"),
            ]
            .concat(),
        ),
        ("close-empty", f(true, OpCode::Close, &[])),
        ("close-bad-code", close(1005, "")),
        (
            "bad-utf8",
            f(
                true,
                OpCode::Text,
                &[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xed, 0xa0, 0x80, 0x65],
            ),
        ),
        ("bad-continuation", f(true, OpCode::Continuation, b"x")),
        ("fragmented-ping", {
            let mut p = f(true, OpCode::Ping, b"x");
            p[0] &= 0x7f;
            p
        }),
        ("rsv-bits", {
            let mut p = f(true, OpCode::Text, b"x");
            p[0] |= 0x40;
            p
        }),
        ("reserved-opcode", {
            let mut p = f(true, OpCode::Binary, b"x");
            p[0] = 0x83;
            p
        }),
        ("long-message", f(true, OpCode::Binary, &vec![0x5a; 20_000])),
    ];
    // The wrong masking for the role: §5.1.
    out.push(("wrong-mask", frame(!masked, true, OpCode::Text, b"x")));
    out
}

fn handshake_request_seeds() {
    const SPLIT: u8 = 0x80;
    const ROOMY: u8 = 0xff;
    let requests: &[(&str, &[u8])] = &[
        ("rfc-1-2", RFC_REQUEST),
        ("plain-get", b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        ("absolute-uri", b"GET http://example.com/chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEC==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b, c\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"),
        ("version-8", b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"),
        ("post", b"POST /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ("short-key", b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n"),
        ("with-frames", &[RFC_REQUEST, &[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]].concat()),
    ];
    for (name, request) in requests {
        write(
            "handshake_request",
            name,
            &[&[SPLIT, ROOMY][..], request].concat(),
        );
    }
    write(
        "handshake_request",
        "tiny-limit",
        &[&[0x40, 0x02][..], RFC_REQUEST].concat(),
    );
}

fn handshake_response_seeds() {
    let responses: &[(&str, &[u8])] = &[
        ("rfc-1-3", RFC_RESPONSE),
        ("no-protocol", b"HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nconnection: upgrade\r\nsec-websocket-accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= \r\n\r\n"),
        ("wrong-accept", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"),
        ("not-101", b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        ("with-frame", &[RFC_RESPONSE, &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]].concat()),
    ];
    for (name, response) in responses {
        write(
            "handshake_response",
            name,
            &[&[0x80, 0xff][..], response].concat(),
        );
    }
}

fn frame_header_seeds() {
    for (name, bytes) in RFC_FRAMES.iter().chain(RFC_MASKED) {
        write("frame_header", name, bytes);
    }
    let others: &[(&str, &[u8])] = &[
        ("len-256", &[0x82, 0x7e, 0x01, 0x00]),
        ("len-65536", &[0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0, 0]),
        (
            "masked-len-64",
            &[0x82, 0xff, 0, 0, 0, 0, 0, 0x01, 0, 0, 1, 2, 3, 4],
        ),
        ("non-minimal-16", &[0x82, 0x7e, 0x00, 0x05]),
        (
            "non-minimal-64",
            &[0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4],
        ),
        ("top-bit", &[0x82, 0x7f, 0x80]),
        ("long-ping", &[0x89, 0x7e]),
        ("close-rsv", &[0xf8, 0x00]),
    ];
    for (name, bytes) in others {
        write("frame_header", name, bytes);
    }
}

fn mask_seeds() {
    // key, offset (8 bytes), start, split (2 bytes), then the data.
    let head = |offset: u64, start: u8| {
        let mut v = RFC_MASK.to_vec();
        v.extend_from_slice(&offset.to_le_bytes());
        v.push(start);
        v.extend_from_slice(&[3, 0]);
        v
    };
    write(
        "mask",
        "rfc-hello",
        &[head(0, 0), b"Hello".to_vec()].concat(),
    );
    write(
        "mask",
        "long-unaligned",
        &[head(1, 5), vec![0xa5; 300]].concat(),
    );
    write(
        "mask",
        "offset-wraps",
        &[head(u64::MAX - 2, 31), vec![0; 100]].concat(),
    );
}

fn utf8_seeds() {
    // A few piece lengths (each preceded by a "more" flag), then the bytes.
    let cuts = [1, 3, 1, 2, 1, 1, 0];
    let samples: &[(&str, &[u8])] = &[
        ("kosme", "κόσμε".as_bytes()),
        (
            "surrogate",
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65,
            ],
        ),
        ("above-max", &[0xf4, 0x90, 0x80, 0x80]),
        ("truncated", &[0x61, 0xf0, 0x9f, 0x98]),
        ("four-byte", "a😀b€".as_bytes()),
        ("overlong", &[0xc0, 0xaf]),
    ];
    for (name, bytes) in samples {
        write("utf8", name, &[&cuts[..], bytes].concat());
    }
}

fn inflate_seeds() {
    // Layout of the target's input: six u16 cuts, a u16 limit, window bits,
    // level, reset, round trip, repeat count, session (0 here), then the
    // bytes.
    let head = |limit: u16, round_trip: bool| -> Vec<u8> {
        let mut h = Vec::new();
        for cut in [3u16, 1, 7, 2, 0, 5] {
            h.extend_from_slice(&cut.to_le_bytes());
        }
        h.extend_from_slice(&limit.to_le_bytes());
        h.extend_from_slice(&[6, 6, 0, u8::from(round_trip), 4, 0]);
        h
    };
    let text = b"A WebSocket message, a WebSocket message, compressed twice over.";
    let samples: &[(&str, u16, bool, &[u8])] = &[
        // RFC 7692 §7.2.3.1: "Hello" in one compressed block.
        (
            "rfc-hello",
            1000,
            false,
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        ),
        // §7.2.3.3: "Hello" in an uncompressed (stored) block.
        (
            "rfc-stored",
            1000,
            false,
            &[
                0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
            ],
        ),
        // §7.2.3.4: a final block, then an empty block header after it.
        (
            "rfc-bfinal",
            1000,
            false,
            &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00],
        ),
        (
            "rfc-hello-limit",
            4,
            false,
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        ),
        ("round-trip", 1000, true, text),
        ("round-trip-limit", 20, true, text),
    ];
    for (name, limit, round_trip, bytes) in samples {
        write(
            "inflate",
            name,
            &[&head(*limit, *round_trip)[..], bytes].concat(),
        );
    }
    // Sessions (the same head with session = 1, then a `Session`): each
    // side is preset, windows (flag, server bits, client bits), the two
    // no-context-takeover flags, threshold, release (flag, value); then
    // the park bits (u32), eight u16 message lengths, and the text.
    let side = |preset: u8, windows: Option<(u8, u8)>, threshold: u8| -> Vec<u8> {
        let (flag, s, c) = windows.map_or((0, 0, 0), |(s, c)| (1, s, c));
        vec![preset, flag, s, c, 0, 0, threshold, 0, 0]
    };
    let sessions: &[(&str, Vec<u8>, Vec<u8>, u32)] = &[
        (
            "session-default",
            side(0, None, 0),
            side(0, None, 64),
            0x00ff_00ff,
        ),
        (
            "session-tiny-full",
            side(4, None, 0),
            side(1, None, 0),
            0x0055_00aa,
        ),
        (
            "session-small-windows",
            side(3, Some((10, 12)), 20),
            side(2, Some((9, 15)), 0),
            0xffff_ffff,
        ),
    ];
    for (name, client, server, parks) in sessions {
        let mut h = head(1000, true);
        if let Some(last) = h.last_mut() {
            *last = 1;
        }
        h.extend_from_slice(client);
        h.extend_from_slice(server);
        h.extend_from_slice(&parks.to_le_bytes());
        for len in [300u16, 300, 5, 2000, 64, 63, 12000, 0] {
            h.extend_from_slice(&len.to_le_bytes());
        }
        write("inflate", name, &[&h[..], text].concat());
    }
}

fn extensions_seeds() {
    // Client side, server side (each: two flags, two window bits, a
    // preset), value.
    let sides = [0u8, 0, 15, 15, 0, 1, 1, 10, 12, 3];
    let values = [
        ("browser", "permessage-deflate; client_max_window_bits"),
        (
            "two-offers",
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
        ),
        (
            "quoted",
            "permessage-deflate; client_max_window_bits=\"10\"; server_no_context_takeover",
        ),
        (
            "duplicate",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        ),
        (
            "other-first",
            "x-webkit-deflate-frame, permessage-deflate; client_no_context_takeover",
        ),
        (
            "answer",
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
        ),
        ("bad-bits", "permessage-deflate; server_max_window_bits=08"),
    ];
    for (name, value) in values {
        write("extensions", name, &[&sides[..], value.as_bytes()].concat());
    }
}

/// A fixed pseudo-random script, so the connection targets start from some
/// op variety as well as from plain conversations.
fn script(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn connection_seeds(target: &str, masked: bool, raw_opening: &[u8]) {
    let handshake: Vec<(&str, Vec<u8>)> = if masked {
        RFC_MASKED.iter().map(|(n, b)| (*n, b.to_vec())).collect()
    } else {
        RFC_FRAMES.iter().map(|(n, b)| (*n, b.to_vec())).collect()
    };
    for (name, stream) in handshake.into_iter().chain(conversations(masked)) {
        // Default mode: the driver puts the opening in front.
        write(target, name, &Input::encode(&[], &stream));
        // Raw mode (first script byte odd): the stream carries the opening.
        let raw = [raw_opening, &stream].concat();
        write(target, &format!("raw-{name}"), &Input::encode(&[1], &raw));
    }
    let talk = conversations(masked)
        .into_iter()
        .map(|(_, s)| s)
        .take(4)
        .collect::<Vec<_>>()
        .concat();
    for seed in 1..=6u64 {
        let script = script(seed, 48);
        write(
            target,
            &format!("scripted-{seed}"),
            &Input::encode(&script, &talk),
        );
    }
}

/// `connection_rate`: the server's conversations and scripts under four
/// limits (see `rate_from`): a burst of 3 per 50 ms closing, 1 a second
/// pausing, 5 per 100 ms with a 65-byte bucket pausing, and 16 per second
/// with a 1-byte bucket closing (every message over it).
fn rate_seeds() {
    const LIMITS: [(&str, [u8; 4]); 4] = [
        ("close-3-per-50ms", [2, 0, 0, 0]),
        ("pause-1-per-s", [0, 19, 2, 0]),
        ("pause-5-per-100ms-65-bytes", [4, 1, 3, 1]),
        ("close-16-per-s-1-byte", [15, 19, 1, 0]),
    ];
    let talk = conversations(true)
        .into_iter()
        .map(|(_, s)| s)
        .take(4)
        .collect::<Vec<_>>()
        .concat();
    for (limit, prefix) in LIMITS {
        for (name, stream) in conversations(true).into_iter().take(6) {
            let input = [&prefix[..], &Input::encode(&[], &stream)].concat();
            write("connection_rate", &format!("{limit}-{name}"), &input);
        }
        for seed in 1..=3u64 {
            let input = [&prefix[..], &Input::encode(&script(seed, 48), &talk)].concat();
            write(
                "connection_rate",
                &format!("{limit}-scripted-{seed}"),
                &input,
            );
        }
    }
}

/// Hand-made scripts for `vectored_send`: a short write cutting a frame
/// header, a payload, a 64-bit length header, a whole number of frames
/// (with a ping then going between fragments), prepared messages, more
/// frames than one offer holds, and the cases where the vectored API must
/// queue (output already queued, a client, tracing). Each is checked to
/// decode back to the script it encodes.
fn vectored_send_seeds() {
    let pool = "Hello, κόσμε! A WebSocket message cut anywhere. ".repeat(4);
    let all = Write {
        first: Cut::All,
        later: Cut::All,
    };
    let first = |cut| Write {
        first: cut,
        later: Cut::All,
    };
    let frag = |f: u8| Setup {
        fragment: Some(Fragment::Small(f)),
        ..Setup::default()
    };
    let binary = |len, write| Op::Binary {
        len,
        big: false,
        write,
    };
    let text = |len, write| Op::Text {
        len,
        big: false,
        write,
    };
    let ping = Op::Ping { len: 3 };
    let seeds: Vec<(&str, Setup, Vec<Op>)> = vec![
        (
            "cut-in-header",
            frag(100),
            vec![binary(300, first(Cut::Bytes(1))), ping, Op::DrainAll],
        ),
        (
            "cut-in-payload",
            frag(100),
            vec![
                binary(300, first(Cut::Bytes(50))),
                ping,
                Op::Drain { n: 20 },
                Op::Pong { len: 5 },
                Op::Drain { n: 100 },
                text(10, all),
            ],
        ),
        (
            "ping-between-fragments",
            frag(10),
            vec![
                text(100, first(Cut::Chunks { whole: 4, extra: 0 })),
                ping,
                Op::Drain { n: 7 },
                Op::Pong { len: 0 },
            ],
        ),
        (
            "cut-in-second-header",
            frag(10),
            vec![
                binary(35, first(Cut::Chunks { whole: 2, extra: 1 })),
                Op::Ping { len: 0 },
            ],
        ),
        (
            "many-frames",
            frag(8),
            vec![
                binary(
                    400,
                    Write {
                        first: Cut::All,
                        later: Cut::Bytes(37),
                    },
                ),
                ping,
                binary(20, all),
            ],
        ),
        (
            "long-header",
            Setup::default(),
            vec![
                Op::Binary {
                    len: 20_000,
                    big: true,
                    write: first(Cut::Bytes(5)),
                },
                ping,
            ],
        ),
        (
            "default-fragment",
            Setup::default(),
            vec![
                text(200, first(Cut::Bytes(130))),
                Op::Drain { n: 3 },
                ping,
                text(3, all),
                Op::DrainAll,
                binary(126, first(Cut::Nothing)),
            ],
        ),
        (
            "prepared",
            Setup::default(),
            vec![
                Op::Prepared {
                    text: true,
                    len: 500,
                    big: false,
                    fragment: Fragment::Small(64),
                    write: first(Cut::Bytes(130)),
                },
                ping,
                Op::Prepared {
                    text: false,
                    len: 100,
                    big: false,
                    fragment: Fragment::Small(0),
                    write: all,
                },
            ],
        ),
        (
            "prepared-long-header",
            frag(200),
            vec![
                Op::Prepared {
                    text: false,
                    len: 40_000,
                    big: true,
                    fragment: Fragment::Large(u16::MAX),
                    write: first(Cut::Chunks { whole: 0, extra: 9 }),
                },
                ping,
                Op::Drain { n: 11 },
                Op::Pong { len: 1 },
            ],
        ),
        (
            "queued-first",
            frag(16),
            vec![
                ping,
                binary(40, first(Cut::Bytes(9))),
                Op::Drain { n: 4 },
                binary(40, all),
                Op::DrainAll,
                binary(40, first(Cut::Bytes(9))),
            ],
        ),
        (
            "close-after-cut",
            frag(32),
            vec![
                text(100, first(Cut::Bytes(40))),
                Op::Close { code: 0, reason: 4 },
                text(1, all),
                ping,
            ],
        ),
        (
            "buffer-full",
            Setup {
                max_output: 2,
                ..frag(50)
            },
            vec![
                binary(300, first(Cut::Bytes(10))),
                binary(10, all),
                Op::Drain { n: 200 },
                binary(10, all),
            ],
        ),
        (
            "deflate",
            Setup {
                deflate: Some(Deflate {
                    threshold: 0,
                    no_context_takeover: false,
                    level: 6,
                }),
                ..frag(7)
            },
            vec![
                text(300, first(Cut::Bytes(6))),
                ping,
                text(300, first(Cut::Chunks { whole: 3, extra: 2 })),
            ],
        ),
        (
            "client",
            Setup {
                client: true,
                ..frag(100)
            },
            vec![
                binary(300, first(Cut::Bytes(50))),
                ping,
                Op::Drain { n: 20 },
                text(10, all),
            ],
        ),
        (
            "trace",
            Setup {
                trace: true,
                ..frag(100)
            },
            vec![binary(300, first(Cut::Bytes(50))), ping],
        ),
    ];
    for (name, setup, ops) in seeds {
        let bytes = vectored::Input::encode(&setup, &ops, pool.as_bytes());
        let back = vectored::Input::parse(&bytes);
        assert_eq!((back.setup, &back.ops[..]), (setup, &ops[..]), "{name}");
        write("vectored_send", name, &bytes);
    }
}

fn main() {
    handshake_request_seeds();
    handshake_response_seeds();
    frame_header_seeds();
    mask_seeds();
    utf8_seeds();
    inflate_seeds();
    extensions_seeds();
    connection_seeds("connection_server", true, RFC_REQUEST);
    connection_seeds("connection_client", false, &client_accept_response(None));
    rate_seeds();
    vectored_send_seeds();
    println!("seeds written under {}", corpus("").display());
}
