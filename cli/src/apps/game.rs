//! The game demo on `/game`: every client steers a dot with the arrow
//! keys; the server owns the positions and sends all of them to everyone
//! at a fixed tick rate.
//!
//! The pattern is the one multiplayer games use: clients send *intent*
//! (`{"type":"move","dx":1,"dy":0}` when the keys held change), the
//! server integrates it on its own clock and fans out one state frame per
//! tick. Each frame is encoded once ([`PreparedMessage`]) and queued on
//! every player ([`Ctx::broadcast`]); a player whose output is backed up
//! simply misses a frame instead of slowing the others down. The tick is
//! a loop timer ([`Ctx::set_timer`]) that runs only while someone plays.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use log::info;
use serde::Serialize;
use serde_json::{Map, Value};
use ws6455::proto::PreparedMessage;
use ws6455::CloseCode;
use ws6455::{ConnId, Ctx, Handler, Message};

use super::{encode, FRAGMENT_SIZE};

mod cluster;

/// The page served on `GET /game`.
pub const PAGE: &str = include_str!("game.html");

/// The timer token of the tick; the router hands only this one to the game.
pub const TICK_TOKEN: u64 = 0x6761_6d65; // "game"

/// 20 Hz.
const TICK: Duration = Duration::from_millis(50);
/// Size of the field, in the page's canvas pixels.
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 400.0;
/// Radius of a dot: positions are clamped so a dot stays inside.
const RADIUS: f64 = 10.0;
/// Pixels per second while a key is held.
const SPEED: f64 = 180.0;

/// What the game sends to a page, one `{"type":…}` object each.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum ToPlayer<'a> {
    Welcome {
        id: i64,
        width: i64,
        height: i64,
        hz: i64,
        /// With `serve --redis`: this server's name.
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<&'a str>,
    },
    State {
        tick: i64,
        players: Vec<Dot>,
    },
    Error {
        reason: &'a str,
    },
}

/// A player as the pages draw it: whole pixels.
#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub(super) struct Dot {
    id: i64,
    x: i64,
    y: i64,
    hue: i64,
    /// With `serve --redis`: the server the player is connected to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    server: Option<String>,
}

struct Player {
    number: i64,
    x: f64,
    y: f64,
    dx: f64,
    dy: f64,
}

/// The game's state: players and the tick clock.
pub struct Game {
    players: BTreeMap<ConnId, Player>,
    /// With `serve --redis`: the other servers' players.
    cluster: Option<cluster::Linked>,
    next_number: i64,
    tick: i64,
    /// When the next tick is due, while the tick timer runs.
    next_tick: Option<Instant>,
}

impl Game {
    /// An empty field; its log lines go through the `log` facade.
    pub fn new() -> Self {
        Game {
            players: BTreeMap::new(),
            cluster: None,
            next_number: 1,
            tick: 0,
            next_tick: None,
        }
    }
}

/// Move a dot by its held direction for one tick.
fn step(p: &mut Player) {
    let dt = TICK.as_secs_f64();
    // Diagonals are normalised so they are not √2 times faster.
    let norm = (p.dx * p.dx + p.dy * p.dy).sqrt().max(1.0);
    p.x = (p.x + SPEED * dt * p.dx / norm).clamp(RADIUS, WIDTH - RADIUS);
    p.y = (p.y + SPEED * dt * p.dy / norm).clamp(RADIUS, HEIGHT - RADIUS);
}

/// Where `players` are now, as the pages draw them.
fn dots<'a>(players: impl Iterator<Item = &'a Player>, server: Option<&str>) -> Vec<Dot> {
    players
        .map(|p| Dot {
            id: p.number,
            x: p.x.round() as i64,
            y: p.y.round() as i64,
            hue: hue(p.number),
            server: server.map(str::to_owned),
        })
        .collect()
}

/// `{"type":"state","tick":n,"players":[{"id":1,"x":…,"y":…,"hue":…}…]}`
fn state(tick: i64, players: Vec<Dot>) -> String {
    encode(&ToPlayer::State { tick, players })
}

/// Colours spread by the golden angle, so neighbours never look alike.
fn hue(number: i64) -> i64 {
    (number * 137).rem_euclid(360)
}

impl Default for Game {
    fn default() -> Self {
        Self::new()
    }
}

