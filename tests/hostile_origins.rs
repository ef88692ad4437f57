//! Web pages from other sites trying to open WebSockets (RFC 6455 §10.2):
//! `ws6455 serve` answers 403 to an `Origin` that is neither its own (the
//! same origin as the `Host` header) nor named with `--allow-origin`, keeps
//! serving everyone else, logs the refusal and counts it on shutdown. And
//! the library's side: `Server::origins` refuses before the handler, which
//! hears of the refused connection neither in `on_request` nor in
//! `on_closed`, and `Refusals` counts it.
//!
//! Requests come from raw peers, byte for byte, so the `Host` and `Origin`
//! headers are exactly what a browser would send.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use ws6455::blocking::WebSocket;
use ws6455::{CloseCode, ConnId, ConnectOptions, Ctx, Decision, Handler, Message, OriginPolicy};
use ws6455::{Request, Server};
use ws6455_test_support::handshake::{request_with, SAMPLE_KEY};
use ws6455_test_support::interop::serve_with;
use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::program::Program;
use ws6455_test_support::server::ServerProcess;
use ws6455_test_support::tls::TestCert;
use ws6455_test_support::{wait_until, MUST};

/// An upgrade request for the echo endpoint with this `Host` and, if
/// given, this `Origin`.
fn upgrade(host: &str, origin: Option<&str>) -> String {
    let mut headers = vec![
        format!("Host: {host}"),
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {SAMPLE_KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ];
    if let Some(origin) = origin {
        headers.push(format!("Origin: {origin}"));
    }
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    request_with("GET /echo HTTP/1.1", &refs)
}

/// The request is upgraded and the connection echoes.
fn accepted(addr: SocketAddr, host: &str, origin: Option<&str>) {
    let mut client = RawPeer::tcp(addr);
    client.send(upgrade(host, origin).as_bytes());
    client.expect_101();
    client.echo_and_close(&format!("with Origin {origin:?}"));
}

/// The request is answered 403 with a plain-text reason, and TCP closed.
fn refused(addr: SocketAddr, host: &str, origin: &str) {
    let mut client = RawPeer::tcp(addr);
    client.send(upgrade(host, Some(origin)).as_bytes());
    let response = client.expect_refusal("HTTP/1.1 403 Forbidden");
    assert_eq!(
        response.header("content-type"),
        ["text/plain; charset=utf-8"]
    );
    let body = String::from_utf8_lossy(&response.body);
    assert!(
        body.contains("origin not allowed"),
        "{origin}: body {body:?}"
    );
}

/// Another port than `addr`'s.
fn other_port(addr: SocketAddr) -> u16 {
    addr.port().checked_add(1).unwrap_or(addr.port() - 1)
}

#[test]
fn a_foreign_origin_is_refused_with_403_and_the_server_keeps_serving() {
    let mut server = ServerProcess::spawn();
    let host = server.addr.to_string();
    refused(server.addr, &host, "http://evil.example");
    refused(
        server.addr,
        &host,
        &format!("http://evil.example:{}", server.addr.port()),
    );
    server.assert_alive();
    assert_serves(server.addr);
    accepted(server.addr, &host, Some(&format!("http://{}", server.addr)));
}

#[test]
fn the_same_origin_as_host_is_accepted_by_any_name() {
    let server = ServerProcess::spawn();
    let port = server.addr.port();
    for (host, origin) in [
        (
            format!("127.0.0.1:{port}"),
            format!("http://127.0.0.1:{port}"),
        ),
        (
            format!("localhost:{port}"),
            format!("http://localhost:{port}"),
        ),
        (
            format!("LocalHost:{port}"),
            format!("http://localhost:{port}"),
        ),
    ] {
        accepted(server.addr, &host, Some(&origin));
    }
}

#[test]
fn an_origin_naming_another_port_scheme_or_host_than_host_is_refused() {
    let server = ServerProcess::spawn();
    let port = server.addr.port();
    let host = format!("127.0.0.1:{port}");
    for origin in [
        format!("http://127.0.0.1:{}", other_port(server.addr)),
        format!("https://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        "http://127.0.0.1".to_owned(),
        // Not an origin: a path, nothing at all, the opaque origin.
        format!("http://127.0.0.1:{port}/"),
        "127.0.0.1".to_owned(),
        "null".to_owned(),
    ] {
        refused(server.addr, &host, &origin);
    }
    assert_serves(server.addr);
}

#[test]
fn requests_without_an_origin_are_accepted_as_from_programs() {
    let server = ServerProcess::spawn();
    // What wstest, Python websockets, Node ws and `ws6455 connect` send.
    accepted(server.addr, &server.addr.to_string(), None);
    accepted(server.addr, "127.0.0.1", None);
    accepted(server.addr, "somewhere.else.example", None);
}

#[test]
fn allow_origin_lets_in_exactly_the_origins_named() {
    let server = ServerProcess::spawn_with(&[
        "--allow-origin",
        "http://127.0.0.1:8080",
        "--allow-origin",
        "null",
    ]);
    let host = server.addr.to_string();
    accepted(server.addr, &host, Some("http://127.0.0.1:8080"));
    accepted(server.addr, &host, Some("null"));
    for origin in [
        "http://127.0.0.1:8081",
        "https://127.0.0.1:8080",
        "http://localhost:8080",
        "http://127.0.0.1",
    ] {
        refused(server.addr, &host, origin);
    }
    // Its own pages still may.
    accepted(server.addr, &host, Some(&format!("http://{host}")));
}

#[test]
fn a_wildcard_allow_origin_matches_subdomains_at_any_depth_only() {
    let server = ServerProcess::spawn_with(&["--allow-origin", "https://*.example.com"]);
    let host = server.addr.to_string();
    accepted(server.addr, &host, Some("https://a.example.com"));
    accepted(server.addr, &host, Some("https://a.b.example.com"));
    for origin in [
        "https://example.com",
        "http://a.example.com",
        "https://a.example.com:8443",
        "https://a.example.com.evil.test",
        "https://evilexample.com",
    ] {
        refused(server.addr, &host, origin);
    }
}

#[test]
fn allow_origin_star_accepts_any_origin() {
    let server = ServerProcess::spawn_with(&["--allow-origin", "*"]);
    let host = server.addr.to_string();
    for origin in ["http://evil.example", "null", "https://127.0.0.1:1"] {
        accepted(server.addr, &host, Some(origin));
    }
}

#[test]
fn a_bad_allow_origin_exits_2_naming_the_option() {
    for (pattern, why) in [
        ("https://example.com/", "no path"),
        ("https://a.*.example.com", "wildcard"),
        ("example.com", "scheme"),
    ] {
        let mut serve = Program::start(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--allow-origin",
            pattern,
        ]);
        let status = serve.wait();
        assert_eq!(status.code(), Some(2), "{pattern}");
        let line = serve.stderr_line("--allow-origin");
        assert!(line.contains(pattern) && line.contains(why), "{line}");
    }
}

#[test]
fn refusals_are_logged_at_the_default_level_without_flooding_and_counted_on_shutdown() {
    let mut serve = serve_with("127.0.0.1:0", &[]);
    let addr = serve.addr;
    let host = addr.to_string();
    assert!(
        serve.proc.stderr().contains("origins: same origin as Host"),
        "{}",
        serve.proc.stderr()
    );
    refused(addr, &host, "http://evil.example");
    wait_until(MUST, "the refusal in serve's log", || {
        serve
            .proc
            .stderr()
            .contains("refused 403: origin \"http://evil.example\" is not allowed")
    });
    // A flood is a line a second at the default level, not one each.
    let started = Instant::now();
    for _ in 0..30 {
        refused(addr, &host, "http://flood.example");
    }
    let seconds = started.elapsed().as_secs();
    assert_serves(addr);
    serve.proc.terminate();
    assert!(
        serve.proc.wait_exit().success(),
        "serve did not stop cleanly"
    );
    let log = serve.proc.stderr();
    let lines = log.lines().filter(|l| l.contains("refused 403")).count();
    assert!(
        (1..=2 + seconds as usize).contains(&lines),
        "{lines} lines for 31 refusals in {seconds} s:\n{log}"
    );
    assert!(log.contains("refused origins: 31\n"), "{log}");
    assert!(log.contains("ws6455 stopped"), "{log}");
    // The handler never heard of them: no open or close line for any.
    for what in [" open ", " closed "] {
        assert_eq!(
            log.lines().filter(|l| l.contains(what)).count(),
            1,
            "only the echo of assert_serves has an{what}line:\n{log}"
        );
    }
}

/// Records the callbacks a refused connection must never reach.
#[derive(Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    fn push(&self, call: String) {
        self.0.lock().unwrap().push(call);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl Handler for Calls {
    fn on_request(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        self.push(format!(
            "request {id} origin={:?} refused so far={}",
            request.origin(),
            ctx.refusals().origin
        ));
        Decision::accept()
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(text) => ctx.send_text(id, text),
            Message::Binary(data) => ctx.send_binary(id, data),
        };
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        self.push(format!("closed {id}"));
    }
}

