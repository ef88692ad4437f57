//! Interop with Node's `ws` (npm, installed in tests/interop/node), both
//! ways: the peer as a client of `ws6455 serve`, and as a server for
//! ws6455's client. Skips, saying so, when `ws` is not installed — unless
//! `WS6455_REQUIRE_INTEROP=1`.

use ws6455_test_support::interop::{
    client_scenario, command, listening, listening_as, node_module_missing, peer_available, serve,
    serve_with, Proc, TlsServes, CLIENT_SCENARIO_CHECKS,
};
use ws6455_test_support::tls::TestCert;

fn node_ready(test: &str) -> bool {
    peer_available(test, node_module_missing("ws"))
}

fn ws_peer(mode: &str, url: &str) -> Proc {
    let mut cmd = command("node", &["node/ws_peer.js", mode]);
    cmd.args(url.split_whitespace());
    Proc::spawn(&format!("ws_peer.js {mode}"), cmd)
}

#[test]
fn node_client_against_ws6455_serve() {
    if !node_ready("node_client_against_ws6455_serve") {
        return;
    }
    let server = serve("127.0.0.1:0");
    let small = serve_with("127.0.0.1:0", &["--max-message", "1000"]);
    let mut peer = ws_peer(
        "client",
        &format!("ws://{}/echo ws://{}/echo", server.addr, small.addr),
    );
    peer.succeed();
    let passes = peer.passes();
    for must in CLIENT_SCENARIO_CHECKS {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    assert_eq!(passes.len(), 28, "{passes:?}");
}

#[test]
fn node_client_sees_ws6455_shut_down_with_1001() {
    if !node_ready("node_client_sees_ws6455_shut_down_with_1001") {
        return;
    }
    let mut server = serve("127.0.0.1:0");
    let mut peer = ws_peer("wait-close", &format!("ws://{}/echo", server.addr));
    peer.expect(|l| l == "CONNECTED");
    server.proc.terminate();
    peer.expect(|l| l == "CLOSED 1001 server shutting down");
    assert!(server.proc.wait_exit().success());
}

#[test]
fn ws6455_client_against_node_server() {
    if !node_ready("ws6455_client_against_node_server") {
        return;
    }
    let mut peer = ws_peer("server", "");
    let base = listening(&mut peer);
    client_scenario(&mut peer, &base, None);
}

/// ws6455 fails the connection on the frame header of a 16 MiB + 1 byte
/// message, sends 1009 and drops the socket while the peer is still
/// sending: the kernel answers the unread payload with a reset, and `ws`
/// reports 1006 without having read the 1009 that had arrived. A
/// lingering close (half-close, drain reads until EOF or the close
/// timeout) would let the peer read the 1009 (see the report).
#[test]
fn node_client_sees_1009_while_still_sending_16_mib() {
    if !node_ready("node_client_sees_1009_while_still_sending_16_mib") {
        return;
    }
    let server = serve("127.0.0.1:0");
    let mut peer = ws_peer("oversize", &format!("ws://{}/echo", server.addr));
    let line = peer.expect(|l| l.starts_with("CLOSED"));
    assert_eq!(line, "CLOSED 1009");
}

#[test]
fn ws6455_client_against_node_https_server() {
    if !node_ready("ws6455_client_against_node_https_server") {
        return;
    }
    let cert = TestCert::new();
    let files = cert.files();
    let mut cmd = command("node", &["node/ws_peer.js", "server"]);
    cmd.env("WS6455_TLS_CERT", &files.cert)
        .env("WS6455_TLS_KEY", &files.key);
    let mut peer = Proc::spawn("ws_peer.js server (TLS)", cmd);
    let base = listening_as(&mut peer, "wss");
    client_scenario(&mut peer, &base, Some(&cert.client_config()));
}

#[test]
fn node_client_against_ws6455_serve_over_tls() {
    if !node_ready("node_client_against_ws6455_serve_over_tls") {
        return;
    }
    let serves = TlsServes::start();
    let mut peer = Proc::spawn(
        "ws_peer.js client (TLS)",
        serves.client(command("node", &["node/ws_peer.js", "client"])),
    );
    peer.succeed();
    let passes = peer.passes();
    for must in CLIENT_SCENARIO_CHECKS {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    assert_eq!(passes.len(), 28, "{passes:?}");
}
