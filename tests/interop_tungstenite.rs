//! Interoperability with an independent implementation, tungstenite
//! (a dev-dependency only), over 127.0.0.1, in both roles:
//!
//! * a tungstenite client against our event-loop server;
//! * our clients (blocking and event loop) against a tungstenite server
//!   on a thread.
//!
//! The matrix: text and binary up to 1 MiB across every §5.2 length
//! boundary, pings and pongs both ways, fragmented messages with a control
//! frame in between (§5.4), close codes and reasons from either side,
//! subprotocols, and a refused upgrade.

use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::thread::JoinHandle;

use tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::coding::{CloseCode as TCode, Data, OpCode};
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::CloseFrame;
use tungstenite::{ClientRequestBuilder, Message as TMsg};
use ws6455::blocking::Error as WsError;
use ws6455::proto::ClientRequest;
use ws6455::{CloseCode, Config};
use ws6455::{ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::loopback::*;

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];

// ----- a tungstenite client against our server ----------------------------

fn tungstenite_client(served: &Served, path: &str) -> tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(served.addr()).expect("connect");
    stream.set_read_timeout(Some(MUST)).expect("read timeout");
    let (ws, response) =
        tungstenite::client::client(served.url(path), stream).expect("tungstenite handshake");
    assert_eq!(response.status(), 101);
    ws
}

/// Read until a message that is not a pong or ping (those are recorded).
fn read_data(ws: &mut tungstenite::WebSocket<TcpStream>) -> TMsg {
    loop {
        match ws.read().expect("read") {
            TMsg::Ping(_) | TMsg::Pong(_) => continue,
            m => return m,
        }
    }
}

