//! `ws6455 serve --redis`: three server processes on one real
//! `redis-server` (started on a free port) make one chat — rooms,
//! presence with each user's server, direct messages across servers —
//! and survive a killed server and a killed Redis.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use ws6455::{ConnectOptions, Incoming, WebSocket};
use ws6455_test_support::interop::{command, peer_available, probe, Proc};
use ws6455_test_support::redis::RedisServer;
use ws6455_test_support::server::{rss_kib, ServerProcess};

const PATIENCE: Duration = Duration::from_secs(20);
/// `--presence-ttl` of these servers, in seconds.
const TTL: u64 = 3;

fn server(redis: &RedisServer, node: &str) -> ServerProcess {
    ServerProcess::spawn_with(&[
        "--redis",
        &redis.url(),
        "--node-id",
        node,
        "--presence-ttl",
        &TTL.to_string(),
    ])
}

/// A chat page, as a program: JSON in, JSON out.
struct Page {
    ws: WebSocket<std::net::TcpStream>,
    nick: String,
    seen: Vec<Value>,
}

impl Page {
    fn open(addr: SocketAddr, nick: &str) -> Page {
        let (ws, _) =
            WebSocket::connect(&format!("ws://{addr}/chat"), &ConnectOptions::default()).unwrap();
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        Page {
            ws,
            nick: nick.into(),
            seen: Vec::new(),
        }
    }

    fn send(&mut self, value: Value) {
        self.ws.send_text(&value.to_string()).unwrap();
    }

    fn join(&mut self, room: &str) {
        let nick = self.nick.clone();
        self.send(serde_json::json!({"type": "join", "room": room, "nick": nick}));
    }

    fn say(&mut self, text: &str) {
        self.send(serde_json::json!({"type": "say", "text": text}));
    }

    /// The next message, or `None` after the read timeout.
    fn next(&mut self) -> Option<Value> {
        match self.ws.read() {
            Ok(Incoming::Text(text)) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                self.seen.push(value.clone());
                Some(value)
            }
            Ok(_) => None,
            Err(_) => None,
        }
    }

    /// Read until a message satisfies `want`; panics after `within`.
    fn wait(&mut self, what: &str, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(value) = self.next() {
                if want(&value) {
                    return value;
                }
            }
        }
        panic!("{}: never saw {what}; saw {:#?}", self.nick, self.seen);
    }

    /// Wait for the room's presence to be exactly `users`, with `servers`.
    fn presence(&mut self, users: &[&str], servers: &[&str]) {
        self.wait(
            &format!("presence {users:?} on {servers:?}"),
            PATIENCE,
            |v| {
                v["type"] == "presence"
                    && v["users"] == serde_json::json!(users)
                    && v["servers"] == serde_json::json!(servers)
            },
        );
    }

    fn cluster_is(&mut self, state: &str) {
        self.wait(&format!("cluster {state}"), PATIENCE, |v| {
            v["type"] == "server" && v["cluster"] == state
        });
    }

    /// Whatever arrives within `window`.
    fn quiet_for(&mut self, window: Duration) -> Vec<Value> {
        let deadline = Instant::now() + window;
        let mut got = Vec::new();
        while Instant::now() < deadline {
            got.extend(self.next());
        }
        got
    }
}

/// Python `websockets` and a Redis, or `None` to skip.
fn python_and_redis(test: &str) -> Option<RedisServer> {
    let python = probe("python3", &["-c", "import websockets.asyncio.client"])
        .map(|_| "python3 with websockets >= 13 is not installed".to_owned());
    if !peer_available(test, python) {
        return None;
    }
    RedisServer::start(test)
}

/// Start `tests/interop/cluster_order.py` with `args`; it must print DONE.
fn cluster_order(args: &[&str]) -> Proc {
    let mut all = vec!["cluster_order.py"];
    all.extend_from_slice(args);
    let mut python = Proc::spawn("cluster_order.py", command("python3", &all));
    python.succeed();
    python
}

fn is_message<'a>(from: &'a str, text: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v| v["type"] == "message" && v["from"] == from && v["text"] == text
}

