//! Deadlines, computed from instants the driver passes in (the core never
//! reads a clock): the handshake timeout, heartbeat pings and dead-peer
//! detection, the idle timeout, the close handshake timeout (§7.1.1) and
//! the linger after the connection ended.

use core::time::Duration;

use crate::time::Timestamp;

use crate::config::Config;

/// What an open connection (our close not sent) has to do now.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Due {
    Nothing,
    /// No input for `idle_timeout`.
    Idle,
    /// No input for `ping_interval`: send a heartbeat ping.
    Ping,
    /// No input for `pong_timeout` after our heartbeat ping.
    PeerDead,
}

/// One connection's clocks. The handshake, close and linger deadlines
/// belong to different states (handshake → `CloseSent` → `Lingering`), so
/// they share one field: every idle connection pays for its
/// timers, and 32 bytes saved per connection is 3 MB per 100,000.
#[derive(Debug)]
pub(super) struct Timers {
    now: Timestamp,
    /// Handshake deadline while the handshake runs; the close handshake's
    /// once our close is sent; the linger's once the connection ended (set
    /// to `now` to give up at once: passed is expired, no flag needed).
    deadline: Option<Timestamp>,
    /// Last time input was seen, and whether input came since `now` was set.
    last_activity: Timestamp,
    activity: bool,
    ping_sent: Option<Timestamp>,
}

fn after(now: Timestamp, d: Duration) -> Option<Timestamp> {
    now.checked_add(d)
}

impl Timers {
    pub(super) fn new(now: Timestamp, handshake: Option<Duration>) -> Self {
        Timers {
            now,
            deadline: handshake.and_then(|d| after(now, d)),
            last_activity: now,
            activity: false,
            ping_sent: None,
        }
    }

    pub(super) fn set_now(&mut self, now: Timestamp) {
        self.now = now.max(self.now);
        if self.activity {
            self.activity = false;
            self.last_activity = self.now;
            self.ping_sent = None;
        }
    }

    /// Move the clock forward for a command that starts a timer, without
    /// taking input activity into account (that is `set_now`'s, at the
    /// next `handle_timeout`).
    pub(super) fn advance(&mut self, now: Timestamp) {
        self.now = now.max(self.now);
    }

    /// The last instant the driver gave.
    pub(super) fn now(&self) -> Timestamp {
        self.now
    }

    pub(super) fn saw_activity(&mut self) {
        self.activity = true;
    }

    pub(super) fn opened(&mut self) {
        self.deadline = None;
        // Heartbeats count from the moment the connection opened.
        self.activity = false;
        self.last_activity = self.now;
    }

    /// The handshake's, the close handshake's or the linger's deadline,
    /// whichever the connection's state has running.
    pub(super) fn deadline(&self) -> Option<Timestamp> {
        self.deadline
    }

    /// True once [`Timers::deadline`] has passed.
    pub(super) fn deadline_passed(&self) -> bool {
        self.deadline.is_some_and(|d| self.now >= d)
    }

    /// Our close was queued: the peer has `timeout` to answer (§7.1.1).
    pub(super) fn start_close(&mut self, timeout: Duration) {
        if self.deadline.is_none() {
            self.deadline = after(self.now, timeout);
        }
    }

    /// The connection ended: its last bytes have `timeout` to go out.
    pub(super) fn start_linger(&mut self, timeout: Duration) {
        self.deadline = after(self.now, timeout);
    }

    /// Give up lingering now: the deadline is the present.
    pub(super) fn expire_linger(&mut self) {
        self.deadline = Some(self.now);
    }

    pub(super) fn linger_expired(&self) -> bool {
        self.deadline_passed()
    }

    /// The linger's deadline while it is still ahead.
    pub(super) fn linger_deadline(&self) -> Option<Timestamp> {
        self.deadline.filter(|&d| self.now < d)
    }

    pub(super) fn ping_sent(&mut self) {
        self.ping_sent = Some(self.now);
    }

    fn heartbeat_deadline(&self, config: &Config) -> Option<Timestamp> {
        let interval = config.ping_interval?;
        match self.ping_sent {
            Some(sent) => after(sent, config.pong_timeout),
            None => after(self.last_activity, interval),
        }
    }

    fn idle_deadline(&self, config: &Config) -> Option<Timestamp> {
        config
            .idle_timeout
            .and_then(|d| after(self.last_activity, d))
    }

    /// The earliest deadline of an open connection (our close not sent).
    pub(super) fn open_deadline(&self, config: &Config) -> Option<Timestamp> {
        [self.heartbeat_deadline(config), self.idle_deadline(config)]
            .into_iter()
            .flatten()
            .min()
    }

    pub(super) fn due(&self, config: &Config) -> Due {
        let passed = |d: Option<Timestamp>| d.is_some_and(|d| self.now >= d);
        if passed(self.idle_deadline(config)) {
            return Due::Idle;
        }
        if passed(self.heartbeat_deadline(config)) {
            return if self.ping_sent.is_some() {
                Due::PeerDead
            } else {
                Due::Ping
            };
        }
        Due::Nothing
    }
}
