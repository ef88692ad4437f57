//! The command thread: publishes and presence, on one connection, in
//! pipelines; presence refreshes; reconnection.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{debug, info, warn};
use redis::{Client, Connection, Pipeline, RedisResult};

use super::backoff::Backoff;
use super::Shared;
use crate::broker::BrokerEvent;

/// Most commands sent as one pipeline.
const BATCH: usize = 1024;
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What the loops (and the subscriber thread) ask of the command thread.
pub(crate) enum Command {
    /// `body` is the payload behind the origin loop's id.
    Publish {
        origin: u64,
        channel: Arc<str>,
        body: Vec<u8>,
    },
    /// `after`: the interest generation whose subscriptions must be in
    /// place before the member is announced.
    Join {
        set: String,
        member: String,
        after: u64,
    },
    Leave {
        set: String,
        member: String,
    },
    /// Read a watched set; `force` sends it to its watchers even unchanged.
    Read {
        set: String,
        force: bool,
    },
    /// The subscriber's connection failed: find out whether Redis is gone.
    Check,
    Stop,
}

pub(crate) fn spawn(
    client: Client,
    shared: Arc<Shared>,
    queue: Receiver<Command>,
    ttl: Duration,
    url: &str,
) -> io::Result<()> {
    let mut worker = Worker {
        client,
        shared,
        queue,
        con: None,
        last: HashMap::new(),
        ttl,
        refresh: ttl / 3,
        backoff: Backoff::new(),
        url: url.to_owned(),
        ever_up: false,
        warned: false,
    };
    std::thread::Builder::new()
        .name("redis-commands".into())
        .spawn(move || worker.run())
        .map(drop)
}

struct Worker {
    client: Client,
    shared: Arc<Shared>,
    queue: Receiver<Command>,
    con: Option<Connection>,
    /// What each watched set held when last read.
    last: HashMap<String, Arc<[String]>>,
    ttl: Duration,
    refresh: Duration,
    backoff: Backoff,
    url: String,
    ever_up: bool,
    /// Whether the current stretch of failures was logged.
    warned: bool,
}

/// Work gathered from one drain of the queue.
#[derive(Default)]
struct Batch {
    pipe: Pipeline,
    publishes: Vec<(u64, Arc<str>, Vec<u8>)>,
    reads: HashMap<String, bool>,
    check: bool,
    stop: bool,
}

