//! Who may join the chat: `ws6455 serve --chat-token-file FILE` answers an
//! upgrade to `/chat` without a valid token with 401 and
//! `WWW-Authenticate` (RFC 7235 §3.1) before the upgrade, logs why, keeps
//! serving, and prints the count on shutdown. A valid token — in
//! `Authorization: Bearer`, the `token` query parameter or the
//! `ws6455.token.` subprotocol (what a browser can send) — opens the chat
//! with the token's name as the nickname, whatever the page asks for. The
//! echo endpoint (Autobahn's) needs no token. `ws6455 connect --header`
//! gets in with a good token and exits 2 naming the 401 with a bad one.
//! In process: the library counts a handler's 401 and 403 (not its 404)
//! in `Refusals::auth_failed`, and the handler still gets `on_closed`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use ws6455::blocking::{Incoming, WebSocket};
use ws6455::{auth, CloseCode, ConnId, ConnectOptions, Ctx, Decision, Handler, Request, Server};
use ws6455_test_support::handshake::{request_with, SAMPLE_KEY};
use ws6455_test_support::interop::{serve_with, Serve};
use ws6455_test_support::peer::{assert_serves, RawPeer};
use ws6455_test_support::program::Program;
use ws6455_test_support::{wait_until, MUST};

/// A token file for this test: ann and bob.
fn token_file(test: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "ws6455-hostile-auth-{}-{test}.tokens",
        std::process::id()
    ));
    std::fs::write(
        &path,
        "# token name\n\nann-s3cr3t ann\n\n  bob_t0ken   bob\n",
    )
    .unwrap();
    path
}

fn serve(test: &str) -> Serve {
    let file = token_file(test);
    serve_with(
        "127.0.0.1:0",
        &["--chat-token-file", file.to_str().unwrap()],
    )
}

/// An upgrade request for `target` with `extra` headers.
fn upgrade(addr: SocketAddr, target: &str, extra: &[&str]) -> String {
    let mut headers = vec![
        format!("Host: {addr}"),
        "Upgrade: websocket".to_owned(),
        "Connection: Upgrade".to_owned(),
        format!("Sec-WebSocket-Key: {SAMPLE_KEY}"),
        "Sec-WebSocket-Version: 13".to_owned(),
    ];
    headers.extend(extra.iter().map(|h| (*h).to_owned()));
    let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    request_with(&format!("GET {target} HTTP/1.1"), &refs)
}

/// The upgrade is answered 401 with a Bearer challenge and a reason.
fn unauthorized(addr: SocketAddr, target: &str, extra: &[&str], why: &str) {
    let mut client = RawPeer::tcp(addr);
    client.send(upgrade(addr, target, extra).as_bytes());
    let response = client.expect_refusal("HTTP/1.1 401 Unauthorized");
    assert_eq!(
        response.header("www-authenticate"),
        ["Bearer realm=\"ws6455\""]
    );
    let body = String::from_utf8_lossy(&response.body);
    assert!(body.contains(why), "{target} {extra:?}: body {body:?}");
    assert!(!body.contains("s3cr3t"), "a token is never echoed: {body}");
}