#[test]
fn a_refused_origin_reaches_neither_on_request_nor_on_closed_and_is_counted() {
    let calls = Calls::default();
    let handler = calls.clone();
    let server = Server::new()
        .origins(OriginPolicy::same_host())
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || handler.clone());
    let addr = server.local_addr();
    let host = addr.to_string();
    assert_eq!(server.handle().refusals().origin, 0);

    refused(addr, &host, "http://evil.example");
    assert_eq!(server.handle().refusals().origin, 1);
    assert_eq!(server.handle().refusals().total(), 1);
    // Then one that is let in: the handler sees it, and only it.
    accepted(addr, &host, None);
    wait_until(MUST, "on_closed of the accepted connection", || {
        calls.all().iter().any(|c| c.starts_with("closed"))
    });
    let seen = calls.all();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert!(
        seen[0].starts_with("request") && seen[0].ends_with("origin=None refused so far=1"),
        "{seen:#?}"
    );

    // ws6455's own client, sending an Origin as a browser would, is told 403.
    let mut options = ConnectOptions::default();
    options.origin = Some("http://evil.example".into());
    let url = format!("ws://{addr}/");
    let error = WebSocket::connect(&url, &options).err().expect("refused");
    assert!(error.to_string().contains("403"), "{error}");
    options.origin = Some(format!("http://{addr}"));
    assert!(WebSocket::connect(&url, &options).is_ok());
    assert_eq!(server.handle().refusals().origin, 2);
    server.stop().unwrap();
}

#[test]
fn over_tls_the_same_origin_is_https() {
    let cert = TestCert::new();
    let server = Server::new()
        .tls(cert.server_config())
        .origins(OriginPolicy::same_host())
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(|| ws6455_test_support::server::Echo);
    let addr = server.local_addr();
    let url = format!("wss://{addr}/");
    let mut options = cert.client_options();
    options.origin = Some(format!("https://{addr}"));
    assert!(WebSocket::connect_tls(&url, &options).is_ok());
    // The same host and port over http: a page served elsewhere.
    options.origin = Some(format!("http://{addr}"));
    let error = WebSocket::connect_tls(&url, &options)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("403"), "{error}");
    assert_eq!(server.handle().refusals().origin, 1);
    server.stop().unwrap();
}
