//! The chat across servers (`serve --redis`): every server keeps its own
//! users as before and learns the others' from one presence set.
//!
//! On the broker:
//! - presence set `chat` holds one member per user in a room, as
//!   `server\nroom\nnick` (names never hold control characters), so one
//!   watched set gives every server the room list, each room's presence
//!   and who is where;
//! - channel `chat:room:<room>` carries the room's messages, joins and
//!   leaves — the very JSON the pages get, encoded once by the sender's
//!   server; a server subscribes while it has a user in the room;
//! - channel `chat:user:<nick, lowercased>` carries direct messages to a
//!   user; its server subscribes while the user is connected.
//!
//! A server delivers to its own users itself, at once, so a room keeps
//! working on each server while Redis is away; what could not reach the
//! other servers is reported to its sender (`undelivered`).

use serde_json::{Map, Value};
use ws6455::broker::{Broker, BrokerEvent, NotSent};
use ws6455::proto::PreparedMessage;
use ws6455::Ctx;

use super::{Chat, ToPage};
use crate::apps::{encode, FRAGMENT_SIZE};

/// The presence set of every server's users.
const PRESENCE: &str = "chat";

/// The chat's end of the broker on one loop.
pub(super) struct Linked {
    link: Box<dyn Broker>,
    node: String,
    /// Every other server's users in a room: (server, room, nick).
    remote: Vec<(String, String, String)>,
    up: bool,
}

fn member(node: &str, room: &str, nick: &str) -> String {
    format!("{node}\n{room}\n{nick}")
}

fn room_channel(room: &str) -> String {
    format!("chat:room:{room}")
}

fn user_channel(nick: &str) -> String {
    format!("chat:user:{}", nick.to_lowercase())
}

impl Linked {
    pub(super) fn node(&self) -> &str {
        &self.node
    }

    /// (server, room, nick) of every user on another server.
    pub(super) fn remote_users(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.remote
            .iter()
            .map(|(n, r, u)| (n.as_str(), r.as_str(), u.as_str()))
    }

    /// `{"type":"server","node":…,"cluster":"up"|"down"}`.
    pub(super) fn status(&self) -> String {
        encode(&ToPage::Server {
            node: &self.node,
            cluster: if self.up { "up" } else { "down" },
        })
    }

    /// `nick` joined `room` here: tell the others (`text` is the
    /// `joined` message) and listen for the room and the user.
    pub(super) fn joined(&mut self, room: &str, nick: &str, text: &str) {
        // Subscribed first: the broker announces a member only once its
        // loop's subscriptions are in place, so whoever sees us in
        // presence reaches us.
        self.link.subscribe(&room_channel(room));
        self.link.subscribe(&user_channel(nick));
        self.link
            .join_presence(PRESENCE, &member(&self.node, room, nick));
        // Missed by the others while Redis is down; presence catches up.
        let _ = self.link.publish(&room_channel(room), text.as_bytes());
    }

    /// `nick` left `room` here; `empty_here` if no user of ours is left.
    pub(super) fn left(&mut self, room: &str, nick: &str, text: &str, empty_here: bool) {
        self.link
            .leave_presence(PRESENCE, &member(&self.node, room, nick));
        let _ = self.link.publish(&room_channel(room), text.as_bytes());
        if empty_here {
            self.link.unsubscribe(&room_channel(room));
        }
    }

    /// `nick` is no longer anyone here.
    pub(super) fn forget_user(&mut self, nick: &str) {
        self.link.unsubscribe(&user_channel(nick));
    }

    pub(super) fn publish_room(&mut self, room: &str, text: &str) -> Result<(), NotSent> {
        self.link.publish(&room_channel(room), text.as_bytes())
    }

    pub(super) fn publish_dm(&mut self, nick: &str, text: &str) -> Result<(), NotSent> {
        self.link.publish(&user_channel(nick), text.as_bytes())
    }
}

impl Chat {
    /// Span every server sharing `link`'s broker, as server `node`.
    pub fn attach(&mut self, mut link: Box<dyn Broker>, node: &str) {
        link.watch_presence(PRESENCE);
        let up = link.is_up();
        self.cluster = Some(Linked {
            link,
            node: node.to_owned(),
            remote: Vec::new(),
            up,
        });
    }

