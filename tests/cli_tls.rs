//! wss:// on the command line: `serve --tls-cert/--tls-key` serves the
//! echo, the chat and its page over TLS; `connect`, `bench` and
//! `autobahn-client` reach wss:// servers with `--ca` or `--insecure`, and
//! fail clearly without them; every unusable certificate, key or CA file
//! is one line on stderr and exit status 2.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ws6455::proto::handshake::Request;
use ws6455::tls::rustls::{ClientConnection, StreamOwned};
use ws6455::{CloseCode, ConnId, Ctx, Decision, Handler, Incoming, Message, Server, WebSocket};
use ws6455_test_support::program::Program;
use ws6455_test_support::tls::TestCert;
use ws6455_test_support::MUST;

/// A directory of its own under the target directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("cli_tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        TempDir(dir)
    }

    /// Write `contents` to `name` in the directory; returns its path.
    fn file(&self, name: &str, contents: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).expect("write a test file");
        path.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A certificate and its PEM files.
fn cert_files(dir: &TempDir) -> (TestCert, String, String) {
    let cert = TestCert::new();
    let (cert_path, key_path) = cert.write_to(&dir.0);
    (
        cert,
        cert_path.display().to_string(),
        key_path.display().to_string(),
    )
}

/// `ws6455 serve` with TLS on a free port; returns it and its address,
/// read from the startup line (which must name wss:// and https://).
fn serve_tls(cert: &str, key: &str) -> (Program, SocketAddr) {
    let mut serve = Program::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ping-interval",
        "0",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
    ]);
    let banner = serve.stderr_line("serving on");
    assert!(banner.contains("https://"), "pages on https: {banner}");
    let addr = banner
        .split("wss://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no wss:// address in {banner:?}"));
    (serve, addr)
}

/// `GET path` over TLS, trusting `cert`; the whole response.
fn https_get(cert: &TestCert, addr: SocketAddr, path: &str) -> String {
    let name = "localhost".try_into().expect("a server name");
    let session = ClientConnection::new(cert.client_config(), name).expect("a TLS session");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(MUST)).expect("read timeout");
    let mut tls = StreamOwned::new(session, tcp);
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    )
    .expect("send the request");
    tls.flush().expect("flush");
    let mut response = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            // TCP closed without close_notify: the body is complete anyway.
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("reading the response over TLS: {e}"),
        }
    }
    String::from_utf8(response).expect("a UTF-8 page")
}

#[test]
fn serve_with_a_certificate_serves_echo_chat_and_pages_over_tls() {
    let dir = TempDir::new("serve");
    let (cert, cert_path, key_path) = cert_files(&dir);
    let (serve, addr) = serve_tls(&cert_path, &key_path);
    let port = addr.port();

    // The echo, over wss://, with the certificate checked.
    let url = format!("wss://localhost:{port}/echo");
    let (mut ws, response) = WebSocket::connect_tls(&url, &cert.client_options()).expect("connect");
    assert_eq!(response.status(), 101);
    ws.get_ref().sock.set_read_timeout(Some(MUST)).unwrap();
    ws.send_text("over TLS").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text("over TLS".into()));
    ws.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));

    // The chat's socket: the room list arrives first.
    let url = format!("wss://localhost:{port}/chat");
    let (mut chat, _) =
        WebSocket::connect_tls(&url, &cert.client_options()).expect("connect /chat");
    chat.get_ref().sock.set_read_timeout(Some(MUST)).unwrap();
    match chat.read().expect("the room list") {
        Incoming::Text(text) => assert!(text.contains("\"type\":\"rooms\""), "{text}"),
        other => panic!("expected the room list, got {other:?}"),
    }

    // The pages, over https, open their socket with the page's own
    // scheme: wss:// when the page came over https.
    for (path, socket) in [("/", "/chat"), ("/game", "/game")] {
        let page = https_get(&cert, addr, path);
        assert!(page.starts_with("HTTP/1.1 200"), "{path}: {page:.200}");
        let picks_wss = format!(
            "(location.protocol === \"https:\" ? \"wss://\" : \"ws://\") + location.host + \"{socket}\""
        );
        assert!(page.contains(&picks_wss), "{path} does not follow https");
        assert!(
            !page.contains("new WebSocket(\"ws://"),
            "{path}: ws:// fixed"
        );
    }

    // Plain HTTP on the TLS port is not served.
    let mut plain = TcpStream::connect(addr).unwrap();
    plain.set_read_timeout(Some(MUST)).unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "served without TLS");

    drop(serve);
}

