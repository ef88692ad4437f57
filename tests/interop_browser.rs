//! Headless Chromium against `ws6455 serve`: two chat pages meet in a room,
//! exchange a room message and a direct message, see each other in
//! presence, ride out a server restart (backoff and rejoin), and one sees
//! the other leave; two game pages see both dots move. Screenshots land in
//! `target/screenshots/` (CI's artifacts). Then a page opens its own
//! WebSocket on the echo endpoint: Chromium offers permessage-deflate (RFC
//! 7692), which `ws6455 serve` takes, so `ws.extensions` must name it; 200
//! repetitive JSON texts, up to about 80 KiB, are echoed and compared in
//! the page. And the Origin policy (RFC 6455 §10.2): a page from another
//! origin cannot open the chat's socket (Chromium reports the 403), the
//! chat page on serve's own origin can, and `--allow-origin` lets exactly
//! the named origin in.
//!
//! Needs Node, `playwright-core` (tests/interop/node) and Debian's
//! `chromium`; skips, saying so, when one is missing — unless
//! `WS6455_REQUIRE_INTEROP=1`.

use std::net::TcpListener;

use ws6455_test_support::interop::{
    announce, browser_ready, command, screenshot_dir, serve, serve_with, Proc, DEFLATE_PRESETS,
};
use ws6455_test_support::tls::TestCert;

