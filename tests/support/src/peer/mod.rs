//! Raw TCP WebSocket peers that play client or server against ws6455,
//! speaking the wire format by hand ([`crate::wire`]).
//!
//! Two types, because their jobs pull in opposite directions:
//!
//! * [`RawPeer`] is blocking and frame-level: the test thread does every
//!   read and write, so it can stop reading, send garbage or read an HTTP
//!   refusal, and it sees frames exactly as they were sent. The loopback
//!   and hostile-input tests use it.
//! * [`CheckedPeer`] is the conformance judge: a reader thread decodes
//!   everything the testee sends while the test writes (so a 16 MiB echo
//!   cannot deadlock), checks every RFC 6455 rule the testee must keep,
//!   reassembles messages, and hands over events with deadlines. The
//!   conformance tests use it.

mod checked;
mod raw;

pub use checked::{CheckedPeer, Ev, FrameInfo, Next, Outcome, Side, TcpEnd};
pub use raw::{assert_serves, raw_listener, End, RawPeer};
