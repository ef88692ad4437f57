//! placeholder: handshake (being written)

/// placeholder
pub struct ClientRequest;
/// placeholder
pub struct Request;
/// placeholder
pub struct Response;
