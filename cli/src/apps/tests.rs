//! The demos on a real loopback server, driven by ws6455's blocking
//! client: the chat protocol end to end, the heartbeat removing a dead
//! client from presence, the game's tick, and the routing.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use ws6455::blocking::Error;
use ws6455::proto::handshake::Request;
use ws6455::{CloseCode, Config, HandshakeError, ProtocolError};
use ws6455::{
    ConnId, ConnectOptions, Ctx, Handler, HttpResponse, Incoming, Message, RunningServer, Server,
    WebSocket,
};
use ws6455_test_support::handshake::http_get;

use super::Routes;

/// "Must happen" deadline, generous for a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

/// The fallback, like `serve`'s: echo, and 404 for unknown pages.
struct Echo;

impl Handler for Echo {
    fn on_http(&mut self, _: &mut Ctx<'_>, _: ConnId, _: &Request) -> HttpResponse {
        HttpResponse::not_found()
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(t) => ctx.send_text(id, t),
            Message::Binary(b) => ctx.send_binary(id, b),
        };
    }
}

/// A server with the demos in front of an echo. Tests drop their clients
/// before `stop()`: a client that hangs up lets the graceful shutdown end
/// at once instead of waiting out the close timeout for a reply that a
/// client no longer reading would never send.
fn start(config: Config, demos: bool) -> RunningServer {
    Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Routes::new(Echo, demos))
}

type Ws = WebSocket<TcpStream>;

fn client(addr: SocketAddr, path: &str) -> Ws {
    let (ws, _) = WebSocket::connect(&format!("ws://{addr}{path}"), &ConnectOptions::default())
        .expect("connect");
    ws.get_ref().set_read_timeout(Some(PATIENCE)).unwrap();
    ws
}

/// Read text messages until one satisfies `want`; returns it. Everything
/// skipped on the way is returned too, for "did not see" checks.
fn read_until(ws: &mut Ws, want: impl Fn(&str) -> bool) -> (String, Vec<String>) {
    let deadline = Instant::now() + PATIENCE;
    let mut skipped = Vec::new();
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Incoming::Text(t)) if want(&t) => return (t, skipped),
            Ok(Incoming::Text(t)) => skipped.push(t),
            Ok(_) => {}
            Err(e) => panic!("connection ended while waiting: {e}; saw {skipped:?}"),
        }
    }
    panic!("nothing matched within {PATIENCE:?}; saw {skipped:?}")
}

fn expect(ws: &mut Ws, exact: &str) {
    read_until(ws, |t| t == exact);
}

fn expect_prefix(ws: &mut Ws, prefix: &str) -> String {
    read_until(ws, |t| t.starts_with(prefix)).0
}

fn send(ws: &mut Ws, text: &str) {
    ws.send_text(text).unwrap();
}

