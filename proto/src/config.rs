//! Every limit and timeout of a connection, in one place.
//!
//! A `Config` is shared by all connections of a server (the core keeps it
//! behind an `Arc`), so it costs an idle connection one pointer. The
//! defaults let Autobahn's largest case (a 16 MiB message, §9.x) through
//! while bounding what a hostile peer can make us hold.

use core::time::Duration;

use crate::rate::RateLimit;

/// Limits and timeouts for one [`crate::Connection`] (RFC 6455 §10.4:
/// "implementations SHOULD impose implementation-specific limits").
///
/// New limits may be added in later versions (`#[non_exhaustive]`), so a
/// configuration starts from the defaults and changes what it needs:
///
/// ```
/// use std::time::Duration;
/// use ws6455_proto::Config;
///
/// let mut config = Config::default();
/// // A chat server on a small box: small messages, and a peer that stops
/// // answering pings (§5.5.2) is dropped after 10 + 5 seconds.
/// config.max_message_size = 64 << 10;
/// config.max_frame_size = 64 << 10;
/// config.ping_interval = Some(Duration::from_secs(10));
/// config.pong_timeout = Duration::from_secs(5);
/// assert!(config.max_frame_size <= config.max_message_size);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Largest payload of a single received frame, checked from the header
    /// before any payload is buffered (§5.2). Exceeding it fails with 1009.
    pub max_frame_size: u64,
    /// Largest received message, all fragments together (§5.4). Exceeding
    /// it fails with 1009 as soon as the header that crosses it arrives.
    pub max_message_size: u64,
    /// Soft bound on buffered output. While more than this is waiting to be
    /// written, `send_*` returns `UsageError::BufferFull`, the core stops
    /// reading and stops producing events, so a peer that does not read
    /// cannot make us grow. A single message may overshoot it once.
    pub max_output_buffer: usize,
    /// Largest opening handshake head (request or response line plus
    /// headers). A larger one is refused with 431.
    pub max_handshake_size: usize,
    /// Outgoing messages longer than this are split into frames of this
    /// size (§5.4), so pings, pongs and closes can go out between them.
    pub fragment_size: usize,
    /// How much free space the receive buffer offers per read.
    pub read_buffer_size: usize,
    /// How long the opening handshake may take before the connection is
    /// dropped (a slowloris client never finishes its request).
    pub handshake_timeout: Duration,
    /// After sending a close frame, how long to wait for the peer's close
    /// (and, as a client, for the server to close TCP, §7.1.1) before
    /// dropping the connection.
    pub close_timeout: Duration,
    /// Send a ping after this much silence from the peer (§5.5.2 "a Ping
    /// frame may serve … as a keepalive"). `None` disables heartbeats.
    pub ping_interval: Option<Duration>,
    /// With heartbeats on: how long to wait for any data after our ping
    /// before deciding the peer is dead (close 1001, reported as 1006).
    pub pong_timeout: Duration,
    /// Close with 1001 after this much silence from the peer, whatever the
    /// heartbeat says. `None` disables it.
    pub idle_timeout: Option<Duration>,
    /// RFC 7692 permessage-deflate: `Some` to negotiate it (a server accepts
    /// an acceptable offer, a client offers it), `None` (the default) to run
    /// uncompressed. Received compressed messages count against
    /// `max_message_size` by their inflated size, checked while inflating.
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
    /// §10.4: a limit on how fast the peer may send data messages, once
    /// the connection is open (see [`RateLimit`]): exceeding it closes
    /// with 1008 or pauses reading, per the limit's mode. `None` (the
    /// default) is no limit at all, which is what the Autobahn testsuite
    /// expects; a connection without a limit pays nothing for the option.
    pub rate_limit: Option<RateLimit>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 16 << 20,
            max_output_buffer: 1 << 20,
            max_handshake_size: 8 << 10,
            fragment_size: 64 << 10,
            read_buffer_size: 16 << 10,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            ping_interval: Some(Duration::from_secs(30)),
            pong_timeout: Duration::from_secs(15),
            idle_timeout: None,
            #[cfg(feature = "deflate")]
            deflate: None,
            rate_limit: None,
        }
    }
}
