//! [`RedisBroker`]: the [`Broker`] on a Redis server — `PUBLISH`/`SUBSCRIBE`
//! for messages, a sorted set per presence set (member → expiry time) for
//! presence.
//!
//! Two threads per process, whatever the number of loops:
//! - the **command thread** owns one connection. It takes publishes and
//!   presence changes from a bounded queue, sends whatever has gathered as
//!   one pipeline, refreshes this process's presence entries every third of
//!   the TTL (a killed process's entries simply expire), and reads watched
//!   sets again when they change;
//! - the **subscriber thread** owns the `SUBSCRIBE` connection. It keeps
//!   Redis subscribed to the union of every loop's channels and hands each
//!   message to the loops that want it, through their own event queue.
//!
//! When Redis goes away both reconnect with backoff and jitter; on the
//! way back the command thread adds this process's presence entries again
//! and the subscriber subscribes again, then every loop hears
//! [`BrokerEvent::Up`]. Meanwhile [`Broker::publish`] fails at once with
//! [`NotSent::Down`], so nothing is lost in silence, and the outage is
//! logged once.
//!
//! On the wire every name is prefixed ([`RedisOptions::prefix`]): channel
//! `C` is `<prefix>c:C`, presence set `S` is the sorted set `<prefix>p:S`,
//! and a change to it is announced on `<prefix>pc:S`. A published payload
//! goes with the publishing loop's id in front (8 bytes), which is how a
//! loop skips its own messages.

mod backoff;
mod commands;
mod inbox;
mod subscriber;

use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::broker::{Broker, BrokerEvent, NotSent};
use crate::remote::Remote;
use commands::Command;
use inbox::Inbox;

/// How a [`RedisBroker`] names things and how long presence lasts.
#[derive(Clone, Debug)]
pub struct RedisOptions {
    /// Put before every key and channel, so several applications can share
    /// one Redis. Default `ws6455:`.
    pub prefix: String,
    /// How long a presence entry outlives its process's last refresh: a
    /// killed process's members vanish from every watcher's list within
    /// this plus a third of it. Refreshes go out every third. Default 9 s.
    pub presence_ttl: Duration,
    /// Publishes and presence changes waiting for the command thread; past
    /// this, [`Broker::publish`] answers [`NotSent::Backlog`]. Default
    /// 65,536.
    pub queue: usize,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "ws6455:".into(),
            presence_ttl: Duration::from_secs(9),
            queue: 65_536,
        }
    }
}

/// A process's connection to Redis, shared by all its loops: cheap to
/// clone; each loop takes its own [`RedisLink`] with [`RedisBroker::link`].
/// The threads stop when the last clone and link are dropped.
///
/// A relay whose `/` connections hear each other across every server on
/// the same Redis:
///
/// ```no_run
/// use ws6455::broker::redis::{RedisBroker, RedisLink, RedisOptions};
/// use ws6455::broker::{Broker, BrokerEvent};
/// use ws6455::{CloseCode, ConnId, Ctx, Handler, Message, PreparedMessage, Server};
///
/// const BROKER: u64 = 1;
///
/// struct Relay {
///     broker: RedisBroker,
///     link: Option<RedisLink>,
///     local: Vec<ConnId>,
/// }
///
/// impl Handler for Relay {
///     fn on_start(&mut self, ctx: &mut Ctx<'_>) {
///         let mut link = self.broker.link(ctx.remote(), BROKER);
///         link.subscribe("all");
///         self.link = Some(link);
///     }
///
///     fn on_open(&mut self, _: &mut Ctx<'_>, id: ConnId, _: Option<&ws6455::Response>) {
///         self.local.push(id);
///     }
///
///     fn on_message(&mut self, ctx: &mut Ctx<'_>, _: ConnId, message: Message<'_>) {
///         let text = match message {
///             Message::Text(text) => text,
///             Message::Binary(_) => return,
///         };
///         // Here at once; elsewhere through Redis, unless it is down.
///         ctx.broadcast(self.local.iter().copied(), &PreparedMessage::text(text, 1 << 16));
///         if let Some(link) = &mut self.link {
///             let _ = link.publish("all", text.as_bytes());
///         }
///     }
///
///     fn on_notify(&mut self, ctx: &mut Ctx<'_>, _: u64) {
///         let Some(link) = &mut self.link else { return };
///         while let Some(event) = link.next_event() {
///             if let BrokerEvent::Message { payload, .. } = event {
///                 // Encoded once for all of this loop's connections.
///                 let message = PreparedMessage::text(&String::from_utf8_lossy(&payload), 1 << 16);
///                 ctx.broadcast(self.local.iter().copied(), &message);
///             }
///         }
///     }
///
///     fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
///         self.local.retain(|&c| c != id);
///     }
/// }
///
/// let broker = RedisBroker::connect("redis://127.0.0.1:6379", RedisOptions::default())?;
/// Server::new().bind("127.0.0.1:9001")?.run(|| Relay {
///     broker: broker.clone(),
///     link: None,
///     local: Vec::new(),
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RedisBroker {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    commands: SyncSender<Command>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.commands.try_send(Command::Stop);
    }
}

