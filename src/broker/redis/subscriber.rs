//! The subscriber thread: one `SUBSCRIBE` connection for the whole
//! process, kept subscribed to what its loops want, handing each message
//! to the loops that want it.

use std::collections::HashSet;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;
use redis::{Client, Msg, PubSub, RedisResult};

use super::backoff::Backoff;
use super::commands::Command;
use super::Shared;
use crate::broker::BrokerEvent;

/// How long a read waits before the thread looks at its subscriptions
/// and the stop flag again: the delay of a new subscription, at most.
const POLL: Duration = Duration::from_millis(20);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) fn spawn(
    client: Client,
    shared: Arc<Shared>,
    commands: SyncSender<Command>,
) -> io::Result<()> {
    std::thread::Builder::new()
        .name("redis-subscriber".into())
        .spawn(move || run(&client, &shared, &commands))
        .map(drop)
}

fn run(client: &Client, shared: &Shared, commands: &SyncSender<Command>) {
    let mut backoff = Backoff::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let mut con = match client.get_connection_with_timeout(CONNECT_TIMEOUT) {
            Ok(con) => con,
            Err(e) => {
                debug!("redis subscriber: {e}");
                sleep_unless_stopped(shared, backoff.delay());
                continue;
            }
        };
        backoff.reset();
        let mut pubsub = con.as_pubsub();
        if let Err(e) = listen(&mut pubsub, shared, commands) {
            debug!("redis subscriber lost its connection: {e}");
        }
        shared.listening.store(false, Ordering::SeqCst);
        // The command thread may have nothing to send for a while; have
        // it look now, so the loops hear Down at once.
        let _ = commands.try_send(Command::Check);
    }
}

/// Serve one connection until it fails or the broker stops.
fn listen(
    pubsub: &mut PubSub<'_>,
    shared: &Shared,
    commands: &SyncSender<Command>,
) -> RedisResult<()> {
    pubsub.set_read_timeout(Some(POLL))?;
    let mut current: HashSet<String> = HashSet::new();
    // A new connection subscribes to everything wanted.
    shared.interest_changed.store(true, Ordering::SeqCst);
    let mut resubscribed = false;
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.interest_changed.swap(false, Ordering::SeqCst) {
            let (wanted, generation) = wanted(shared);
            let add: Vec<&String> = wanted.difference(&current).collect();
            let drop: Vec<&String> = current.difference(&wanted).collect();
            if !add.is_empty() {
                log::trace!("redis: subscribing to {add:?}");
                pubsub.subscribe(add)?;
            }
            if !drop.is_empty() {
                pubsub.unsubscribe(drop)?;
            }
            current = wanted;
            shared.applied.store(generation, Ordering::SeqCst);
            if !resubscribed {
                shared.listening.store(true, Ordering::SeqCst);
                let _ = commands.try_send(Command::Check);
                // Messages went by while we were away: read the watched
                // sets again rather than wait for the next refresh.
                for set in shared.links().watchers.keys() {
                    let _ = commands.try_send(Command::Read {
                        set: set.clone(),
                        force: false,
                    });
                }
                resubscribed = true;
            }
        }
        match pubsub.get_message() {
            Ok(message) => dispatch(&message, shared, commands),
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Every channel some loop wants, and the change channel of every
/// watched presence set; and the generation of that wish.
fn wanted(shared: &Shared) -> (HashSet<String>, u64) {
    let links = shared.links();
    let wanted = links
        .channels
        .keys()
        .cloned()
        .chain(links.watchers.keys().map(|set| shared.set_changed_key(set)))
        .collect();
    (wanted, links.generation)
}

fn dispatch(message: &Msg, shared: &Shared, commands: &SyncSender<Command>) {
    let name = message.get_channel_name();
    let Some(rest) = name.strip_prefix(shared.prefix.as_str()) else {
        return;
    };
    if let Some(set) = rest.strip_prefix("pc:") {
        let _ = commands.try_send(Command::Read {
            set: set.to_owned(),
            force: false,
        });
        return;
    }
    let Some(channel) = rest.strip_prefix("c:") else {
        return;
    };
    // Anything shorter than the origin id did not come from a broker.
    let Some((origin, payload)) = message.get_payload_bytes().split_first_chunk::<8>() else {
        return;
    };
    let origin = u64::from_be_bytes(*origin);
    let links = shared.links();
    let Some(ids) = links.channels.get(name) else {
        return;
    };
    let event = BrokerEvent::Message {
        channel: channel.into(),
        payload: payload.into(),
    };
    for id in ids.iter().filter(|&&id| id != origin) {
        if let Some(inbox) = links.inboxes.get(id) {
            inbox.push(event.clone());
        }
    }
}

fn sleep_unless_stopped(shared: &Shared, pause: Duration) {
    let until = Instant::now() + pause;
    while !shared.stop.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(POLL * 5));
    }
}