#[test]
fn tungstenite_client_echoes_every_size() {
    let served = serve_with(quiet_config(), false);
    let mut ws = tungstenite_client(&served, "/echo");
    for n in SIZES {
        let text = text_of(n);
        ws.send(TMsg::text(text.clone())).expect("send text");
        match read_data(&mut ws) {
            TMsg::Text(t) => assert!(t.as_str() == text, "text of {n} bytes"),
            other => panic!("expected text, got {:?}", other.len()),
        }
        let bytes = bytes_of(n, 1);
        ws.send(TMsg::binary(bytes.clone())).expect("send binary");
        match read_data(&mut ws) {
            TMsg::Binary(b) => assert!(b[..] == bytes[..], "binary of {n} bytes"),
            other => panic!("expected binary, got {:?}", other.len()),
        }
    }
    ws.close(None).expect("close");
    loop {
        match ws.read() {
            Ok(TMsg::Close(_)) | Ok(_) => continue,
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    let seen = served.events.until_closed(None);
    assert!(matches!(seen.last(), Some(Ev::Closed(_, 1005, true))));
}

#[test]
fn tungstenite_client_pings_both_ways() {
    let served = serve(quiet_config());
    let mut ws = tungstenite_client(&served, "/ping");
    ws.send(TMsg::Ping(b"from tungstenite".to_vec().into()))
        .expect("ping");
    assert_eq!(
        ws.read().expect("pong"),
        TMsg::Pong(b"from tungstenite".to_vec().into())
    );
    ws.send(TMsg::text("cmd:ping:from ws6455")).expect("send");
    assert_eq!(
        ws.read().expect("ping"),
        TMsg::Ping(b"from ws6455".to_vec().into())
    );
    ws.flush().expect("flush the automatic pong");
    let pong = served
        .events
        .wait("pong", |e| matches!(e, Ev::Pong(..) | Ev::Closed(..)));
    assert!(
        matches!(pong, Ev::Pong(_, ref p) if p == b"from ws6455"),
        "{pong:?}"
    );
    let seen = served.events.drain();
    assert!(!seen.iter().any(|e| matches!(e, Ev::Error(..))), "{seen:?}");
    drop(ws);
    let rest = served.events.until_closed(None);
    assert!(matches!(rest.last(), Some(Ev::Closed(_, 1006, false))));
}

/// tungstenite sends a text message in three frames with a ping between
/// them (§5.4 allows control frames amid fragments); our server answers
/// the ping at once and delivers one whole message.
#[test]
fn tungstenite_client_sends_a_fragmented_message() {
    let served = serve(quiet_config());
    let mut ws = tungstenite_client(&served, "/frag");
    let text = OpCode::Data(Data::Text);
    let cont = OpCode::Data(Data::Continue);
    ws.write(TMsg::Frame(Frame::message("frag", text, false)))
        .expect("first fragment");
    ws.write(TMsg::Ping(b"between".to_vec().into()))
        .expect("ping");
    ws.write(TMsg::Frame(Frame::message("mént", cont, false)))
        .expect("middle fragment");
    ws.write(TMsg::Frame(Frame::message("ed 😀", cont, true)))
        .expect("last fragment");
    ws.flush().expect("flush");
    assert_eq!(
        ws.read().expect("pong"),
        TMsg::Pong(b"between".to_vec().into())
    );
    assert_eq!(ws.read().expect("echo"), TMsg::text("fragménted 😀"));
    // In this order: waiting for the ping would skip a text that came first.
    let ping = served.events.wait("ping", |e| matches!(e, Ev::Ping(..)));
    let id = ping.id().expect("id");
    assert_eq!(ping, Ev::Ping(id, b"between".to_vec()));
    assert_eq!(
        served.events.wait("text", |e| matches!(e, Ev::Text(..))),
        Ev::Text(id, "fragménted 😀".into())
    );
}

#[test]
fn tungstenite_client_close_codes_and_reasons() {
    let served = serve(quiet_config());

    // tungstenite closes.
    let mut ws = tungstenite_client(&served, "/close");
    ws.close(Some(CloseFrame {
        code: TCode::from(4000),
        reason: "tungstenite says bye".into(),
    }))
    .expect("close");
    let mut echoed = None;
    loop {
        match ws.read() {
            Ok(TMsg::Close(frame)) => echoed = frame,
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(echoed.map(|f| u16::from(f.code)), Some(4000));
    let seen = served.events.until_closed(None);
    let id = seen[0].id().expect("id");
    assert_eq!(
        seen[2..],
        [
            Ev::Close(id, Some(4000), "tungstenite says bye".into()),
            Ev::Closed(id, 4000, true)
        ]
    );

    // We close.
    let mut ws = tungstenite_client(&served, "/close");
    ws.send(TMsg::text("cmd:close:4001:ws6455 says bye"))
        .expect("send");
    match ws.read().expect("close") {
        TMsg::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4001);
            assert_eq!(frame.reason.as_str(), "ws6455 says bye");
        }
        other => panic!("expected a close, got {other:?}"),
    }
    match ws.read() {
        Err(tungstenite::Error::ConnectionClosed) => {}
        other => panic!("expected the end, got {other:?}"),
    }
    let seen = served.events.until_closed(None);
    let id = seen[0].id().expect("id");
    assert_eq!(
        seen[3..],
        [
            Ev::Close(id, Some(4001), "ws6455 says bye".into()),
            Ev::Closed(id, 4001, true)
        ]
    );
}

#[test]
fn tungstenite_client_subprotocol_and_rejection() {
    let served = serve(quiet_config());
    let stream = TcpStream::connect(served.addr()).expect("connect");
    let request = ClientRequestBuilder::new(served.url("/chat").parse().expect("uri"))
        .with_sub_protocol("superchat")
        .with_sub_protocol("chat");
    let (mut ws, response) = tungstenite::client::client(request, stream).expect("handshake");
    assert_eq!(
        response
            .headers()
            .get("Sec-WebSocket-Protocol")
            .map(|v| v.to_str().expect("ASCII")),
        Some("chat")
    );
    ws.close(None).expect("close");

    let stream = TcpStream::connect(served.addr()).expect("connect");
    match tungstenite::client::client(served.url("/reject"), stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 403);
            assert_eq!(response.body().as_deref(), Some(b"forbidden\n".as_slice()));
        }
        Err(e) => panic!("expected a 403, got {e}"),
        Ok(_) => panic!("expected a 403, got a connection"),
    }
}

// ----- our clients against a tungstenite server ---------------------------

/// What the tungstenite server saw.
#[derive(Debug, PartialEq, Eq)]
enum TEv {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<(u16, String)>),
    /// The closing handshake completed and TCP was closed.
    Done,
    Failed(String),
}

