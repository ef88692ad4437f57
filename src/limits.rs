//! Connection limits (RFC 6455 §10.4: "implementations SHOULD impose
//! implementation-specific limits"): how many connections a server holds
//! in all, per client address, and how many opening handshakes one client
//! address may have in progress.
//!
//! [`ConnectionLimits`] is the public policy; [`Limiter`] is its live
//! count, shared (in an `Arc`) by every event loop of a server, so a
//! limit is the server's, not each thread's. A client address is an IPv4
//! address or an IPv6 /64 (one customer's network: a host picks any
//! address in its /64 at will, so per-address limits on IPv6 would limit
//! nothing).
//!
//! Two moments, two answers:
//! - **at accept**, too many handshakes in progress (from that address, or
//!   in all): the socket is closed at once, without reading a byte — the
//!   cheapest refusal, for a flood that would otherwise hold a slot and a
//!   read each until its request or the handshake timeout;
//! - **at the upgrade request**, too many open connections (from that
//!   address, or in all): answered `503 Service Unavailable` with
//!   `Retry-After`, so a client sees why.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// How many connections a server accepts: in all, per client address
/// (IPv4 address or IPv6 /64), and handshakes in progress per client
/// address. `None` is no limit; the default has none (so it never trips
/// a test suite such as Autobahn, which opens one connection at a time).
///
/// ```
/// use ws6455::{ConnectionLimits, Server};
///
/// let limits = ConnectionLimits::none()
///     .max_connections(10_000)
///     .max_per_client(100)
///     .max_handshakes_per_client(20);
/// let server = Server::new().limits(limits);
/// # let _ = server;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// Open WebSocket connections, all clients together; the next upgrade
    /// request is answered 503. Handshakes in progress are held to the same
    /// number (beyond it a new socket is closed at accept), so a server
    /// under a flood from many addresses holds at most twice this many.
    pub max_connections: Option<usize>,
    /// Open WebSocket connections from one client address; the next upgrade
    /// request is answered 503.
    pub max_per_client: Option<usize>,
    /// Accepted sockets from one client address that have not finished
    /// their opening handshake; beyond it a new socket is closed at accept
    /// (a slowloris flood never gets to hold a slot each).
    pub max_handshakes_per_client: Option<usize>,
}

impl ConnectionLimits {
    /// No limit at all (the default).
    pub fn none() -> Self {
        ConnectionLimits::default()
    }

    /// At most `n` open connections in all.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = Some(n);
        self
    }

    /// At most `n` open connections per client address.
    pub fn max_per_client(mut self, n: usize) -> Self {
        self.max_per_client = Some(n);
        self
    }

    /// At most `n` handshakes in progress per client address.
    pub fn max_handshakes_per_client(mut self, n: usize) -> Self {
        self.max_handshakes_per_client = Some(n);
        self
    }

    /// True when no limit is set (the loop then keeps no count at all).
    pub fn is_none(&self) -> bool {
        *self == ConnectionLimits::none()
    }
}

impl fmt::Display for ConnectionLimits {
    /// `at most 100 connections, 10 per client, 5 handshakes per client`,
    /// or `no connection limits`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("no connection limits");
        }
        let parts = [
            self.max_connections.map(|n| format!("{n} connections")),
            self.max_per_client.map(|n| format!("{n} per client")),
            self.max_handshakes_per_client
                .map(|n| format!("{n} handshakes per client")),
        ];
        let parts: Vec<String> = parts.into_iter().flatten().collect();
        write!(f, "at most {}", parts.join(", "))
    }
}

/// A client address as the limits count it: an IPv4 address, or the /64
/// an IPv6 address is in (an IPv4-mapped IPv6 address is its IPv4 one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ClientKey {
    V4([u8; 4]),
    V6([u8; 8]),
}

impl ClientKey {
    pub(crate) fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    let mut prefix = [0u8; 8];
                    for (pair, segment) in prefix.chunks_exact_mut(2).zip([a, b, c, d]) {
                        pair.copy_from_slice(&segment.to_be_bytes());
                    }
                    ClientKey::V6(prefix)
                }
            },
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::V4(octets) => std::net::Ipv4Addr::from(*octets).fmt(f),
            ClientKey::V6(prefix) => {
                let mut full = [0u8; 16];
                for (to, from) in full.iter_mut().zip(prefix) {
                    *to = *from;
                }
                write!(f, "{}/64", std::net::Ipv6Addr::from(full))
            }
        }
    }
}