#[test]
fn rooms_presence_and_direct_messages_span_three_servers() {
    let Some(redis) = RedisServer::start("cluster chat") else {
        return;
    };
    let servers = [
        server(&redis, "n1"),
        server(&redis, "n2"),
        server(&redis, "n3"),
    ];
    let mut ann = Page::open(servers[0].addr, "ann");
    let mut bob = Page::open(servers[1].addr, "bob");
    let mut cy = Page::open(servers[2].addr, "cy");
    ann.cluster_is("up");
    ann.join("lobby");
    bob.join("lobby");
    cy.join("lobby");
    let all = (["ann", "bob", "cy"], ["n1", "n2", "n3"]);
    for page in [&mut ann, &mut bob, &mut cy] {
        page.presence(&all.0, &all.1);
    }
    // The room list counts every server's users.
    ann.wait("the room list with 3 users", PATIENCE, |v| {
        v["type"] == "rooms" && v["rooms"] == serde_json::json!([{"name": "lobby", "users": 3}])
    });

    ann.say("hello from n1");
    for page in [&mut bob, &mut cy] {
        let got = page.wait(
            "ann's message",
            PATIENCE,
            is_message("ann", "hello from n1"),
        );
        assert_eq!(got["server"], "n1");
    }
    // A nickname taken on another server is taken here too.
    let mut other = Page::open(servers[2].addr, "Ann");
    other.join("lobby");
    other.wait("the nickname refused", PATIENCE, |v| {
        v["type"] == "error" && v["reason"] == "the nickname Ann is taken"
    });

    bob.send(serde_json::json!({"type": "dm", "to": "cy", "text": "psst"}));
    let dm = cy.wait("bob's direct message", PATIENCE, |v| v["type"] == "dm");
    assert_eq!(
        (&dm["from"], &dm["to"], &dm["server"]),
        (&"bob".into(), &"cy".into(), &"n2".into())
    );
    bob.wait("its own copy", PATIENCE, |v| {
        v["type"] == "dm" && v["to"] == "cy"
    });
    let leaked: Vec<Value> = ann
        .quiet_for(Duration::from_millis(500))
        .into_iter()
        .filter(|v| v["type"] == "dm")
        .collect();
    assert!(leaked.is_empty(), "ann saw a DM for cy: {leaked:?}");

    // A user who leaves the room leaves every server's presence.
    cy.send(serde_json::json!({"type": "leave"}));
    ann.presence(&["ann", "bob"], &["n1", "n2"]);
    bob.wait("cy left", PATIENCE, |v| {
        v["type"] == "left" && v["nick"] == "cy"
    });
}

#[test]
fn a_killed_server_leaves_every_presence_list_within_the_ttl() {
    let Some(redis) = RedisServer::start("cluster killed server") else {
        return;
    };
    let n1 = server(&redis, "n1");
    let n2 = server(&redis, "n2");
    let mut ann = Page::open(n1.addr, "ann");
    let mut bob = Page::open(n2.addr, "bob");
    ann.join("lobby");
    bob.join("lobby");
    ann.presence(&["ann", "bob"], &["n1", "n2"]);
    for i in 0..50 {
        ann.say(&format!("warm-up {i}"));
    }
    bob.wait("the warm-up", PATIENCE, is_message("ann", "warm-up 49"));
    std::thread::sleep(Duration::from_secs(2));
    let baseline = rss_kib(n1.pid());

    // SIGKILL: no close frames, no goodbye to Redis.
    let killed = Instant::now();
    drop(n2);
    drop(bob);
    ann.presence(&["ann"], &["n1"]);
    let took = killed.elapsed();
    eprintln!("presence forgot the killed server's user in {took:?} (TTL {TTL} s)");
    // The documented bound: the TTL plus one refresh (a third of it).
    assert!(
        took <= Duration::from_secs(TTL + TTL / 3 + 1),
        "took {took:?}"
    );
    // The survivor keeps working, and gave back what the other cost it.
    ann.say("still here");
    ann.wait("its own message", PATIENCE, is_message("ann", "still here"));
    std::thread::sleep(Duration::from_secs(3));
    let after = rss_kib(n1.pid());
    eprintln!("surviving serve RSS: {baseline} KiB before the kill, {after} KiB after");
    assert!(
        after * 10 <= baseline * 11,
        "RSS {after} KiB, {baseline} KiB before"
    );
}

