//! The shells (floor 2): a mio event loop for servers and clients, and a
//! blocking adapter — all driving the same [`crate::proto::Connection`].
//!
//! Nothing here parses, builds or masks a frame, or validates UTF-8: these
//! modules move bytes between sockets and the core, turn the core's
//! wishes into reads, writes and timeouts, and call the application's
//! [`Handler`].

pub mod blocking;
pub mod client;
mod conn_io;
pub mod ctx;
pub mod event_loop;
pub mod handler;
pub mod remote;
pub mod server;

pub use blocking::{Incoming, WebSocket};
pub use client::{ConnectError, ConnectOptions};
pub use ctx::Ctx;
pub use event_loop::{EventLoop, ShutdownHandle};
pub use handler::{ConnError, ConnId, Decision, Handler, HttpResponse, Message};
pub use remote::{LoopGone, Remote};
pub use server::{BoundServer, RunningServer, Server, ServerHandle};
