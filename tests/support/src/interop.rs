//! Shared by the interop tests: deciding whether a peer is installed (and
//! skipping loudly when it is not), running `ws6455 serve`, running a peer
//! script and reading its line protocol, and the scenario ws6455's client
//! plays against a peer's server.
//!
//! A peer script prints one line per event: `PASS <what>`, `FAIL <what>`,
//! `LISTENING <port>`, `CONNECTED`, `CLOSED <code> <reason>`, `DONE`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ws6455::proto::handshake::ClientRequest;
use ws6455::proto::uri::WsUri;
use ws6455::tls::rustls::ClientConfig;
use ws6455::{CloseCode, Config};
use ws6455::{Incoming, WebSocket};

use crate::tls::{CertFiles, ClientStream, TestCert};

/// Checks a foreign client's scenario against `ws6455 serve` must pass
/// (tests/interop/node and python_peer.py run the same scenario).
pub const CLIENT_SCENARIO_CHECKS: [&str; 11] = [
    "subprotocol ws6455.echo selected",
    "text echo 16777216 bytes",
    "binary echo 16777216 bytes",
    "fragmented text echo",
    "16 x 1 MiB fragments echo",
    "ping answered by a pong",
    "no subprotocol when none is supported",
    "client close 4999 echoed by the server",
    "a message at the limit is echoed",
    "server close 1009 for a message over the limit",
    "server close 1003 with a reason",
];

/// Whatever must happen does within this, even on a loaded 2-core machine
/// moving 16 MiB messages through a Python peer.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Print past the test harness's output capture, so a skip is seen in a
/// plain `cargo test` run.
pub fn announce(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// True if the peer is there. If not: with `WS6455_REQUIRE_INTEROP=1` the
/// test fails (CI installs every peer); otherwise it prints why it skips.
pub fn peer_available(test: &str, missing: Option<String>) -> bool {
    let Some(missing) = missing else {
        return true;
    };
    if std::env::var("WS6455_REQUIRE_INTEROP").as_deref() == Ok("1") {
        panic!("{test}: {missing} (WS6455_REQUIRE_INTEROP=1; run .ci/install-peers.sh)");
    }
    announce(&format!(
        "\nSKIPPED {test}: {missing}; run .ci/install-peers.sh to install the interop peers"
    ));
    false
}

/// The Chromium the browser tests drive: `$CHROMIUM`, or Debian's.
pub fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

/// Whether Node's playwright-core and Chromium are here (or say why not,
/// as [`peer_available`] does).
pub fn browser_ready(test: &str) -> bool {
    let missing = node_module_missing("playwright-core").or_else(|| {
        probe(&chromium(), &["--version"])
            .map(|_| format!("{} is not installed (apt-get install chromium)", chromium()))
    });
    peer_available(test, missing)
}

/// `None` if `program args…` runs and exits 0, else what went wrong.
pub fn probe(program: &str, args: &[&str]) -> Option<String> {
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => None,
        Ok(_) => Some(format!("`{program} {}` failed", args.join(" "))),
        Err(e) => Some(format!("{program} not found ({e})")),
    }
}

/// `tests/interop/`.
pub fn interop_dir() -> PathBuf {
    // This package lives in tests/support/.
    let support = Path::new(env!("CARGO_MANIFEST_DIR"));
    support.parent().unwrap_or(support).join("interop")
}

/// `tests/interop/node/`, where package.json installs `ws` and
/// `playwright-core`.
pub fn node_dir() -> PathBuf {
    interop_dir().join("node")
}

/// Missing-peer message for a Node package, `None` when it is installed.
pub fn node_module_missing(name: &str) -> Option<String> {
    if let Some(why) = probe("node", &["--version"]) {
        return Some(why);
    }
    let dir = node_dir().join("node_modules").join(name);
    (!dir.join("package.json").exists()).then(|| {
        format!(
            "the npm package {name} is not installed in {}",
            node_dir().display()
        )
    })
}

/// Where screenshots go (CI keeps `target/screenshots/` as artifacts).
pub fn screenshot_dir() -> PathBuf {
    let dir = crate::bin::target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// A child process whose stdout lines arrive on a channel and whose stderr
/// is kept for failure messages. Killed on drop.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    /// The thread that collects stderr: it ends at the pipe's end of file.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    /// Every stdout line so far, for failure messages.
    pub seen: Vec<String>,
}

