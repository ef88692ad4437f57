//! What `ws6455 serve` logs on stderr: a plain HTTP request as a request
//! with its status (not as a WebSocket closed 1006), `-v` adds why the
//! library dropped a connection, and `-q` (before or after the command)
//! leaves no info lines at all.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ws6455::{CloseCode, ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::handshake::http_get;
use ws6455_test_support::program::Program;
use ws6455_test_support::MUST;

/// One WebSocket echo and a clean close.
fn echo_once(addr: SocketAddr) {
    let (mut ws, _) =
        WebSocket::connect(&format!("ws://{addr}/echo"), &ConnectOptions::default()).unwrap();
    ws.send_text("hi").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text("hi".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    while !matches!(ws.read(), Ok(Incoming::Close(..)) | Err(_)) {}
}

/// The connection id (`#slot.generation`) of a log line
/// `HH:MM:SS.mmm #id …`.
fn id_of(line: &str) -> String {
    let id = line.split_whitespace().nth(1).unwrap_or_default();
    assert!(
        id.starts_with('#') && id.contains('.'),
        "no #slot.generation id in {line:?}"
    );
    id.to_owned()
}

#[test]
fn plain_http_requests_are_logged_with_their_status_not_as_closed_websockets() {
    let mut serve = Program::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ping-interval",
        "0",
        "-v",
    ]);
    let banner = serve.stderr_line("serving on ws://");
    let addr: SocketAddr = banner
        .split("ws://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    assert_eq!(http_get(addr, "/").0, 200);
    let page = id_of(&serve.stderr_line("http GET / 200"));
    assert_eq!(http_get(addr, "/nope").0, 404);
    let missing = id_of(&serve.stderr_line("http GET /nope 404"));
    assert_ne!(page, missing, "each connection has its own id");

    // -v: the library says why a connection was dropped.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.write_all(b"hello?\r\n\r\n").unwrap();
    let mut answer = String::new();
    garbage.set_read_timeout(Some(MUST)).unwrap();
    let _ = garbage.read_to_string(&mut answer);
    let dropped = serve.stderr_line("dropped: bad handshake");
    assert!(
        dropped.contains("DEBUG") && dropped.contains("(HTTP 400)"),
        "{dropped}"
    );

    // A WebSocket's close is still logged; by the time it is, the HTTP
    // connections' ends have long been handled.
    echo_once(addr);
    serve.stderr_line("closed 1000 (normal closure) clean");
    let lines = serve.kill_and_take_stderr();
    for id in [&page, &missing] {
        let closed: Vec<_> = lines
            .iter()
            .filter(|l| l.contains(&format!("{id} closed")))
            .collect();
        assert!(
            closed.is_empty(),
            "HTTP request logged as closed: {closed:?}"
        );
    }
}

#[test]
fn quiet_leaves_no_info_lines_before_or_after_the_command() {
    for args in [["-q", "serve"], ["serve", "--quiet"]] {
        // -q has no banner to read the port from: pick a free one.
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap();
        let listen = addr.to_string();
        let mut command: Vec<&str> = args.to_vec();
        command.extend(["--listen", &listen, "--ping-interval", "0"]);
        let serve = Program::start(&command);
        let deadline = Instant::now() + MUST;
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "serve never listened on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(http_get(addr, "/").0, 200);
        echo_once(addr);
        // Give a line that should not be there time to arrive.
        std::thread::sleep(Duration::from_millis(200));
        let lines = serve.kill_and_take_stderr();
        assert!(lines.is_empty(), "{args:?} still logged {lines:#?}");
    }
}
