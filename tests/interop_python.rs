//! Interop with Python `websockets` (pip), both ways: the peer as a client
//! of `ws6455 serve`, and as a server for ws6455's client. Skips, saying
//! so, when `websockets` is not installed — unless `WS6455_REQUIRE_INTEROP=1`.

use ws6455_test_support::interop::{
    client_scenario, command, listening, listening_as, peer_available, probe, serve, serve_with,
    Proc, TlsServes, CLIENT_SCENARIO_CHECKS,
};
use ws6455_test_support::tls::TestCert;

fn python_ready(test: &str) -> bool {
    peer_available(
        test,
        probe("python3", &["-c", "import websockets.asyncio.server"])
            .map(|_| "python3 with websockets >= 13 is not installed".to_owned()),
    )
}

#[test]
fn python_client_against_ws6455_serve() {
    if !python_ready("python_client_against_ws6455_serve") {
        return;
    }
    let server = serve("127.0.0.1:0");
    let small = serve_with("127.0.0.1:0", &["--max-message", "1000"]);
    let url = format!("ws://{}/echo", server.addr);
    let small_url = format!("ws://{}/echo", small.addr);
    let mut peer = Proc::spawn(
        "python_peer.py client",
        command("python3", &["python_peer.py", "client", &url, &small_url]),
    );
    peer.succeed();
    let passes = peer.passes();
    for must in CLIENT_SCENARIO_CHECKS {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    assert_eq!(passes.len(), 29, "{passes:?}");
}

#[test]
fn python_client_sees_ws6455_shut_down_with_1001() {
    if !python_ready("python_client_sees_ws6455_shut_down_with_1001") {
        return;
    }
    let mut server = serve("127.0.0.1:0");
    let url = format!("ws://{}/echo", server.addr);
    let mut peer = Proc::spawn(
        "python_peer.py wait-close",
        command("python3", &["python_peer.py", "wait-close", &url]),
    );
    peer.expect(|l| l == "CONNECTED");
    server.proc.terminate();
    peer.expect(|l| l == "CLOSED 1001 server shutting down");
    assert!(server.proc.wait_exit().success());
}

#[test]
fn ws6455_client_against_python_server() {
    if !python_ready("ws6455_client_against_python_server") {
        return;
    }
    let mut peer = Proc::spawn(
        "python_peer.py server",
        command("python3", &["python_peer.py", "server"]),
    );
    let base = listening(&mut peer);
    client_scenario(&mut peer, &base, None);
}

#[test]
fn python_client_sees_1009_while_still_sending_16_mib() {
    if !python_ready("python_client_sees_1009_while_still_sending_16_mib") {
        return;
    }
    let server = serve("127.0.0.1:0");
    let url = format!("ws://{}/echo", server.addr);
    let mut peer = Proc::spawn(
        "python_peer.py oversize",
        command("python3", &["python_peer.py", "oversize", &url]),
    );
    peer.expect(|l| l.starts_with("CLOSED"));
    assert_eq!(peer.seen.last().map(String::as_str), Some("CLOSED 1009"));
}

#[test]
fn ws6455_client_against_python_server_over_tls() {
    if !python_ready("ws6455_client_against_python_server_over_tls") {
        return;
    }
    let cert = TestCert::new();
    let files = cert.files();
    let mut cmd = command("python3", &["python_peer.py", "server"]);
    cmd.env("WS6455_TLS_CERT", &files.cert)
        .env("WS6455_TLS_KEY", &files.key);
    let mut peer = Proc::spawn("python_peer.py server (TLS)", cmd);
    let base = listening_as(&mut peer, "wss");
    client_scenario(&mut peer, &base, Some(&cert.client_config()));
}

#[test]
fn python_client_against_ws6455_serve_over_tls() {
    if !python_ready("python_client_against_ws6455_serve_over_tls") {
        return;
    }
    let serves = TlsServes::start();
    let mut peer = Proc::spawn(
        "python_peer.py client (TLS)",
        serves.client(command("python3", &["python_peer.py", "client"])),
    );
    peer.succeed();
    let passes = peer.passes();
    for must in CLIENT_SCENARIO_CHECKS {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    assert_eq!(passes.len(), 29, "{passes:?}");
}
