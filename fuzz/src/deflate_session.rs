//! A permessage-deflate session between a client core and a server core
//! under configurations drawn from the input (memory preset, windows of 9
//! to 15 bits each way, no context takeover, threshold, codecs released
//! when idle), each side parking and unparking on its own [`BufferPool`]
//! where the input says — the way the event loop lends codecs (RFC 7692
//! §7.1.1: only the window must outlive a message, never the codec).
//!
//! Oracles:
//! * every message arrives exactly as sent, in both directions, whichever
//!   codecs were handed back and taken again in between;
//! * a message is compressed (RSV1 on its frame, §7.2.3.1) exactly when it
//!   is at least the sender's threshold long;
//! * a side that releases when idle holds no codec once parked, and a
//!   pool never keeps more than its limit.

use std::sync::Arc;

use arbitrary::Arbitrary;
use ws6455_proto::deflate::{DeflateConfig, DeflateMemory};
use ws6455_proto::{BufferPool, ClientRequest, Config, Connection, Event, Timestamp};

use crate::CLIENT_SEED;

/// One side's settings, as the input gives them.
#[derive(Arbitrary, Debug)]
pub struct Side {
    /// 0: `DeflateConfig::default()`; 1–4: a [`DeflateMemory`] preset.
    preset: u8,
    /// Override the preset's windows with these (clamped to 9–15).
    windows: Option<(u8, u8)>,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    threshold: u8,
    release_when_idle: Option<bool>,
}

impl Side {
    pub fn config(&self) -> DeflateConfig {
        let mut d = match self.preset % 5 {
            1 => DeflateConfig::preset(DeflateMemory::Full),
            2 => DeflateConfig::preset(DeflateMemory::Windows),
            3 => DeflateConfig::preset(DeflateMemory::Small),
            4 => DeflateConfig::preset(DeflateMemory::Tiny),
            _ => DeflateConfig::default(),
        };
        if let Some((server, client)) = self.windows {
            d.server_max_window_bits = server;
            d.client_max_window_bits = client;
        }
        d.server_no_context_takeover = self.server_no_context_takeover;
        d.client_no_context_takeover = self.client_no_context_takeover;
        d.threshold = usize::from(self.threshold);
        if let Some(release) = self.release_when_idle {
            d.release_when_idle = release;
        }
        d
    }
}

/// The whole session's input.
#[derive(Arbitrary, Debug)]
pub struct Session<'a> {
    pub client: Side,
    pub server: Side,
    /// Bit i: park the sender after message i; bit i + 16: the receiver.
    pub parks: u32,
    /// Message lengths; each message is a window onto `data` (repeated),
    /// so later messages repeat earlier ones and reach into the window.
    pub lengths: [u16; 8],
    pub data: &'a [u8],
}

fn t0() -> Timestamp {
    Timestamp::from_duration(core::time::Duration::ZERO)
}

fn config(deflate: DeflateConfig) -> Arc<Config> {
    let mut c = Config::default();
    c.deflate = Some(deflate);
    Arc::new(c)
}

fn take_output(conn: &mut Connection) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let chunk = conn.pending_output();
        if chunk.is_empty() {
            return all;
        }
        let n = chunk.len();
        all.extend_from_slice(chunk);
        conn.consume_output(n);
    }
}

/// Message `i`: `len` bytes cycling through `data` from an offset.
fn message(data: &[u8], i: usize, len: usize) -> Vec<u8> {
    if data.is_empty() {
        return vec![b'a'; len];
    }
    let start = (i * 7) % data.len();
    data.iter().cycle().skip(start).take(len).copied().collect()
}

/// The binary message `conn` delivers next, if any.
fn received(conn: &mut Connection) -> Option<Vec<u8>> {
    match conn.poll_event()? {
        Event::Binary(b) => Some(b.to_vec()),
        other => panic!("expected a binary message, got {other:?}"),
    }
}

pub fn run(input: &Session<'_>) {
    let (cd, sd) = (input.client.config(), input.server.config());
    let mut client = Connection::client(
        config(cd.clone()),
        ClientRequest::new("example.com", "/"),
        CLIENT_SEED,
        t0(),
    );
    let mut server = Connection::server(config(sd.clone()), t0());
    server.recv(&take_output(&mut client));
    assert!(matches!(server.poll_event(), Some(Event::Request(_))));
    server.accept(t0(), None, &[]).expect("accept");
    client.recv(&take_output(&mut server));
    assert!(matches!(client.poll_event(), Some(Event::Connected(_))));
    assert!(
        client.deflate_params().is_some(),
        "our own offer was declined"
    );
    let mut pools = [BufferPool::new(2, 1 << 16), BufferPool::new(2, 1 << 16)];
    for (i, &len) in input.lengths.iter().enumerate() {
        let len = usize::from(len) % 20_000;
        let payload = message(input.data, i, len);
        // Even messages go client → server, odd ones back.
        let (from, to, from_cfg, to_cfg, pool_from, pool_to) = if i % 2 == 0 {
            let [a, b] = &mut pools;
            (&mut client, &mut server, &cd, &sd, a, b)
        } else {
            let [a, b] = &mut pools;
            (&mut server, &mut client, &sd, &cd, b, a)
        };
        from.unpark(pool_from);
        to.unpark(pool_to);
        from.send_binary(&payload).expect("send");
        let wire = take_output(from);
        let rsv1 = wire.first().is_some_and(|b| b & 0x40 != 0);
        assert_eq!(
            rsv1,
            len >= from_cfg.threshold,
            "{len} bytes, threshold {}",
            from_cfg.threshold
        );
        to.recv(&wire);
        assert_eq!(received(to).as_deref(), Some(&payload[..]), "message {i}");
        assert!(to.poll_event().is_none());
        for (bit, conn, cfg, pool) in [
            (i, from, from_cfg, pool_from),
            (i + 16, to, to_cfg, pool_to),
        ] {
            if input.parks & (1 << bit) != 0 {
                conn.park(pool);
                if cfg.release_when_idle {
                    assert_eq!(conn.deflate_codecs(), (false, false), "parked");
                }
                let (c, d) = pool.codecs().len();
                assert!(c <= 16 && d <= 16, "pool over its limit: {c}, {d}");
            }
        }
    }
}
