//! # ws6455 — RFC 6455 WebSockets, from the wire up
//!
//! A WebSocket stack in three floors, with imports pointing down only:
//!
//! 1. [`proto`] — the Sans-I/O protocol core. Bytes in, events and bytes out.
//!    It never touches a socket, a clock, a thread or a random source: time
//!    and randomness are passed in, so every shell, test and fuzz target
//!    drives the same [`proto::Connection`].
//! 2. `io` (feature `io`, on by default) — a mio event loop, server and
//!    client, plus a blocking adapter; they move bytes and turn the core's
//!    wishes (`wants_read`, `wants_write`, `poll_timeout`) into interest and
//!    timeouts. They never parse or build a frame.
//! 3. The `ws6455` binary and `examples/` — thin apps on the public API.
//!
//! ## Driving the core by hand
//!
//! ```
//! use std::{sync::Arc, time::Instant};
//! use ws6455::{Config, Connection, Event};
//!
//! let mut server = Connection::server(Arc::new(Config::default()), Instant::now());
//! server.recv(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//! Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//! Sec-WebSocket-Version: 13\r\n\r\n");
//! assert!(matches!(server.poll_event(), Some(Event::Request(_))));
//! server.accept(None, &[]).unwrap();
//! let response = server.pending_output();
//! assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! // §5.7: a masked "Hello" from the client.
//! let n = response.len();
//! server.consume_output(n);
//! server.recv(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
//! assert_eq!(server.poll_event(), Some(Event::Text("Hello")));
//! ```
//!
//! ## Where each part of RFC 6455 lives
//!
//! | RFC 6455 | file |
//! |---|---|
//! | §1.3, §4.2.2 `Sec-WebSocket-Accept` | `src/proto/handshake/mod.rs` |
//! | §3 `ws://` URIs | `src/proto/uri.rs` |
//! | §4.1 client handshake | `src/proto/handshake/client.rs` |
//! | §4.2.1 server reading the request | `src/proto/handshake/request.rs` |
//! | §4.2.2, §4.4 server responses (101, 400, 426 …) | `src/proto/handshake/response.rs` |
//! | §5.2 base framing | `src/proto/frame.rs` |
//! | §5.3 masking | `src/proto/mask.rs` |
//! | §5.4 fragmentation, §10.4 size limits | `src/proto/assembler.rs` |
//! | §5.5 control frames, §7 closing, state machine | `src/proto/connection/` |
//! | §5.5.1, §7.4 close codes and payloads | `src/proto/close.rs` |
//! | §8.1 UTF-8 | `src/proto/utf8.rs` |
//! | §7.1.7 failing the connection, error → close code | `src/error.rs` |
//!
//! And RFC 7692 (permessage-deflate, feature `deflate`):
//!
//! | RFC 7692 | file |
//! |---|---|
//! | §5, §7.1 negotiation, RFC 6455 §9.1 header grammar | `src/proto/deflate/negotiate.rs` |
//! | §6 RSV1, §7.2 compression and decompression | `src/proto/deflate/codec.rs`, `src/proto/connection/input.rs` |
//! | configuration, agreed parameters, per-connection state | `src/proto/deflate/mod.rs` |
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

pub mod error;
#[cfg(feature = "io")]
pub mod io;
pub mod proto;

pub use error::{HandshakeError, ProtocolError, UsageError};
pub use proto::{CloseCode, Config, Connection, Event, Role};
