//! permessage-deflate interop with Python `websockets` (which compresses
//! by default), in both roles: its client against `ws6455 serve`, and our
//! blocking client against its server (and our event-loop client under
//! each memory preset, 1 MiB messages included). Hundreds of messages per
//! connection exercise context takeover; the "lean" variants exercise no
//! context takeover and small windows on both sides.
//!
//! Skipped with a note when `python3` or `websockets` (>= 11, for its sync
//! API) is missing, unless `WS6455_REQUIRE_INTEROP=1`.
#![cfg(feature = "deflate")]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use ws6455::proto::deflate::{DeflateConfig, DeflateMemory};
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, WebSocket};
use ws6455_test_support::echo_each::echo_each;
use ws6455_test_support::interop::{serve_with, DEFLATE_PRESETS};
use ws6455_test_support::server::ServerProcess;
use ws6455_test_support::MUST;

/// Whether Python `websockets` with its sync API is importable.
fn python_websockets() -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import websockets.sync.client, websockets.sync.server",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var("WS6455_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("WS6455_REQUIRE_INTEROP=1 but python3 with websockets >= 11 is missing");
        }
        println!(
            "note: python3 with websockets >= 11 not found; skipping (pip install websockets)"
        );
    }
    ok
}

/// The messages both scripts and the Rust side send: JSON-ish text whose
/// keys repeat across messages (what context takeover is good at), and
/// binary with a repeating pattern, in many sizes.
const SHARED: &str = r#"
import json
def messages(n):
    for i in range(n):
        if i % 3 == 2:
            yield bytes((i * 7 + j % 251) % 256 for j in range(i * 37 % 5000))
        else:
            yield json.dumps({"seq": i, "user": "user%d" % (i % 10), "tags": ["alpha", "beta", "gamma"][: i % 4],
                              "text": "lorem ipsum dolor sit amet " * (i % 40), "unicode": "κόσμε ✓"})
"#;

const CLIENT: &str = r#"
import sys
from websockets.sync.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
url, variant, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if variant == "lean":
    ext = ClientPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                         server_max_window_bits=10, client_max_window_bits=9)
else:
    ext = ClientPerMessageDeflateFactory()
with connect(url, extensions=[ext], compression=None, max_size=2**24, open_timeout=10) as ws:
    agreed = ws.response.headers.get("Sec-WebSocket-Extensions", "")
    assert agreed.startswith("permessage-deflate"), agreed
    count = 0
    for m in messages(n):
        ws.send(m)
        back = ws.recv(timeout=10)
        assert back == m, (count, len(m), len(back))
        count += 1
    # Then 1 MiB of text, repeating far beyond any window, and 1 MiB of
    # bytes that do not compress, each echoed intact.
    for big in ("".join("%06d lorem ipsum dolor " % k for k in range(40000))[: 1 << 20],
                bytes((k * 2654435761 >> 13) % 256 for k in range(1 << 20))):
        ws.send(big)
        assert ws.recv(timeout=20) == big, len(big)
    print("OK", count, agreed, flush=True)
"#;

const SERVER: &str = r#"
import sys
from websockets.sync.server import serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
variant = sys.argv[1]
if variant == "lean":
    ext = ServerPerMessageDeflateFactory(server_no_context_takeover=True, client_no_context_takeover=True,
                                         server_max_window_bits=11, client_max_window_bits=10)
else:
    ext = ServerPerMessageDeflateFactory()
def echo(ws):
    for m in ws:
        ws.send(m)
with serve(echo, "127.0.0.1", 0, extensions=[ext], compression=None, max_size=2**24) as server:
    print(server.socket.getsockname()[1], flush=True)
    server.serve_forever()
"#;

/// The messages of `SHARED`, built the same way in Rust.
fn messages(n: usize) -> Vec<Incoming> {
    let script = format!(
        "{SHARED}\nimport sys\nfor m in messages({n}):\n    \
         sys.stdout.write(('B' + m.hex()) if isinstance(m, bytes) else ('T' + m.encode().hex()))\n    \
         sys.stdout.write('\\n')\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let bytes: Vec<u8> = (1..line.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                .collect();
            match &line[..1] {
                "T" => Incoming::Text(String::from_utf8(bytes).unwrap()),
                _ => Incoming::Binary(bytes),
            }
        })
        .collect()
}

