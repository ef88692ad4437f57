//! permessage-deflate (RFC 7692) in whole conversations between an
//! in-memory client core and server core: negotiation in the handshake,
//! compressed messages both ways in every size and fragmentation, context
//! takeover and its absence, the RSV1 rules, the inflated-size limit, fail-
//! fast UTF-8 on inflated text, and codecs handed back when idle.
#![cfg(feature = "deflate")]

use std::sync::Arc;
use ws6455::Timestamp;
use ws6455_describe::TraceLine;
use ws6455_test_support::core::take_output;

use proptest::prelude::*;
use ws6455::proto::deflate::{DeflateConfig, DeflateMemory, DeflateParams};
use ws6455::proto::encode::push_raw_frame;
use ws6455::proto::frame::{decode_header, FrameHeader};
use ws6455::proto::mask::apply_mask;
use ws6455::proto::{BufferPool, ClientRequest, Config, Connection, Event, PreparedMessage};
use ws6455::ProtocolError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Close(Option<u16>),
    Failed(ProtocolError),
    Closed(u16, bool),
    Other(String),
}

fn drain(conn: &mut Connection) -> Vec<Ev> {
    let mut out = Vec::new();
    while let Some(ev) = conn.poll_event() {
        out.push(match ev {
            Event::Text(t) => Ev::Text(t.to_owned()),
            Event::Binary(b) => Ev::Binary(b.to_vec()),
            Event::Ping(p) => Ev::Ping(p.to_vec()),
            Event::CloseReceived { code, .. } => Ev::Close(code.map(|c| c.0)),
            Event::Failed(e) => Ev::Failed(e),
            Event::Closed { code, clean } => Ev::Closed(code.0, clean),
            other => Ev::Other(format!("{other:?}")),
        });
    }
    out
}

/// Frames in `bytes`, payloads unmasked.
fn frames(mut bytes: &[u8]) -> Vec<(FrameHeader, Vec<u8>)> {
    let mut out = Vec::new();
    while let Ok(Some((h, hl))) = decode_header(bytes) {
        let end = hl + h.payload_len as usize;
        let mut payload = bytes[hl..end].to_vec();
        if let Some(key) = h.mask {
            apply_mask(&mut payload, key, 0);
        }
        out.push((h, payload));
        bytes = &bytes[end..];
    }
    assert!(bytes.is_empty(), "trailing bytes: {bytes:?}");
    out
}

fn t0() -> Timestamp {
    Timestamp::ZERO
}

fn config(deflate: Option<DeflateConfig>) -> Arc<Config> {
    Arc::new({
        let mut config = Config::default();
        config.deflate = deflate;
        config.fragment_size = 1000;
        config.max_message_size = 1 << 20;
        config
    })
}

fn on() -> Option<DeflateConfig> {
    Some({
        let mut deflate = DeflateConfig::default();
        deflate.threshold = 0;
        deflate
    })
}

/// Handshake between a client and a server core; the server's 101 and the
/// client's `Connected` are returned for inspection.
fn pair_with(client: Arc<Config>, server: Arc<Config>) -> (Connection, Connection, String, String) {
    let mut c = Connection::client(
        client,
        ClientRequest::new("example.com", "/"),
        [9; 32],
        t0(),
    );
    let mut s = Connection::server(server, t0());
    let request = take_output(&mut c);
    s.recv(&request);
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    s.accept(t0(), None, &[]).unwrap();
    let response = take_output(&mut s);
    c.recv(&response);
    let connected = match c.poll_event() {
        Some(Event::Connected(r)) => r.extensions().unwrap_or_default().to_owned(),
        other => panic!("expected Connected, got {other:?}"),
    };
    let head = String::from_utf8(response).unwrap();
    let request = String::from_utf8(request).unwrap();
    assert!(connected.is_empty() || head.contains(&connected));
    (c, s, request, head)
}

fn pair(client: Option<DeflateConfig>, server: Option<DeflateConfig>) -> (Connection, Connection) {
    let (c, s, _, _) = pair_with(config(client), config(server));
    (c, s)
}

#[test]
fn the_handshake_offers_and_accepts() {
    let (c, s, request, response) = pair_with(config(on()), config(on()));
    assert!(request
        .contains("\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"));
    assert!(response.contains("\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"));
    assert_eq!(c.deflate_params(), Some(DeflateParams::default()));
    assert_eq!(s.deflate_params(), Some(DeflateParams::default()));
}

