//! permessage-deflate (RFC 7692) interop with Node's `ws` (npm, installed
//! in tests/interop/node), in both roles, every message compressed by the
//! peer (`threshold: 0`):
//!
//! * its client against `ws6455 serve` (`ws_peer.js deflate-client`): 400
//!   messages echoed one at a time and checked byte for byte, with context
//!   takeover, and 250 in a "lean" variant (`--deflate-no-context-takeover`
//!   on our side; no context takeover and windows of 2^10 and 2^9 asked
//!   for by Node). The agreed `Sec-WebSocket-Extensions` is checked as
//!   Node saw it, `serve --trace` shows every frame Node sent compressed
//!   and ours compressed from our threshold up, and the bytes on Node's
//!   socket show the compression paid off;
//! * our blocking client (`threshold: 0`) against its server
//!   (`ws_peer.js deflate-server`): the same messages echoed and checked,
//!   the agreement checked from our side (response header and the
//!   connection's parameters), and the bytes on our socket counted; the
//!   lean variant has Node's server answer our requests with smaller
//!   windows than we asked for;
//! * our event-loop client under each memory preset (`windows`, `small`,
//!   `tiny`) against its server: the reduced windows agreed, every message
//!   (the two of 1 MiB among them) echoed intact while our connection
//!   hands its codecs back to the loop between messages.
//!
//! The messages (`ws_peer.js deflate-messages`): JSON-like text with keys
//! repeating across messages, binary with patterns and some noise, 0 to
//! 64 KiB with the length-encoding edges of RFC 6455 §5.2, and two of
//! 1 MiB. Skips, saying so, when `ws` is not installed — unless
//! `WS6455_REQUIRE_INTEROP=1`.
#![cfg(feature = "deflate")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use ws6455::blocking::ReadTimeout;
use ws6455::proto::deflate::{DeflateConfig, DeflateMemory, DeflateParams};
use ws6455::proto::uri::WsUri;
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, WebSocket};
use ws6455_test_support::echo_each::echo_each;
use ws6455_test_support::interop::{
    command, listening, node_module_missing, peer_available, serve_with, Proc, DEFLATE_PRESETS,
    PATIENCE,
};

/// Messages per connection: enough for context takeover to matter.
const MESSAGES: usize = 400;
/// Messages in the lean variants.
const LEAN_MESSAGES: usize = 250;

fn node_ready(test: &str) -> bool {
    peer_available(test, node_module_missing("ws"))
}

/// The `n` messages of `ws_peer.js deflate-messages`, as Node sends them.
fn messages(n: usize) -> Vec<Incoming> {
    let out = command(
        "node",
        &["node/ws_peer.js", "deflate-messages", &n.to_string()],
    )
    .output()
    .expect("run node");
    assert!(
        out.status.success(),
        "ws_peer.js deflate-messages: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not hex: {c}"),
    };
    let all: Vec<Incoming> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            let bytes: Vec<u8> = line[1..]
                .chunks(2)
                .map(|p| hex(p[0]) << 4 | hex(p[1]))
                .collect();
            match line[0] {
                b'T' => Incoming::Text(String::from_utf8(bytes).expect("UTF-8")),
                _ => Incoming::Binary(bytes),
            }
        })
        .collect();
    assert_eq!(all.len(), n);
    all
}

fn len(m: &Incoming) -> usize {
    match m {
        Incoming::Text(t) => t.len(),
        Incoming::Binary(b) => b.len(),
        other => unreachable!("{other:?}"),
    }
}

