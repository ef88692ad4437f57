//! What every connection script starts from: the fake clock's origin and
//! the connection each role opens (the client with its canned request and
//! seed), and the same connections taken through their opening handshake.
//! Shared by the driver (`conn.rs`), the script decoder (`script.rs`) and
//! the `vectored_send` driver (`vectored.rs`), which all look down here
//! rather than at each other.

use std::sync::Arc;

use ws6455_proto::handshake::ClientRequest;
use ws6455_proto::{Config, Connection, Event, Role, Timestamp};

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

/// A connection in `role` that has completed its opening handshake, and
/// the bytes it wrote doing so (all of them already taken from its output
/// queue). The server answers the canned client's request (so a fresh
/// [`new_connection`] client with the same `config` accepts its 101); the
/// client is that canned client, answered by such a server. Two calls with
/// the same arguments give identical connections.
pub(crate) fn opened(role: Role, config: Arc<Config>) -> (Connection, Vec<u8>) {
    match role {
        Role::Server => {
            let request = new_connection(Role::Client, Arc::clone(&config))
                .pending_output()
                .to_vec();
            let mut server = new_connection(Role::Server, config);
            server.recv(&request);
            match server.poll_event() {
                Some(Event::Request(r)) => assert!(r.is_websocket(), "canned request refused"),
                other => panic!("canned request gave {other:?}"),
            }
            server
                .accept(t0(), None, &[])
                .expect("the canned request is accepted");
            assert!(server.poll_event().is_none());
            let wire = take_all(&mut server);
            (server, wire)
        }
        Role::Client => {
            let mut client = new_connection(Role::Client, Arc::clone(&config));
            let wire = take_all(&mut client);
            let (_, answer) = opened(Role::Server, config);
            client.recv(&answer);
            match client.poll_event() {
                Some(Event::Connected(r)) => assert_eq!(r.status(), 101),
                other => panic!("canned 101 gave {other:?}"),
            }
            assert!(client.poll_event().is_none());
            (client, wire)
        }
    }
}

/// Everything `conn` has queued, taken from its output as a transport would.
pub(crate) fn take_all(conn: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..1_000_000 {
        let pending = conn.pending_output();
        if pending.is_empty() {
            assert_eq!(conn.buffered_amount(), 0, "bytes buffered but none pending");
            return wire;
        }
        wire.extend_from_slice(pending);
        let n = pending.len();
        conn.consume_output(n);
    }
    panic!("output never drains");
}