#[test]
fn either_side_without_it_runs_uncompressed() {
    let (c, s, request, response) = pair_with(config(on()), config(None));
    assert!(request.contains("permessage-deflate"));
    assert!(!response.contains("Sec-WebSocket-Extensions"));
    assert_eq!((c.deflate_params(), s.deflate_params()), (None, None));
    let (c, s, request, _) = pair_with(config(None), config(on()));
    assert!(!request.contains("Sec-WebSocket-Extensions"));
    assert_eq!((c.deflate_params(), s.deflate_params()), (None, None));
}

#[test]
fn both_sides_agree_on_restricted_parameters() {
    let client = {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = true;
        deflate.client_max_window_bits = 11;
        deflate
    };
    let server = {
        let mut deflate = DeflateConfig::default();
        deflate.client_no_context_takeover = true;
        deflate.server_max_window_bits = 10;
        deflate
    };
    let (c, s, _, response) = pair_with(config(Some(client)), config(Some(server)));
    assert!(response.contains(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11"
    ));
    let agreed = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 11,
    };
    assert_eq!(c.deflate_params(), Some(agreed));
    assert_eq!(s.deflate_params(), Some(agreed));
}

#[test]
fn a_client_fails_an_answer_it_did_not_ask_for() {
    for (answer, ok) in [
        ("permessage-deflate; client_max_window_bits=10", true),
        ("permessage-deflate; client_max_window_bits", false),
        ("permessage-deflate; server_max_window_bits=16", false),
        ("x-webkit-deflate-frame", false),
        ("permessage-deflate; mystery", false),
    ] {
        let mut c = Connection::client(config(on()), ClientRequest::new("h", "/"), [1; 32], t0());
        let request = String::from_utf8(take_output(&mut c)).unwrap();
        let key = request
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        let accept = ws6455::proto::handshake::accept_key(key.as_bytes());
        c.recv(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: {answer}\r\n\r\n"
            )
            .as_bytes(),
        );
        let events = drain(&mut c);
        assert_eq!(
            matches!(events.first(), Some(Ev::Other(e)) if e.starts_with("Connected")),
            ok,
            "{answer}: {events:?}"
        );
        if !ok {
            assert!(
                matches!(events[0], Ev::Failed(ProtocolError::Handshake(_))),
                "{events:?}"
            );
        }
    }
}

#[test]
fn messages_go_compressed_both_ways_with_rsv1_on_the_first_frame_only() {
    let (mut c, mut s) = pair(on(), on());
    let text = "{\"key\": \"value\", \"list\": [1, 2, 3]} ".repeat(200);
    c.send_text(&text).unwrap();
    let wire = take_output(&mut c);
    let sent = frames(&wire);
    assert!(
        wire.len() < text.len() / 4,
        "{} bytes on the wire",
        wire.len()
    );
    assert_eq!(sent[0].0.rsv, 0b100);
    assert!(sent[1..].iter().all(|(h, _)| h.rsv == 0));
    s.recv(&wire);
    assert_eq!(drain(&mut s), vec![Ev::Text(text.clone())]);
    // The echo comes back the same way, fragmented (fragment_size 1000).
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8).collect();
    s.send_binary(&data).unwrap();
    let wire = take_output(&mut s);
    assert_eq!(frames(&wire)[0].0.rsv, 0b100);
    c.recv(&wire);
    assert_eq!(drain(&mut c), vec![Ev::Binary(data)]);
}

#[test]
fn short_messages_control_frames_and_prepared_messages_stay_uncompressed() {
    let threshold = {
        let mut deflate = DeflateConfig::default();
        deflate.threshold = 10;
        deflate
    };
    let (mut c, mut s) = pair(Some(threshold.clone()), Some(threshold));
    c.send_text("short").unwrap();
    c.send_ping(b"ping ping ping ping").unwrap();
    c.send_prepared(&PreparedMessage::text(&"long enough ".repeat(5), 1000))
        .unwrap();
    c.send_text(&"long enough ".repeat(5)).unwrap();
    let wire = take_output(&mut c);
    let rsv: Vec<u8> = frames(&wire).iter().map(|(h, _)| h.rsv).collect();
    assert_eq!(rsv, [0, 0, 0, 0b100]);
    s.recv(&wire);
    let long = "long enough ".repeat(5);
    assert_eq!(
        drain(&mut s),
        vec![
            // A ping overtakes queued data frames (§5.4).
            Ev::Ping(b"ping ping ping ping".to_vec()),
            Ev::Text("short".into()),
            Ev::Text(long.clone()),
            Ev::Text(long)
        ]
    );
}

