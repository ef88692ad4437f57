//! Whole conversations between an in-memory client core and server core,
//! on a fake clock, without sockets: handshake, every size class,
//! fragmentation, ping/pong, both close directions, every failure with its
//! close code, timeouts, backpressure, and split-invariance.

use std::sync::Arc;

use ws6455::proto::encode::{push_frame, push_raw_frame};
use ws6455::proto::frame::decode_header;
use ws6455::proto::{ClientRequest, CloseCode, Config, Connection, OpCode};
use ws6455::{ProtocolError, UsageError};
use ws6455_test_support::core::*;

#[test]
fn messages_of_every_size_class_cross_both_ways() {
    let (mut c, mut s) = pair();
    for len in [0usize, 1, 125, 126, 127, 128, 65535, 65536, 1 << 20] {
        let text = "a".repeat(len);
        c.send_text(&text).unwrap();
        pump(&mut c, &mut s);
        assert_eq!(drain(&mut s), vec![Ev::Text(text.clone())]);
        let bin = vec![0xa5u8; len];
        s.send_binary(&bin).unwrap();
        pump(&mut s, &mut c);
        assert_eq!(drain(&mut c), vec![Ev::Binary(bin)]);
    }
}

#[test]
fn large_messages_are_split_and_reassembled() {
    let small_frames = cfg(|c| c.fragment_size = 1000);
    let (mut c, mut s) = pair_with(small_frames.clone(), small_frames);
    let text = "κόσμε".repeat(1000);
    c.send_text(&text).unwrap();
    let wire = take_output(&mut c);
    assert_eq!(wire[0], 0x01, "first frame is text without FIN");
    s.recv(&wire);
    assert_eq!(drain(&mut s), vec![Ev::Text(text)]);
}

#[test]
fn rfc_example_frames_are_understood_by_a_client() {
    let (mut c, _s) = pair();
    // §5.7: unmasked "Hello", fragmented "Hel" + "lo", unmasked ping.
    c.recv(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    c.recv(&[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]);
    c.recv(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
    let mut bin = vec![0x82, 0x7e, 0x01, 0x00];
    bin.extend(std::iter::repeat_n(9, 256));
    c.recv(&bin);
    assert_eq!(
        drain(&mut c),
        vec![
            Ev::Text("Hello".into()),
            Ev::Text("Hello".into()),
            Ev::Ping(b"Hello".to_vec()),
            Ev::Binary(vec![9; 256])
        ]
    );
    let out = take_output(&mut c);
    let (h, _) = decode_header(&out).unwrap().unwrap();
    assert_eq!(h.opcode, OpCode::Pong);
    assert!(h.mask.is_some(), "client frames are masked");
}

#[test]
fn rfc_masked_hello_is_understood_by_a_server() {
    let (evs, sent) = server_sees(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ]);
    assert_eq!(evs, vec![Ev::Text("Hello".into())]);
    assert_eq!(sent, None);
}

#[test]
fn pings_are_answered_with_the_same_payload() {
    let (mut c, mut s) = pair();
    c.send_ping(b"are you there").unwrap();
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), vec![Ev::Ping(b"are you there".to_vec())]);
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), vec![Ev::Pong(b"are you there".to_vec())]);
}

#[test]
fn pong_overtakes_queued_fragments_of_a_large_message() {
    let (mut c, mut s) = pair_with(Arc::new(Config::default()), cfg(|c| c.fragment_size = 100));
    s.send_binary(&[1; 1000]).unwrap();
    // The socket took half a frame before the ping arrived.
    let first = s.pending_output().len().min(50);
    let mut wire = s.pending_output()[..first].to_vec();
    s.consume_output(first);
    c.send_ping(b"p").unwrap();
    pump(&mut c, &mut s);
    assert_eq!(drain(&mut s), vec![Ev::Ping(b"p".to_vec())]);
    // Next comes the rest of the current frame, then the pong.
    let rest_of_frame = s.pending_output().to_vec();
    assert_eq!(first + rest_of_frame.len(), 102);
    s.consume_output(rest_of_frame.len());
    wire.extend_from_slice(&rest_of_frame);
    let pong = s.pending_output().to_vec();
    assert_eq!(pong, [0x8a, 0x01, b'p']);
    s.consume_output(pong.len());
    wire.extend_from_slice(&pong);
    wire.extend_from_slice(&take_output(&mut s));
    c.recv(&wire);
    assert_eq!(
        drain(&mut c),
        vec![Ev::Pong(b"p".to_vec()), Ev::Binary(vec![1; 1000])]
    );
}

