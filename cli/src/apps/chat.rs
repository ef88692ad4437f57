//! The chat demo on `/chat`: nicknames, rooms, presence, room messages and
//! direct messages, as small JSON objects (the protocol is documented in
//! the README, "The chat protocol").
//!
//! Thin on purpose: all it does is keep who is where and turn each
//! request into one encoded answer. A message for a room is encoded once
//! ([`PreparedMessage`]) and queued on every member ([`Ctx::broadcast`]);
//! dead browser tabs are found by the server's heartbeat (`Config`
//! `ping_interval`/`pong_timeout`), whose verdict arrives as
//! [`Handler::on_closed`] like any other close.

use std::collections::{BTreeMap, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use log::info;
use serde::Serialize;
use serde_json::{Map, Value};
use ws6455::proto::PreparedMessage;
use ws6455::CloseCode;
use ws6455::{ConnId, Ctx, Handler, Message};

use super::{encode, FRAGMENT_SIZE};

mod cluster;

/// The page served on `GET /`.
pub const PAGE: &str = include_str!("chat.html");

/// The chat's subprotocol: the server accepts with it when offered. A page
/// that sends its token as the subprotocol `ws6455.token.<TOKEN>` offers
/// this one beside it, so the 101 names this one, never the token.
pub const PROTOCOL: &str = "ws6455.chat";

/// Longest nickname, in characters.
const MAX_NICK: usize = 24;
/// Longest room name, in characters.
const MAX_ROOM: usize = 32;
/// Longest message text, in characters.
const MAX_TEXT: usize = 2000;
/// Largest JSON message the chat reads; bigger ones close with 1009.
const MAX_MESSAGE: usize = 8 << 10;

/// What the chat sends to a page; each variant is one `{"type":…}`
/// object with its members in this order.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ToPage<'a> {
    /// With `--chat-token-file`: the nickname the token is bound to, sent
    /// on open; every join uses it, whatever nickname the page asks for.
    Identity {
        nick: &'a str,
    },
    Error {
        reason: &'a str,
    },
    Presence {
        room: &'a str,
        users: Vec<&'a str>,
        /// With `serve --redis`: the server each user is on, in the
        /// order of `users`.
        #[serde(skip_serializing_if = "Option::is_none")]
        servers: Option<Vec<&'a str>>,
    },
    Rooms {
        rooms: Vec<RoomSize<'a>>,
    },
    Joined {
        room: &'a str,
        nick: &'a str,
    },
    Left {
        room: &'a str,
        nick: &'a str,
        reason: &'a str,
    },
    Message {
        room: &'a str,
        from: &'a str,
        text: &'a str,
        time: i64,
        /// With `serve --redis`: the sender's server.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<&'a str>,
    },
    Dm {
        from: &'a str,
        to: &'a str,
        text: &'a str,
        time: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<&'a str>,
    },
    /// With `serve --redis`: which server this page is connected to, and
    /// whether the servers can reach each other (`up`, `down`).
    Server {
        node: &'a str,
        cluster: &'a str,
    },
    /// With `serve --redis`: the sender's own message reached this
    /// server's users but not the other servers'.
    Undelivered {
        to: &'a str,
        text: &'a str,
        reason: &'a str,
    },
}

/// One entry of the room list.
#[derive(Serialize)]
struct RoomSize<'a> {
    name: &'a str,
    users: usize,
}

#[derive(Default)]
struct User {
    nick: Option<String>,
    room: Option<String>,
    /// The nickname a token bound this connection to (`--chat-token-file`).
    bound: Option<String>,
}

/// The chat's state: who is connected, with which nickname, in which room.
pub struct Chat {
    users: HashMap<ConnId, User>,
    /// Room name → members in the order they joined. A room exists while
    /// someone is in it.
    rooms: BTreeMap<String, Vec<ConnId>>,
    /// Nicknames bound by a token in `on_request`, until `on_open` moves
    /// them into `users`.
    bound: HashMap<ConnId, String>,
    /// With `serve --redis`: the other servers' users, and the link to them.
    cluster: Option<cluster::Linked>,
}

impl Chat {
    /// An empty chat; its log lines go through the `log` facade.
    pub fn new() -> Self {
        Chat {
            users: HashMap::new(),
            rooms: BTreeMap::new(),
            bound: HashMap::new(),
            cluster: None,
        }
    }

