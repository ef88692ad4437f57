//! Broadcast fan-out: every message a connection on `/publish` sends goes
//! to every connection on `/subscribe`, encoded once ([`PreparedMessage`],
//! server frames are unmasked so the same bytes serve every subscriber)
//! and queued with [`Ctx::broadcast`], which skips slow subscribers whose
//! output buffer is full instead of slowing everyone down. Every
//! subscriber's queue refers to the one shared buffer, and each socket is
//! written straight from it with one `writev` over its queued messages.
//!
//! Run: `cargo run --release --example fanout_server -- 127.0.0.1:9002`,
//! then `ws6455 bench --fanout --url ws://127.0.0.1:9002 -c 10000`
//! (see benches/fanout.sh).

use std::collections::HashSet;

use ws6455::proto::handshake::Request;
use ws6455::proto::prepared::PreparedMessage;
use ws6455::{CloseCode, Config};
use ws6455::{ConnId, Ctx, Decision, Handler, Message, Server};

#[derive(Default)]
struct Fanout {
    publishers: HashSet<ConnId>,
    subscribers: Vec<ConnId>,
    fragment_size: usize,
}

impl Handler for Fanout {
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
        let prepared = match message {
            Message::Text(text) => PreparedMessage::text(text, self.fragment_size),
            Message::Binary(data) => PreparedMessage::binary(data, self.fragment_size),
        };
        ctx.broadcast(self.subscribers.iter().copied(), &prepared);
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        if !self.publishers.remove(&id) {
            if let Some(i) = self.subscribers.iter().position(|&s| s == id) {
                self.subscribers.swap_remove(i);
            }
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "127.0.0.1:9002".into());
    let config = Config::default();
    let fragment_size = config.fragment_size;
    let server = Server::new().config(config).bind(addr.as_str())?;
    eprintln!(
        "fan-out server on ws://{} (/publish → /subscribe)",
        server.local_addr()
    );
    server.run(move || Fanout {
        fragment_size,
        ..Fanout::default()
    })
}