#[test]
fn client_initiated_close_is_echoed_and_the_server_closes_tcp_first() {
    let (mut c, mut s) = pair();
    c.close(t0(), CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(c.send_text("late"), Err(UsageError::Closed));
    pump(&mut c, &mut s);
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::CloseReceived(Some(1000), "bye".into()),
            Ev::Closed(1000, true)
        ]
    );
    assert!(!s.is_closed(), "echo not written yet");
    pump(&mut s, &mut c);
    assert!(s.is_closed(), "server drops TCP once the echo is out");
    assert_eq!(
        drain(&mut c),
        vec![
            Ev::CloseReceived(Some(1000), String::new()),
            Ev::Closed(1000, true)
        ]
    );
    assert!(!c.is_closed(), "client waits for the server's TCP close");
    assert!(c.wants_read());
    c.recv_eof(t0());
    assert!(c.is_closed());
}

#[test]
fn server_initiated_close_completes_cleanly() {
    let (mut c, mut s) = pair();
    s.close(t0(), CloseCode::GOING_AWAY, "restart").unwrap();
    pump(&mut s, &mut c);
    assert_eq!(
        drain(&mut c),
        vec![
            Ev::CloseReceived(Some(1001), "restart".into()),
            Ev::Closed(1001, true)
        ]
    );
    pump(&mut c, &mut s);
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::CloseReceived(Some(1001), String::new()),
            Ev::Closed(1001, true)
        ]
    );
    assert!(s.is_closed());
}

#[test]
fn empty_close_is_reported_as_1005_and_echoed_empty() {
    let mut s = open_server(Arc::new(Config::default()));
    s.recv(&client_frame(true, OpCode::Close, &[]));
    assert_eq!(
        drain(&mut s),
        vec![
            Ev::CloseReceived(None, String::new()),
            Ev::Closed(1005, true)
        ]
    );
    assert_eq!(take_output(&mut s), [0x88, 0x00]);
}

#[test]
fn input_after_a_close_is_ignored() {
    let mut bytes = client_frame(true, OpCode::Close, &[0x03, 0xe8]);
    bytes.extend(client_frame(true, OpCode::Ping, b"x"));
    bytes.extend(client_frame(true, OpCode::Text, b"late"));
    let (evs, sent) = server_sees(&bytes);
    assert_eq!(
        evs,
        vec![
            Ev::CloseReceived(Some(1000), String::new()),
            Ev::Closed(1000, true)
        ]
    );
    assert_eq!(sent, Some(1000));
}

#[test]
fn eof_without_close_is_abnormal() {
    let (_c, mut s) = pair();
    s.recv_eof(t0());
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert!(s.is_closed());
}