fn join(ws: &mut Ws, room: &str, nick: &str) {
    send(
        ws,
        &format!(r#"{{"type":"join","room":"{room}","nick":"{nick}"}}"#),
    );
    expect(
        ws,
        &format!(r#"{{"type":"joined","room":"{room}","nick":"{nick}"}}"#),
    );
}

#[test]
fn chat_rooms_presence_messages_and_direct_messages() {
    let server = start(Config::default(), true);
    let addr = server.local_addr();
    let mut ann = client(addr, "/chat");
    expect(&mut ann, r#"{"type":"rooms","rooms":[]}"#);
    join(&mut ann, "rust", "ann");
    expect(
        &mut ann,
        r#"{"type":"presence","room":"rust","users":["ann"]}"#,
    );

    let mut bob = client(addr, "/chat");
    expect(
        &mut bob,
        r#"{"type":"rooms","rooms":[{"name":"rust","users":1}]}"#,
    );
    join(&mut bob, "rust", "Bob");
    expect(
        &mut bob,
        r#"{"type":"presence","room":"rust","users":["ann","Bob"]}"#,
    );
    expect(&mut ann, r#"{"type":"joined","room":"rust","nick":"Bob"}"#);
    expect(
        &mut ann,
        r#"{"type":"presence","room":"rust","users":["ann","Bob"]}"#,
    );

    let mut cat = client(addr, "/chat");
    join(&mut cat, "elsewhere", "cat");

    send(&mut ann, r#"{"type":"say","text":"hello \"rust\" 😀"}"#);
    let got = expect_prefix(&mut bob, r#"{"type":"message","room":"rust","from":"ann""#);
    assert!(
        got.contains(r#""text":"hello \"rust\" 😀","time":"#),
        "{got}"
    );
    expect_prefix(&mut ann, r#"{"type":"message","room":"rust","from":"ann""#);

    send(&mut bob, r#"{"type":"dm","to":"ann","text":"psst"}"#);
    let dm = r#"{"type":"dm","from":"Bob","to":"ann","text":"psst","time":"#;
    expect_prefix(&mut ann, dm);
    expect_prefix(&mut bob, dm);

    // cat is in another room: once the server has handled cat's own
    // direct message to itself, everything for "rust" was already decided.
    send(&mut cat, r#"{"type":"dm","to":"cat","text":"marker"}"#);
    let (_, skipped) = read_until(&mut cat, |t| t.contains("marker"));
    assert!(
        skipped
            .iter()
            .all(|t| !t.contains("hello") && !t.contains("psst")),
        "cat saw another room's talk: {skipped:?}"
    );

    // Switching rooms is a leave and a join.
    join(&mut cat, "rust", "cat");
    expect(
        &mut ann,
        r#"{"type":"presence","room":"rust","users":["ann","Bob","cat"]}"#,
    );
    send(&mut cat, r#"{"type":"leave"}"#);
    expect(
        &mut ann,
        r#"{"type":"left","room":"rust","nick":"cat","reason":"left"}"#,
    );

    // A clean close is a goodbye.
    bob.close(CloseCode::GOING_AWAY, "tab closed").unwrap();
    expect(
        &mut ann,
        r#"{"type":"left","room":"rust","nick":"Bob","reason":"closed"}"#,
    );
    expect(
        &mut ann,
        r#"{"type":"presence","room":"rust","users":["ann"]}"#,
    );
    drop((ann, bob, cat));
    server.stop().unwrap();
}

#[test]
fn chat_errors_are_answered_not_fatal() {
    let server = start(Config::default(), true);
    let addr = server.local_addr();
    let mut ann = client(addr, "/chat");
    let error = |reason: &str| format!(r#"{{"type":"error","reason":"{reason}"}}"#);
    // The reason after "invalid JSON: " is serde_json's, with its position.
    send(&mut ann, "hello");
    expect(
        &mut ann,
        &error("invalid JSON: expected value at line 1 column 1"),
    );
    send(&mut ann, "[]");
    expect_prefix(
        &mut ann,
        r#"{"type":"error","reason":"invalid JSON: invalid type: sequence"#,
    );
    send(&mut ann, r#"{"type":"say","text":"x"#);
    expect_prefix(&mut ann, r#"{"type":"error","reason":"invalid JSON: EOF"#);
    send(&mut ann, r#"{"type":"say","text":"x"}"#);
    expect(&mut ann, &error("join a room first"));
    send(&mut ann, r#"{"type":"shout"}"#);
    expect(&mut ann, &error(r#"unknown message type \"shout\""#));
    send(&mut ann, r#"{"text":"x"}"#);
    expect(&mut ann, &error(r#"a message needs a string \"type\""#));
    send(&mut ann, r#"{"type":"join","room":"","nick":"ann"}"#);
    expect(&mut ann, &error("room name is empty"));
    join(&mut ann, "r", "ann");
    send(&mut ann, r#"{"type":"dm","to":"zed","text":"x"}"#);
    expect(&mut ann, &error("nobody called zed is online"));
    send(&mut ann, r#"{"type":"say","text":"   "}"#);
    expect(&mut ann, &error("a message is 1 to 2000 characters"));

    let mut imposter = client(addr, "/chat");
    send(&mut imposter, r#"{"type":"join","room":"r","nick":"ANN"}"#);
    expect(&mut imposter, &error("the nickname ANN is taken"));

    // Binary is not part of the protocol: 1003 (§7.4.1).
    imposter.send_binary(b"\x00").unwrap();
    let close = loop {
        match imposter.read() {
            Ok(Incoming::Close(code, reason)) => break (code, reason),
            Ok(_) => continue,
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    assert_eq!(
        close,
        (
            Some(CloseCode::UNSUPPORTED_DATA),
            "the chat speaks JSON text".into()
        )
    );
    drop((ann, imposter));
    server.stop().unwrap();
}

#[test]
fn encoded_messages_keep_their_member_order_and_escape_angle_brackets() {
    #[derive(serde::Serialize)]
    #[serde(tag = "type", rename_all = "lowercase")]
    enum Sample<'a> {
        Said {
            from: &'a str,
            text: &'a str,
            time: i64,
        },
    }
    let said = Sample::Said {
        from: "ann",
        text: "q\"\\\n\u{1}</script>é😀",
        time: 7,
    };
    assert_eq!(
        super::encode(&said),
        r#"{"type":"said","from":"ann","text":"q\"\\\n\u0001\u003c/script>é😀","time":7}"#
    );
}

#[test]
fn heartbeat_removes_a_dead_client_from_presence() {
    // A ping after 100 ms of silence, and a second to answer it: long
    // enough that ann, who only reads inside `expect`, never misses one.
    let config = {
        let mut config = Config::default();
        config.ping_interval = Some(Duration::from_millis(100));
        config.pong_timeout = Duration::from_secs(1);
        config
    };
    let server = start(config, true);
    let addr = server.local_addr();
    let mut ann = client(addr, "/chat");
    join(&mut ann, "r", "ann");
    let started = Instant::now();
    let mut ghost = client(addr, "/chat");
    join(&mut ghost, "r", "ghost");
    expect(
        &mut ann,
        r#"{"type":"presence","room":"r","users":["ann","ghost"]}"#,
    );
    // The ghost never reads again, so it never answers a ping: a frozen
    // tab. ann keeps reading (and so answering pings) and must be told.
    expect(
        &mut ann,
        r#"{"type":"left","room":"r","nick":"ghost","reason":"lost"}"#,
    );
    expect(
        &mut ann,
        r#"{"type":"presence","room":"r","users":["ann"]}"#,
    );
    assert!(
        started.elapsed() >= Duration::from_millis(1100),
        "removed after {:?}, before a ping could go unanswered",
        started.elapsed()
    );
    drop((ann, ghost));
    server.stop().unwrap();
}

/// `(id, x, y)` of every player in a state frame.
fn positions(state: &str) -> Vec<(i64, i64, i64)> {
    state
        .split(r#"{"id":"#)
        .skip(1)
        .map(|p| {
            let num = |key: &str| -> i64 {
                let at = if key.is_empty() {
                    0
                } else {
                    p.find(key).unwrap() + key.len()
                };
                let digits: String = p[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '-')
                    .collect();
                digits.parse().unwrap()
            };
            (num(""), num(r#""x":"#), num(r#""y":"#))
        })
        .collect()
}

#[test]
fn game_broadcasts_every_position_at_its_tick() {
    let server = start(Config::default(), true);
    let addr = server.local_addr();
    // The clock starts with the first player: tick n cannot fire before
    // n × 50 ms from here, however late the loop or this thread runs.
    let before_first_player = Instant::now();
    let mut one = client(addr, "/game");
    expect(
        &mut one,
        r#"{"type":"welcome","id":1,"width":640,"height":400,"hz":20}"#,
    );
    let mut two = client(addr, "/game");
    expect_prefix(&mut two, r#"{"type":"welcome","id":2,"#);
    let (state, _) = read_until(&mut one, |t| positions(t).len() == 2);
    let start_x = positions(&state)[0].1;

    send(&mut one, r#"{"type":"move","dx":1,"dy":0}"#);
    let (moved, _) = read_until(&mut two, |t| {
        positions(t).first().is_some_and(|p| p.1 >= start_x + 20)
    });
    let [p1, p2] = positions(&moved)[..] else {
        panic!("{moved}")
    };
    assert_eq!((p1.0, p2.0), (1, 2));

    // Ticks are counted, and never come faster than 20 Hz.
    let first = expect_prefix(&mut two, r#"{"type":"state","tick":"#);
    let tick_of = |s: &str| -> u32 {
        s[r#"{"type":"state","tick":"#.len()..]
            .split(',')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let mut last = first.clone();
    for _ in 0..10 {
        last = expect_prefix(&mut two, r#"{"type":"state","tick":"#);
    }
    assert!(tick_of(&last) >= tick_of(&first) + 10);
    let elapsed = before_first_player.elapsed();
    assert!(
        elapsed >= Duration::from_millis(50) * tick_of(&last),
        "tick {} after only {elapsed:?}",
        tick_of(&last)
    );

    send(&mut two, r#"{"type":"jump"}"#);
    expect_prefix(
        &mut two,
        r#"{"type":"error","reason":"the game understands"#,
    );

    one.close(CloseCode::NORMAL, "").unwrap();
    read_until(&mut two, |t| {
        let p = positions(t);
        t.starts_with(r#"{"type":"state""#) && p.len() == 1 && p[0].0 == 2
    });
    drop((one, two));
    server.stop().unwrap();
}

#[test]
fn routes_pages_demos_and_echo() {
    let server = start(Config::default(), true);
    let addr = server.local_addr();
    let (status, page) = http_get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("text/html") && page.contains("<title>ws6455 chat</title>"));
    let (status, page) = http_get(addr, "/game");
    assert_eq!(status, 200);
    assert!(page.contains("<title>ws6455 game</title>"));
    assert_eq!(http_get(addr, "/nope").0, 404);

    let mut echo = client(addr, "/anything?else");
    echo.send_text(r#"{"type":"join"}"#).unwrap();
    assert_eq!(
        echo.read().unwrap(),
        Incoming::Text(r#"{"type":"join"}"#.into())
    );
    drop(echo);
    server.stop().unwrap();
}

#[test]
fn several_event_loops_refuse_the_demos_but_keep_echoing() {
    let server = start(Config::default(), false);
    let addr = server.local_addr();
    let (status, body) = http_get(addr, "/");
    assert_eq!(status, 503);
    assert!(body.contains("--threads 1"), "{body}");
    let refused = WebSocket::connect(&format!("ws://{addr}/chat"), &ConnectOptions::default());
    match refused {
        Err(Error::Protocol(ProtocolError::Handshake(HandshakeError::UnexpectedStatus(503)))) => {}
        other => panic!("expected a 503 refusal, got {:?}", other.err()),
    }
    let mut echo = client(addr, "/");
    echo.send_text("still here").unwrap();
    assert_eq!(echo.read().unwrap(), Incoming::Text("still here".into()));
    drop(echo);
    server.stop().unwrap();
}