/// What the threads and the links share.
pub(crate) struct Shared {
    pub(crate) prefix: String,
    pub(crate) up: AtomicBool,
    /// The subscriber thread is connected with every subscription in
    /// place; `up` waits for it.
    pub(crate) listening: AtomicBool,
    pub(crate) stop: AtomicBool,
    /// Set when a loop's channels or watched sets change; the subscriber
    /// thread then brings Redis's subscriptions up to date.
    pub(crate) interest_changed: AtomicBool,
    /// The `Links::generation` whose subscriptions Redis has confirmed.
    pub(crate) applied: AtomicU64,
    pub(crate) links: Mutex<Links>,
    /// This process's presence entries: set → member → how many of its
    /// loops joined it. Changed by the links themselves, so a join is
    /// never lost to a full queue: the command thread writes every entry
    /// here to Redis on each refresh and reconnection.
    pub(crate) own: Mutex<Own>,
}

/// Set → member → how many loops joined it.
pub(crate) type Own = HashMap<String, HashMap<String, usize>>;

/// Every loop of the process and what it wants.
#[derive(Default)]
pub(crate) struct Links {
    pub(crate) inboxes: HashMap<u64, Arc<Inbox>>,
    /// Redis channel (prefixed) → loops subscribed.
    pub(crate) channels: HashMap<String, Vec<u64>>,
    /// Presence set (as the application names it) → loops watching.
    pub(crate) watchers: HashMap<String, Vec<u64>>,
    /// Counts changes to `channels` and `watchers`.
    pub(crate) generation: u64,
}

impl Shared {
    pub(crate) fn links(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Change what the loops want, and have the subscriber catch up.
    fn change_interest(&self, change: impl FnOnce(&mut Links)) {
        let mut links = self.links();
        change(&mut links);
        links.generation = links.generation.wrapping_add(1);
        drop(links);
        self.interest_changed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn own(&self) -> std::sync::MutexGuard<'_, Own> {
        self.own.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Count a loop into `member` of `set`.
    fn count_in(&self, set: &str, member: &str) {
        *self
            .own()
            .entry(set.to_owned())
            .or_default()
            .entry(member.to_owned())
            .or_default() += 1;
    }

    /// Count a loop out; the entry goes when no loop is left in it.
    fn count_out(&self, set: &str, member: &str) {
        let mut own = self.own();
        if let Some(members) = own.get_mut(set) {
            if let Some(count) = members.get_mut(member) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    members.remove(member);
                }
            }
            if members.is_empty() {
                own.remove(set);
            }
        }
    }

    pub(crate) fn channel_key(&self, channel: &str) -> String {
        format!("{}c:{channel}", self.prefix)
    }

    pub(crate) fn set_key(&self, set: &str) -> String {
        format!("{}p:{set}", self.prefix)
    }

    pub(crate) fn set_changed_key(&self, set: &str) -> String {
        format!("{}pc:{set}", self.prefix)
    }

    /// Tell every loop.
    pub(crate) fn to_all(&self, event: &BrokerEvent) {
        for inbox in self.links().inboxes.values() {
            inbox.push(event.clone());
        }
    }
}

impl RedisBroker {
    /// Start the broker's threads for the Redis at `url`
    /// (`redis://host:port[/db]`). Returns at once: a Redis that is not
    /// there yet is retried with backoff, and loops hear
    /// [`BrokerEvent::Up`] when it answers. Fails only on a malformed URL.
    pub fn connect(url: &str, options: RedisOptions) -> io::Result<Self> {
        let client = ::redis::Client::open(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?;
        let shared = Arc::new(Shared {
            prefix: options.prefix.clone(),
            up: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            interest_changed: AtomicBool::new(true),
            applied: AtomicU64::new(0),
            links: Mutex::new(Links::default()),
            own: Mutex::new(Own::new()),
        });
        let (commands, queue) = sync_channel(options.queue.max(1));
        let ttl = options.presence_ttl.max(Duration::from_millis(300));
        commands::spawn(client.clone(), shared.clone(), queue, ttl, url)?;
        subscriber::spawn(client, shared.clone(), commands.clone())?;
        Ok(RedisBroker {
            inner: Arc::new(Inner { shared, commands }),
        })
    }

    /// A loop's end of the broker: its events are queued for
    /// [`Broker::next_event`] and announced with
    /// [`Remote::notify`]`(token)`, so the loop's handler hears them in
    /// [`crate::Handler::on_notify`]. Take it in
    /// [`crate::Handler::on_start`] with [`crate::Ctx::remote`].
    pub fn link(&self, remote: Remote, token: u64) -> RedisLink {
        let id = rand::random::<u64>();
        let inbox = Arc::new(Inbox::new(remote, token));
        self.inner.shared.links().inboxes.insert(id, inbox.clone());
        if self.is_up() {
            // It missed the Up that the others heard.
            inbox.push(BrokerEvent::Up);
        }
        RedisLink {
            id,
            broker: self.clone(),
            inbox,
            channels: HashSet::new(),
            watching: HashSet::new(),
            joined: HashSet::new(),
        }
    }

    /// Whether Redis answered the last command.
    pub fn is_up(&self) -> bool {
        self.inner.shared.up.load(Ordering::SeqCst)
    }
}

/// One loop's end of a [`RedisBroker`], owned by that loop's handler.
/// Dropping it unsubscribes and leaves its presence sets.
pub struct RedisLink {
    id: u64,
    broker: RedisBroker,
    inbox: Arc<Inbox>,
    channels: HashSet<String>,
    watching: HashSet<String>,
    joined: HashSet<(String, String)>,
}

impl RedisLink {
    fn shared(&self) -> &Shared {
        &self.broker.inner.shared
    }