/// Connect to the chat with `options`, ask to join as "mallory", and
/// return the nickname the server gave (from the identity message and the
/// join).
fn join_as(url: &str, options: &ConnectOptions) -> (String, Option<String>) {
    let (mut ws, response) = WebSocket::connect(url, options).expect("101");
    let protocol = response.protocol().map(String::from);
    let Incoming::Text(identity) = ws.read().unwrap() else {
        panic!("an identity message")
    };
    ws.send_text(r#"{"type":"join","room":"lobby","nick":"mallory"}"#)
        .unwrap();
    let joined = loop {
        let Incoming::Text(text) = ws.read().unwrap() else {
            continue;
        };
        if text.contains(r#""type":"joined""#) {
            break text;
        }
    };
    assert!(!joined.contains("mallory"), "{joined}");
    let _ = ws.close(CloseCode::NORMAL, "");
    (format!("{identity} {joined}"), protocol)
}

#[test]
fn missing_or_wrong_tokens_get_401_the_echo_stays_open_and_the_count_is_printed() {
    let mut serve = serve("refused");
    let addr = serve.addr;
    unauthorized(addr, "/chat", &[], "no token");
    unauthorized(
        addr,
        "/chat",
        &["Authorization: Bearer wrong"],
        "unknown token",
    );
    unauthorized(addr, "/chat?token=nope", &[], "unknown token");
    unauthorized(
        addr,
        "/chat",
        &["Sec-WebSocket-Protocol: ws6455.chat, ws6455.token.nope"],
        "unknown token",
    );
    unauthorized(
        addr,
        "/chat",
        &["Authorization: Basic YW5uOnMzY3IzdA=="],
        "no token",
    );
    wait_until(MUST, "the refusal in serve's log", || {
        serve
            .proc
            .stderr()
            .contains("refused 401 by the handler: chat: no token")
    });
    // A flood is a line a second at the default level, not one each.
    let started = std::time::Instant::now();
    for _ in 0..30 {
        unauthorized(
            addr,
            "/chat",
            &["Authorization: Bearer flood"],
            "unknown token",
        );
    }
    let seconds = started.elapsed().as_secs();
    // The chat page opened with its token: the request line is logged
    // without the query, so the token is not.
    let mut page = RawPeer::tcp(addr);
    page.send(format!("GET /?token=ann-s3cr3t HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    assert_eq!(page.read_response().status_line, "HTTP/1.1 200 OK");
    wait_until(MUST, "the page request in serve's log", || {
        serve.proc.stderr().contains("http GET /?… 200")
    });
    // The echo endpoint (the Autobahn testee) needs no token.
    assert_serves(addr);
    let mut echo = RawPeer::tcp(addr);
    echo.send(upgrade(addr, "/echo", &[]).as_bytes());
    echo.expect_101();
    echo.echo_and_close("echo without a token");
    serve.proc.terminate();
    assert!(serve.proc.wait_exit().success(), "serve stopped cleanly");
    let log = serve.proc.stderr();
    assert!(log.contains("auth failed: 35\n"), "{log}");
    let lines = log.lines().filter(|l| l.contains("refused 401")).count();
    assert!(
        (1..=3 + seconds as usize).contains(&lines),
        "{lines} lines for 35 refusals in {seconds} s:\n{log}"
    );
    assert!(log.contains("refused origins: 0\n"), "{log}");
    assert!(!log.contains("s3cr3t") && !log.contains("nope"), "{log}");
    // A refusal is the library's one line, nothing more: the only
    // connections with a "closed" line are the two echoes.
    let closed = log.lines().filter(|l| l.contains(" closed ")).count();
    assert_eq!(closed, 2, "{log}");
}

#[test]
fn a_valid_token_by_header_query_or_subprotocol_joins_under_its_name() {
    let serve = serve("accepted");
    let addr = serve.addr;
    let url = format!("ws://{addr}/chat");

    let mut options = ConnectOptions::default();
    options.headers = vec![("Authorization".into(), "Bearer ann-s3cr3t".into())];
    let (seen, _) = join_as(&url, &options);
    assert!(seen.contains(r#""nick":"ann""#), "{seen}");

    let (seen, _) = join_as(
        &format!("{url}?token=bob_t0ken"),
        &ConnectOptions::default(),
    );
    assert!(seen.contains(r#""nick":"bob""#), "{seen}");

    // A browser's way: the token as a subprotocol beside the chat's own,
    // and the server answers with the chat's, never the token's.
    let mut options = ConnectOptions::default();
    options.protocols = vec!["ws6455.chat".into(), "ws6455.token.ann-s3cr3t".into()];
    let (seen, protocol) = join_as(&url, &options);
    assert!(seen.contains(r#""nick":"ann""#), "{seen}");
    assert_eq!(protocol.as_deref(), Some("ws6455.chat"));

    // Only the token entry offered: nothing honest to answer with.
    let mut client = RawPeer::tcp(addr);
    client.send(
        upgrade(
            addr,
            "/chat",
            &["Sec-WebSocket-Protocol: ws6455.token.ann-s3cr3t"],
        )
        .as_bytes(),
    );
    client.expect_refusal("HTTP/1.1 400 Bad Request");
}

#[test]
fn connect_with_a_bearer_header_gets_in_and_a_wrong_one_exits_2_naming_401() {
    let serve = serve("connect");
    let url = format!("ws://{}/chat", serve.addr);
    let mut good = Program::start(&[
        "connect",
        &url,
        "--header",
        "Authorization: Bearer bob_t0ken",
    ]);
    good.stdout_line(r#""nick":"bob""#);
    good.close_stdin();
    assert_eq!(good.wait().code(), Some(0));

    let mut bad = Program::start(&["connect", &url, "--header", "Authorization: Bearer wrong"]);
    bad.stderr_line("401");
    assert_eq!(bad.wait().code(), Some(2));
}

#[test]
fn a_bad_token_file_is_refused_before_binding() {
    let path = std::env::temp_dir().join(format!(
        "ws6455-hostile-auth-{}-bad.tokens",
        std::process::id()
    ));
    std::fs::write(&path, "ann-s3cr3t ann\nlonely\n").unwrap();
    let mut serve = Program::start(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--chat-token-file",
        path.to_str().unwrap(),
    ]);
    assert_eq!(serve.wait().code(), Some(2));
    let line = serve.stderr_line("--chat-token-file");
    assert!(line.contains("line 2"), "{line}");
}

/// In process: a handler that lets in `Bearer good`, answers 403 to
/// `Bearer banned`, 401 to anything else, and 404 to `/missing`; it counts
/// its `on_closed` calls.
#[derive(Clone, Default)]
struct Gate(Arc<AtomicUsize>);

impl Handler for Gate {
    fn on_request(&mut self, _: &mut Ctx<'_>, _: ConnId, request: &Request) -> Decision {
        if request.path() == "/missing" {
            return Decision::Reject {
                status: 404,
                reason: "no such thing".into(),
            };
        }
        match auth::bearer(request) {
            Some("good") => Decision::accept(),
            Some("banned") => Decision::forbidden("banned"),
            _ => Decision::unauthorized("no good token"),
        }
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, _: ConnId, _: CloseCode, _: bool) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn the_library_counts_the_handlers_401_and_403_and_still_calls_on_closed() {
    let gate = Gate::default();
    let closed = gate.0.clone();
    let server = Server::new()
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || gate.clone());
    let addr = server.local_addr();
    let url = format!("ws://{addr}/");
    let with = |token: &str| {
        let mut options = ConnectOptions::default();
        options.headers = vec![("Authorization".into(), format!("Bearer {token}"))];
        options
    };
    let error = WebSocket::connect(&url, &with("bad")).err().expect("401");
    assert!(error.to_string().contains("401"), "{error}");
    let error = WebSocket::connect(&url, &with("banned"))
        .err()
        .expect("403");
    assert!(error.to_string().contains("403"), "{error}");
    // Not an authentication failure: not counted.
    let mut client = RawPeer::tcp(addr);
    client.send(upgrade(addr, "/missing", &[]).as_bytes());
    client.expect_refusal("HTTP/1.1 404 Not Found");
    let (mut ws, _) = WebSocket::connect(&url, &with("good")).unwrap();
    ws.close(CloseCode::NORMAL, "").unwrap();
    wait_until(MUST, "on_closed for all four", || {
        closed.load(Ordering::Relaxed) == 4
    });
    let refusals = server.handle().refusals();
    assert_eq!(refusals.auth_failed, 2, "{refusals}");
    assert_eq!(refusals.origin, 0);
    assert_eq!(refusals.total(), 2);
    server.stop().unwrap();
}