    /// Connection `id` proved a token bound to `nick` (`--chat-token-file`):
    /// it joins as `nick` and as nobody else.
    pub fn bind_nick(&mut self, id: ConnId, nick: &str) {
        info!("{id} chat authenticated as {nick}");
        self.bound.insert(id, nick.to_owned());
    }

    fn error(ctx: &mut Ctx<'_>, id: ConnId, reason: &str) {
        let _ = ctx.send_text(id, &encode(&ToPage::Error { reason }));
    }

    /// Encode once, queue on every member of `room`.
    fn to_room(ctx: &mut Ctx<'_>, members: &[ConnId], text: &str) {
        let message = PreparedMessage::text(text, FRAGMENT_SIZE);
        ctx.broadcast(members.iter().copied(), &message);
    }

    fn nick_in_use(&self, nick: &str, except: ConnId) -> bool {
        let lower = nick.to_lowercase();
        let elsewhere = self
            .cluster
            .as_ref()
            .is_some_and(|c| c.remote_users().any(|(_, _, n)| n.to_lowercase() == lower));
        elsewhere
            || self.users.iter().any(|(&id, user)| {
                id != except
                    && user
                        .nick
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase() == nick.to_lowercase())
            })
    }

    fn find_nick(&self, nick: &str) -> Option<ConnId> {
        self.users
            .iter()
            .find(|(_, user)| user.nick.as_deref() == Some(nick))
            .map(|(&id, _)| id)
    }

    /// `{"type":"presence","room":…,"users":[…]}` to everyone in `room`.
    fn send_presence(&self, ctx: &mut Ctx<'_>, room: &str) {
        let Some(members) = self.rooms.get(room) else {
            return;
        };
        let here = self.cluster.as_ref().map_or("", |c| c.node());
        let mut nicks: Vec<(&str, &str)> = members
            .iter()
            .filter_map(|id| Some((self.users.get(id)?.nick.as_deref()?, here)))
            .collect();
        if let Some(cluster) = &self.cluster {
            nicks.extend(
                cluster
                    .remote_users()
                    .filter(|(_, r, _)| *r == room)
                    .map(|(node, _, nick)| (nick, node)),
            );
        }
        nicks.sort_unstable_by_key(|(n, _)| n.to_lowercase());
        let text = encode(&ToPage::Presence {
            room,
            users: nicks.iter().map(|(n, _)| *n).collect(),
            servers: self
                .cluster
                .as_ref()
                .map(|_| nicks.iter().map(|(_, s)| *s).collect()),
        });
        Self::to_room(ctx, members, &text);
    }

    /// `{"type":"rooms","rooms":[{"name":…,"users":n}…]}` to every chat
    /// connection, so every page's room list stays current.
    fn send_rooms(&self, ctx: &mut Ctx<'_>, to: Option<ConnId>) {
        let mut sizes: BTreeMap<&str, usize> = self
            .rooms
            .iter()
            .map(|(name, members)| (name.as_str(), members.len()))
            .collect();
        if let Some(cluster) = &self.cluster {
            for (_, room, _) in cluster.remote_users() {
                *sizes.entry(room).or_default() += 1;
            }
        }
        let rooms = sizes
            .into_iter()
            .map(|(name, users)| RoomSize { name, users })
            .collect();
        let text = encode(&ToPage::Rooms { rooms });
        match to {
            Some(id) => {
                let _ = ctx.send_text(id, &text);
            }
            None => {
                let everyone: Vec<ConnId> = self.users.keys().copied().collect();
                Self::to_room(ctx, &everyone, &text);
            }
        }
    }

    /// Take `id` out of its room, telling the others why.
    fn leave(&mut self, ctx: &mut Ctx<'_>, id: ConnId, reason: &str) {
        let Some(user) = self.users.get_mut(&id) else {
            return;
        };
        let Some(room) = user.room.take() else {
            return;
        };
        let nick = user.nick.clone().unwrap_or_default();
        info!("{id} chat {nick} left {room} ({reason})");
        let remaining = match self.rooms.get_mut(&room) {
            Some(members) => {
                members.retain(|&m| m != id);
                members.clone()
            }
            None => Vec::new(),
        };
        let text = encode(&ToPage::Left {
            room: &room,
            nick: &nick,
            reason,
        });
        if let Some(cluster) = &mut self.cluster {
            cluster.left(&room, &nick, &text, remaining.is_empty());
        }
        if remaining.is_empty() {
            self.rooms.remove(&room);
        } else {
            Self::to_room(ctx, &remaining, &text);
            self.send_presence(ctx, &room);
        }
        self.send_rooms(ctx, None);
    }

    fn join(&mut self, ctx: &mut Ctx<'_>, id: ConnId, room: &str, nick: &str) {
        let bound = self.users.get(&id).and_then(|u| u.bound.clone());
        let nick = bound.as_deref().unwrap_or(nick);
        let (room, nick) = match (valid_name(room, MAX_ROOM), valid_name(nick, MAX_NICK)) {
            (Ok(room), Ok(nick)) => (room, nick),
            (Err(why), _) => return Self::error(ctx, id, &format!("room name {why}")),
            (_, Err(why)) => return Self::error(ctx, id, &format!("nickname {why}")),
        };
        if self.nick_in_use(nick, id) {
            return Self::error(ctx, id, &format!("the nickname {nick} is taken"));
        }
        let user = self.users.entry(id).or_default();
        if user.room.as_deref() == Some(room) && user.nick.as_deref() == Some(nick) {
            // Joining where we already are: just refresh the page's view.
            return self.send_presence(ctx, room);
        }
        self.leave(ctx, id, "left");
        let user = self.users.entry(id).or_default();
        let previous = user.nick.replace(nick.to_owned());
        user.room = Some(room.to_owned());
        info!("{id} chat {nick} joined {room}");
        let members = self.rooms.entry(room.to_owned()).or_default();
        members.push(id);
        let members = members.clone();
        let text = encode(&ToPage::Joined { room, nick });
        if let Some(cluster) = &mut self.cluster {
            if let Some(previous) = previous.filter(|p| p != nick) {
                cluster.forget_user(&previous);
            }
            cluster.joined(room, nick, &text);
        }
        Self::to_room(ctx, &members, &text);
        self.send_presence(ctx, room);
        self.send_rooms(ctx, None);
    }

    fn say(&mut self, ctx: &mut Ctx<'_>, id: ConnId, text: &str) {
        let Some((nick, room)) = self.users.get(&id).and_then(|u| {
            let nick = u.nick.as_deref()?;
            Some((nick, u.room.as_deref()?))
        }) else {
            return Self::error(ctx, id, "join a room first");
        };
        let Some(text) = valid_text(text) else {
            return Self::error(ctx, id, "a message is 1 to 2000 characters");
        };
        let message = encode(&ToPage::Message {
            room,
            from: nick,
            text,
            time: now_ms(),
            server: self.cluster.as_ref().map(|c| c.node()),
        });
        let members = self.rooms.get(room).cloned().unwrap_or_default();
        Self::to_room(ctx, &members, &message);
        if let Some(cluster) = &mut self.cluster {
            if let Err(why) = cluster.publish_room(room, &message) {
                let notice = encode(&ToPage::Undelivered {
                    to: room,
                    text,
                    reason: &why.to_string(),
                });
                let _ = ctx.send_text(id, &notice);
            }
        }
    }

    fn dm(&mut self, ctx: &mut Ctx<'_>, id: ConnId, to: &str, text: &str) {
        let Some(from) = self.users.get(&id).and_then(|u| u.nick.clone()) else {
            return Self::error(ctx, id, "join a room first");
        };
        let Some(text) = valid_text(text) else {
            return Self::error(ctx, id, "a message is 1 to 2000 characters");
        };
        let target = self.find_nick(to);
        let remote = target.is_none()
            && self
                .cluster
                .as_ref()
                .is_some_and(|c| c.remote_users().any(|(_, _, n)| n == to));
        if target.is_none() && !remote {
            return Self::error(ctx, id, &format!("nobody called {to} is online"));
        }
        let message = encode(&ToPage::Dm {
            from: &from,
            to,
            text,
            time: now_ms(),
            server: self.cluster.as_ref().map(|c| c.node()),
        });
        // The sender gets its own copy so its page shows the conversation.
        let recipients = match target {
            Some(target) if target != id => vec![target, id],
            _ => vec![id],
        };
        Self::to_room(ctx, &recipients, &message);
        if let (true, Some(cluster)) = (remote, &mut self.cluster) {
            if let Err(why) = cluster.publish_dm(to, &message) {
                let notice = encode(&ToPage::Undelivered {
                    to,
                    text,
                    reason: &why.to_string(),
                });
                let _ = ctx.send_text(id, &notice);
            }
        }
    }
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}