/// A tungstenite echo server for one connection. It selects "chat" when
/// offered, answers `close:<code>:<reason>` by closing and `ping-me` by
/// pinging, and reports everything.
// tungstenite's handshake callback has to return its large `ErrorResponse`.
#[allow(clippy::result_large_err)]
fn tungstenite_server() -> (SocketAddr, Receiver<TEv>, JoinHandle<()>) {
    let (listener, addr) = raw_listener();
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream.set_read_timeout(Some(MUST)).expect("read timeout");
        let choose =
            |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
                let offered = request
                    .headers()
                    .get_all("Sec-WebSocket-Protocol")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .any(|p| p.trim() == "chat");
                if offered {
                    response
                        .headers_mut()
                        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("chat"));
                }
                Ok(response)
            };
        let mut ws = tungstenite::accept_hdr(stream, choose).expect("tungstenite accept");
        loop {
            let ev = match ws.read() {
                Ok(TMsg::Text(t)) => {
                    if let Some(rest) = t.as_str().strip_prefix("close:") {
                        let (code, reason) = rest.split_once(':').expect("close:<code>:<reason>");
                        ws.close(Some(CloseFrame {
                            code: TCode::from(code.parse::<u16>().expect("code")),
                            reason: reason.to_owned().into(),
                        }))
                        .expect("close");
                    } else if t.as_str() == "ping-me" {
                        ws.send(TMsg::Ping(b"from tungstenite".to_vec().into()))
                            .expect("ping");
                    } else {
                        ws.send(TMsg::Text(t.clone())).expect("echo");
                    }
                    TEv::Text(t.as_str().to_owned())
                }
                Ok(TMsg::Binary(b)) => {
                    ws.send(TMsg::Binary(b.clone())).expect("echo");
                    TEv::Binary(b.to_vec())
                }
                Ok(TMsg::Ping(p)) => TEv::Ping(p.to_vec()),
                Ok(TMsg::Pong(p)) => TEv::Pong(p.to_vec()),
                Ok(TMsg::Close(frame)) => {
                    TEv::Close(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_owned())))
                }
                Ok(TMsg::Frame(_)) => TEv::Failed("raw frame".into()),
                Err(tungstenite::Error::ConnectionClosed) => {
                    let _ = tx.send(TEv::Done);
                    break;
                }
                Err(e) => {
                    let _ = tx.send(TEv::Failed(e.to_string()));
                    break;
                }
            };
            let _ = tx.send(ev);
        }
    });
    (addr, rx, thread)
}

fn next(rx: &Receiver<TEv>) -> TEv {
    rx.recv_timeout(MUST).expect("a tungstenite server event")
}

fn our_client(addr: SocketAddr, config: Config) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(MUST)).expect("read timeout");
    let request = ClientRequest::new(addr.to_string(), "/");
    let (ws, response) = WebSocket::client(stream, request, config).expect("handshake");
    assert_eq!(response.status(), 101);
    ws
}

fn expect_end(ws: &mut WebSocket<TcpStream>, code: CloseCode) {
    match ws.read() {
        Err(WsError::Closed { code: c, clean }) => assert_eq!((c, clean), (code, true)),
        other => panic!("expected a clean end with {code}, got {other:?}"),
    }
}

#[test]
fn our_client_echoes_every_size_with_tungstenite() {
    let (addr, rx, server) = tungstenite_server();
    let mut ws = our_client(addr, quiet_config());
    for n in SIZES {
        let text = text_of(n);
        ws.send_text(&text).expect("send");
        assert!(ws.read().expect("echo") == Incoming::Text(text.clone()));
        assert!(
            next(&rx) == TEv::Text(text),
            "tungstenite got {n} bytes of text"
        );
        let bytes = bytes_of(n, 2);
        ws.send_binary(&bytes).expect("send");
        assert!(ws.read().expect("echo") == Incoming::Binary(bytes.clone()));
        assert!(next(&rx) == TEv::Binary(bytes), "tungstenite got {n} bytes");
    }
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert_eq!(
        ws.read().expect("close echo"),
        Incoming::Close(Some(CloseCode::NORMAL), String::new())
    );
    expect_end(&mut ws, CloseCode::NORMAL);
    assert_eq!(next(&rx), TEv::Close(Some((1000, String::new()))));
    assert_eq!(next(&rx), TEv::Done);
    server.join().expect("tungstenite server");
}

#[test]
fn our_client_pings_with_tungstenite() {
    let (addr, rx, server) = tungstenite_server();
    let mut ws = our_client(addr, quiet_config());
    ws.send_ping(b"from ws6455").expect("ping");
    assert_eq!(
        ws.read().expect("pong"),
        Incoming::Pong(b"from ws6455".to_vec())
    );
    assert_eq!(next(&rx), TEv::Ping(b"from ws6455".to_vec()));
    ws.send_text("ping-me").expect("send");
    assert_eq!(
        ws.read().expect("ping"),
        Incoming::Ping(b"from tungstenite".to_vec())
    );
    assert_eq!(next(&rx), TEv::Text("ping-me".into()));
    // `read` wrote the automatic pong before returning the ping.
    assert_eq!(next(&rx), TEv::Pong(b"from tungstenite".to_vec()));
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));
    expect_end(&mut ws, CloseCode::NORMAL);
    server.join().expect("tungstenite server");
}