fn python_client(addr: SocketAddr, variant: &str, n: usize) -> String {
    let script = format!("{SHARED}{CLIENT}");
    let out = Command::new("python3")
        .args([
            "-c",
            &script,
            &format!("ws://{addr}/"),
            variant,
            &n.to_string(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python client ({variant}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn python_client_against_ws6455_serve() {
    if !python_websockets() {
        return;
    }
    // `ws6455 serve`: compression is on by default.
    let server = ServerProcess::spawn();
    let out = python_client(server.addr, "default", 300);
    assert!(out.starts_with("OK 300 permessage-deflate"), "{out}");
    let out = python_client(server.addr, "lean", 200);
    assert!(
        out.starts_with(
            "OK 200 permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9"
        ),
        "{out}"
    );
}

#[test]
fn python_client_against_ws6455_serve_under_each_memory_preset() {
    if !python_websockets() {
        return;
    }
    // Between Python's messages the server goes quiet, hands its codecs
    // back and keeps only the windows; every echo must still be exact.
    for (preset, want) in DEFLATE_PRESETS {
        let server = serve_with("127.0.0.1:0", &["--deflate-memory", preset]);
        let out = python_client(server.addr, "default", 200);
        assert!(
            out.starts_with(&format!("OK 200 {want}")),
            "{preset}: {out}"
        );
    }
}

/// A Python `websockets` echo server; killed on drop.
struct PyServer(Child, u16);

impl PyServer {
    fn start(variant: &str) -> PyServer {
        let mut child = Command::new("python3")
            .args(["-c", SERVER, variant])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no port: {line:?}"));
        PyServer(child, port)
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn our_client_against(variant: &str, deflate: DeflateConfig, expect: &str) {
    let server = PyServer::start(variant);
    let addr: SocketAddr = ([127, 0, 0, 1], server.1).into();
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(MUST)).unwrap();
    let config = {
        let mut config = Config::default();
        config.deflate = Some(deflate);
        config
    };
    let (mut ws, response) =
        WebSocket::client(stream, ClientRequest::new(addr.to_string(), "/"), config).unwrap();
    assert_eq!(response.extensions(), Some(expect));
    assert!(ws.connection().deflate_params().is_some());
    let all = messages(300);
    for m in &all {
        match m {
            Incoming::Text(t) => ws.send_text(t).unwrap(),
            Incoming::Binary(b) => ws.send_binary(b).unwrap(),
            _ => unreachable!(),
        }
        assert_eq!(&ws.read().unwrap(), m);
    }
    ws.close(CloseCode::NORMAL, "").unwrap();
    // The server's close echo ends the conversation (reads time out).
    let deadline = Instant::now() + MUST;
    let mut closed = false;
    while Instant::now() < deadline && !closed {
        closed = matches!(ws.read(), Ok(Incoming::Close(..)) | Err(_));
    }
    assert!(closed);
}

#[test]
fn ws6455_client_against_python_server() {
    if !python_websockets() {
        return;
    }
    our_client_against("default", DeflateConfig::default(), "permessage-deflate");
    our_client_against(
        "lean",
        {
            let mut deflate = DeflateConfig::default();
            deflate.client_no_context_takeover = true;
            deflate
        },
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=11; client_max_window_bits=10",
    );
}

#[test]
fn ws6455_loop_client_under_each_memory_preset_against_python_server() {
    if !python_websockets() {
        return;
    }
    // Python's messages, then 1 MiB of text that repeats far beyond any
    // window and 1 MiB of bytes that do not compress.
    let mut all = messages(200);
    all.push(Incoming::Text(
        (0..50_000)
            .map(|k| format!("{k:06} lorem ipsum dolor "))
            .collect::<String>()[..1 << 20]
            .to_owned(),
    ));
    all.push(Incoming::Binary(
        (0u64..1 << 20)
            .map(|k| ((k.wrapping_mul(2_654_435_761) >> 13) % 256) as u8)
            .collect(),
    ));
    for (memory, header) in [
        (DeflateMemory::Windows, "permessage-deflate"),
        (
            DeflateMemory::Small,
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        ),
        (
            DeflateMemory::Tiny,
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9",
        ),
    ] {
        let server = PyServer::start("default");
        let url = format!("ws://127.0.0.1:{}/", server.1);
        let mut deflate = DeflateConfig::preset(memory);
        deflate.threshold = 0;
        let client = echo_each(&url, deflate, all.clone());
        assert_eq!(client.failure, None, "{memory:?}");
        assert_eq!(client.agreed.as_deref(), Some(header), "{memory:?}");
        assert_eq!(client.echoed, all.len(), "{memory:?}: every echo came back");
        assert_eq!(client.closed, Some((CloseCode::NORMAL, true)), "{memory:?}");
    }
}