/// The RFC 7692 §7.2.3 examples, as frames from a server to our client.
#[test]
fn rfc_7692_examples_arrive_as_messages() {
    let (mut c, _s) = pair(on(), on());
    let hello = Ev::Text("Hello".into());
    // §7.2.3.1 one frame; §7.2.3.2 the second shares the first's window.
    c.recv(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    c.recv(&[0xc1, 0x05, 0xf2, 0x00, 0x11, 0x00, 0x00]);
    // §7.2.3.1 fragmented.
    c.recv(&[
        0x41, 0x03, 0xf2, 0x48, 0xcd, 0x80, 0x04, 0xc9, 0xc9, 0x07, 0x00,
    ]);
    // §7.2.3.3 a stored block; §7.2.3.4 a final block; §7.2.3.5 two blocks.
    c.recv(&[
        0xc1, 0x0b, 0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ]);
    c.recv(&[0xc1, 0x08, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]);
    c.recv(&[
        0xc1, 0x0d, 0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ]);
    // §7.2.3.6 an empty message.
    c.recv(&[0xc1, 0x01, 0x00]);
    assert_eq!(
        drain(&mut c),
        vec![
            hello.clone(),
            hello.clone(),
            hello.clone(),
            hello.clone(),
            hello.clone(),
            hello,
            Ev::Text(String::new())
        ]
    );
}

/// The close code of the last close frame in `bytes`.
fn close_code(bytes: &[u8]) -> Option<u16> {
    frames(bytes)
        .iter()
        .rev()
        .find(|(h, _)| h.opcode.as_u8() == 8)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

/// Server frames (unmasked) with any first byte, to a client core.
fn raw(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    push_raw_frame(&mut out, fin, rsv, opcode, payload, None);
    out
}

#[test]
fn rsv1_on_a_continuation_or_control_frame_fails_with_1002() {
    for bad in [
        [
            raw(false, 0b100, 1, &[0xf2, 0x48]),
            raw(true, 0b100, 0, &[0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        ]
        .concat(),
        raw(true, 0b100, 9, b"ping"),
        raw(true, 0b100, 8, &[0x03, 0xe8]),
        raw(true, 0b010, 1, b"x"),
        raw(true, 0b100, 0, b"x"),
    ] {
        let (mut c, _s) = pair(on(), on());
        c.recv(&bad);
        let events = drain(&mut c);
        assert!(
            matches!(
                events[0],
                Ev::Failed(
                    ProtocolError::CompressionBitMisplaced | ProtocolError::ReservedBitsSet(_)
                )
            ),
            "{bad:02x?}: {events:?}"
        );
        assert_eq!(close_code(&take_output(&mut c)), Some(1002));
    }
    // Without the extension RSV1 is refused as before (§5.2).
    let (mut c, _s) = pair(None, None);
    c.recv(&[0xc1, 0x07, 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
    assert_eq!(
        drain(&mut c)[0],
        Ev::Failed(ProtocolError::ReservedBitsSet(0b100))
    );
}

#[test]
fn a_small_frame_that_inflates_past_the_limit_fails_with_1009_while_inflating() {
    let (mut c, mut s) = pair(on(), on());
    // 64 MiB of zeros compress to about 64 KiB; the limit is 1 MiB.
    let mut bomb = Vec::new();
    let mut z = ws6455::proto::deflate::Compressor::new(9, 15);
    assert!(z.compress(&vec![0; 64 << 20], &mut bomb));
    assert!(bomb.len() < 128 << 10);
    let mut frame = Vec::new();
    push_raw_frame(&mut frame, true, 0b100, 2, &bomb, Some([1, 2, 3, 4]));
    // Only the first 4 KiB arrive: the limit is crossed already.
    s.recv(&frame[..4096]);
    let events = drain(&mut s);
    assert!(
        matches!(events[0], Ev::Failed(ProtocolError::MessageTooLarge(n)) if n == (1 << 20) + 1),
        "{events:?}"
    );
    assert_eq!(close_code(&take_output(&mut s)), Some(1009));
    assert!(c.send_text("still open").is_ok());
}

/// Deflate stored blocks of `block` bytes each, as a compressor that gives
/// up on incompressible input sends them (RFC 1951 §3.2.4), ending in a
/// sync flush with its tail stripped.
fn stored_blocks(data: &[u8], block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in data.chunks(block) {
        let len = chunk.len() as u16;
        out.push(0x00);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    // The header byte of the empty block whose `00 00 ff ff` the sender
    // strips (§7.2.1) and the receiver puts back.
    out.push(0x00);
    out
}

#[test]
fn an_incompressible_message_of_exactly_the_limit_passes_with_its_deflate_overhead() {
    let limits = |deflate| {
        Arc::new({
            let mut config = Config::default();
            config.deflate = deflate;
            config.max_frame_size = 1 << 20;
            config.max_message_size = 1 << 20;
            config
        })
    };
    let (_c, mut s, _, _) = pair_with(limits(on()), limits(on()));
    let data: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    // 2 KiB blocks, as Python `websockets` sends them: 0.25 % on top.
    let payload = stored_blocks(&data, 2048);
    assert!(payload.len() > 1 << 20);
    let mut frame = Vec::new();
    push_raw_frame(&mut frame, true, 0b100, 2, &payload, Some([1, 2, 3, 4]));
    s.recv(&frame);
    assert_eq!(drain(&mut s), vec![Ev::Binary(data.clone())]);
    // One byte more than the limit once inflated is still refused.
    let mut over = data;
    over.push(0);
    let mut frame = Vec::new();
    push_raw_frame(
        &mut frame,
        true,
        0b100,
        2,
        &stored_blocks(&over, 2048),
        Some([1, 2, 3, 4]),
    );
    s.recv(&frame);
    let events = drain(&mut s);
    assert!(
        matches!(events[0], Ev::Failed(ProtocolError::MessageTooLarge(_))),
        "{events:?}"
    );
}

#[test]
fn invalid_utf8_in_inflated_text_fails_fast_with_1007() {
    let (_c, mut s) = pair(on(), on());
    let mut text = vec![0xff];
    text.extend_from_slice(&[b'a'; 100_000]);
    let mut payload = Vec::new();
    let mut z = ws6455::proto::deflate::Compressor::new(6, 15);
    assert!(z.compress(&text, &mut payload));
    let mut frame = Vec::new();
    push_raw_frame(&mut frame, true, 0b100, 1, &payload, Some([5, 6, 7, 8]));
    // The frame is incomplete; the first inflated byte already fails it.
    s.recv(&frame[..frame.len() - 1]);
    assert_eq!(drain(&mut s)[0], Ev::Failed(ProtocolError::InvalidUtf8));
    assert_eq!(close_code(&take_output(&mut s)), Some(1007));
}

#[test]
fn garbage_after_rsv1_fails_with_1007() {
    let (mut c, _s) = pair(on(), on());
    c.recv(&raw(true, 0b100, 2, &[0xff, 0xff, 0xff, 0xff]));
    assert_eq!(
        drain(&mut c)[0],
        Ev::Failed(ProtocolError::BadCompressedData)
    );
    assert_eq!(close_code(&take_output(&mut c)), Some(1007));
}

#[test]
fn idle_connections_hand_their_codecs_back_unless_told_to_keep_them() {
    let lean = {
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = true;
        deflate.client_no_context_takeover = true;
        deflate.threshold = 0;
        deflate
    };
    let (mut c, mut s) = pair(Some(lean.clone()), Some(lean));
    let mut pool = BufferPool::new(4, 1 << 16);
    for round in 0..3 {
        s.unpark(&mut pool);
        c.send_text(&format!("message {round} ").repeat(50))
            .unwrap();
        s.recv(&take_output(&mut c));
        assert_eq!(drain(&mut s).len(), 1);
        s.send_text(&format!("reply {round} ").repeat(50)).unwrap();
        assert_eq!(s.deflate_codecs(), (true, true));
        c.recv(&take_output(&mut s));
        assert_eq!(drain(&mut c).len(), 1);
        s.park(&mut pool);
        assert_eq!(s.deflate_codecs(), (false, false), "round {round}");
        assert_eq!(pool.codecs().len(), (1, 1));
    }
    // With context takeover the default hands them back too, keeping the
    // windows; `DeflateMemory::Full` keeps them for the connection's life.
    for (memory, kept) in [(DeflateMemory::Windows, false), (DeflateMemory::Full, true)] {
        let mut config = DeflateConfig::preset(memory);
        config.threshold = 0;
        let (mut c, mut s) = pair(Some(config.clone()), Some(config));
        c.send_text("abc abc abc abc").unwrap();
        s.recv(&take_output(&mut c));
        s.send_text("abc abc abc abc").unwrap();
        drain(&mut s);
        take_output(&mut s);
        let mut pool = BufferPool::new(4, 1 << 16);
        s.park(&mut pool);
        assert_eq!(s.deflate_codecs(), (kept, kept), "{memory:?}");
        s.release_idle_memory();
        assert_eq!(s.deflate_codecs(), (kept, kept), "{memory:?}");
    }
}

#[test]
fn the_close_handshake_is_unaffected() {
    let (mut c, mut s) = pair(on(), on());
    c.close(t0(), ws6455::CloseCode::NORMAL, "bye").unwrap();
    s.recv(&take_output(&mut c));
    assert_eq!(
        drain(&mut s),
        vec![Ev::Close(Some(1000)), Ev::Closed(1000, true)]
    );
    c.recv(&take_output(&mut s));
    assert_eq!(
        drain(&mut c),
        vec![Ev::Close(Some(1000)), Ev::Closed(1000, true)]
    );
}

fn takeover(no: bool) -> Option<DeflateConfig> {
    Some({
        let mut deflate = DeflateConfig::default();
        deflate.server_no_context_takeover = no;
        deflate.client_no_context_takeover = no;
        deflate.threshold = 0;
        deflate
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any messages, compressed either way, in either takeover mode, fed in
    /// any split of the byte stream, arrive as they were sent.
    #[test]
    fn conversations_survive_any_split(
        messages in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(prop_oneof![Just(b'x'), Just(b'y'), any::<u8>()], 0..2500)),
            1..8,
        ),
        no_takeover in any::<bool>(),
        fragment in 1usize..3000,
        chop in 1usize..5000,
    ) {
        let mut cfg = {
 let mut config = Config::default();
 config.deflate = takeover(no_takeover);
 config.fragment_size = fragment;
 config
};
        let client = Arc::new(cfg.clone());
        cfg.fragment_size = fragment / 2 + 1;
        let (mut c, mut s, _, _) = pair_with(client, Arc::new(cfg));
        let mut expected = Vec::new();
        for (text, bytes) in &messages {
            if *text {
                let t = String::from_utf8_lossy(bytes).into_owned();
                c.send_text(&t).unwrap();
                expected.push(Ev::Text(t));
            } else {
                c.send_binary(bytes).unwrap();
                expected.push(Ev::Binary(bytes.clone()));
            }
        }
        let wire = take_output(&mut c);
        let mut got = Vec::new();
        for piece in wire.chunks(chop) {
            s.recv(piece);
            got.extend(drain(&mut s));
        }
        prop_assert_eq!(&got, &expected);
        // And back, server to client, in one go.
        for ev in &got {
            match ev {
                Ev::Text(t) => s.send_text(t).unwrap(),
                Ev::Binary(b) => s.send_binary(b).unwrap(),
                _ => unreachable!(),
            }
        }
        c.recv(&take_output(&mut s));
        prop_assert_eq!(drain(&mut c), expected);
    }
}

#[test]
fn traces_show_each_compressed_message_with_both_sizes() {
    use ws6455::proto::connection::{Direction, FrameTrace};
    let (mut c, mut s) = pair(on(), on());
    c.set_trace(true);
    s.set_trace(true);
    let text = "hello ".repeat(20);
    c.send_text(&text).unwrap();
    let sent: Vec<FrameTrace> = std::iter::from_fn(|| c.poll_trace()).collect();
    // The message record comes first, then the frame that carries it.
    assert_eq!(sent.len(), 2, "{sent:?}");
    let wire = sent[1].len;
    assert_eq!(sent[0].direction, Direction::Sent);
    assert_eq!((sent[0].len, sent[0].compressed_len), (120, Some(wire)));
    assert!(wire < 120 && sent[1].rsv == 0b100 && sent[1].compressed_len.is_none());
    assert_eq!(
        TraceLine(&sent[0]).to_string(),
        format!("→ text message 120 B deflated to {wire} B \"hello hello hello hello hello he\"…")
    );
    s.recv(&take_output(&mut c));
    assert_eq!(drain(&mut s), vec![Ev::Text(text)]);
    let got: Vec<FrameTrace> = std::iter::from_fn(|| s.poll_trace()).collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].len, wire);
    assert_eq!((got[1].len, got[1].compressed_len), (120, Some(wire)));
    assert!(TraceLine(&got[1]).to_string().starts_with(&format!(
        "← text message 120 B inflated from {wire} B \"hello"
    )));
}
