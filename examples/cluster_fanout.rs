//! Fan-out across servers: `examples/fanout_server.rs`, with every server
//! that shares one Redis forming one audience. A message a `/publish`
//! connection sends goes at once to this server's `/subscribe`
//! connections and, through Redis, to every other server's — each server
//! encodes it once ([`PreparedMessage`]) for all of its subscribers.
//!
//! Run two or three, then `ws6455 bench --fanout` (benches/cluster.sh):
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run --release --features redis --example cluster_fanout -- --listen 127.0.0.1:9101 --redis redis://127.0.0.1:6379
//! cargo run --release --features redis --example cluster_fanout -- --listen 127.0.0.1:9102 --redis redis://127.0.0.1:6379
//! ```

use std::collections::HashSet;

use ws6455::broker::redis::{RedisBroker, RedisLink, RedisOptions};
use ws6455::broker::{Broker, BrokerEvent};
use ws6455::proto::handshake::Request;
use ws6455::proto::prepared::PreparedMessage;
use ws6455::{CloseCode, Config};
use ws6455::{ConnId, Ctx, Decision, Handler, Message, Server};

const BROKER: u64 = 1;
const CHANNEL: &str = "fanout";

struct Fanout {
    broker: RedisBroker,
    link: Option<RedisLink>,
    publishers: HashSet<ConnId>,
    subscribers: Vec<ConnId>,
    fragment_size: usize,
}

impl Fanout {
    /// One byte in front says whether the message was text or binary.
    fn deliver(&self, ctx: &mut Ctx<'_>, tagged: &[u8]) {
        let prepared = match tagged.split_first() {
            Some((b't', text)) => match std::str::from_utf8(text) {
                Ok(text) => PreparedMessage::text(text, self.fragment_size),
                Err(_) => return,
            },
            Some((b'b', data)) => PreparedMessage::binary(data, self.fragment_size),
            _ => return,
        };
        ctx.broadcast(self.subscribers.iter().copied(), &prepared);
    }
}

impl Handler for Fanout {
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let mut link = self.broker.link(ctx.remote(), BROKER);
        link.subscribe(CHANNEL);
        self.link = Some(link);
    }

    fn on_request(&mut self, _: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        match request.path() {
            "/publish" => {
                self.publishers.insert(id);
            }
            "/subscribe" => self.subscribers.push(id),
            _ => {
                return Decision::Reject {
                    status: 404,
                    reason: "use /publish or /subscribe".into(),
                }
            }
        }
        Decision::accept()
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if !self.publishers.contains(&id) {
            return;
        }
        let mut tagged = Vec::with_capacity(message.as_bytes().len() + 1);
        tagged.push(if matches!(message, Message::Text(_)) {
            b't'
        } else {
            b'b'
        });
        tagged.extend_from_slice(message.as_bytes());
        self.deliver(ctx, &tagged);
        if let Some(link) = self.link.as_mut() {
            if let Err(e) = link.publish(CHANNEL, &tagged) {
                eprintln!("not sent to the other servers: {e}");
            }
        }
    }

    fn on_notify(&mut self, ctx: &mut Ctx<'_>, _: u64) {
        while let Some(event) = self.link.as_mut().and_then(RedisLink::next_event) {
            if let BrokerEvent::Message { payload, .. } = event {
                self.deliver(ctx, &payload);
            }
        }
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        if !self.publishers.remove(&id) {
            if let Some(i) = self.subscribers.iter().position(|&s| s == id) {
                self.subscribers.swap_remove(i);
            }
        }
    }
}

/// `--listen ADDR --redis URL [--node-id NAME]`.
fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.into())
}

fn main() -> std::io::Result<()> {
    let listen = arg("--listen", "127.0.0.1:9101");
    let redis = arg("--redis", "redis://127.0.0.1:6379");
    let node = arg("--node-id", "fanout");
    let broker = RedisBroker::connect(&redis, RedisOptions::default())?;
    let config = Config::default();
    let fragment_size = config.fragment_size;
    let server = Server::new().config(config).bind(listen.as_str())?;
    eprintln!(
        "cluster fan-out server {node} on ws://{} (/publish → /subscribe, here and through {redis})",
        server.local_addr()
    );
    server.run(move || Fanout {
        broker: broker.clone(),
        link: None,
        publishers: HashSet::new(),
        subscribers: Vec::new(),
        fragment_size,
    })
}
