//! # ws6455 — RFC 6455 WebSockets, from the wire up
//!
//! A WebSocket server and client on a mio event loop, and a blocking
//! adapter over any `Read + Write`, all driving one Sans-I/O protocol core.
//!
//! The house has floors, each its own package, so an import can only point
//! down:
//!
//! 1. [`proto`] (the `ws6455-proto` package, `#![no_std]`) — the protocol:
//!    bytes in, events and bytes out. It never touches a socket, a clock, a
//!    thread or a random source; time and randomness are passed in.
//! 2. This crate — the shells: [`EventLoop`], [`Server`] and client
//!    connections ([`Ctx::connect`]) on mio, and the blocking
//!    [`WebSocket`]. They move bytes and turn the core's wishes
//!    (`wants_read`, `wants_write`, `poll_timeout`) into interest and
//!    timeouts; they never parse or build a frame.
//! 3. The `ws6455` command (package `ws6455-cli`): serve, connect, inspect,
//!    bench, the demo apps. Nothing of it is compiled into a program that
//!    depends on this crate.
//!
//! ## A server
//!
//! Implement [`Handler`] (every callback has a default) and hand it to a
//! [`Server`]:
//!
//! ```no_run
//! use ws6455::{ConnId, Ctx, Handler, Message, Server};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
//!         let _ = match message {
//!             Message::Text(text) => ctx.send_text(id, text),
//!             Message::Binary(data) => ctx.send_binary(id, data),
//!         };
//!     }
//! }
//!
//! // One event loop per thread; each gets its own handler from the factory.
//! Server::new().bind("127.0.0.1:9001")?.run(|| Echo)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## Who may connect
//!
//! A browser lets any web page open a WebSocket to any server, carrying
//! the user's cookies; only the `Origin` header says whose page it is
//! (RFC 6455 §10.2). [`Server::origins`] (or [`EventLoop::origins`]) takes
//! an [`OriginPolicy`]: an upgrade request whose `Origin` it refuses is
//! answered 403 before [`Handler::on_request`], the handler never hears
//! of it, and it is logged and counted in [`Refusals`]
//! ([`Ctx::refusals`], [`ServerHandle::refusals`]). The default allows
//! every origin; [`OriginPolicy::same_host`] allows only pages the server
//! served itself, plus any origins listed with [`OriginPolicy::allow`].
//! Requests without an `Origin` (programs, not browsers) are always let
//! through.
//!
//! [`Server::limits`] takes [`ConnectionLimits`] (§10.4): connections in
//! all, per client address (IPv4, or IPv6 /64), and handshakes in progress
//! per address. An upgrade over a limit is answered 503 with
//! `Retry-After`, a socket beyond the handshake limits is closed at
//! accept; both are counted in [`Refusals::over_limit`]. The default is
//! no limit.
//!
//! Authentication is the handler's: [`auth`] reads a token from
//! `Authorization: Bearer`, a query parameter or `Sec-WebSocket-Protocol`
//! (the one channel a browser page has), and
//! [`Decision::unauthorized`] refuses with 401 and `WWW-Authenticate`
//! (RFC 7235 §3.1) before the upgrade; the library counts such refusals in
//! [`Refusals::auth_failed`] and logs them. The identity of an accepted
//! connection lives in the handler's own map keyed by [`ConnId`] (see
//! [`Handler`], "Per-connection state", and `examples/token_auth.rs`).
//!
//! ## Several servers
//!
//! A connection can only be sent to from its own loop. An application
//! whose users sit on several loops or processes (a chat room, a game)
//! gives each loop's handler a [`broker::Broker`]: taken in
//! [`Handler::on_start`] with [`Ctx::remote`], drained in
//! [`Handler::on_notify`]. See [`broker`] and, with the `redis` feature,
//! `broker::redis::RedisBroker`.
//!
//! ## A blocking client
//!
//! ```no_run
//! use ws6455::blocking::{Incoming, WebSocket};
//! use ws6455::ConnectOptions;
//!
//! let (mut ws, _response) =
//!     WebSocket::connect("ws://127.0.0.1:9001/", &ConnectOptions::default())?;
//! ws.send_text("hello")?;
//! if let Incoming::Text(reply) = ws.read()? {
//!     println!("{reply}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Logging
//!
//! The library reports what it cannot return to a caller (a failed
//! `accept`, a connection dropped and why) through the [`log`] facade, at
//! `warn` for trouble with the server itself and `debug` for a peer's
//! misbehaviour. It prints nothing unless the application installs a
//! logger.
//!
//! ## Memory
//!
//! What a long-running program can expect, and what it should configure:
//!
//! - **An idle connection holds no buffer.** Its core state is about 150
//!   bytes; the receive buffer, frame reader, assembler and output queues
//!   are lent from the event loop's pool while bytes move and go back when
//!   the connection goes quiet ([`proto::BufferPool`]).
//! - **The pool is bounded and shrinks when idle.** It keeps at most 32
//!   spare buffer sets of up to 256 KiB each, plus up to 64 MiB of grown
//!   buffers while large messages keep coming. Grown buffers are freed
//!   within two seconds of the last large message. After a second in which
//!   nothing was lent, the pool keeps only 4 spare sets of at most 16 KiB
//!   per buffer, so a burst of busy connections leaves nothing behind.
//! - **A quiet compressing connection keeps only its windows.** With
//!   permessage-deflate and context takeover (RFC 7692 §7.1.1), RFC 7692
//!   asks each side to keep the last 2^bits bytes, not the codec: by
//!   default (`DeflateConfig::release_when_idle`) a connection that goes
//!   quiet keeps its two windows (66 KB at 15 bits, down to about 1.5 KB
//!   at 9 with `DeflateConfig::preset`) and hands its compressor and
//!   decompressor to the loop's pool, which keeps up to 16 of each while
//!   busy and 4 once idle; a connection that comes back before another
//!   needed them takes its own back mid-stream. `DeflateMemory::Full`
//!   keeps them instead (about 340 KB per connection).
//!   `DeflateConfig::server_no_context_takeover` brings it to about
//!   20 KB, both `no_context_takeover` settings to about 300 B.
//! - **An idle TLS connection keeps only rustls's session state** (keys
//!   and handshake results: about 4 KB of RSS, BENCHMARKS.md "wss://"),
//!   no buffer: ciphertext is read into, and sealed into, buffers each
//!   loop thread keeps for all its connections (80 KiB for reading, 112 KiB
//!   for sealing). A connection holds bytes of its own only for a
//!   moment: a record cut at the end of a read, plaintext the core had no
//!   room for, or records the socket refused (at most 80 KiB).
//! - **What the library frees, the allocator may keep.** glibc's `malloc`
//!   serves compressor-sized blocks from its heap once the first is freed
//!   and rarely gives that heap back: after 2,000 compressed connections
//!   had closed, a server under glibc kept 700 MB of RSS with under 1 MB
//!   in use. The library does not choose an allocator for you. A server
//!   that sees bursts should use one that returns freed pages: jemalloc
//!   with a background thread and short decay (the `ws6455` binary uses
//!   `tikv-jemallocator` with
//!   `background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0`, five
//!   seconds for allocations of 8 MiB and more, and comes back to within
//!   4 MB of its baseline after such a burst),
//!   mimalloc with `MIMALLOC_PURGE_DELAY=0`, or glibc's `malloc_trim(0)`
//!   called from a [`Handler::on_timer`] after a burst. BENCHMARKS.md
//!   ("Memory after bursts", `benches/churn.sh`) has the figures.
//!
//! ## Features
//!
//! - `deflate` (default): RFC 7692 permessage-deflate, for every
//!   connection (`Config::deflate`) or chosen per connection when a server
//!   accepts ([`Decision::with_deflate`], [`DeflateChoice`]).
//! - `tls`: `wss://` with rustls (aws-lc-rs provider), in the event loop
//!   (`Server::tls`, `wss://` URLs in [`EventLoop::connect`] with
//!   `ConnectOptions::tls`) and the blocking adapter
//!   (`WebSocket::connect_tls`, or any rustls `StreamOwned`); see the
//!   `tls` module.
//! - `redis`: `broker::redis::RedisBroker`, which joins the loops of
//!   several processes through a Redis server (pub/sub for messages,
//!   expiring sorted sets for presence); the [`broker`] module and its
//!   [`broker::Broker`] trait are always there.
//! - `testing`: hooks that conformance tools and tests need and
//!   applications must not have, such as sending a frame RFC 6455
//!   forbids (`Connection::send_raw_frame`, `WebSocket::send_raw_frame`).
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub use ws6455_proto as proto;

mod admission;
pub mod auth;
pub mod blocking;
pub mod broker;
mod client;
pub mod clock;
mod conn_id;
mod conn_io;
mod ctx;
mod decision;
mod diag;
mod event_loop;
mod handler;
mod limits;
mod loop_core;
pub mod origin;
mod refusals;
mod remote;
mod server;
mod socket;
#[cfg(feature = "tls")]
pub mod tls;
mod transmit;

pub use blocking::{Incoming, WebSocket};
pub use client::{ConnectError, ConnectOptions};
pub use conn_id::ConnId;
pub use ctx::Ctx;
pub use event_loop::{EventLoop, ShutdownHandle};
pub use handler::{ConnError, Decision, DeflateChoice, Handler, HttpResponse, Message, AUTH_REALM};
pub use limits::ConnectionLimits;
pub use origin::OriginPolicy;
pub use refusals::Refusals;
pub use remote::{LoopGone, Remote};
pub use server::{BoundServer, RunningServer, Server, ServerHandle};

#[cfg(feature = "deflate")]
pub use proto::deflate::DeflateConfig;
pub use proto::{
    CloseCode, Config, FrameTrace, HandshakeError, PreparedMessage, ProtocolError, Request,
    Response, Role, Timestamp, UsageError,
};