/// Our client fragments (by `fragment_size`, and by hand with a ping in
/// the middle); tungstenite reassembles.
#[test]
fn our_client_sends_fragmented_messages_to_tungstenite() {
    let (addr, rx, server) = tungstenite_server();
    let mut ws = our_client(addr, {
        let mut config = quiet_config();
        config.fragment_size = 1000;
        config
    });
    let text = text_of(100_000);
    ws.send_text(&text).expect("send");
    assert!(
        next(&rx) == TEv::Text(text.clone()),
        "reassembled by tungstenite"
    );
    assert!(ws.read().expect("echo") == Incoming::Text(text));

    ws.send_raw_frame(false, 0, 1, "hand-".as_bytes())
        .expect("first");
    ws.send_ping(b"between").expect("ping");
    ws.send_raw_frame(true, 0, 0, "made".as_bytes())
        .expect("last");
    assert_eq!(next(&rx), TEv::Ping(b"between".to_vec()));
    assert_eq!(next(&rx), TEv::Text("hand-made".into()));
    assert_eq!(
        ws.read().expect("pong"),
        Incoming::Pong(b"between".to_vec())
    );
    assert_eq!(ws.read().expect("echo"), Incoming::Text("hand-made".into()));
    ws.close(CloseCode::NORMAL, "").expect("close");
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));
    expect_end(&mut ws, CloseCode::NORMAL);
    server.join().expect("tungstenite server");
}

#[test]
fn our_client_closes_with_tungstenite() {
    let (addr, rx, server) = tungstenite_server();
    let mut ws = our_client(addr, quiet_config());
    ws.close(CloseCode(4000), "ws6455 says bye").expect("close");
    // tungstenite echoes code and reason.
    assert_eq!(
        ws.read().expect("close echo"),
        Incoming::Close(Some(CloseCode(4000)), "ws6455 says bye".into())
    );
    expect_end(&mut ws, CloseCode(4000));
    assert_eq!(
        next(&rx),
        TEv::Close(Some((4000, "ws6455 says bye".into())))
    );
    assert_eq!(next(&rx), TEv::Done);
    server.join().expect("tungstenite server");
}

#[test]
fn tungstenite_server_closes_our_client() {
    let (addr, rx, server) = tungstenite_server();
    let mut ws = our_client(addr, quiet_config());
    ws.send_text("close:4001:tungstenite says bye")
        .expect("send");
    assert_eq!(
        ws.read().expect("close"),
        Incoming::Close(Some(CloseCode(4001)), "tungstenite says bye".into())
    );
    expect_end(&mut ws, CloseCode(4001));
    assert_eq!(
        next(&rx),
        TEv::Text("close:4001:tungstenite says bye".into())
    );
    assert_eq!(next(&rx), TEv::Close(Some((4001, String::new()))));
    assert_eq!(next(&rx), TEv::Done);
    server.join().expect("tungstenite server");
}

/// Our event-loop client against tungstenite: subprotocol, a megabyte
/// each way, a close with a reason.
#[test]
fn our_event_loop_client_with_tungstenite() {
    let (addr, rx, server) = tungstenite_server();
    let big = bytes_of(1 << 20, 5);
    let sent = big.clone();
    let (rec, ids) = run_client(
        quiet_config(),
        vec![(format!("ws://{addr}/"), {
            let mut options = ConnectOptions::default();
            options.protocols = vec!["superchat".into(), "chat".into()];
            options
        })],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => ctx.send_binary(id, &sent).expect("send"),
            ClientEv::Binary(..) => ctx.close(id, CloseCode::NORMAL, "done").expect("close"),
            _ => {}
        }),
    );
    let id = ids[0];
    assert!(
        rec.events
            == [
                ClientEv::Open(id, Some("chat".into())),
                ClientEv::Binary(id, big.clone()),
                ClientEv::Close(id, Some(1000), "done".into()),
                ClientEv::Closed(id, 1000, true),
            ],
        "client saw {} events",
        rec.events.len()
    );
    assert!(next(&rx) == TEv::Binary(big));
    assert_eq!(next(&rx), TEv::Close(Some((1000, "done".into()))));
    assert_eq!(next(&rx), TEv::Done);
    server.join().expect("tungstenite server");
}