    /// Drain the broker's events (the loop was notified).
    pub fn on_broker(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(event) = self.cluster.as_mut().and_then(|c| c.link.next_event()) {
            match event {
                BrokerEvent::Message { channel, payload } => {
                    if let Ok(text) = std::str::from_utf8(&payload) {
                        self.relay_remote(ctx, &channel, text);
                    }
                }
                BrokerEvent::Presence { set, members } if &*set == PRESENCE => {
                    self.remote_changed(ctx, parse_members(&members, self.node()));
                }
                BrokerEvent::Presence { .. } => {}
                BrokerEvent::Undelivered { payload, .. } => self.undelivered(ctx, &payload),
                BrokerEvent::Up => self.set_up(ctx, true),
                BrokerEvent::Down => {
                    self.set_up(ctx, false);
                    // Unknown until Redis is back: show our own users only.
                    self.remote_changed(ctx, Vec::new());
                }
            }
        }
    }

    fn node(&self) -> &str {
        self.cluster.as_ref().map_or("", |c| &c.node)
    }

    /// A room message, join or leave, or a direct message, from a user
    /// on another server: encoded there, sent here as it is.
    fn relay_remote(&self, ctx: &mut Ctx<'_>, channel: &str, text: &str) {
        if let Some(room) = channel.strip_prefix("chat:room:") {
            if let Some(members) = self.rooms.get(room) {
                let message = PreparedMessage::text(text, FRAGMENT_SIZE);
                ctx.broadcast(members.iter().copied(), &message);
            }
        } else if let Some(nick) = channel.strip_prefix("chat:user:") {
            let target = self
                .users
                .iter()
                .find(|(_, u)| u.nick.as_deref().is_some_and(|n| n.to_lowercase() == nick));
            if let Some((&id, _)) = target {
                let _ = ctx.send_text(id, text);
            }
        }
    }

    /// The other servers' users are now `remote`: send each affected
    /// room its presence, and everyone the room list, if anything changed.
    fn remote_changed(&mut self, ctx: &mut Ctx<'_>, remote: Vec<(String, String, String)>) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        if cluster.remote == remote {
            return;
        }
        let old = std::mem::replace(&mut cluster.remote, remote);
        let mut rooms: Vec<String> = old
            .into_iter()
            .chain(cluster.remote.iter().cloned())
            .map(|(_, room, _)| room)
            .collect();
        rooms.sort_unstable();
        rooms.dedup();
        for room in rooms {
            self.send_presence(ctx, &room);
        }
        self.send_rooms(ctx, None);
    }

    fn set_up(&mut self, ctx: &mut Ctx<'_>, up: bool) {
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        if cluster.up == up {
            return;
        }
        cluster.up = up;
        let status = cluster.status();
        let everyone: Vec<_> = self.users.keys().copied().collect();
        Self::to_room(ctx, &everyone, &status);
    }

    /// Our message never reached Redis: tell its sender, if still here.
    fn undelivered(&self, ctx: &mut Ctx<'_>, payload: &[u8]) {
        let Ok(sent) = serde_json::from_slice::<Map<String, Value>>(payload) else {
            return;
        };
        let field = |name: &str| sent.get(name).and_then(Value::as_str).unwrap_or("");
        let to = match field("type") {
            "message" => field("room"),
            "dm" => field("to"),
            _ => return,
        };
        let from = field("from");
        let sender = self
            .users
            .iter()
            .find(|(_, u)| u.nick.as_deref() == Some(from));
        if let Some((&id, _)) = sender {
            let notice = encode(&ToPage::Undelivered {
                to,
                text: field("text"),
                reason: "the connection to the other servers failed while it was being sent",
            });
            let _ = ctx.send_text(id, &notice);
        }
    }
}

/// The presence set's members, less this server's own, sorted.
fn parse_members(members: &[String], node: &str) -> Vec<(String, String, String)> {
    let mut remote: Vec<_> = members
        .iter()
        .filter_map(|m| {
            let mut parts = m.splitn(3, '\n');
            let (n, r, u) = (parts.next()?, parts.next()?, parts.next()?);
            (n != node).then(|| (n.to_owned(), r.to_owned(), u.to_owned()))
        })
        .collect();
    remote.sort_unstable();
    remote
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_name_server_room_and_user_and_ours_are_left_out() {
        let members = [
            member("b", "lobby", "bob"),
            member("a", "lobby", "ann"),
            member("c", "dev", "cy\nextra"),
            "garbage".to_owned(),
        ];
        assert_eq!(
            parse_members(&members, "a"),
            vec![
                ("b".into(), "lobby".into(), "bob".into()),
                ("c".into(), "dev".into(), "cy\nextra".into()),
            ]
        );
        assert_eq!(user_channel("Ann"), "chat:user:ann");
    }
}
