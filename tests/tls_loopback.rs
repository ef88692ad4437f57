//! `wss://` on loopback: the event-loop server with TLS, driven by the
//! blocking client over rustls and by the event-loop client — messages
//! small and large, ping/pong, close codes, certificates checked.

use std::sync::mpsc;
use std::time::Duration;

use ws6455::blocking::Error;
use ws6455::{
    CloseCode, Config, ConnError, ConnId, ConnectOptions, Ctx, EventLoop, Handler, Incoming,
    Message, Response, WebSocket,
};
use ws6455_test_support::tls::TestCert;
use ws6455_test_support::MUST;

#[test]
fn a_blocking_client_echoes_over_wss_text_large_binary_ping_and_close() {
    let cert = TestCert::new();
    let server = cert.echo_server(Config::default());
    let url = format!("wss://localhost:{}/chat", server.local_addr().port());
    let (mut ws, response) = WebSocket::connect_tls(&url, &cert.client_options()).expect("connect");
    assert_eq!(response.status(), 101);
    ws.get_ref()
        .sock
        .set_read_timeout(Some(MUST))
        .expect("timeout");

    ws.send_text("hello over TLS").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Incoming::Text("hello over TLS".into())
    );

    // 1 MiB: many TLS records each way, and more than PENDING_LIMIT.
    let big: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
    ws.send_binary(&big).expect("send 1 MiB");
    assert_eq!(ws.read().expect("echo 1 MiB"), Incoming::Binary(big));

    ws.send_ping(b"are you there").expect("ping");
    assert_eq!(
        ws.read().expect("pong"),
        Incoming::Pong(b"are you there".to_vec())
    );

    ws.close(CloseCode(4001), "done").expect("close");
    match ws.read().expect("the server's close") {
        Incoming::Close(code, _) => assert_eq!(code, Some(CloseCode(4001))),
        other => panic!("expected the close echoed, got {other:?}"),
    }
    server.stop().expect("stop");
}

#[test]
fn a_client_that_does_not_trust_the_certificate_fails_with_a_clear_error() {
    let server_cert = TestCert::new();
    let other = TestCert::new();
    let server = server_cert.echo_server(Config::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let err = match WebSocket::connect_tls(&url, &other.client_options()) {
        Ok(_) => panic!("a certificate nobody trusts was accepted"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::Io(e) if e.to_string().contains("certificate")),
        "{err}"
    );
    // The server keeps serving.
    let (mut ws, _) = WebSocket::connect_tls(&url, &server_cert.client_options()).expect("connect");
    ws.send_text("still here").expect("send");
    assert_eq!(
        ws.read().expect("echo"),
        Incoming::Text("still here".into())
    );
    server.stop().expect("stop");
}

#[test]
fn plain_ws_urls_are_refused_by_the_tls_connector_and_wss_by_the_plain_one() {
    let err = WebSocket::connect_tls("ws://127.0.0.1:9/", &ConnectOptions::default())
        .err()
        .expect("ws:// refused");
    assert!(err.to_string().contains("not a wss:// URL"), "{err}");
    let err = WebSocket::connect("wss://127.0.0.1:9/", &ConnectOptions::default())
        .err()
        .expect("wss:// refused");
    assert!(err.to_string().contains("tls"), "{err}");
}

/// An event-loop client: sends its messages on open and reports what it
/// hears, then closes.
struct Client {
    messages: Vec<Vec<u8>>,
    heard: mpsc::Sender<Result<Vec<u8>, String>>,
}

impl Handler for Client {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&Response>) {
        for m in &self.messages {
            ctx.send_binary(id, m).expect("send");
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if let Message::Binary(b) = message {
            let _ = self.heard.send(Ok(b.to_vec()));
            self.messages.pop();
            if self.messages.is_empty() {
                let _ = ctx.close(id, CloseCode::NORMAL, "");
            }
        }
    }
    fn on_error(&mut self, _: &mut Ctx<'_>, _: ConnId, error: &ConnError) {
        let _ = self.heard.send(Err(error.to_string()));
    }
}

fn run_client(
    url: String,
    options: ConnectOptions,
    messages: Vec<Vec<u8>>,
) -> Vec<Result<Vec<u8>, String>> {
    let (heard, results) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut event_loop = EventLoop::new(Default::default()).expect("loop");
        event_loop.connect(&url, &options).expect("connect");
        let mut client = Client { messages, heard };
        event_loop.run(&mut client).expect("run");
    });
    thread.join().expect("client thread");
    results.try_iter().collect()
}

#[test]
fn the_event_loop_client_speaks_wss() {
    let cert = TestCert::new();
    let server = cert.echo_server(Config::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let small = b"tiny".to_vec();
    let large = vec![0xA5; 3 << 20];
    let heard = run_client(
        url,
        cert.client_options(),
        vec![small.clone(), large.clone()],
    );
    assert_eq!(heard, vec![Ok(small), Ok(large)]);
    server.stop().expect("stop");
}

#[test]
fn the_event_loop_client_reports_an_untrusted_certificate_as_a_tls_error() {
    let cert = TestCert::new();
    let server = cert.echo_server(Config::default());
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let heard = run_client(url, TestCert::new().client_options(), vec![b"x".to_vec()]);
    assert_eq!(heard.len(), 1, "{heard:?}");
    let error = heard[0].clone().expect_err("a TLS error");
    assert!(
        error.starts_with("TLS error") && error.contains("certificate"),
        "{error}"
    );
    let _ = Duration::ZERO;
    server.stop().expect("stop");
}
