//! The opening handshake phase of a connection (§4): parsing the request or
//! response head out of the receive buffer, and the server's answer.
//!
//! Bytes that follow the head in the same read (a client that pipelines
//! its first frames, a server that sends a message right after its 101)
//! stay in the receive buffer and are parsed as frames.

use super::{Connection, Phase, Ready, Role};
use crate::error::{ProtocolError, UsageError};
use crate::proto::close::CloseCode;
use crate::proto::handshake::{
    encode_key, parse_request, parse_response, write_accept_response, write_client_request,
    write_error_response, write_http_response, ClientRequest,
};

/// What the handshake needs to remember until it completes.
#[derive(Debug)]
pub(super) struct Opening {
    /// Server: the client's Sec-WebSocket-Key. Client: the key we sent.
    key: String,
    /// Server: the subprotocols the client offered. Client: the ones we offered.
    protocols: Vec<String>,
    /// Server: whether the request reported was an upgrade.
    upgrade: bool,
}

impl Opening {
    /// Client: write the request (§4.1) and remember what to check.
    pub(super) fn client(request: ClientRequest, nonce: &[u8; 16], out: &mut Vec<u8>) -> Opening {
        let key = encode_key(nonce);
        write_client_request(out, &request, &key);
        Opening {
            key,
            protocols: request.protocols,
            upgrade: true,
        }
    }
}

impl Connection {
    pub(super) fn opening_read_request(&mut self) -> Option<Ready> {
        let max_head = self.config.max_handshake_size;
        match parse_request(self.active().rx.data(), max_head) {
            Ok(None) => None,
            Ok(Some((request, consumed))) => {
                self.active().rx.consume(consumed);
                self.phase = Phase::ServerDeciding;
                let upgrade = request.is_websocket();
                self.opening = Some(Box::new(Opening {
                    key: request.key().unwrap_or_default().to_owned(),
                    protocols: request.protocols().to_vec(),
                    upgrade,
                }));
                Some(if upgrade {
                    Ready::Request(request)
                } else {
                    Ready::HttpRequest(request)
                })
            }
            Err(err) => {
                // §4.2.1: "the server MUST stop processing the client's
                // handshake and return an HTTP response with an appropriate
                // error code".
                self.active()
                    .out
                    .write_raw(|out| write_error_response(out, &err));
                self.fail(ProtocolError::Handshake(err));
                None
            }
        }
    }

    pub(super) fn opening_read_response(&mut self) -> Option<Ready> {
        let opening = self.opening.as_deref()?;
        let rx = &self.active.get_or_insert_with(Box::default).rx;
        let parsed = parse_response(
            rx.data(),
            &opening.key,
            &opening.protocols,
            self.config.max_handshake_size,
        );
        match parsed {
            Ok(None) => None,
            Ok(Some((response, consumed))) => {
                self.active().rx.consume(consumed);
                self.opening = None;
                self.phase = Phase::Open;
                self.outbound.timers.opened();
                Some(Ready::Connected(response))
            }
            Err(err) => {
                // §4.1: "the client MUST _Fail the WebSocket Connection_".
                self.fail(ProtocolError::Handshake(err));
                None
            }
        }
    }

    /// Server, after [`crate::proto::Event::Request`]: accept the upgrade
    /// (§4.2.2), optionally selecting one of the client's subprotocols and
    /// adding headers to the 101 response. Frames that arrived with the
    /// request are parsed next.
    pub fn accept(
        &mut self,
        protocol: Option<&str>,
        extra_headers: &[(&str, &str)],
    ) -> Result<(), UsageError> {
        let opening = self.deciding(true)?;
        if let Some(p) = protocol {
            // §4.2.2 /subprotocol/: "the value chosen MUST be derived from
            // the client's handshake".
            if !opening.protocols.iter().any(|offered| offered == p) {
                return Err(UsageError::ProtocolNotOffered);
            }
        }
        let key = std::mem::take(&mut self.opening)
            .map(|o| o.key)
            .unwrap_or_default();
        self.active()
            .out
            .write_raw(|out| write_accept_response(out, &key, protocol, None, extra_headers));
        self.phase = Phase::Open;
        self.outbound.timers.opened();
        Ok(())
    }

    /// Server, after [`crate::proto::Event::Request`] or
    /// [`crate::proto::Event::HttpRequest`]: answer with a complete HTTP
    /// response instead (a page, 403 for a bad Origin, 404 …; §4.2.2 item
    /// 4 "If the server does not wish to accept …"). The connection ends
    /// once it is written.
    pub fn respond(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), UsageError> {
        self.deciding(false)?;
        self.active()
            .out
            .write_raw(|out| write_http_response(out, status, headers, body));
        self.end(CloseCode::ABNORMAL, false, false);
        Ok(())
    }

    /// Server: refuse the handshake with `status` and a one-line plain-text
    /// reason (shorthand for [`Connection::respond`]).
    pub fn reject(&mut self, status: u16, reason: &str) -> Result<(), UsageError> {
        let mut body = String::with_capacity(reason.len().saturating_add(1));
        body.push_str(reason);
        body.push('\n');
        self.respond(
            status,
            &[("Content-Type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        )
    }

    /// The handshake state while a server decides; `upgrade_only` refuses
    /// plain HTTP requests (they cannot be accepted as WebSockets).
    fn deciding(&self, upgrade_only: bool) -> Result<&Opening, UsageError> {
        match (self.role, self.phase, self.opening.as_deref()) {
            (Role::Server, Phase::ServerDeciding, Some(o)) if o.upgrade || !upgrade_only => Ok(o),
            _ => Err(UsageError::WrongState),
        }
    }
}