/// `ws_peer.js deflate-client` against a `ws6455 serve` started with
/// `--trace` and `extra`. Returns the agreed header as Node saw it and
/// the serve's trace.
fn node_client(
    test: &str,
    variant: &str,
    n: usize,
    extra: &[&str],
    small_windows: bool,
) -> (String, String) {
    let mut options = vec!["--trace"];
    options.extend_from_slice(extra);
    let server = serve_with("127.0.0.1:0", &options);
    let url = format!("ws://{}/echo", server.addr);
    let mut peer = Proc::spawn(
        &format!("ws_peer.js deflate-client {variant}"),
        command(
            "node",
            &[
                "node/ws_peer.js",
                "deflate-client",
                &url,
                &n.to_string(),
                variant,
            ],
        ),
    );
    peer.succeed();
    let passes = peer.passes();
    let echoed = format!("{n} compressed messages echoed byte-exact");
    for must in [
        "extensions name permessage-deflate",
        &echoed,
        "closed with 1000",
    ] {
        assert!(
            passes.contains(&must),
            "{test}: missing {must:?}: {passes:?}"
        );
    }
    let line = |prefix: &str| {
        peer.seen
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{test}: no {prefix:?} line: {:?}", peer.seen))
            .to_owned()
    };
    let agreed = line("AGREED ");
    // BYTES payload=P sent=S received=R: what went over Node's socket
    // (handshake included) against the payload bytes each way.
    let bytes: Vec<u64> = line("BYTES ")
        .split(' ')
        .map(|kv| kv.split('=').nth(1).and_then(|v| v.parse().ok()).unwrap())
        .collect();
    let [payload, sent, received] = bytes[..] else {
        panic!("{test}: BYTES {bytes:?}")
    };
    // Measured: about 11% with context takeover, 21-26% without and with
    // small windows; a broken compressor would be near 100%.
    let most = if variant == "lean" || small_windows {
        payload / 2
    } else {
        payload / 4
    };
    assert!(
        sent < most && received < most,
        "{test}: {sent} bytes sent, {received} received for {payload} of payload"
    );
    ws6455_test_support::interop::announce(&format!(
        "{test}: {payload} payload bytes each way; on the wire {sent} sent by Node, {received} by ws6455"
    ));
    (agreed, server.proc.stderr())
}

/// Check the trace of a `ws6455 serve` that echoed `n` messages: every
/// data frame from Node compressed (its threshold is 0), and ours
/// compressed exactly for the messages of at least our threshold.
fn check_trace(test: &str, trace: &str, n: usize) {
    assert!(
        !trace.contains("not traced"),
        "{test}: the trace lost frames"
    );
    // Frame lines read `← text fin compressed len=…`; other records about
    // messages (`← text message …`) are not counted.
    let frames = |arrow: &str| -> Vec<&str> {
        trace
            .lines()
            .filter(|l| {
                [" text ", " binary "].iter().any(|op| {
                    l.split_once(&format!("{arrow}{op}"))
                        .is_some_and(|(_, rest)| {
                            ["fin ", "compressed ", "len="]
                                .iter()
                                .any(|f| rest.starts_with(f))
                        })
                })
            })
            .collect()
    };
    let received = frames("←");
    assert_eq!(received.len(), n, "{test}: data frames received");
    let plain: Vec<&&str> = received
        .iter()
        .filter(|l| !l.contains(" compressed "))
        .collect();
    assert!(
        plain.is_empty(),
        "{test}: Node sent uncompressed: {plain:?}"
    );
    let threshold = DeflateConfig::default().threshold;
    let big = messages(n).iter().filter(|m| len(m) >= threshold).count();
    let sent = frames("→");
    assert_eq!(sent.len(), n, "{test}: data frames sent");
    let compressed = sent.iter().filter(|l| l.contains(" compressed ")).count();
    assert_eq!(
        compressed, big,
        "{test}: serve should compress the {big} messages of {threshold} bytes or more"
    );
}

#[test]
fn node_client_compresses_through_ws6455_serve() {
    let test = "node_client_compresses_through_ws6455_serve";
    if !node_ready(test) {
        return;
    }
    let (agreed, trace) = node_client(test, "default", MESSAGES, &[], false);
    // Node offers `permessage-deflate; client_max_window_bits`; with
    // windows of 15 both ways nothing else needs saying.
    assert_eq!(agreed, "permessage-deflate");
    check_trace(test, &trace, MESSAGES);
}