/// `connect URL ARGS…`: sends "hello", expects its echo, closes; returns
/// the exit code and every stderr line.
fn connect_echo(url: &str, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let mut all = vec!["connect", url];
    all.extend_from_slice(args);
    let mut program = Program::start(&all);
    program.send_line("hello");
    program.stdout_line("< text: hello");
    program.close_stdin();
    program.stdout_line("< close 1000");
    let code = program.wait().code();
    (code, program.kill_and_take_stderr())
}

#[test]
fn connect_with_ca_echoes_and_traces_the_frames_inside_tls() {
    let dir = TempDir::new("connect-ca");
    let (cert, cert_path, _) = cert_files(&dir);
    let server = cert.echo_server(Default::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let (code, stderr) = connect_echo(&url, &["--ca", &cert_path, "--trace"]);
    assert_eq!(code, Some(0), "{stderr:#?}");
    // --trace shows the WebSocket frames (decrypted), both ways.
    for needle in [
        "→ text fin len=5 \"hello\"",
        "← text fin len=5 \"hello\"",
        "→ close 1000",
    ] {
        assert!(
            stderr.iter().any(|l| l.contains(needle)),
            "no {needle:?} in {stderr:#?}"
        );
    }
    assert!(!stderr.iter().any(|l| l.contains("warning")), "{stderr:#?}");
    server.stop().unwrap();
}

#[test]
fn connect_without_trust_fails_with_a_certificate_error_and_exit_2() {
    let dir = TempDir::new("connect-untrusted");
    let (cert, _, _) = cert_files(&dir);
    let other = TestCert::new();
    let other_path = dir.file("other.pem", &other.cert_pem);
    let server = cert.echo_server(Default::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    // Mozilla's roots do not know a self-signed certificate; nor does a
    // --ca holding some other certificate.
    for extra in [&[][..], &["--ca", &other_path][..]] {
        let mut args = vec!["connect", &url];
        args.extend_from_slice(extra);
        let mut program = Program::start(&args);
        let line = program.stderr_line("cannot connect");
        assert!(line.contains("invalid peer certificate"), "{line}");
        assert!(line.contains("--ca FILE"), "says what to do: {line}");
        assert_eq!(program.wait().code(), Some(2), "{extra:?}");
    }
    server.stop().unwrap();
}

#[test]
fn insecure_accepts_any_certificate_and_warns_once() {
    let cert = TestCert::new();
    let server = cert.echo_server(Default::default());
    // By address: no trust and no name check, only the handshake.
    let url = format!("wss://127.0.0.1:{}/", server.local_addr().port());
    let (code, stderr) = connect_echo(&url, &["--insecure"]);
    assert_eq!(code, Some(0), "{stderr:#?}");
    let warnings = stderr.iter().filter(|l| l.contains("--insecure")).count();
    assert_eq!(warnings, 1, "{stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains("not checked")),
        "{stderr:#?}"
    );
    server.stop().unwrap();
}

/// `ws6455 ARGS…` that must exit 2 with one stderr line containing
/// `needle`.
fn fails_with_one_line(args: &[&str], needle: &str) {
    let mut program = Program::start(args);
    let code = program.wait().code();
    let stderr = program.kill_and_take_stderr();
    assert_eq!(code, Some(2), "{args:?}: {stderr:#?}");
    assert_eq!(stderr.len(), 1, "{args:?}: one line, got {stderr:#?}");
    assert!(stderr[0].contains(needle), "{args:?}: {stderr:#?}");
    assert!(!stderr[0].contains("panicked"), "{args:?}: {stderr:#?}");
}

#[test]
fn unusable_certificate_key_and_ca_files_exit_2_with_one_line() {
    let dir = TempDir::new("bad-files");
    let (cert, cert_path, key_path) = cert_files(&dir);
    let other_key = dir.file("other-key.pem", &TestCert::new().key_pem);
    // rustls reads only unencrypted keys; what marks a key as encrypted
    // is its PEM label.
    let encrypted = dir.file(
        "encrypted.pem",
        &cert.key_pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
    );
    let missing = dir.0.join("missing.pem").display().to_string();
    let garbage = dir.file("garbage.pem", "not a certificate\n");
    let bad_base64 = dir.file(
        "bad-base64.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    );
    let not_der = dir.file(
        "not-der.pem",
        "-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n",
    );

    let serve = |cert: &str, key: &str, needle: &str| {
        fails_with_one_line(
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                cert,
                "--tls-key",
                key,
            ],
            needle,
        );
    };
    serve(&cert_path, &missing, "--tls-key");
    serve(&missing, &key_path, "--tls-cert");
    serve(
        &cert_path,
        &other_key,
        "not the private key of the certificate",
    );
    serve(&cert_path, &encrypted, "encrypted");
    serve(&key_path, &key_path, "no certificate");
    serve(&garbage, &key_path, "no certificate");
    serve(&cert_path, &cert_path, "--tls-key");

    let url = "wss://localhost:1/";
    for (ca, needle) in [
        (&missing, "--ca"),
        (&garbage, "no certificate"),
        (&key_path, "no certificate"),
        (&bad_base64, "not a valid PEM file"),
        (&not_der, "not a usable CA certificate"),
    ] {
        fails_with_one_line(&["connect", url, "--ca", ca], needle);
    }
    fails_with_one_line(&["bench", "--url", url, "--ca", &missing], "--ca");
    fails_with_one_line(
        &["autobahn-client", "--url", url, "--ca", &garbage],
        "no certificate",
    );
    fails_with_one_line(&["bench", "--idle", "--url", url], "ws://");
}

#[test]
fn serve_takes_both_tls_files_or_neither() {
    let mut program = Program::start(&["serve", "--listen", "127.0.0.1:0", "--tls-cert", "c"]);
    program.stderr_line("--tls-key");
    assert_eq!(program.wait().code(), Some(2));
}

#[test]
fn bench_speaks_wss_with_ca_and_fails_without() {
    let dir = TempDir::new("bench");
    let (cert, cert_path, _) = cert_files(&dir);
    let server = cert.echo_server(Default::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let args = ["bench", "--url", &url, "-c", "2", "-w", "0.1", "-d", "0.3"];

    let mut with_ca = args.to_vec();
    with_ca.extend_from_slice(&["--json", "--ca", &cert_path]);
    let mut program = Program::start(&with_ca);
    let json = program.stdout_line("\"mode\":\"echo\"");
    assert!(!json.contains("\"messages\":0,"), "{json}");
    assert_eq!(program.wait().code(), Some(0));

    let mut program = Program::start(&args);
    program.stderr_line("invalid peer certificate");
    assert_ne!(program.wait().code(), Some(0));
    server.stop().unwrap();
}

/// Just enough of an Autobahn fuzzingserver: one case, which sends one
/// message and expects it back.
#[derive(Clone, Default)]
struct Fuzzingserver {
    paths: Arc<Mutex<Vec<String>>>,
    echoed: Arc<Mutex<Vec<String>>>,
    open: Arc<Mutex<HashMap<ConnId, String>>>,
}

impl Handler for Fuzzingserver {
    fn on_request(&mut self, _: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        self.paths.lock().unwrap().push(request.path().to_owned());
        self.open
            .lock()
            .unwrap()
            .insert(id, request.path().to_owned());
        Decision::accept()
    }

    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&ws6455::proto::Response>) {
        let path = self
            .open
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_default();
        if path.starts_with("/getCaseCount") {
            let _ = ctx.send_text(id, "1");
            let _ = ctx.close(id, CloseCode::NORMAL, "");
        } else if path.starts_with("/runCase") {
            let _ = ctx.send_text(id, "case one");
        } else {
            let _ = ctx.close(id, CloseCode::NORMAL, "");
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if let Message::Text(text) = message {
            self.echoed.lock().unwrap().push(text.to_owned());
        }
        let _ = ctx.close(id, CloseCode::NORMAL, "");
    }
}

#[test]
fn autobahn_client_speaks_wss_with_ca_and_fails_without() {
    let dir = TempDir::new("autobahn");
    let (cert, cert_path, _) = cert_files(&dir);
    let fuzzingserver = Fuzzingserver::default();
    let handler = fuzzingserver.clone();
    let server = Server::new()
        .tls(cert.server_config())
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(move || handler.clone());
    let url = format!("wss://localhost:{}", server.local_addr().port());

    let mut program = Program::start(&["autobahn-client", "--url", &url, "--ca", &cert_path]);
    assert_eq!(program.wait().code(), Some(0));
    assert_eq!(*fuzzingserver.echoed.lock().unwrap(), ["case one"]);
    assert_eq!(
        *fuzzingserver.paths.lock().unwrap(),
        [
            "/getCaseCount",
            "/runCase",
            "/getCaseCount",
            "/updateReports"
        ]
    );

    // Untrusted: the run fails, it does not report success with no cases.
    let mut program = Program::start(&["autobahn-client", "--url", &url]);
    program.stderr_line("invalid peer certificate");
    assert_eq!(program.wait().code(), Some(1));
    server.stop().unwrap();
}
