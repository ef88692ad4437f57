//! The game across servers (`serve --redis`): each server still moves
//! its own players on its own tick, and shares where they are on channel
//! `game` every tick; it draws the other servers' players where they
//! last said they were. A server that stops saying so (killed, or Redis
//! gone) has its dots vanish after [`STALE`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use ws6455::broker::{Broker, BrokerEvent};
use ws6455::Ctx;

use super::{Dot, Game};
use crate::apps::cluster::spread_start;

const CHANNEL: &str = "game";
/// Ten ticks without news from a server and its players are gone.
const STALE: Duration = Duration::from_millis(500);

/// One server's players, once per tick.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    node: String,
    players: Vec<Dot>,
}

/// The game's end of the broker on one loop.
pub(super) struct Linked {
    link: Box<dyn Broker>,
    node: String,
    /// Server → when it last spoke, and its players then.
    others: HashMap<String, (Instant, Vec<Dot>)>,
    listening: bool,
}

impl Linked {
    pub(super) fn node(&self) -> &str {
        &self.node
    }

    /// Tell the other servers where our players are (and hear theirs
    /// while we have players).
    pub(super) fn share(&mut self, players: &[Dot]) {
        if !self.listening {
            self.link.subscribe(CHANNEL);
            self.listening = true;
        }
        let snapshot = Snapshot {
            node: self.node.clone(),
            players: players.to_vec(),
        };
        if let Ok(json) = serde_json::to_vec(&snapshot) {
            // A tick that cannot go out is replaced by the next one.
            let _ = self.link.publish(CHANNEL, &json);
        }
    }

    /// The other servers' players, less those gone quiet.
    pub(super) fn others(&mut self, now: Instant) -> Vec<Dot> {
        self.others
            .retain(|_, (seen, _)| now.saturating_duration_since(*seen) < STALE);
        let mut dots: Vec<Dot> = self
            .others
            .values()
            .flat_map(|(_, players)| players.iter().cloned())
            .collect();
        dots.sort_unstable_by_key(|d| d.id);
        dots
    }

    /// Nobody plays here: stop listening until someone does.
    pub(super) fn idle(&mut self) {
        if self.listening {
            self.link.unsubscribe(CHANNEL);
            self.listening = false;
        }
        self.others.clear();
    }
}

impl Game {
    /// Share the field with every server on `link`'s broker, as `node`.
    pub fn attach(&mut self, link: Box<dyn Broker>, node: &str) {
        self.next_number = spread_start();
        self.cluster = Some(Linked {
            link,
            node: node.to_owned(),
            others: HashMap::new(),
            listening: false,
        });
    }

    /// Drain the broker's events (the loop was notified).
    pub fn on_broker(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now();
        let Some(cluster) = self.cluster.as_mut() else {
            return;
        };
        while let Some(event) = cluster.link.next_event() {
            match event {
                BrokerEvent::Message { payload, .. } => {
                    let Ok(snapshot) = serde_json::from_slice::<Snapshot>(&payload) else {
                        continue;
                    };
                    if snapshot.node != cluster.node {
                        cluster
                            .others
                            .insert(snapshot.node, (now, snapshot.players));
                    }
                }
                BrokerEvent::Down => cluster.others.clear(),
                _ => {}
            }
        }
    }
}