impl Handler for Game {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: Option<&ws6455::proto::Response>) {
        let number = self.next_number;
        self.next_number += 1;
        // Spread the spawn points over the field, deterministically.
        let x = RADIUS * 3.0 + ((number * 211) % 560) as f64;
        let y = RADIUS * 3.0 + ((number * 97) % 320) as f64;
        self.players.insert(
            id,
            Player {
                number,
                x,
                y,
                dx: 0.0,
                dy: 0.0,
            },
        );
        info!("{id} game player {number} joined");
        // Whole numbers, as the page has always been sent them (640, not 640.0).
        let welcome = ToPlayer::Welcome {
            id: number,
            width: WIDTH as i64,
            height: HEIGHT as i64,
            hz: 1000 / TICK.as_millis() as i64,
            server: self.cluster.as_ref().map(|c| c.node()),
        };
        let _ = ctx.send_text(id, &encode(&welcome));
        if self.next_tick.is_none() {
            self.next_tick = Some(ctx.now() + TICK);
            ctx.set_timer(TICK, TICK_TOKEN);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let Message::Text(text) = message else {
            let _ = ctx.close(id, CloseCode::UNSUPPORTED_DATA, "the game speaks JSON text");
            return;
        };
        let error = |ctx: &mut Ctx<'_>, reason: &str| {
            let _ = ctx.send_text(id, &encode(&ToPlayer::Error { reason }));
        };
        let request: Map<String, Value> = match serde_json::from_str(text) {
            Ok(request) => request,
            Err(e) => return error(ctx, &format!("invalid JSON: {e}")),
        };
        let num = |name: &str| request.get(name).and_then(Value::as_f64);
        match (
            request.get("type").and_then(Value::as_str),
            num("dx"),
            num("dy"),
        ) {
            (Some("move"), Some(dx), Some(dy)) => {
                if let Some(p) = self.players.get_mut(&id) {
                    // Only a direction: the server decides how fast.
                    p.dx = dx.clamp(-1.0, 1.0);
                    p.dy = dy.clamp(-1.0, 1.0);
                }
            }
            (Some("move"), _, _) => error(ctx, "move needs numbers dx and dy"),
            _ => error(
                ctx,
                "the game understands {\"type\":\"move\",\"dx\":…,\"dy\":…}",
            ),
        }
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        if let Some(p) = self.players.remove(&id) {
            info!("{id} game player {} left", p.number);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, _token: u64) {
        if self.players.is_empty() {
            // Nobody plays: let the clock stop until the next player.
            self.next_tick = None;
            if let Some(cluster) = &mut self.cluster {
                cluster.idle();
            }
            return;
        }
        self.tick += 1;
        self.players.values_mut().for_each(step);
        let server = self.cluster.as_ref().map(|c| c.node());
        let mut players = dots(self.players.values(), server);
        if let Some(cluster) = &mut self.cluster {
            cluster.share(&players);
            players.extend(cluster.others(ctx.now()));
        }
        let frame = PreparedMessage::text(&state(self.tick, players), FRAGMENT_SIZE);
        ctx.broadcast(self.players.keys().copied(), &frame);
        // Aim at a fixed schedule so the rate does not drift with the
        // loop's latency; if we fell behind, restart the schedule from now.
        let now = ctx.now();
        let due = self.next_tick.map_or(now, |t| t + TICK);
        let due = if due <= now { now + TICK } else { due };
        self.next_tick = Some(due);
        ctx.set_timer(due - now, TICK_TOKEN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_move_by_speed_and_stay_on_the_field() {
        let mut p = Player {
            number: 1,
            x: 100.0,
            y: 100.0,
            dx: 1.0,
            dy: 0.0,
        };
        step(&mut p);
        assert!((p.x - 109.0).abs() < 1e-9, "x = {}", p.x);
        assert_eq!(p.y, 100.0);
        for _ in 0..200 {
            step(&mut p);
        }
        assert_eq!(p.x, WIDTH - RADIUS);
        p.dx = -1.0;
        p.dy = -1.0;
        step(&mut p);
        let moved = ((WIDTH - RADIUS - p.x).powi(2) + (100.0 - p.y).powi(2)).sqrt();
        assert!(
            (moved - 9.0).abs() < 1e-9,
            "a diagonal step is as long as a straight one"
        );
        assert_eq!(
            state(7, dots([&p].into_iter(), None)),
            r#"{"type":"state","tick":7,"players":[{"id":1,"x":624,"y":94,"hue":137}]}"#
        );
        assert_eq!(
            state(0, Vec::new()),
            r#"{"type":"state","tick":0,"players":[]}"#
        );
    }
}