impl Worker {
    fn run(&mut self) {
        let mut next_refresh = Instant::now();
        while !self.shared.stop.load(Ordering::SeqCst) {
            if self.con.is_none() && !self.reconnect() {
                let pause = self.backoff.delay();
                if self.wait_down(pause) {
                    return;
                }
                continue;
            }
            let timeout = next_refresh.saturating_duration_since(Instant::now());
            let first = match self.queue.recv_timeout(timeout) {
                Ok(command) => Some(command),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut batch = Batch::default();
            if let Some(command) = first {
                self.add(&mut batch, command);
                while batch.publishes.len() + batch.reads.len() < BATCH {
                    let Ok(command) = self.queue.try_recv() else {
                        break;
                    };
                    self.add(&mut batch, command);
                }
            }
            if Instant::now() >= next_refresh {
                self.add_refresh(&mut batch);
                next_refresh = Instant::now() + self.refresh;
            }
            if let Err(e) = self.send(&mut batch) {
                self.fail(batch, &e);
                continue;
            }
            self.update_state();
            if batch.stop {
                self.leave_all();
                return;
            }
        }
    }

    /// Turn one command into pipeline entries.
    fn add(&mut self, batch: &mut Batch, command: Command) {
        match command {
            Command::Publish {
                origin,
                channel,
                body,
            } => {
                batch
                    .pipe
                    .cmd("PUBLISH")
                    .arg(self.shared.channel_key(&channel))
                    .arg(&body)
                    .ignore();
                batch.publishes.push((origin, channel, body));
            }
            Command::Join { set, member, after } => {
                if !self.shared.up.load(Ordering::SeqCst) {
                    // Written by the rebuild when Up comes.
                    return;
                }
                self.wait_subscribed(after);
                self.add_entry(&mut batch.pipe, &set, &member);
                self.announce(&mut batch.pipe, &set);
            }
            Command::Leave { set, member } => {
                if self.is_own(&set, &member) {
                    // Another loop of ours still has it.
                    return;
                }
                batch
                    .pipe
                    .cmd("ZREM")
                    .arg(self.shared.set_key(&set))
                    .arg(&member)
                    .ignore();
                self.announce(&mut batch.pipe, &set);
            }
            Command::Read { set, force } => {
                *batch.reads.entry(set).or_default() |= force;
            }
            Command::Check => batch.check = true,
            Command::Stop => batch.stop = true,
        }
    }

    /// Wait (briefly: the subscriber looks every 20 ms) until Redis has
    /// confirmed the subscriptions of interest generation `after`, so a
    /// member is never seen before its loop can hear the channels it
    /// joined. Not while the subscriber is reconnecting: the rebuild on
    /// its return announces everyone again.
    fn wait_subscribed(&self, after: u64) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.shared.applied.load(Ordering::SeqCst) < after
            && self.shared.listening.load(Ordering::SeqCst)
            && !self.shared.stop.load(Ordering::SeqCst)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn is_own(&self, set: &str, member: &str) -> bool {
        self.shared
            .own()
            .get(set)
            .is_some_and(|m| m.contains_key(member))
    }

    fn add_entry(&self, pipe: &mut Pipeline, set: &str, member: &str) {
        let key = self.shared.set_key(set);
        pipe.cmd("ZADD")
            .arg(&key)
            .arg(now_ms().saturating_add(millis(self.ttl)))
            .arg(member)
            .ignore();
        // An abandoned set goes too, not only its members.
        pipe.cmd("PEXPIRE")
            .arg(&key)
            .arg(millis(self.ttl).saturating_mul(2))
            .ignore();
    }

    /// Tell every process watching `set` to read it again.
    fn announce(&self, pipe: &mut Pipeline, set: &str) {
        pipe.cmd("PUBLISH")
            .arg(self.shared.set_changed_key(set))
            .arg("")
            .ignore();
    }

    /// Every entry of this process again, and every watched set read.
    fn add_refresh(&self, batch: &mut Batch) {
        // Before Up, our members would be seen before we can hear them:
        // the rebuild writes them when Up comes.
        if self.shared.up.load(Ordering::SeqCst) {
            self.add_own(&mut batch.pipe, false);
        }
        for set in self.shared.links().watchers.keys() {
            batch.reads.entry(set.clone()).or_default();
        }
        // Something must go out, or a dead connection goes unnoticed.
        batch.pipe.cmd("PING").ignore();
    }

    fn send(&mut self, batch: &mut Batch) -> RedisResult<()> {
        let Some(con) = self.con.as_mut() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected).into());
        };
        if batch.check {
            batch.pipe.cmd("PING").ignore();
        }
        if !batch.pipe.is_empty() {
            batch.pipe.exec(con)?;
        }
        let reads = std::mem::take(&mut batch.reads);
        // Not before Up: the loops hear Up first, then every watched set.
        if self.shared.up.load(Ordering::SeqCst) {
            for (set, force) in reads {
                self.read(&set, force)?;
            }
        }
        Ok(())
    }

    /// Read `set` (dropping expired members first) and tell its watchers
    /// if it changed.
    fn read(&mut self, set: &str, force: bool) -> RedisResult<()> {
        let Some(con) = self.con.as_mut() else {
            return Ok(());
        };
        let key = self.shared.set_key(set);
        let now = now_ms();
        let (mut members,): (Vec<String>,) = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&key)
            .arg("-inf")
            .arg(now)
            .ignore()
            .cmd("ZRANGEBYSCORE")
            .arg(&key)
            .arg(now)
            .arg("+inf")
            .query(con)?;
        // Scores are expiry times, which refreshes reorder: sort, so an
        // unchanged set reads the same.
        members.sort_unstable();
        let members: Arc<[String]> = members.into();
        if !force && self.last.get(set) == Some(&members) {
            return Ok(());
        }
        self.last.insert(set.to_owned(), members.clone());
        let event = BrokerEvent::Presence {
            set: set.into(),
            members,
        };
        let links = self.shared.links();
        for id in links.watchers.get(set).into_iter().flatten() {
            if let Some(inbox) = links.inboxes.get(id) {
                inbox.push(event.clone());
            }
        }
        Ok(())
    }

    /// The connection failed with `batch` in flight: its publishes never
    /// reached the others, and their loops are told so.
    fn fail(&mut self, batch: Batch, error: &redis::RedisError) {
        self.con = None;
        self.go_down(error);
        self.undelivered(batch.publishes);
    }

    fn undelivered(&self, publishes: Vec<(u64, Arc<str>, Vec<u8>)>) {
        if publishes.is_empty() {
            return;
        }
        let links = self.shared.links();
        for (origin, channel, body) in publishes {
            if let Some(inbox) = links.inboxes.get(&origin) {
                inbox.push(BrokerEvent::Undelivered {
                    channel,
                    payload: body.get(8..).unwrap_or_default().into(),
                });
            }
        }
    }

    fn go_down(&mut self, error: &dyn std::fmt::Display) {
        self.last.clear();
        if self.shared.up.swap(false, Ordering::SeqCst) {
            self.warned = true;
            warn!(
                "redis {} unreachable ({error}): serving local users only, reconnecting",
                self.url
            );
            self.shared.to_all(&BrokerEvent::Down);
        } else {
            debug!("redis {}: {error}", self.url);
        }
    }

    /// Connect; once the subscriber is back too, `update_state` puts this
    /// process's presence entries back and tells the loops. False if
    /// Redis did not answer.
    fn reconnect(&mut self) -> bool {
        let attempt = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .and_then(|mut con| {
                redis::cmd("PING").exec(&mut con)?;
                Ok(con)
            });
        match attempt {
            Ok(con) => {
                self.con = Some(con);
                self.backoff.reset();
                self.update_state();
                true
            }
            Err(e) => {
                if self.shared.up.load(Ordering::SeqCst) {
                    self.go_down(&e);
                } else if !self.warned {
                    // Not reached since start (or since the outage was
                    // logged): said once, then retried quietly.
                    warn!("redis {} not reachable ({e}): retrying", self.url);
                    self.warned = true;
                } else {
                    debug!("redis {}: {e}", self.url);
                }
                false
            }
        }
    }

    /// Up is both connections working: this one, and the subscriber's
    /// with every subscription in place — declared earlier, a message
    /// published to this server in between would be missed unreported.
    /// Called after every batch; the subscriber sends `Check` when its
    /// state changes.
    fn update_state(&mut self) {
        let ready = self.con.is_some() && self.shared.listening.load(Ordering::SeqCst);
        let up = self.shared.up.load(Ordering::SeqCst);
        if ready && !up {
            // This process's members go back only now: announced earlier,
            // someone could write to them before they can hear it.
            if let Err(e) = self.rebuild() {
                self.con = None;
                self.go_down(&e);
                return;
            }
            self.shared.up.store(true, Ordering::SeqCst);
            self.warned = false;
            if self.ever_up {
                info!(
                    "redis {} reachable again: presence rebuilt ({} set(s))",
                    self.url,
                    self.shared.own().len()
                );
            } else {
                info!("redis {} connected", self.url);
            }
            self.ever_up = true;
            self.shared.to_all(&BrokerEvent::Up);
            let watched: Vec<String> = self.shared.links().watchers.keys().cloned().collect();
            for set in watched {
                if let Err(e) = self.read(&set, true) {
                    self.con = None;
                    self.go_down(&e);
                    return;
                }
            }
        } else if !ready && up {
            self.go_down(&"the subscription connection failed");
        }
    }

    /// Every presence entry of this process, written and announced.
    fn rebuild(&mut self) -> RedisResult<()> {
        let mut pipe = redis::pipe();
        self.add_own(&mut pipe, true);
        self.exec(&pipe)
    }

    /// Every presence entry of this process into `pipe` (refreshed
    /// expiry), each set announced too if `announce`.
    fn add_own(&self, pipe: &mut Pipeline, announce: bool) {
        for (set, members) in self.shared.own().iter() {
            for member in members.keys() {
                self.add_entry(pipe, set, member);
            }
            if announce {
                self.announce(pipe, set);
            }
        }
    }

    /// Send `pipe`, if there is anything in it and a connection to send on.
    fn exec(&mut self, pipe: &Pipeline) -> RedisResult<()> {
        match self.con.as_mut() {
            Some(con) if !pipe.is_empty() => pipe.exec(con),
            _ => Ok(()),
        }
    }

    /// While down: wait `pause`, answering every publish with
    /// `Undelivered`. True when asked to stop.
    fn wait_down(&mut self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return self.shared.stop.load(Ordering::SeqCst);
            }
            match self.queue.recv_timeout(left) {
                Ok(Command::Publish {
                    origin,
                    channel,
                    body,
                }) => self.undelivered(vec![(origin, channel, body)]),
                // Presence lives in `Shared::own`: rebuilt on reconnection.
                Ok(
                    Command::Join { .. }
                    | Command::Leave { .. }
                    | Command::Read { .. }
                    | Command::Check,
                ) => {}
                Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return true,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// Shutting down: take this process's entries out now rather than
    /// letting them expire.
    fn leave_all(&mut self) {
        let mut pipe = redis::pipe();
        for (set, members) in self.shared.own().iter() {
            for member in members.keys() {
                pipe.cmd("ZREM")
                    .arg(self.shared.set_key(set))
                    .arg(member)
                    .ignore();
            }
            self.announce(&mut pipe, set);
        }
        // Whatever fails here expires with the TTL.
        let _ = self.exec(&pipe);
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
