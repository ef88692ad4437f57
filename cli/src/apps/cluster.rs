//! `serve --redis`: what the demos need to span several servers — the
//! process's [`RedisBroker`] and this server's name (`--node-id`), which
//! every page is shown beside each user.
//!
//! Each app takes its own [`RedisLink`] per event loop (in
//! `Handler::on_start`) and hears it through its own notify token, so the
//! chat and the game never see each other's traffic.

use std::time::{SystemTime, UNIX_EPOCH};

use ws6455::broker::redis::{RedisBroker, RedisLink};
use ws6455::Ctx;

/// The broker and this server's name.
#[derive(Clone)]
pub struct Cluster {
    broker: RedisBroker,
    node: String,
}

impl Cluster {
    /// `node` names this server (or, with several loops, this loop).
    pub fn new(broker: RedisBroker, node: String) -> Self {
        Cluster { broker, node }
    }

    /// The same broker under the name of loop `index` of this server:
    /// each loop is its own member of the cluster.
    pub fn for_loop(&self, index: usize, loops: usize) -> Self {
        let node = if loops > 1 {
            format!("{}.{index}", self.node)
        } else {
            self.node.clone()
        };
        Cluster {
            broker: self.broker.clone(),
            node,
        }
    }

    /// This server's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// A link for the loop `ctx` belongs to, notified with `token`.
    pub fn link(&self, ctx: &Ctx<'_>, token: u64) -> RedisLink {
        self.broker.link(ctx.remote(), token)
    }
}

/// A default `--node-id`: the host's name and the process id, unique on
/// a machine and readable in a page.
pub fn default_node_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ws6455".into());
    let short = host.split('.').next().unwrap_or("ws6455");
    format!("{short}-{}", std::process::id())
}

/// A number unlikely to be another server's: the game's first player
/// number on this server, so dots of several servers never share one.
pub fn spread_start() -> i64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mix = u64::from(nanos) ^ (u64::from(std::process::id()) << 16);
    1 + i64::try_from(mix % 9_000).unwrap_or(0) * 100
}