#[test]
fn chromium_uses_the_chat_and_the_game() {
    if !browser_ready("chromium_uses_the_chat_and_the_game") {
        return;
    }
    let mut server = serve("127.0.0.1:0");
    let addr = server.addr;
    let shots = screenshot_dir();
    let base = format!("http://{addr}");
    let mut browser = Proc::spawn(
        "browser.js",
        command(
            "node",
            &["node/browser.js", &base, &shots.display().to_string()],
        ),
    );

    // The page must notice the server going away and come back by itself.
    browser.expect(|l| l == "STOP_SERVER");
    server.proc.terminate();
    assert!(
        server.proc.wait_exit().success(),
        "serve did not stop cleanly"
    );
    browser.send_line("STOPPED");
    browser.expect(|l| l == "START_SERVER");
    server = serve(&addr.to_string());
    browser.send_line("STARTED");

    browser.succeed();
    let passes = browser.passes();
    for must in [
        "alice sees bob in presence",
        "bob gets alice's room message",
        "alice gets bob's direct message",
        "alice's page shows the server is gone",
        "bob is back in presence after reconnecting",
        "alice sees bob leave",
        "page one sees both dots move",
        "page two sees both dots move",
        "the other player disappears when its page closes",
        "the page's WebSocket agreed permessage-deflate",
        "200 JSON messages echoed in the page",
        "the echo WebSocket closed with 1000",
    ] {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    let screenshots: Vec<&str> = browser
        .seen
        .iter()
        .filter_map(|l| l.strip_prefix("SCREENSHOT "))
        .collect();
    assert_eq!(screenshots.len(), 6, "{screenshots:?}");
    for path in screenshots {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        assert!(size > 1000, "{path} is missing or empty");
        announce(&format!("screenshot: {path}"));
    }
    drop(server);
}

/// Chromium's own permessage-deflate offer (`client_max_window_bits`)
/// against each of `serve --deflate-memory`'s presets that keep only
/// windows between bursts: it agrees to the smaller windows, and 200 JSON
/// texts and a 1 MiB one come back intact.
#[test]
fn chromium_echoes_under_each_deflate_memory_preset() {
    if !browser_ready("chromium_echoes_under_each_deflate_memory_preset") {
        return;
    }
    let shots = screenshot_dir();
    for (preset, want) in DEFLATE_PRESETS {
        let server = serve_with("127.0.0.1:0", &["--deflate-memory", preset]);
        let base = format!("http://{}", server.addr);
        let mut browser = Proc::spawn(
            "browser.js --echo",
            command(
                "node",
                &[
                    "node/browser.js",
                    "--echo",
                    &base,
                    &shots.display().to_string(),
                ],
            ),
        );
        browser.succeed();
        let passes = browser.passes();
        for must in [
            "the page's WebSocket agreed permessage-deflate",
            "200 JSON messages echoed in the page",
            "1 MiB echoed in the page",
            "the echo WebSocket closed with 1000",
        ] {
            assert!(
                passes.contains(&must),
                "{preset}: missing {must:?}: {passes:?}"
            );
        }
        let agreed = browser
            .seen
            .iter()
            .find_map(|l| l.strip_prefix("EXTENSIONS "))
            .unwrap_or_default();
        assert_eq!(agreed, want, "{preset}");
    }
}

/// The chat over https from `serve --tls-cert … --tls-key …` (the test's
/// self-signed certificate accepted by the browser profile): the pages'
/// sockets are wss://, a room message goes from one page to the other,
/// and a page's own socket reports `wss:` and echoes.
#[test]
fn chromium_chats_over_https_and_wss() {
    if !browser_ready("chromium_chats_over_https_and_wss") {
        return;
    }
    let files = TestCert::new().files();
    let server = serve_with(
        "127.0.0.1:0",
        &[
            "--tls-cert",
            files.cert.to_str().expect("path"),
            "--tls-key",
            files.key.to_str().expect("path"),
        ],
    );
    let shots = screenshot_dir();
    let base = format!("https://{}", server.addr);
    let mut browser = Proc::spawn(
        "browser.js --tls",
        command(
            "node",
            &[
                "node/browser.js",
                "--tls",
                &base,
                &shots.display().to_string(),
            ],
        ),
    );
    browser.succeed();
    let passes = browser.passes();
    for must in [
        "the chat page is served over https",
        "the chat pages' sockets are wss://",
        "bob gets alice's room message over wss",
        "the page's own socket reports wss:",
        "the page's wss echo",
    ] {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    drop(server);
}

/// A loopback port free now (the Node script listens on it next).
fn free_port() -> u16 {
    let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener");
    probe.local_addr().expect("probe address").port()
}

/// A page served from another origin (the Node script's own HTTP server)
/// tries `new WebSocket("ws://SERVE/chat")`: `serve`'s default policy
/// answers 403, which Chromium reports, and serve logs the origin and
/// counts it; the chat page served by `serve` itself connects and joins;
/// `serve --allow-origin http://127.0.0.1:OTHER` lets that page in, and not
/// the same page under another name (`localhost`).
#[test]
fn chromium_cannot_open_a_socket_from_another_origin_unless_allowed() {
    if !browser_ready("chromium_cannot_open_a_socket_from_another_origin_unless_allowed") {
        return;
    }
    let foreign = free_port();
    let mut server = serve("127.0.0.1:0");
    let mut allowing = serve_with(
        "127.0.0.1:0",
        &["--allow-origin", &format!("http://127.0.0.1:{foreign}")],
    );
    let mut browser = Proc::spawn(
        "browser_origins.js",
        command(
            "node",
            &[
                "node/browser_origins.js",
                &format!("http://{}", server.addr),
                &format!("http://{}", allowing.addr),
                &foreign.to_string(),
            ],
        ),
    );
    browser.succeed();
    let passes = browser.passes();
    for must in [
        "a page from another origin cannot open the chat socket",
        "the chat page on its own origin connects",
        "the chat page on its own origin joins a room",
        "--allow-origin lets the named origin open the chat socket",
        "--allow-origin lets no other origin in",
    ] {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    for refusal in [
        "a page from another origin cannot open the chat socket: 403",
        "--allow-origin lets no other origin in: 403",
    ] {
        let seen = passes.iter().find(|p| p.starts_with(refusal));
        let Some(seen) = seen else {
            panic!("Chromium did not report the 403 ({refusal:?}): {passes:?}");
        };
        announce(&format!("observed: {seen}"));
    }

    // Each server's log names the origin it refused, at serve's default
    // level, and its count on shutdown is exactly the one refusal.
    for (serve, origin) in [
        (&mut server, format!("http://127.0.0.1:{foreign}")),
        (&mut allowing, format!("http://localhost:{foreign}")),
    ] {
        serve.proc.terminate();
        assert!(
            serve.proc.wait_exit().success(),
            "serve did not stop cleanly"
        );
        let log = serve.proc.stderr();
        let line = format!("refused 403: origin \"{origin}\" is not allowed");
        assert!(log.contains(&line), "no {line:?} in serve's log:\n{log}");
        assert!(log.contains("refused origins: 1\n"), "{log}");
    }
}

/// `serve --chat-token-file`: the chat page opened as `/?token=TOKEN`
/// sends the token as the subprotocol `ws6455.token.TOKEN` (a page cannot
/// set `Authorization`), is answered with `ws6455.chat`, and joins under
/// the token's name; the page without a token is refused with 401, which
/// serve logs and counts.
#[test]
fn chromium_joins_the_chat_with_a_token_as_subprotocol_and_is_refused_without() {
    if !browser_ready("chromium_joins_the_chat_with_a_token_as_subprotocol_and_is_refused_without")
    {
        return;
    }
    let file =
        std::env::temp_dir().join(format!("ws6455-browser-auth-{}.tokens", std::process::id()));
    std::fs::write(&file, "# token name\nZGFuYS1zM2NyM3Q dana\n").expect("write the token file");
    let mut server = serve_with(
        "127.0.0.1:0",
        &["--chat-token-file", file.to_str().expect("a UTF-8 path")],
    );
    let mut browser = Proc::spawn(
        "browser_auth.js",
        command(
            "node",
            &[
                "node/browser_auth.js",
                &format!("http://{}", server.addr),
                "ZGFuYS1zM2NyM3Q",
                "dana",
            ],
        ),
    );
    browser.succeed();
    let passes = browser.passes();
    for must in [
        "the chat page with a token connects",
        "the token's name fills the nickname",
        "the chat page with a token joins under the token's name",
        "the server answered with ws6455.chat, not the token",
    ] {
        assert!(passes.contains(&must), "missing check {must:?}: {passes:?}");
    }
    let refused = "the chat page without a token is refused: 401";
    let Some(seen) = passes.iter().find(|p| p.starts_with(refused)) else {
        panic!("Chromium did not report the 401: {passes:?}");
    };
    announce(&format!("observed: {seen}"));
    server.proc.terminate();
    assert!(
        server.proc.wait_exit().success(),
        "serve did not stop cleanly"
    );
    let log = server.proc.stderr();
    assert!(
        log.contains("refused 401 by the handler: chat: no token"),
        "{log}"
    );
    assert!(!log.contains("auth failed: 0\n"), "{log}");
    assert!(
        !log.contains("ZGFuYS1zM2NyM3Q"),
        "the token is never logged:\n{log}"
    );
    let _ = std::fs::remove_file(file);
}