#[test]
fn node_client_lean_through_ws6455_serve() {
    let test = "node_client_lean_through_ws6455_serve";
    if !node_ready(test) {
        return;
    }
    let (agreed, trace) = node_client(
        test,
        "lean",
        LEAN_MESSAGES,
        &["--deflate-no-context-takeover"],
        false,
    );
    assert_eq!(
        agreed,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=9"
    );
    check_trace(test, &trace, LEAN_MESSAGES);
}

#[test]
fn node_client_through_ws6455_serve_under_each_memory_preset() {
    let test = "node_client_through_ws6455_serve_under_each_memory_preset";
    if !node_ready(test) {
        return;
    }
    // Between Node's messages the server goes quiet, hands its codecs
    // back and keeps only the windows; every echo must still be exact.
    for (preset, want) in DEFLATE_PRESETS {
        let (agreed, trace) = node_client(
            test,
            "default",
            LEAN_MESSAGES,
            &["--deflate-memory", preset],
            preset != "windows",
        );
        assert_eq!(agreed, want, "{test}: {preset}");
        check_trace(test, &trace, LEAN_MESSAGES);
    }
}

/// A TCP stream that counts the bytes read and written through it.
struct Counted {
    stream: TcpStream,
    read: u64,
    written: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stream.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.stream.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// The blocking adapter times its reads through this (for the core's
/// timers); the socket underneath does the timing.
impl ReadTimeout for Counted {
    fn read_timeout(&self) -> std::io::Result<Option<Duration>> {
        self.stream.read_timeout()
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.stream.set_read_timeout(timeout)
    }
}

/// Our client (with `deflate`) against `ws_peer.js deflate-server
/// variant`: the agreement is `header` and `params`, and `n` messages
/// come back byte-exact, compressed on the wire both ways.
fn our_client(
    test: &str,
    variant: &str,
    n: usize,
    deflate: DeflateConfig,
    header: &str,
    params: DeflateParams,
) {
    let mut peer = Proc::spawn(
        &format!("ws_peer.js deflate-server {variant}"),
        command("node", &["node/ws_peer.js", "deflate-server", variant]),
    );
    let base = listening(&mut peer);
    let uri = WsUri::parse(&format!("{base}/deflate")).expect("URL");
    let stream = TcpStream::connect((uri.host.as_str(), uri.port)).expect("TCP connect");
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_nodelay(true).unwrap();
    let stream = Counted {
        stream,
        read: 0,
        written: 0,
    };
    let config = {
        let mut config = Config::default();
        config.deflate = Some(deflate);
        config
    };
    let (mut ws, response) =
        WebSocket::client(stream, ClientRequest::from_uri(&uri), config).expect("handshake");
    assert_eq!(response.extensions(), Some(header), "{test}: agreed header");
    assert_eq!(ws.connection().deflate_params(), Some(params), "{test}");
    let handshake = (ws.get_ref().read, ws.get_ref().written);

    let all = messages(n);
    let mut payload = 0;
    for (i, m) in all.iter().enumerate() {
        match m {
            Incoming::Text(t) => ws.send_text(t).unwrap(),
            Incoming::Binary(b) => ws.send_binary(b).unwrap(),
            _ => unreachable!(),
        }
        let echo = loop {
            match ws.read() {
                Ok(Incoming::Ping(_) | Incoming::Pong(_)) => continue,
                Ok(other) => break other,
                Err(e) => panic!("{test}: reading the echo of message {i}: {e}"),
            }
        };
        // Not assert_eq!: a failure would print up to 1 MiB twice.
        assert!(
            echo == *m,
            "{test}: echo of message {i} ({} bytes) differs",
            len(m)
        );
        payload += len(m) as u64;
    }
    let sent = ws.get_ref().written - handshake.1;
    let received = ws.get_ref().read - handshake.0;
    let most = if variant == "lean" {
        payload / 2
    } else {
        payload / 4
    };
    assert!(
        sent < most && received < most,
        "{test}: {sent} bytes sent, {received} received for {payload} of payload"
    );
    ws6455_test_support::interop::announce(&format!(
        "{test}: {payload} payload bytes each way; on the wire {sent} sent by ws6455, {received} by Node"
    ));

    ws.close(CloseCode::NORMAL, "deflate done").unwrap();
    loop {
        match ws.read() {
            Ok(_) => continue,
            Err(ws6455::blocking::Error::Closed { code, clean }) => {
                assert_eq!((code, clean), (CloseCode::NORMAL, true), "{test}");
                break;
            }
            Err(e) => panic!("{test}: expected a close, got {e}"),
        }
    }
    // Hang up TCP as the server did (§7.1.1); Node reports the close
    // once the socket is closed.
    drop(ws);
    peer.expect(|l| l == "CLOSED 1000 deflate done");
}

#[test]
fn ws6455_client_compresses_with_node_server() {
    let test = "ws6455_client_compresses_with_node_server";
    if !node_ready(test) {
        return;
    }
    // We offer `permessage-deflate; client_max_window_bits`; Node takes
    // it with nothing to add.
    our_client(
        test,
        "default",
        MESSAGES,
        {
            let mut deflate = DeflateConfig::default();
            deflate.threshold = 0;
            deflate
        },
        "permessage-deflate",
        DeflateParams::default(),
    );
}

#[test]
fn ws6455_client_lean_with_node_server() {
    let test = "ws6455_client_lean_with_node_server";
    if !node_ready(test) {
        return;
    }
    // We ask for no context takeover both ways and a server window of
    // 2^12; Node's server (serverMaxWindowBits 11, clientMaxWindowBits 10)
    // answers with a smaller server window than asked and limits ours.
    our_client(
        test,
        "lean",
        LEAN_MESSAGES,
        {
            let mut deflate = DeflateConfig::default();
            deflate.server_no_context_takeover = true;
            deflate.client_no_context_takeover = true;
            deflate.server_max_window_bits = 12;
            deflate.threshold = 0;
            deflate
        },
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11; client_max_window_bits=10",
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 11,
            client_max_window_bits: 10,
        },
    );
}