    /// Queue a presence command; a full queue only delays a join to the
    /// next refresh (which writes every entry of the process again) and a
    /// leave to the entry's expiry.
    fn command(&self, command: Command) {
        let _ = self.broker.inner.commands.try_send(command);
    }

    /// Events dropped because this loop let 65,536 pile up without
    /// draining them.
    pub fn dropped_events(&self) -> u64 {
        self.inbox.dropped()
    }
}

impl Broker for RedisLink {
    fn publish(&mut self, channel: &str, payload: &[u8]) -> Result<(), NotSent> {
        if !self.broker.is_up() {
            return Err(NotSent::Down);
        }
        let mut body = Vec::with_capacity(8 + payload.len());
        body.extend_from_slice(&self.id.to_be_bytes());
        body.extend_from_slice(payload);
        let command = Command::Publish {
            origin: self.id,
            channel: channel.into(),
            body,
        };
        match self.broker.inner.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(NotSent::Backlog),
            Err(TrySendError::Disconnected(_)) => Err(NotSent::Down),
        }
    }

    fn subscribe(&mut self, channel: &str) {
        if !self.channels.insert(channel.to_owned()) {
            return;
        }
        let key = self.shared().channel_key(channel);
        let id = self.id;
        self.shared()
            .change_interest(|links| links.channels.entry(key).or_default().push(id));
    }

    fn unsubscribe(&mut self, channel: &str) {
        if !self.channels.remove(channel) {
            return;
        }
        let key = self.shared().channel_key(channel);
        let id = self.id;
        self.shared()
            .change_interest(|links| remove_from(&mut links.channels, &key, id));
    }

    fn join_presence(&mut self, set: &str, member: &str) {
        if self.joined.insert((set.to_owned(), member.to_owned())) {
            self.shared().count_in(set, member);
            // Announced once this loop's subscriptions so far are in
            // place: whoever sees the member can reach it.
            let after = self.shared().links().generation;
            self.command(Command::Join {
                set: set.to_owned(),
                member: member.to_owned(),
                after,
            });
        }
    }

    fn leave_presence(&mut self, set: &str, member: &str) {
        if self.joined.remove(&(set.to_owned(), member.to_owned())) {
            self.shared().count_out(set, member);
            self.command(Command::Leave {
                set: set.to_owned(),
                member: member.to_owned(),
            });
        }
    }

    fn watch_presence(&mut self, set: &str) {
        if !self.watching.insert(set.to_owned()) {
            return;
        }
        let id = self.id;
        self.shared().change_interest(|links| {
            links.watchers.entry(set.to_owned()).or_default().push(id);
        });
        self.command(Command::Read {
            set: set.to_owned(),
            force: true,
        });
    }

    fn unwatch_presence(&mut self, set: &str) {
        if self.watching.remove(set) {
            let id = self.id;
            self.shared()
                .change_interest(|links| remove_from(&mut links.watchers, set, id));
        }
    }

    fn next_event(&mut self) -> Option<BrokerEvent> {
        self.inbox.pop()
    }

    fn is_up(&self) -> bool {
        self.broker.is_up()
    }
}

impl Drop for RedisLink {
    fn drop(&mut self) {
        for (set, member) in std::mem::take(&mut self.joined) {
            self.shared().count_out(&set, &member);
            self.command(Command::Leave { set, member });
        }
        let channels = std::mem::take(&mut self.channels);
        let watching = std::mem::take(&mut self.watching);
        let (id, shared) = (self.id, self.shared());
        shared.change_interest(|links| {
            for channel in channels {
                remove_from(&mut links.channels, &shared.channel_key(&channel), id);
            }
            for set in watching {
                remove_from(&mut links.watchers, &set, id);
            }
            links.inboxes.remove(&id);
        });
    }
}

/// Take `id` out of `map[key]`, and the key out once nobody is left.
fn remove_from(map: &mut HashMap<String, Vec<u64>>, key: &str, id: u64) {
    if let Some(ids) = map.get_mut(key) {
        ids.retain(|&i| i != id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}
