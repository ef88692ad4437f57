//! The Sans-I/O protocol core (floor 1).
//!
//! Everything RFC 6455 says about bytes on the wire lives here, and nothing
//! else: no sockets, no clocks, no threads, no random source. Time arrives as
//! an [`std::time::Instant`] argument and randomness as a seed, so a
//! conversation is a pure function of its inputs — which is what lets the
//! tests split input at every byte and the fuzzers replay crashes.

#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod assembler;
pub mod close;
pub mod config;
pub mod connection;
#[cfg(feature = "deflate")]
pub mod deflate;
pub mod describe;
pub mod encode;
pub mod event;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod prepared;
pub mod uri;
pub mod utf8;

pub use close::{CloseCode, CloseFrame};
pub use config::Config;
pub use connection::{BufferPool, Connection, FrameTrace, Role};
pub use event::Event;
pub use frame::{FrameHeader, OpCode};
pub use handshake::{ClientRequest, Request, Response};
pub use prepared::PreparedMessage;