impl Handler for Chat {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&ws6455::proto::Response>) {
        let bound = self.bound.remove(&id);
        if let Some(nick) = &bound {
            let _ = ctx.send_text(id, &encode(&ToPage::Identity { nick }));
        }
        self.users.insert(
            id,
            User {
                bound,
                ..User::default()
            },
        );
        if let Some(cluster) = &self.cluster {
            let _ = ctx.send_text(id, &cluster.status());
        }
        self.send_rooms(ctx, Some(id));
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let text = match message {
            Message::Text(text) if text.len() <= MAX_MESSAGE => text,
            Message::Text(_) => {
                let _ = ctx.close(id, CloseCode::MESSAGE_TOO_BIG, "chat messages are small");
                return;
            }
            Message::Binary(_) => {
                let _ = ctx.close(id, CloseCode::UNSUPPORTED_DATA, "the chat speaks JSON text");
                return;
            }
        };
        // An object with loosely typed members, not a tagged enum: a
        // missing or misspelt "type", or a member that is not a string, each
        // get their own answer, which the page shows to whoever typed it.
        let request: Map<String, Value> = match serde_json::from_str(text) {
            Ok(request) => request,
            Err(e) => return Self::error(ctx, id, &format!("invalid JSON: {e}")),
        };
        let field = |name: &str| request.get(name).and_then(Value::as_str).unwrap_or("");
        match request.get("type").and_then(Value::as_str) {
            Some("join") => self.join(ctx, id, field("room"), field("nick")),
            Some("say") => self.say(ctx, id, field("text")),
            Some("dm") => self.dm(ctx, id, field("to"), field("text")),
            Some("leave") => self.leave(ctx, id, "left"),
            Some(other) => Self::error(ctx, id, &format!("unknown message type {other:?}")),
            None => Self::error(ctx, id, "a message needs a string \"type\""),
        }
    }

    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ws6455::ConnError) {
        // A flooder is closed with 1008 (`serve --rate-limit`): the room
        // hears why it left, not that it was lost.
        if let ws6455::ConnError::Protocol(ws6455::ProtocolError::RateLimited) = error {
            self.leave(ctx, id, "rate limited");
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        // 1006 without a closing handshake: the heartbeat gave up on the
        // peer or its TCP connection dropped — a dead tab, not a goodbye.
        let reason = if clean || code != CloseCode::ABNORMAL {
            "closed"
        } else {
            "lost"
        };
        self.leave(ctx, id, reason);
        if let (Some(user), Some(cluster)) = (self.users.remove(&id), &mut self.cluster) {
            if let Some(nick) = user.nick {
                cluster.forget_user(&nick);
            }
        }
        self.bound.remove(&id);
    }
}

/// A nickname or room name: trimmed, 1 to `max` characters, no control
/// characters. Returns the trimmed name or why it is refused.
fn valid_name(name: &str, max: usize) -> Result<&str, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        Err("is empty")
    } else if name.chars().count() > max {
        Err("is too long")
    } else if name.chars().any(char::is_control) {
        Err("has control characters")
    } else {
        Ok(name)
    }
}

fn valid_text(text: &str) -> Option<&str> {
    let count = text.chars().count();
    (!text.trim().is_empty() && count <= MAX_TEXT).then_some(text)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  ann ", MAX_NICK), Ok("ann"));
        assert_eq!(valid_name("   ", MAX_NICK), Err("is empty"));
        assert_eq!(valid_name(&"x".repeat(25), MAX_NICK), Err("is too long"));
        assert_eq!(valid_name(&"é".repeat(24), MAX_NICK), Ok(&*"é".repeat(24)));
        assert_eq!(
            valid_name("a\u{7}b", MAX_NICK),
            Err("has control characters")
        );
        assert_eq!(valid_text(" "), None);
        assert_eq!(valid_text(&"y".repeat(2001)), None);
        assert_eq!(valid_text("hi"), Some("hi"));
    }
}
