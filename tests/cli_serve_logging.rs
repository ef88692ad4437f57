//! What `ws6455 serve` logs on stderr: a plain HTTP request as a request
//! with its status (not as a WebSocket closed 1006), `-v` adds why the
//! library dropped a connection, and `-q` (before or after the command)
//! leaves no info lines at all.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use ws6455::{CloseCode, ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::handshake::http_get;

const PATIENCE: Duration = Duration::from_secs(10);

/// A running `ws6455 serve` whose stderr lines arrive on a channel.
struct Serve {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(ws6455_test_support::bin::ws6455_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ws6455 binary runs");
        let pipe = child.stderr.take().expect("piped stderr");
        let (tx, stderr) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Serve {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Wait for a stderr line containing `needle`; returns it.
    fn line(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no stderr line contains {needle:?}; saw {:#?}", self.seen),
            }
        }
    }

    /// Stop the server and return every stderr line it wrote.
    fn finish(mut self) -> Vec<String> {
        // Only our own child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.seen.extend(self.stderr.iter());
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let mut serve = Serve::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ping-interval",
        "0",
        "-v",
    ]);
    let banner = serve.line("serving on ws://");
    let addr: SocketAddr = banner
        .split("ws://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));

    assert_eq!(http_get(addr, "/").0, 200);
    let page = id_of(&serve.line("http GET / 200"));
    assert_eq!(http_get(addr, "/nope").0, 404);
    let missing = id_of(&serve.line("http GET /nope 404"));
    assert_ne!(page, missing, "each connection has its own id");

    // -v: the library says why a connection was dropped.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage.write_all(b"hello?\r\n\r\n").unwrap();
    let mut answer = String::new();
    garbage.set_read_timeout(Some(PATIENCE)).unwrap();
    let _ = garbage.read_to_string(&mut answer);
    let dropped = serve.line("dropped: bad handshake");
    assert!(
        dropped.contains("DEBUG") && dropped.contains("(HTTP 400)"),
        "{dropped}"
    );

    // A WebSocket's close is still logged; by the time it is, the HTTP
    // connections' ends have long been handled.
    echo_once(addr);
    serve.line("closed 1000 (normal closure) clean");
    let lines = serve.finish();
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
        let serve = Serve::start(&command);
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "serve never listened on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(http_get(addr, "/").0, 200);
        echo_once(addr);
        // Give a line that should not be there time to arrive.
        std::thread::sleep(Duration::from_millis(200));
        let lines = serve.finish();
        assert!(lines.is_empty(), "{args:?} still logged {lines:#?}");
    }
}