#[test]
fn ws6455_loop_client_under_each_memory_preset_with_node_server() {
    let test = "ws6455_loop_client_under_each_memory_preset_with_node_server";
    if !node_ready(test) {
        return;
    }
    let all = messages(MESSAGES);
    assert!(all.iter().any(|m| len(m) >= 1 << 20), "a 1 MiB message");
    for (memory, bits, header) in [
        (DeflateMemory::Windows, 15, "permessage-deflate"),
        (
            DeflateMemory::Small,
            12,
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        ),
        (
            DeflateMemory::Tiny,
            9,
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        ),
    ] {
        let mut peer = Proc::spawn(
            "ws_peer.js deflate-server default",
            command("node", &["node/ws_peer.js", "deflate-server", "default"]),
        );
        let url = format!("{}/deflate", listening(&mut peer));
        let mut deflate = DeflateConfig::preset(memory);
        deflate.threshold = 0;
        let client = echo_each(&url, deflate, all.clone());
        assert_eq!(client.failure, None, "{test}: {memory:?}");
        assert_eq!(
            client.agreed.as_deref(),
            Some(header),
            "{test}: {memory:?} ({bits} bits)"
        );
        assert_eq!(
            client.echoed,
            all.len(),
            "{test}: {memory:?}: every echo came back"
        );
        assert_eq!(
            client.closed,
            Some((CloseCode::NORMAL, true)),
            "{test}: {memory:?}"
        );
        peer.expect(|l| l == "CLOSED 1000 deflate done");
    }
}