#[test]
fn a_redis_restart_mid_conversation_is_survived() {
    let Some(mut redis) = RedisServer::start("cluster redis restart") else {
        return;
    };
    let n1 = server(&redis, "n1");
    let n2 = server(&redis, "n2");
    let mut ann = Page::open(n1.addr, "ann");
    let mut bob = Page::open(n2.addr, "bob");
    let mut local = Page::open(n1.addr, "al");
    ann.join("lobby");
    bob.join("lobby");
    local.join("lobby");
    ann.presence(&["al", "ann", "bob"], &["n1", "n1", "n2"]);
    for i in 0..50 {
        ann.say(&format!("warm-up {i}"));
    }
    bob.wait("the warm-up", PATIENCE, is_message("ann", "warm-up 49"));
    std::thread::sleep(Duration::from_secs(2));
    let baseline = rss_kib(n1.pid());

    redis.kill();
    ann.cluster_is("down");
    bob.cluster_is("down");
    // The other server's users are unknown now; ours are still here.
    ann.presence(&["al", "ann"], &["n1", "n1"]);
    ann.say("during the outage");
    ann.wait(
        "the local copy",
        PATIENCE,
        is_message("ann", "during the outage"),
    );
    local.wait(
        "local delivery",
        PATIENCE,
        is_message("ann", "during the outage"),
    );
    let notice = ann.wait("the undelivered notice", PATIENCE, |v| {
        v["type"] == "undelivered"
    });
    assert_eq!(
        (&notice["to"], &notice["text"]),
        (&"lobby".into(), &"during the outage".into())
    );

    redis.restart();
    ann.cluster_is("up");
    bob.cluster_is("up");
    // An empty Redis: each server put its own users back.
    ann.presence(&["al", "ann", "bob"], &["n1", "n1", "n2"]);
    bob.presence(&["al", "ann", "bob"], &["n1", "n1", "n2"]);
    ann.say("after the outage");
    bob.wait(
        "the message after",
        PATIENCE,
        is_message("ann", "after the outage"),
    );
    assert!(
        !bob.seen.iter().any(is_message("ann", "during the outage")),
        "bob got what was reported undelivered"
    );

    std::thread::sleep(Duration::from_secs(3));
    let after = rss_kib(n1.pid());
    eprintln!("serve RSS: {baseline} KiB before the outage, {after} KiB after");
    assert!(
        after * 10 <= baseline * 11,
        "RSS {after} KiB after the outage, {baseline} KiB before"
    );
}

#[test]
fn ten_thousand_room_messages_arrive_once_and_in_order_per_sender() {
    let Some(redis) = python_and_redis("cluster order") else {
        return;
    };
    let servers = [
        server(&redis, "n1"),
        server(&redis, "n2"),
        server(&redis, "n3"),
    ];
    let urls: Vec<String> = servers
        .iter()
        .map(|s| format!("ws://{}/chat", s.addr))
        .collect();
    let mut args = vec!["10000"];
    args.extend(urls.iter().map(String::as_str));
    let python = cluster_order(&args);
    assert_eq!(
        python.passes(),
        [
            "every client sees every server's client in presence",
            "10000 room messages from 3 servers, each received by every client once and in order per sender",
        ]
    );
}

#[test]
fn a_subscriber_that_never_reads_slows_nobody() {
    let Some(redis) = python_and_redis("cluster stalled subscriber") else {
        return;
    };
    let servers = [server(&redis, "n1"), server(&redis, "n2")];
    let urls: Vec<String> = servers
        .iter()
        .map(|s| format!("ws://{}/chat", s.addr))
        .collect();
    // 8,000 messages of 1,900 characters: 15 MB to the stalled client,
    // past what its socket buffers hold (a receive buffer grows only as
    // its application reads) and its 1 MiB output bound.
    let mut args = vec!["--size", "1900", "--stalled", &urls[1], "8000"];
    args.extend(urls.iter().map(String::as_str));
    let started = Instant::now();
    let python = cluster_order(&args);
    eprintln!(
        "8,000 × 1.9 KB past a stalled reader in {:?}",
        started.elapsed()
    );
    assert!(python
        .passes()
        .contains(&"a client that never reads slowed nobody"));
    let mut servers = servers;
    for s in &mut servers {
        s.assert_alive();
    }
}

#[test]
fn a_server_started_before_redis_serves_its_own_users_and_joins_when_redis_comes() {
    let Some(mut redis) = RedisServer::reserve("cluster redis later") else {
        return;
    };
    let n1 = server(&redis, "n1");
    let n2 = server(&redis, "n2");
    let mut ann = Page::open(n1.addr, "ann");
    let mut al = Page::open(n1.addr, "al");
    let mut bob = Page::open(n2.addr, "bob");
    ann.cluster_is("down");
    ann.join("lobby");
    al.join("lobby");
    bob.join("lobby");
    ann.presence(&["al", "ann"], &["n1", "n1"]);
    ann.say("local only");
    al.wait("a local message", PATIENCE, is_message("ann", "local only"));
    ann.wait("undelivered", PATIENCE, |v| v["type"] == "undelivered");

    redis.restart();
    ann.cluster_is("up");
    ann.presence(&["al", "ann", "bob"], &["n1", "n1", "n2"]);
    ann.say("everywhere");
    bob.wait("the message", PATIENCE, is_message("ann", "everywhere"));
}

#[test]
fn a_malformed_redis_url_is_refused_before_serving() {
    let output = std::process::Command::new(ws6455_test_support::bin::ws6455_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--redis", "not-a-url"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--redis not-a-url"), "{stderr}");
    assert!(!stderr.contains("serving on"), "{stderr}");
}
