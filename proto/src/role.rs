//! Which end of a connection the core plays. Its own file because both the
//! state machine and permessage-deflate (whose windows and takeover rules
//! differ per direction) need it, and neither should import the other.

/// Which end of the connection this core plays (§5.1: clients mask every
/// frame, servers never do; §7.1.1: the server closes TCP first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Opens the connection, masks its frames.
    Client,
    /// Accepts the connection, sends unmasked frames.
    Server,
}