#[test]
fn every_protocol_violation_fails_with_its_code() {
    let mut unmasked = Vec::new();
    push_frame(&mut unmasked, true, OpCode::Text, b"hi", None);
    fails_with(&unmasked, ProtocolError::UnmaskedClientFrame);

    let mut rsv = Vec::new();
    push_raw_frame(&mut rsv, true, 0b100, 0x1, b"hi", Some([1, 2, 3, 4]));
    fails_with(&rsv, ProtocolError::ReservedBitsSet(0b100));

    for op in [3u8, 7, 0xb, 0xf] {
        let mut f = Vec::new();
        push_raw_frame(&mut f, true, 0, op, b"", Some([1, 2, 3, 4]));
        fails_with(&f, ProtocolError::ReservedOpcode(op));
    }

    let mut frag_ping = Vec::new();
    push_raw_frame(&mut frag_ping, false, 0, 0x9, b"x", Some([1, 2, 3, 4]));
    fails_with(&frag_ping, ProtocolError::FragmentedControlFrame);

    fails_with(
        &client_frame(true, OpCode::Continuation, b"x"),
        ProtocolError::UnexpectedContinuation,
    );

    let mut two_starts = client_frame(false, OpCode::Text, b"a");
    two_starts.extend(client_frame(true, OpCode::Text, b"b"));
    fails_with(&two_starts, ProtocolError::ExpectedContinuation);

    fails_with(
        &client_frame(true, OpCode::Text, &[0xce, 0xba, 0xed, 0xa0, 0x80]),
        ProtocolError::InvalidUtf8,
    );
    fails_with(
        &client_frame(true, OpCode::Close, &[0x03]),
        ProtocolError::ClosePayloadTooShort,
    );
    fails_with(
        &client_frame(true, OpCode::Close, &[0x03, 0xed]),
        ProtocolError::InvalidCloseCode(1005),
    );
    fails_with(
        &client_frame(true, OpCode::Close, &[0x03, 0xe8, 0xff]),
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn oversized_control_frames_fail_from_the_header() {
    let (evs, sent) = server_sees(&[0x89, 0xfe, 0x00, 0x7e]);
    assert!(
        matches!(evs[0], Ev::Failed(ProtocolError::ControlFrameTooLong(_))),
        "{evs:?}"
    );
    assert_eq!(sent, Some(1002));
}

#[test]
fn size_limits_fail_with_1009_before_buffering() {
    let small = cfg(|c| {
        c.max_frame_size = 1000;
        c.max_message_size = 1500;
    });
    let mut s = open_server(small.clone());
    // Only the header of a too-large frame: fails at once.
    s.recv(&[0x82, 0xfe, 0x03, 0xe9, 1, 2, 3, 4]);
    assert_eq!(
        drain(&mut s)[0],
        Ev::Failed(ProtocolError::FrameTooLarge(1001))
    );
    assert_eq!(close_code_sent(&take_output(&mut s)), Some(1009));

    let mut s = open_server(small);
    let mut frags = client_frame(false, OpCode::Binary, &[0; 1000]);
    frags.extend_from_slice(&[0x80, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]);
    s.recv(&frags);
    assert_eq!(
        drain(&mut s)[0],
        Ev::Failed(ProtocolError::MessageTooLarge(2000))
    );
}

#[test]
fn invalid_utf8_fails_fast_inside_a_partial_frame() {
    // Autobahn 6.4.3: one frame, sent in three chops; the second chop
    // contains f4 90 80 80, invalid at the 0x90.
    let payload = [
        &[
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
        ][..],
        &[0xf4, 0x90, 0x80, 0x80],
        &[0x65, 0x64, 0x69, 0x74, 0x65, 0x64],
    ]
    .concat();
    let frame = client_frame(true, OpCode::Text, &payload);
    let mut s = open_server(Arc::new(Config::default()));
    s.recv(&frame[..6 + 11]);
    assert_eq!(drain(&mut s), vec![]);
    s.recv(&frame[17..19]); // f4 90
    assert_eq!(drain(&mut s)[0], Ev::Failed(ProtocolError::InvalidUtf8));
    assert_eq!(close_code_sent(&take_output(&mut s)), Some(1007));
}

#[test]
fn control_frames_interleave_with_fragments() {
    let mut bytes = client_frame(false, OpCode::Text, b"frag1 ");
    bytes.extend(client_frame(true, OpCode::Ping, b"ping"));
    bytes.extend(client_frame(true, OpCode::Continuation, b"frag2"));
    let (evs, sent) = server_sees(&bytes);
    assert_eq!(
        evs,
        vec![Ev::Ping(b"ping".to_vec()), Ev::Text("frag1 frag2".into())]
    );
    assert_eq!(sent, None);
}

#[test]
fn frames_sent_with_the_request_are_not_lost() {
    let mut s = Connection::server(Arc::new(Config::default()), t0());
    let mut bytes = REQUEST.to_vec();
    bytes.extend(client_frame(true, OpCode::Text, b"early"));
    s.recv(&bytes);
    assert_eq!(drain(&mut s), vec![Ev::Request("/chat".into())]);
    s.accept(t0(), None, &[]).unwrap();
    assert_eq!(drain(&mut s), vec![Ev::Text("early".into())]);
}

#[test]
fn a_bad_request_gets_an_http_error_and_ends() {
    let mut s = Connection::server(Arc::new(Config::default()), t0());
    s.recv(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
    let evs = drain(&mut s);
    assert!(matches!(evs[0], Ev::Failed(ProtocolError::Handshake(_))));
    assert_eq!(evs[1], Ev::Closed(1006, false));
    let out = take_output(&mut s);
    assert!(out.starts_with(b"HTTP/1.1 426"));
    assert!(s.is_closed());
}

#[test]
fn plain_http_requests_can_be_answered() {
    let mut s = Connection::server(Arc::new(Config::default()), t0());
    s.recv(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(drain(&mut s), vec![Ev::Http("/index.html".into())]);
    assert_eq!(s.accept(t0(), None, &[]), Err(UsageError::WrongState));
    s.respond(t0(), 200, &[("Content-Type", "text/html")], b"<p>hi</p>")
        .unwrap();
    let out = take_output(&mut s);
    assert!(out.starts_with(b"HTTP/1.1 200"));
    assert!(out.ends_with(b"<p>hi</p>"));
    assert_eq!(drain(&mut s), vec![Ev::Closed(1006, false)]);
    assert!(s.is_closed());
}

#[test]
fn subprotocols_must_have_been_offered() {
    let mut req = ClientRequest::new("example.com", "/");
    req.protocols = vec!["chat".into(), "superchat".into()];
    let mut c = Connection::client(Arc::new(Config::default()), req, [1; 32], t0());
    let mut s = Connection::server(Arc::new(Config::default()), t0());
    pump(&mut c, &mut s);
    drain(&mut s);
    assert_eq!(
        s.accept(t0(), Some("mqtt"), &[]),
        Err(UsageError::ProtocolNotOffered)
    );
    s.accept(t0(), Some("superchat"), &[]).unwrap();
    pump(&mut s, &mut c);
    assert_eq!(drain(&mut c), vec![Ev::Connected(Some("superchat".into()))]);
}

#[test]
fn a_client_fails_a_bad_accept_key() {
    let mut c = Connection::client(
        Arc::new(Config::default()),
        ClientRequest::new("h", "/"),
        [1; 32],
        t0(),
    );
    take_output(&mut c);
    c.recv(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
    let evs = drain(&mut c);
    assert!(
        matches!(evs[0], Ev::Failed(ProtocolError::Handshake(_))),
        "{evs:?}"
    );
    assert_eq!(evs[1], Ev::Closed(1006, false));
    assert!(c.is_closed());
}

#[test]
fn offered_extensions_are_never_accepted_blindly() {
    let mut s = Connection::server(Arc::new(Config::default()), t0());
    let request = String::from_utf8_lossy(REQUEST).replace(
        "Sec-WebSocket-Version: 13\r\n",
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n",
    );
    s.recv(request.as_bytes());
    assert_eq!(drain(&mut s), vec![Ev::Request("/chat".into())]);
    s.accept(t0(), None, &[]).unwrap();
    let response = String::from_utf8(take_output(&mut s)).unwrap();
    assert!(response.starts_with("HTTP/1.1 101"));
    assert!(
        !response
            .to_ascii_lowercase()
            .contains("sec-websocket-extensions"),
        "{response}"
    );
}

#[test]
fn a_client_fails_masked_server_frames() {
    let (mut c, _s) = pair();
    c.recv(&client_frame(true, OpCode::Text, b"masked"));
    let evs = drain(&mut c);
    assert_eq!(evs[0], Ev::Failed(ProtocolError::MaskedServerFrame));
    assert_eq!(evs[1], Ev::Closed(1006, false));
    let out = take_output(&mut c);
    let (h, hl) = decode_header(&out).unwrap().unwrap();
    assert_eq!(h.opcode, OpCode::Close);
    let mut payload = out[hl..hl + h.payload_len as usize].to_vec();
    ws6455::proto::mask::apply_mask(&mut payload, h.mask.unwrap(), 0);
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
}

#[test]
fn every_client_frame_gets_a_fresh_mask_key() {
    let (mut c, _s) = pair();
    for _ in 0..3 {
        c.send_text("same").unwrap();
    }
    let out = take_output(&mut c);
    let mut keys = Vec::new();
    let mut rest = &out[..];
    while let Ok(Some((h, hl))) = decode_header(rest) {
        keys.push(h.mask.expect("client frames are masked"));
        rest = &rest[hl + h.payload_len as usize..];
    }
    assert_eq!(keys.len(), 3);
    assert!(
        keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2],
        "{keys:?}"
    );
}

#[test]
fn two_clients_send_different_handshake_keys() {
    let key = |seed| {
        let mut c = Connection::client(
            Arc::new(Config::default()),
            ClientRequest::new("h", "/"),
            seed,
            t0(),
        );
        let request = String::from_utf8(take_output(&mut c)).unwrap();
        request
            .lines()
            .find(|l| l.starts_with("Sec-WebSocket-Key:"))
            .unwrap()
            .to_owned()
    };
    assert_ne!(key([1; 32]), key([2; 32]));
}
