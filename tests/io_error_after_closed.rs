//! A server that resets the TCP connection right after a completed closing
//! handshake (wstest's fuzzingserver does this on every connection: a
//! server "drops the TCP immediately" with an abort, RST) must not make the
//! event loop report an error for a connection whose `on_closed` already
//! ran: `on_closed` is the last callback a connection gets.
//!
//! Found while running `ws6455 autobahn-client` against the real wstest:
//! the late ECONNRESET of the last case's connection reached `on_error`
//! after its `on_closed`, and the runner took it for a failure of the
//! `/updateReports` connection (exit 1 although all 301 cases passed).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use ws6455::proto::handshake::accept_key;
use ws6455::{CloseCode, Config};
use ws6455::{ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler};

/// Answers one upgrade by hand, sends Close(1000) and reads the client's
/// Close reply; then closes the socket, with RST (SO_LINGER 0) if `reset`.
fn scripted_server(listener: TcpListener, reset: bool) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut key = String::new();
        for _ in 0..64 {
            let mut line = String::new();
            reader.read_line(&mut line).expect("request line");
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("sec-websocket-key") {
                    key = value.trim().to_owned();
                }
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            accept_key(key.as_bytes())
        );
        stream.write_all(response.as_bytes()).expect("101");
        // Close(1000), unmasked: server to client.
        stream.write_all(&[0x88, 0x02, 0x03, 0xe8]).expect("close");
        // The client's masked Close reply: 2 header bytes, 4 mask bytes,
        // and its payload (length in the second byte).
        let mut head = [0u8; 2];
        reader.read_exact(&mut head).expect("close reply header");
        assert_eq!(head[0], 0x88, "the client answers with a close frame");
        let mut rest = vec![0u8; 4 + usize::from(head[1] & 0x7f)];
        reader.read_exact(&mut rest).expect("close reply body");
        if reset {
            socket2::SockRef::from(&stream)
                .set_linger(Some(Duration::ZERO))
                .expect("SO_LINGER 0");
        }
    })
}

/// Runs one client connection against the scripted server; returns the
/// handler callbacks in order.
fn callbacks_against(reset: bool) -> Vec<String> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = scripted_server(listener, reset);
    let mut event_loop = EventLoop::new(Config::default()).expect("event loop");
    event_loop
        .connect(&format!("ws://{addr}/"), &ConnectOptions::default())
        .expect("connect");
    let mut recorder = Recorder::default();
    // run() returns once no connection is left; the server's thread bounds
    // every step with a 10 s read timeout.
    event_loop.run(&mut recorder).expect("run");
    server.join().expect("server thread");
    recorder.calls
}

#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
}

impl Handler for Recorder {
    fn on_error(&mut self, _: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.calls.push(format!("error {id}: {error}"));
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        self.calls
            .push(format!("closed {id}: {code:?} clean={clean}"));
    }
}

#[test]

fn no_error_after_closed_when_the_server_resets_after_the_handshake() {
    let calls = callbacks_against(true);
    assert_eq!(
        calls.len(),
        1,
        "on_closed must be the only and last callback: {calls:?}"
    );
    assert!(
        calls[0].starts_with("closed") && calls[0].contains("clean=true"),
        "{calls:?}"
    );
}

/// Keeps the reproduction honest: the same server without the reset gives
/// a clean close and nothing after it.
#[test]
fn clean_close_without_reset_ends_with_on_closed() {
    let calls = callbacks_against(false);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].starts_with("closed") && calls[0].contains("clean=true"),
        "{calls:?}"
    );
}