/// What one connection holds of the limits, given back when its slot goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Held {
    /// Nothing counted (no limits, or already released).
    #[default]
    Nothing,
    /// A handshake in progress from this client.
    Handshake(ClientKey),
    /// An open connection from this client.
    Open(ClientKey),
}

/// Which limit refused a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Over {
    Connections,
    PerClient,
    Handshakes,
    HandshakesPerClient,
}

impl Over {
    /// The body of a 503, and the log's words.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Over::Connections => "server is at its connection limit",
            Over::PerClient => "too many connections from this address",
            Over::Handshakes => "too many handshakes in progress",
            Over::HandshakesPerClient => "too many handshakes in progress from this address",
        }
    }
}

/// Counts per client address.
#[derive(Clone, Copy, Debug, Default)]
struct PerClient {
    open: usize,
    handshaking: usize,
}

#[derive(Debug, Default)]
struct Table {
    open: usize,
    handshaking: usize,
    clients: HashMap<ClientKey, PerClient>,
}

impl Table {
    /// Take one off a client's count, dropping its entry at zero so the
    /// table holds only clients with a connection (a scan of the whole
    /// IPv4 space leaves nothing behind).
    fn release(&mut self, key: ClientKey, open: bool) {
        if let Some(client) = self.clients.get_mut(&key) {
            if open {
                client.open = client.open.saturating_sub(1);
                self.open = self.open.saturating_sub(1);
            } else {
                client.handshaking = client.handshaking.saturating_sub(1);
                self.handshaking = self.handshaking.saturating_sub(1);
            }
            if client.open == 0 && client.handshaking == 0 {
                self.clients.remove(&key);
            }
        }
    }
}

/// The live counts behind a server's [`ConnectionLimits`], shared by its
/// loops. One lock, taken at accept, at the upgrade request and when a
/// connection goes: never per message.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    limits: ConnectionLimits,
    table: Mutex<Table>,
}

fn over(count: usize, limit: Option<usize>) -> bool {
    limit.is_some_and(|max| count >= max)
}

impl Limiter {
    pub(crate) fn new(limits: ConnectionLimits) -> Self {
        Limiter {
            limits,
            table: Mutex::default(),
        }
    }

    pub(crate) fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A panic elsewhere while counting leaves counts that are at worst
        // off by one; refusing every connection after it would be worse.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A socket from `ip` was accepted: count its handshake, or say which
    /// limit refuses it (the caller closes it).
    pub(crate) fn begin_handshake(&self, ip: IpAddr) -> Result<Held, Over> {
        let key = ClientKey::of(ip);
        let mut table = self.table();
        if over(table.handshaking, self.limits.max_connections) {
            return Err(Over::Handshakes);
        }
        let client = table.clients.get(&key).copied().unwrap_or_default();
        if over(client.handshaking, self.limits.max_handshakes_per_client) {
            return Err(Over::HandshakesPerClient);
        }
        table.handshaking = table.handshaking.saturating_add(1);
        let client = table.clients.entry(key).or_default();
        client.handshaking = client.handshaking.saturating_add(1);
        Ok(Held::Handshake(key))
    }

    /// The upgrade request of a connection holding `held` arrived: turn its
    /// handshake into an open connection, or say which limit refuses it
    /// (its handshake is released then, and it holds nothing).
    pub(crate) fn open(&self, held: &mut Held) -> Result<(), Over> {
        let Held::Handshake(key) = *held else {
            return Ok(());
        };
        let mut table = self.table();
        table.release(key, false);
        let client = table.clients.get(&key).copied().unwrap_or_default();
        let refused = if over(table.open, self.limits.max_connections) {
            Some(Over::Connections)
        } else if over(client.open, self.limits.max_per_client) {
            Some(Over::PerClient)
        } else {
            None
        };
        if let Some(refused) = refused {
            *held = Held::Nothing;
            return Err(refused);
        }
        table.open = table.open.saturating_add(1);
        let client = table.clients.entry(key).or_default();
        client.open = client.open.saturating_add(1);
        *held = Held::Open(key);
        Ok(())
    }

