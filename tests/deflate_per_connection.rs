//! permessage-deflate chosen per connection when the server accepts
//! (`Decision::with_deflate`, `DeflateChoice`, `Connection::choose_deflate`):
//! through the event loop, where the test server's handler picks by path,
//! and in the core alone, including a loop-wide configuration without
//! compression and the threshold the chosen settings carry.
#![cfg(feature = "deflate")]

use std::net::TcpStream;

use ws6455::proto::deflate::{DeflateConfig, DeflateParams};
use ws6455::proto::{ClientRequest, Config, Connection, Event};
use ws6455::{Decision, DeflateChoice, Incoming, Timestamp, UsageError, WebSocket};
use ws6455_test_support::core::take_output;
use ws6455_test_support::loopback::{lean_deflate, serve};
use ws6455_test_support::MUST;

fn with_deflate(deflate: Option<DeflateConfig>) -> Config {
    let mut config = Config::default();
    config.deflate = deflate;
    config
}

/// Full windows, threshold 0: what the client offers and the loop accepts.
fn full() -> DeflateConfig {
    let mut config = DeflateConfig::default();
    config.threshold = 0;
    config
}

/// A blocking client offering full windows on `path`; the server's answer.
fn connect(
    addr: std::net::SocketAddr,
    path: &str,
) -> (WebSocket<TcpStream>, Option<DeflateParams>) {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(MUST)).expect("timeout");
    let (ws, _) = WebSocket::client(
        stream,
        ClientRequest::new(addr.to_string(), path),
        with_deflate(Some(full())),
    )
    .expect("handshake");
    let agreed = ws.connection().deflate_params();
    (ws, agreed)
}

/// Echo a message whose repeats lie 4 KiB apart: a compressor that used
/// a larger window than agreed would reach back further than the peer's
/// 1 KiB window of `/deflate-lean` holds, and its message would fail.
fn echo(ws: &mut WebSocket<TcpStream>) {
    let mut state = 0x2545_f491_u32;
    let block: String = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let text = block.repeat(3);
    ws.send_text(&text).expect("send");
    assert_eq!(ws.read().expect("echo"), Incoming::Text(text));
}

#[test]
fn the_handler_chooses_compression_per_connection() {
    let served = serve(with_deflate(Some(full())));
    let addr = served.addr();

    let (mut ws, agreed) = connect(addr, "/");
    assert_eq!(
        agreed,
        Some(DeflateParams::default()),
        "the loop's settings"
    );
    echo(&mut ws);

    let (mut ws, agreed) = connect(addr, "/deflate-off");
    assert_eq!(agreed, None, "declined for this connection");
    echo(&mut ws);

    let (mut ws, agreed) = connect(addr, "/deflate-lean");
    assert_eq!(
        agreed,
        Some(DeflateParams {
            server_no_context_takeover: lean_deflate().server_no_context_takeover,
            client_no_context_takeover: false,
            server_max_window_bits: lean_deflate().server_max_window_bits,
            client_max_window_bits: lean_deflate().client_max_window_bits,
        }),
        "the lean settings, answered to the same offer"
    );
    for _ in 0..3 {
        echo(&mut ws);
    }
}

#[test]
fn a_loop_without_compression_can_still_choose_it() {
    let served = serve(with_deflate(None));
    let (_, agreed) = connect(served.addr(), "/");
    assert_eq!(agreed, None);
    let (mut ws, agreed) = connect(served.addr(), "/deflate-lean");
    assert!(agreed.is_some(), "chosen for this connection alone");
    echo(&mut ws);
}

/// Core alone: a client offering full windows, a server whose loop-wide
/// configuration is `server`, deciding with `choose`.
fn handshake(
    server: Option<DeflateConfig>,
    choose: impl FnOnce(&mut Connection),
) -> (Connection, Connection, String) {
    let t0 = Timestamp::ZERO;
    let mut c = Connection::client(
        std::sync::Arc::new(with_deflate(Some(full()))),
        ClientRequest::new("example.com", "/"),
        [3; 32],
        t0,
    );
    let mut s = Connection::server(std::sync::Arc::new(with_deflate(server)), t0);
    s.recv(&take_output(&mut c));
    assert!(matches!(s.poll_event(), Some(Event::Request(_))));
    choose(&mut s);
    s.accept(t0, None, &[]).expect("accept");
    let response = take_output(&mut s);
    c.recv(&response);
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    (c, s, String::from_utf8(response).expect("ascii head"))
}

#[test]
fn the_core_answers_the_offer_again_under_the_chosen_settings() {
    let (c, s, head) = handshake(Some(full()), |s| s.choose_deflate(None).expect("deciding"));
    assert!(!head.contains("Sec-WebSocket-Extensions"));
    assert_eq!((c.deflate_params(), s.deflate_params()), (None, None));

    let mut lean = full();
    lean.server_max_window_bits = 9;
    lean.client_no_context_takeover = true;
    let (c, s, head) = handshake(None, |s| s.choose_deflate(Some(&lean)).expect("deciding"));
    assert!(head.contains(
        "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_max_window_bits=9\r\n"
    ));
    assert_eq!(c.deflate_params(), s.deflate_params());
}

#[test]
fn the_chosen_threshold_applies_to_that_connection() {
    let mut high = full();
    high.threshold = 10_000;
    let (mut c, mut s, _) = handshake(Some(full()), |s| {
        s.choose_deflate(Some(&high)).expect("deciding")
    });
    let text = "a".repeat(1_000);
    s.sender().send_text(&text).expect("send");
    let wire = take_output(&mut s);
    assert_eq!(
        wire.first().map(|b| b & 0x40),
        Some(0),
        "below the threshold: RSV1 clear"
    );
    c.recv(&wire);
    assert!(matches!(c.poll_event(), Some(Event::Text(t)) if t == text));
}

#[test]
fn choosing_is_only_for_a_deciding_server() {
    let (_, mut s, _) = handshake(Some(full()), |_| {});
    assert_eq!(s.choose_deflate(None), Err(UsageError::WrongState));
}

#[test]
fn the_blocking_adapter_takes_the_choice_too() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(MUST)).expect("timeout");
        let (mut ws, _) = WebSocket::accept_with(stream, with_deflate(Some(full())), |request| {
            assert!(request.extensions().is_some(), "the client offered");
            Decision::accept().with_deflate(DeflateChoice::Off)
        })
        .expect("server handshake");
        let Incoming::Text(text) = ws.read().expect("message") else {
            panic!("expected text");
        };
        ws.send_text(&text).expect("echo");
        ws.connection().deflate_params()
    });
    let (mut ws, agreed) = connect(addr, "/");
    assert_eq!(agreed, None);
    echo(&mut ws);
    assert_eq!(server.join().expect("server thread"), None);
}
