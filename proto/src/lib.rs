//! # ws6455-proto — the Sans-I/O core of ws6455 (floor 1)
//!
//! Everything RFC 6455 (and RFC 7692, feature `deflate`) says about bytes on
//! the wire, and nothing else: no sockets, no clocks, no threads, no random
//! source. The crate is `#![no_std]` (with `alloc`), so the compiler holds
//! that line. Time arrives as a [`Timestamp`] argument and randomness as a
//! seed; a conversation is a pure function of its inputs, which is what lets
//! the tests split input at every byte and the fuzzers replay crashes.
//!
//! Most programs want the `ws6455` crate, which drives this core on a mio
//! event loop (or over any `Read + Write`) and re-exports it as
//! `ws6455::proto`. Use this crate directly to put WebSockets on a
//! transport of your own.
//!
//! ## Driving a connection over any transport
//!
//! A driver calls, in this order, again and again: input
//! ([`Connection::recv`] or [`Connection::recv_buf`] +
//! [`Connection::commit_recv`]), time ([`Connection::handle_timeout`] once
//! [`Connection::poll_timeout`] has passed), events ([`Connection::poll_event`]
//! until `None`, answering with commands), output
//! ([`Connection::pending_output`], or [`Connection::pending_chunks`] for
//! one vectored write, + [`Connection::consume_output`]), and
//! interest ([`Connection::wants_read`], [`Connection::is_closed`]).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use ws6455_proto::{Config, Connection, Event, Timestamp};
//!
//! // The clock is the driver's: here a fake one that starts at zero.
//! let mut now = Timestamp::ZERO;
//! let mut server = Connection::server(Arc::new(Config::default()), now);
//!
//! // Bytes from the transport go in…
//! server.recv(b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//! Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//! Sec-WebSocket-Version: 13\r\n\r\n");
//! // …events come out, and the driver answers with commands.
//! assert!(matches!(server.poll_event(), Some(Event::Request(_))));
//! server.accept(now, None, &[]).unwrap();
//!
//! // Bytes for the transport come out; report how many it took.
//! let response = server.pending_output().to_vec();
//! assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! server.consume_output(response.len());
//!
//! // §5.7: a masked "Hello" from the client, fed in two pieces.
//! let frame = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! server.recv(&frame[..4]);
//! assert_eq!(server.poll_event(), None);
//! server.recv(&frame[4..]);
//! assert_eq!(server.poll_event(), Some(Event::Text("Hello")));
//!
//! // Time passes only when the driver says so.
//! now += Duration::from_secs(1);
//! server.handle_timeout(now);
//! server.close(now, ws6455_proto::CloseCode::NORMAL, "bye").unwrap();
//! assert_eq!(server.pending_output(), [0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e']);
//! ```
//!
//! ## Where each part of RFC 6455 lives
//!
//! | RFC 6455 | file |
//! |---|---|
//! | §1.3, §4.2.2 `Sec-WebSocket-Accept` | `src/handshake/mod.rs` |
//! | §3 `ws://` URIs | `src/uri.rs` |
//! | §4.1 client handshake | `src/handshake/client.rs` |
//! | §4.2.1 server reading the request | `src/handshake/request.rs` |
//! | §4.2.2, §4.4 server responses (101, 400, 426 …) | `src/handshake/response.rs` |
//! | §5.2 base framing | `src/frame.rs` |
//! | §5.3 masking | `src/mask.rs` |
//! | §5.4 fragmentation, §10.4 size limits | `src/assembler.rs` |
//! | §5.5 control frames, §7 closing, state machine | `src/connection/` |
//! | §5.5.1, §7.4 close codes and payloads | `src/close.rs` |
//! | §8.1 UTF-8 | `src/utf8.rs` |
//! | §7.1.7 failing the connection, error → close code | `src/error.rs` |
//!
//! And RFC 7692 (permessage-deflate, feature `deflate`):
//!
//! | RFC 7692 | file |
//! |---|---|
//! | §5, §7.1 negotiation, RFC 6455 §9.1 header grammar | `src/deflate/negotiate.rs` |
//! | §6 RSV1, §7.2 compression and decompression | `src/deflate/codec.rs`, `src/connection/input.rs` |
//! | configuration, agreed parameters, per-connection state | `src/deflate/mod.rs` |
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

extern crate alloc;

mod assembler;
pub mod close;
pub mod close_code;
pub mod config;
pub mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod encode;
pub mod error;
pub mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod prepared;
pub mod rate;
pub mod raw_header;
pub mod role;
pub mod time;
pub mod uri;
pub mod utf8;

pub use close::CloseFrame;
pub use close_code::CloseCode;
pub use config::Config;
pub use connection::{BufferPool, Connection, FrameTrace};
pub use error::{HandshakeError, ProtocolError, UsageError};
pub use event::Event;
pub use frame::{FrameHeader, OpCode};
pub use handshake::{ClientRequest, Request, Response};
pub use prepared::PreparedMessage;
pub use rate::{OnExceed, RateLimit};
pub use role::Role;
pub use time::Timestamp;
