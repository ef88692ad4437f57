//! `broker::redis` against a real `redis-server` (started on a free port):
//! two brokers stand for two server processes, each with a loop whose
//! handler holds a `RedisLink`.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use ws6455::broker::redis::{RedisBroker, RedisLink, RedisOptions};
use ws6455::broker::{Broker, BrokerEvent, NotSent};
use ws6455::{Ctx, Handler, Remote, RunningServer, Server};
use ws6455_test_support::redis::RedisServer;

const PATIENCE: Duration = Duration::from_secs(20);
const EVENTS: u64 = 1;
const ACTIONS: u64 = 2;

/// What the test asks a loop's handler to do with its link.
enum Act {
    Publish(&'static str, String),
    Join(&'static str, &'static str),
    Leave(&'static str, &'static str),
}

/// What a loop reports back.
#[derive(Debug, PartialEq)]
enum Seen {
    Event(BrokerEvent),
    Published(Result<(), NotSent>),
}

struct Probe {
    broker: RedisBroker,
    link: Option<RedisLink>,
    acts: Receiver<Act>,
    seen: Sender<Seen>,
    remotes: Sender<Remote>,
}

impl Handler for Probe {
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let _ = self.remotes.send(ctx.remote());
        let mut link = self.broker.link(ctx.remote(), EVENTS);
        link.subscribe("t");
        link.watch_presence("room");
        self.link = Some(link);
    }

    fn on_notify(&mut self, _: &mut Ctx<'_>, token: u64) {
        let Some(link) = self.link.as_mut() else {
            return;
        };
        match token {
            EVENTS => {
                while let Some(event) = link.next_event() {
                    let _ = self.seen.send(Seen::Event(event));
                }
            }
            ACTIONS => {
                while let Ok(act) = self.acts.try_recv() {
                    match act {
                        Act::Publish(channel, text) => {
                            let _ = self
                                .seen
                                .send(Seen::Published(link.publish(channel, text.as_bytes())));
                        }
                        Act::Join(set, member) => link.join_presence(set, member),
                        Act::Leave(set, member) => link.leave_presence(set, member),
                    }
                }
            }
            _ => {}
        }
    }
}

/// One "process": a broker, a server whose loop links to it, and the
/// test's ends of the probe.
struct Node {
    _server: RunningServer,
    remote: Remote,
    acts: Sender<Act>,
    seen: Receiver<Seen>,
}

impl Node {
    fn start(url: &str, options: RedisOptions) -> Node {
        let broker = RedisBroker::connect(url, options).unwrap();
        let (acts, acts_rx) = channel();
        let (seen_tx, seen) = channel();
        let (remote_tx, remote_rx) = channel();
        let acts_rx = std::sync::Mutex::new(Some(acts_rx));
        let server = Server::new()
            .bind("127.0.0.1:0")
            .unwrap()
            .spawn(move || Probe {
                broker: broker.clone(),
                link: None,
                acts: acts_rx.lock().unwrap().take().expect("one loop"),
                seen: seen_tx.clone(),
                remotes: remote_tx.clone(),
            });
        let remote = remote_rx.recv_timeout(PATIENCE).expect("on_start ran");
        Node {
            _server: server,
            remote,
            acts,
            seen,
        }
    }

    fn act(&self, act: Act) {
        self.acts.send(act).unwrap();
        self.remote.notify(ACTIONS).unwrap();
    }

    /// Wait for a report matching `want`, skipping others.
    fn wait_for(&self, what: &str, want: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) if want(&seen) => return seen,
                Ok(_) => {}
                Err(_) => panic!("never saw {what}"),
            }
        }
    }

    fn wait_up(&self) {
        self.wait_for("Up", |s| *s == Seen::Event(BrokerEvent::Up));
    }

    fn presence(&self, members: &[&str]) {
        let want: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        self.wait_for(&format!("presence {want:?}"), |s| {
            matches!(s, Seen::Event(BrokerEvent::Presence { set, members })
                if &**set == "room" && **members == *want)
        });
    }

    /// Anything that arrived since the last look.
    fn drain(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }
}

fn options() -> RedisOptions {
    RedisOptions {
        presence_ttl: Duration::from_secs(3),
        ..RedisOptions::default()
    }
}

/// Publish `text-N` every 100 ms until `to` hears one (a subscription
/// takes a moment to reach Redis); returns what it heard.
fn publish_until_heard(from: &Node, to: &Node, text: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    for n in 0.. {
        assert!(Instant::now() < deadline, "{text} never crossed");
        from.act(Act::Publish("t", format!("{text}-{n}")));
        std::thread::sleep(Duration::from_millis(100));
        for seen in to.drain() {
            if let Seen::Event(BrokerEvent::Message { channel, payload }) = seen {
                assert_eq!(&*channel, "t");
                return String::from_utf8(payload.to_vec()).unwrap();
            }
        }
    }
    unreachable!()
}

/// A Redis and two "processes" on it, both seen up; `None` to skip.
fn two_nodes(test: &str) -> Option<(RedisServer, Node, Node)> {
    let redis = RedisServer::start(test)?;
    let a = Node::start(&redis.url(), options());
    let b = Node::start(&redis.url(), options());
    a.wait_up();
    b.wait_up();
    Some((redis, a, b))
}

#[test]
fn messages_cross_processes_and_never_come_back_to_their_own_loop() {
    let Some((_redis, a, b)) = two_nodes("broker messages") else {
        return;
    };
    let heard = publish_until_heard(&a, &b, "hello");
    assert!(heard.starts_with("hello-"), "{heard}");
    std::thread::sleep(Duration::from_millis(300));
    let echoed: Vec<_> = a
        .drain()
        .into_iter()
        .filter(|s| matches!(s, Seen::Event(BrokerEvent::Message { .. })))
        .collect();
    assert!(
        echoed.is_empty(),
        "a loop heard its own publish: {echoed:?}"
    );
}

#[test]
fn presence_follows_joins_and_leaves_across_processes() {
    let Some((_redis, a, b)) = two_nodes("broker presence") else {
        return;
    };
    a.act(Act::Join("room", "ann"));
    b.presence(&["ann"]);
    b.act(Act::Join("room", "bob"));
    a.presence(&["ann", "bob"]);
    a.act(Act::Leave("room", "ann"));
    b.presence(&["bob"]);
}

#[test]
fn a_redis_restart_is_survived_and_presence_rebuilt() {
    let Some((mut redis, a, b)) = two_nodes("broker restart") else {
        return;
    };
    a.act(Act::Join("room", "ann"));
    b.presence(&["ann"]);

    redis.kill();
    a.wait_for("Down", |s| *s == Seen::Event(BrokerEvent::Down));
    b.wait_for("Down", |s| *s == Seen::Event(BrokerEvent::Down));
    a.act(Act::Publish("t", "lost".into()));
    a.wait_for("the publish refused", |s| {
        *s == Seen::Published(Err(NotSent::Down))
    });

    // An empty Redis: the entries come back from the servers.
    redis.restart();
    a.wait_up();
    b.wait_up();
    b.presence(&["ann"]);
    let heard = publish_until_heard(&a, &b, "again");
    assert!(heard.starts_with("again-"), "{heard}");
}
