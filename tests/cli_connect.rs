//! `ws6455 connect` and `ws6455 serve --trace`, run as programs against
//! in-process servers on loopback: stdin lines out, echoes printed, EOF
//! closes cleanly (exit 0), `--ping` prints round-trip times, an unclean
//! end exits 1, no connection exits 2; `--trace` logs every frame.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};

use ws6455::proto::handshake::{accept_key, Request};
use ws6455::CloseCode;
use ws6455::{
    ConnId, ConnectOptions, Ctx, Decision, DeflateChoice, Handler, Incoming, Message, Server,
    WebSocket,
};
use ws6455_test_support::program::Program;

struct Echo;

impl Handler for Echo {
    fn on_request(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &Request) -> Decision {
        if request.path() == "/forbidden" {
            return Decision::Reject {
                status: 403,
                reason: "no".into(),
            };
        }
        Decision::Accept {
            protocol: request.choose_subprotocol(&["chat"]).map(str::to_owned),
            deflate: DeflateChoice::Configured,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(t) => ctx.send_text(id, t),
            Message::Binary(b) => ctx.send_binary(id, b),
        };
    }
}

fn echo_server() -> ws6455::RunningServer {
    Server::new().bind("127.0.0.1:0").unwrap().spawn(|| Echo)
}

#[test]
fn lines_are_echoed_and_eof_closes_cleanly() {
    let server = echo_server();
    let url = format!("ws://{}/echo", server.local_addr());
    let mut program = Program::start(&[
        "connect",
        &url,
        "--subprotocol",
        "x",
        "--subprotocol",
        "chat",
    ]);
    program.stderr_line("(subprotocol chat)");
    program.send_line("first line");
    program.send_line("second line");
    let first = program.stdout_line("< text: first line");
    assert!(
        first.len() > "< text: first line".len(),
        "timestamped: {first}"
    );
    program.stdout_line("< text: second line");
    program.close_stdin();
    program.stdout_line("< close 1000 (normal closure)");
    program.stderr_line("closed: 1000 (normal closure), clean");
    assert_eq!(program.wait().code(), Some(0));
    server.stop().unwrap();
}

#[test]
fn binary_lines_and_headers() {
    let server = echo_server();
    let url = format!("ws://{}/", server.local_addr());
    let mut program = Program::start(&["connect", &url, "--binary", "--header", "X-Test: yes"]);
    program.send_line("hi");
    program.stdout_line("< binary (2 bytes): 68 69");
    program.close_stdin();
    assert_eq!(program.wait().code(), Some(0));
    server.stop().unwrap();
}

#[test]
fn ping_prints_round_trip_times() {
    let server = echo_server();
    let url = format!("ws://{}/", server.local_addr());
    let mut program = Program::start(&["connect", &url, "--ping", "0.05"]);
    let line = program.stdout_line("< pong rtt=");
    let ms: f64 = line
        .split("rtt=")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an RTT in {line:?}"));
    assert!((0.0..10_000.0).contains(&ms), "{line}");
    program.close_stdin();
    assert_eq!(program.wait().code(), Some(0));
    server.stop().unwrap();
}

#[test]
fn no_connection_exits_2() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut program = Program::start(&["connect", &format!("ws://127.0.0.1:{port}/")]);
    program.stderr_line("cannot connect");
    assert_eq!(program.wait().code(), Some(2));
    // A refused handshake is no connection either.
    let server = echo_server();
    let url = format!("ws://{}/forbidden", server.local_addr());
    let mut program = Program::start(&["connect", &url]);
    program.stderr_line("403");
    assert_eq!(program.wait().code(), Some(2));
    server.stop().unwrap();
    // Nor is a URL that is not ws://.
    let mut program = Program::start(&["connect", "http://127.0.0.1:1/"]);
    assert_eq!(program.wait().code(), Some(2));
}

/// A server that accepts the handshake and then breaks the protocol.
fn rude_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).unwrap_or(0) == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).into_owned();
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap()
            .trim()
            .to_owned();
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key.as_bytes())
        );
        stream.write_all(response.as_bytes()).unwrap();
        // Opcode 0x3 is reserved (§5.2).
        stream.write_all(&[0x83, 0x00]).unwrap();
        // Wait for the client to give up, then go.
        let _ = stream.read_to_end(&mut Vec::new());
    });
    addr
}

#[test]
fn a_protocol_error_exits_1() {
    let addr = rude_server();
    let mut program = Program::start(&["connect", &format!("ws://{addr}/"), "--trace"]);
    program.stderr_line("reserved opcode");
    program.stderr_line("→ close 1002 (protocol error)");
    assert_eq!(program.wait().code(), Some(1));
}

#[test]
fn connect_trace_logs_frames_both_ways() {
    let server = echo_server();
    let url = format!("ws://{}/", server.local_addr());
    let mut program = Program::start(&["connect", &url, "--trace"]);
    program.send_line("Hello");
    program.stdout_line("< text: Hello");
    let sent = program.stderr_line("→ text fin len=5 \"Hello\"");
    assert!(sent.contains(" #"), "with the connection id: {sent}");
    program.stderr_line("← text fin len=5 \"Hello\"");
    program.close_stdin();
    program.stderr_line("→ close 1000 (normal closure)");
    program.stderr_line("← close 1000 (normal closure)");
    assert_eq!(program.wait().code(), Some(0));
    server.stop().unwrap();
}

#[test]
fn serve_trace_prints_frame_lines() {
    let mut program = Program::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--trace",
        "--ping-interval",
        "0",
    ]);
    let banner = program.stderr_line("serving on ws://");
    let addr = banner
        .split("ws://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (mut ws, _) =
        WebSocket::connect(&format!("ws://{addr}/"), &ConnectOptions::default()).unwrap();
    ws.send_text("Hello").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text("Hello".into()));
    ws.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Binary(vec![1, 2, 3]));
    ws.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));
    let id = program
        .stderr_line("← text fin len=5 \"Hello\"")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
    assert!(id.starts_with('#'), "connection id: {id}");
    for needle in [
        "→ text fin len=5 \"Hello\"".to_owned(),
        "← binary fin len=3 01 02 03".to_owned(),
        "→ binary fin len=3 01 02 03".to_owned(),
        "← close 1000 (normal closure) \"bye\"".to_owned(),
        "→ close 1000 (normal closure)".to_owned(),
    ] {
        let line = program.stderr_line(&needle);
        assert!(line.contains(&format!("{id} ")), "{line}");
    }
}