    /// A connection holding `held` is gone.
    pub(crate) fn release(&self, held: Held) {
        match held {
            Held::Nothing => {}
            Held::Handshake(key) => self.table().release(key, false),
            Held::Open(key) => self.table().release(key, true),
        }
    }

    /// Open connections and handshakes in progress, and how many client
    /// addresses they come from.
    #[cfg(test)]
    fn counts(&self) -> (usize, usize, usize) {
        let table = self.table();
        (table.open, table.handshaking, table.clients.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientKey::of(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientKey::of(ip("2001:db8:1:2:bbbb::2"));
        let c = ClientKey::of(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        assert_eq!(
            ClientKey::of(ip("::ffff:10.0.0.7")),
            ClientKey::of(ip("10.0.0.7"))
        );
        assert_eq!(ClientKey::of(ip("10.0.0.7")).to_string(), "10.0.0.7");
    }

    #[test]
    fn per_client_limits_refuse_the_next_and_free_on_release() {
        let limiter = Limiter::new(ConnectionLimits::none().max_per_client(2));
        let mut open = Vec::new();
        for _ in 0..2 {
            let mut held = limiter.begin_handshake(ip("10.0.0.1")).unwrap();
            limiter.open(&mut held).unwrap();
            open.push(held);
        }
        let mut third = limiter.begin_handshake(ip("10.0.0.1")).unwrap();
        assert_eq!(limiter.open(&mut third), Err(Over::PerClient));
        assert_eq!(third, Held::Nothing, "a refused request holds nothing");
        // Another address is not affected.
        let mut other = limiter.begin_handshake(ip("10.0.0.2")).unwrap();
        assert_eq!(limiter.open(&mut other), Ok(()));
        limiter.release(other);
        limiter.release(open.pop().unwrap());
        let mut again = limiter.begin_handshake(ip("10.0.0.1")).unwrap();
        assert_eq!(limiter.open(&mut again), Ok(()));
        limiter.release(again);
        limiter.release(open.pop().unwrap());
        assert_eq!(limiter.counts(), (0, 0, 0), "nothing left behind");
    }

    #[test]
    fn handshakes_in_progress_are_refused_at_accept() {
        let limits = ConnectionLimits::none()
            .max_handshakes_per_client(3)
            .max_connections(5);
        let limiter = Limiter::new(limits);
        let held: Vec<Held> = (0..3)
            .map(|_| limiter.begin_handshake(ip("10.0.0.1")).unwrap())
            .collect();
        assert_eq!(
            limiter.begin_handshake(ip("10.0.0.1")),
            Err(Over::HandshakesPerClient)
        );
        let more: Vec<Held> = (0..2)
            .map(|_| limiter.begin_handshake(ip("10.0.0.2")).unwrap())
            .collect();
        assert_eq!(
            limiter.begin_handshake(ip("10.0.0.3")),
            Err(Over::Handshakes),
            "five in progress in all"
        );
        for h in held.into_iter().chain(more) {
            limiter.release(h);
        }
        assert_eq!(limiter.counts(), (0, 0, 0));
    }

    #[test]
    fn the_total_limit_counts_every_client() {
        let limiter = Limiter::new(ConnectionLimits::none().max_connections(2));
        let mut a = limiter.begin_handshake(ip("10.0.0.1")).unwrap();
        let mut b = limiter.begin_handshake(ip("10.0.0.2")).unwrap();
        assert_eq!(
            limiter.begin_handshake(ip("10.0.0.3")),
            Err(Over::Handshakes),
            "handshakes in progress are held to the total too"
        );
        limiter.open(&mut a).unwrap();
        limiter.open(&mut b).unwrap();
        let mut c = limiter.begin_handshake(ip("::1")).unwrap();
        assert_eq!(limiter.open(&mut c), Err(Over::Connections));
        assert_eq!(limiter.counts(), (2, 0, 2));
        limiter.release(a);
        limiter.release(b);
        limiter.release(c);
        assert_eq!(limiter.counts(), (0, 0, 0));
    }

    #[test]
    fn limits_describe_themselves() {
        assert_eq!(ConnectionLimits::none().to_string(), "no connection limits");
        assert_eq!(
            ConnectionLimits::none()
                .max_connections(100)
                .max_per_client(10)
                .to_string(),
            "at most 100 connections, 10 per client"
        );
    }
}
