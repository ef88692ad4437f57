//! What every connection script starts from: the fake clock's origin and
//! the connection each role opens (the client with its canned request and
//! seed). Shared by the driver (`conn.rs`) and the script decoder
//! (`script.rs`), which both look down here rather than at each other.

use std::sync::Arc;

use ws6455_proto::handshake::ClientRequest;
use ws6455_proto::{Config, Connection, Role, Timestamp};

use crate::{CLIENT_SEED, OFFERED_PROTOCOLS};

/// The fixed origin of the fake clock.
pub(crate) fn t0() -> Timestamp {
    Timestamp::ZERO
}

/// The client request `connection_client` sends.
pub fn client_request() -> ClientRequest {
    let mut request = ClientRequest::new("server.example.com", "/chat");
    request.protocols = OFFERED_PROTOCOLS.iter().map(|p| p.to_string()).collect();
    request.origin = Some("http://example.com".into());
    request
}

pub(crate) fn new_connection(role: Role, config: Arc<Config>) -> Connection {
    match role {
        Role::Server => Connection::server(config, t0()),
        Role::Client => Connection::client(config, client_request(), CLIENT_SEED, t0()),
    }
}