impl Proc {
    /// Start `command` with piped stdio.
    pub fn spawn(name: &str, mut command: Command) -> Proc {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Proc {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stderr_reader: Some(stderr_reader),
            seen: Vec::new(),
        }
    }

    /// What the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "{}: {why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.name,
            self.seen.join("\n"),
            self.stderr()
        )
    }

    /// The next stdout line that satisfies `want` (a `FAIL` line fails the
    /// test at once).
    pub fn expect(&mut self, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with("FAIL") {
                        self.fail(&line);
                    }
                    if want(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => self.fail("timed out waiting for a line"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    self.fail(&format!("exited ({status:?}) before the expected line"))
                }
            }
        }
    }

    /// Write one line to the process's stdin.
    pub fn send_line(&mut self, line: &str) {
        let Some(stdin) = self.stdin.as_mut() else {
            self.fail("stdin already closed")
        };
        if let Err(e) = writeln!(stdin, "{line}").and_then(|()| stdin.flush()) {
            self.fail(&format!("cannot write to stdin: {e}"));
        }
    }

    /// Read stdout to the end and wait for the exit, within the deadline.
    pub fn finish(&mut self) -> ExitStatus {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if line.starts_with("FAIL") {
                        self.seen.push(line.clone());
                        self.fail(&line);
                    }
                    self.seen.push(line);
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => self.fail("did not finish in time"),
            }
        }
        self.exit_status_by(deadline)
    }

    /// Finish and require exit status 0 and a `DONE` line.
    pub fn succeed(&mut self) {
        let status = self.finish();
        if !status.success() || !self.seen.iter().any(|l| l == "DONE") {
            self.fail(&format!("ended with {status} without DONE"));
        }
    }

    /// Lines starting with `PASS `.
    pub fn passes(&self) -> Vec<&str> {
        self.seen
            .iter()
            .filter_map(|l| l.strip_prefix("PASS "))
            .collect()
    }

    /// The process id (for /proc: memory, file descriptors).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Ask the process to stop gracefully (SIGTERM), as Ctrl-C would.
    pub fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|s| s.success());
        if !sent {
            let _ = self.child.kill();
        }
    }

    /// Wait for the process to exit after [`Proc::terminate`].
    /// Its last words are collected too: [`Proc::stderr`] then holds all
    /// it wrote (the reader thread can lag behind the exit, and a
    /// shutdown summary is what tests read last).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        let status = self.exit_status_by(deadline);
        if let Some(reader) = self.stderr_reader.take() {
            // Bounded: a grandchild could hold the pipe open.
            let until = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        status
    }

    /// The exit status, once the process exits before `deadline`.
    fn exit_status_by(&mut self, deadline: Instant) -> ExitStatus {
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => self.fail("did not exit in time"),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `ws6455 serve`.
pub struct Serve {
    /// The process.
    pub proc: Proc,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// Start `ws6455 serve` on `listen` (port 0 for a free one) and wait until
/// it says where it listens.
pub fn serve(listen: &str) -> Serve {
    serve_with(listen, &[])
}

/// [`serve`] with extra options.
pub fn serve_with(listen: &str, extra: &[&str]) -> Serve {
    let mut command = Command::new(crate::bin::ws6455_bin());
    command.args(["serve", "--listen", listen]).args(extra);
    let proc = Proc::spawn("ws6455 serve", command);
    let deadline = Instant::now() + PATIENCE;
    // serve logs "… serving on ws://ADDR …" (wss:// with TLS) on stderr
    // once bound.
    let addr = loop {
        let log = proc.stderr();
        let rest = log
            .split("serving on ws://")
            .nth(1)
            .or_else(|| log.split("serving on wss://").nth(1));
        if let Some(rest) = rest {
            let addr: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if let Ok(addr) = addr.parse() {
                break addr;
            }
        }
        if Instant::now() > deadline {
            panic!("ws6455 serve did not start: {log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Serve { proc, addr }
}

/// Two `ws6455 serve` over TLS for a foreign client's scenario: the echo,
/// and one with `--max-message 1000`; the certificate's files are kept
/// for the peer to trust (`WS6455_TLS_CA`).
pub struct TlsServes {
    /// The certificate both serve, and the peer trusts.
    pub files: CertFiles,
    /// `serve --tls-cert … --tls-key …`.
    pub server: Serve,
    /// The same with `--max-message 1000`.
    pub small: Serve,
}

impl TlsServes {
    /// Start both with a fresh certificate.
    pub fn start() -> Self {
        let files = TestCert::new().files();
        let tls = [
            "--tls-cert",
            files.cert.to_str().expect("path"),
            "--tls-key",
            files.key.to_str().expect("path"),
        ];
        let server = serve_with("127.0.0.1:0", &tls);
        let small = serve_with(
            "127.0.0.1:0",
            &[&tls[..], &["--max-message", "1000"]].concat(),
        );
        TlsServes {
            files,
            server,
            small,
        }
    }

    /// `command` run with the two echo URLs as its last arguments and the
    /// certificate to trust in `WS6455_TLS_CA`.
    pub fn client(&self, mut command: Command) -> Command {
        command
            .arg(format!("wss://{}/echo", self.server.addr))
            .arg(format!("wss://{}/echo", self.small.addr))
            .env("WS6455_TLS_CA", &self.files.cert);
        command
    }
}

/// A command running `program` with `args` from `tests/interop/`.
pub fn command(program: &str, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command.args(args).current_dir(interop_dir());
    command
}

type Ws = WebSocket<ClientStream>;

/// Connect ws6455's blocking client to `url` offering `protocols`, with a
/// read timeout so a silent peer fails the test instead of hanging it;
/// `wss://` checks the peer's certificate against `trust`.
pub fn connect(
    url: &str,
    protocols: &[&str],
    trust: Option<&Arc<ClientConfig>>,
) -> (Ws, Option<String>) {
    let uri = WsUri::parse(url).expect("URL");
    let stream = ClientStream::connect(url, trust, PATIENCE);
    let mut request = ClientRequest::from_uri(&uri);
    request.protocols = protocols.iter().map(|p| (*p).to_owned()).collect();
    let (ws, response) =
        WebSocket::client(stream, request, Config::default()).expect("WebSocket handshake");
    (ws, response.protocol().map(str::to_owned))
}

/// The next data message; pings and pongs are skipped (pings are already
/// answered by the core).
pub fn next_message(ws: &mut Ws) -> Incoming {
    loop {
        match ws.read() {
            Ok(Incoming::Ping(_) | Incoming::Pong(_)) => continue,
            Ok(other) => return other,
            Err(e) => panic!("read failed: {e}"),
        }
    }
}

/// Read until the connection is closed, then hang up TCP by dropping the
/// socket (§7.1.1: once the server has closed, the client closes too; a
/// peer such as Python `websockets` waits for that before it reports the
/// connection closed). Returns (code, clean).
pub fn read_to_close(mut ws: Ws) -> (CloseCode, bool) {
    loop {
        match ws.read() {
            Ok(_) => continue,
            Err(ws6455::blocking::Error::Closed { code, clean }) => return (code, clean),
            Err(e) => panic!("expected a close, got {e}"),
        }
    }
}

/// Payloads with every length encoding (§5.2: 7-bit, 16-bit, 64-bit) up
/// to the 16 MiB limit.
pub const SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

/// Deterministic bytes that are not all alike.
pub fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// The scenario ws6455's client plays against a peer's scripted server
/// (`python_peer.py server` or `ws_peer.js server`): subprotocols, every
/// size of text and binary, fragmentation both ways, pings both ways, and
/// every close direction with several codes and reasons.
///
/// A `wss://` base needs `trust`: the peer's certificate or its CA.
pub fn client_scenario(peer: &mut Proc, base: &str, trust: Option<&Arc<ClientConfig>>) {
    let url = format!("{base}/interop");

    let (_, protocol) = connect(&url, &["nope"], trust);
    assert_eq!(protocol, None, "the peer accepted a subprotocol it lacks");
    let (mut ws, protocol) = connect(&url, &["nope", "ws6455.test"], trust);
    assert_eq!(protocol.as_deref(), Some("ws6455.test"));
    ws.send_text("cmd:subprotocol").unwrap();
    assert_eq!(next_message(&mut ws), Incoming::Text("ws6455.test".into()));

    for n in SIZES {
        let text: String = "é".repeat(n / 2) + &"x".repeat(n % 2);
        ws.send_text(&text).unwrap();
        assert!(
            next_message(&mut ws) == Incoming::Text(text),
            "text echo of {n} bytes"
        );
        let data = pattern(n);
        ws.send_binary(&data).unwrap();
        assert!(
            next_message(&mut ws) == Incoming::Binary(data),
            "binary echo of {n} bytes"
        );
    }

    // Our fragments, by hand (§5.4): text "fragmented wörld" in three
    // frames with a ping between them, which must not break the message.
    ws.send_raw_frame(false, 0, 0x1, b"frag").unwrap();
    ws.send_raw_frame(true, 0, 0x9, b"in between").unwrap();
    ws.send_raw_frame(false, 0, 0x0, "mented ".as_bytes())
        .unwrap();
    ws.send_raw_frame(true, 0, 0x0, "wörld".as_bytes()).unwrap();
    assert_eq!(
        next_message(&mut ws),
        Incoming::Text("fragmented wörld".into())
    );
    // The peer's fragments.
    ws.send_text("cmd:fragments a,bc,,déf").unwrap();
    assert_eq!(next_message(&mut ws), Incoming::Text("abcdéf".into()));
    ws.send_text("cmd:binary-fragments x,yz").unwrap();
    assert_eq!(next_message(&mut ws), Incoming::Binary(b"xyz".to_vec()));

    // Our ping, the peer's pong (§5.5.2, §5.5.3).
    ws.send_ping(b"rs-ping").unwrap();
    let pong = loop {
        match ws.read().expect("read") {
            Incoming::Pong(p) => break p,
            Incoming::Ping(_) => continue,
            other => panic!("expected a pong, got {other:?}"),
        }
    };
    assert_eq!(pong, b"rs-ping");
    // The peer's ping, our automatic pong, which the peer reports.
    ws.send_text("cmd:ping peer-ping").unwrap();
    let mut saw_ping = false;
    loop {
        match ws.read().expect("read") {
            Incoming::Ping(p) => {
                assert_eq!(p, b"peer-ping");
                saw_ping = true;
            }
            Incoming::Text(t) => {
                assert_eq!(t, "pong-received peer-ping");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_ping, "the peer's ping never arrived");
    ws.close(CloseCode::NORMAL, "scenario done").unwrap();
    assert_eq!(read_to_close(ws), (CloseCode::NORMAL, true));
    peer.expect(|l| l == "CLOSED 1000 scenario done");

    for code in [1000u16, 1001, 3000, 4999] {
        // We close: the peer sees our code and reason and echoes the code.
        let (mut ws, _) = connect(&url, &[], trust);
        let reason = format!("ws6455 says {code}");
        ws.close(CloseCode(code), &reason).unwrap();
        match next_message(&mut ws) {
            Incoming::Close(Some(echoed), _) => assert_eq!(echoed, CloseCode(code)),
            other => panic!("expected the peer's close, got {other:?}"),
        }
        assert_eq!(read_to_close(ws), (CloseCode(code), true));
        peer.expect(|l| l == format!("CLOSED {code} {reason}"));

        // The peer closes: we see its code and reason and answer.
        let (mut ws, _) = connect(&url, &[], trust);
        ws.send_text(&format!("cmd:close {code} peer says {code}"))
            .unwrap();
        assert_eq!(
            next_message(&mut ws),
            Incoming::Close(Some(CloseCode(code)), format!("peer says {code}"))
        );
        assert_eq!(read_to_close(ws), (CloseCode(code), true));
        peer.expect(|l| l.starts_with(&format!("CLOSED {code}")));
    }
}

/// The stdout line `LISTENING <port>` of a peer server, as a `ws://` base.
pub fn listening(peer: &mut Proc) -> String {
    listening_as(peer, "ws")
}

/// The stdout line `LISTENING <port>` of a peer server, as a base URL of
/// `scheme` (`ws` or `wss`).
pub fn listening_as(peer: &mut Proc, scheme: &str) -> String {
    let line = peer.expect(|l| l.starts_with("LISTENING "));
    let port: u16 = line["LISTENING ".len()..].trim().parse().expect("port");
    format!("{scheme}://127.0.0.1:{port}")
}

/// Check a plain TCP connect works (used to wait for a restarted server).
pub fn reachable(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

/// `serve --deflate-memory` presets that keep only windows between
/// bursts, with the `Sec-WebSocket-Extensions` answer each gives a client
/// that offers `client_max_window_bits` (Chromium, Node `ws`, Python
/// `websockets`).
pub const DEFLATE_PRESETS: [(&str, &str); 3] = [
    ("windows", "permessage-deflate"),
    (
        "small",
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
    ),
    (
        "tiny",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
    ),
];
