//! The opening handshake phase of a connection (§4): parsing the request or
//! response head out of the receive buffer, and the server's answer.
//!
//! Bytes that follow the head in the same read (a client that pipelines
//! its first frames, a server that sends a message right after its 101)
//! stay in the receive buffer and are parsed as frames.

use alloc::{borrow::ToOwned, boxed::Box, string::String, vec::Vec};

use super::state::{Peer, State};
use super::{Connection, Ready, Role};
use crate::close::CloseCode;
use crate::config::Config;
use crate::error::{ProtocolError, UsageError};
use crate::handshake::{
    encode_key, parse_request, parse_response_offering, write_accept_response,
    write_client_request_offering, write_error_response, write_http_response, ClientRequest,
    Request,
};
use crate::time::Timestamp;

/// What the handshake needs to remember until it completes.
#[derive(Debug)]
pub(super) struct Opening {
    /// Server: the client's Sec-WebSocket-Key. Client: the key we sent.
    key: String,
    /// Server: the subprotocols the client offered. Client: the ones we offered.
    protocols: Vec<String>,
    /// Server: whether the request reported was an upgrade.
    upgrade: bool,
    /// Server: the permessage-deflate agreement and its response header,
    /// when the client offered something we accept (RFC 7692 §5).
    #[cfg(feature = "deflate")]
    deflate: Option<(crate::deflate::DeflateParams, String)>,
    /// Server: the request's `Sec-WebSocket-Extensions`, kept while the
    /// server decides so that [`Connection::choose_deflate`] can answer
    /// the same offers under other settings.
    #[cfg(feature = "deflate")]
    offers: Option<String>,
    /// Server: the settings [`Connection::choose_deflate`] chose for this
    /// connection (`None`: `Config::deflate`).
    #[cfg(feature = "deflate")]
    chosen: Option<crate::deflate::DeflateConfig>,
}

impl Opening {
    /// Client: write the request (§4.1), with the extensions `config`
    /// enables, and remember what to check.
    pub(super) fn client(
        request: ClientRequest,
        nonce: &[u8; 16],
        config: &Config,
        out: &mut Vec<u8>,
    ) -> Opening {
        let key = encode_key(nonce);
        let offer = client_offer(config);
        write_client_request_offering(out, &request, &key, offer.as_deref());
        Opening {
            key,
            protocols: request.protocols,
            upgrade: true,
            #[cfg(feature = "deflate")]
            deflate: None,
            #[cfg(feature = "deflate")]
            offers: None,
            #[cfg(feature = "deflate")]
            chosen: None,
        }
    }

    /// Server: what to remember of an upgrade request until `accept`.
    fn server(request: &Request, config: &Config) -> Opening {
        let _ = config;
        Opening {
            key: request.key().unwrap_or_default().to_owned(),
            protocols: request.protocols().to_vec(),
            upgrade: request.is_websocket(),
            #[cfg(feature = "deflate")]
            deflate: match (config.deflate.as_ref(), request.extensions()) {
                (Some(cfg), Some(offers)) if request.is_websocket() => {
                    crate::deflate::negotiate_server(offers, cfg)
                }
                _ => None,
            },
            #[cfg(feature = "deflate")]
            offers: request
                .extensions()
                .filter(|_| request.is_websocket())
                .map(ToOwned::to_owned),
            #[cfg(feature = "deflate")]
            chosen: None,
        }
    }
}

/// Whether a client under `config` offers any extension.
fn offers_extensions(config: &Config) -> bool {
    #[cfg(feature = "deflate")]
    if config.deflate.is_some() {
        return true;
    }
    let _ = config;
    false
}

/// The `Sec-WebSocket-Extensions` a client offers under `config`.
fn client_offer(config: &Config) -> Option<String> {
    #[cfg(feature = "deflate")]
    if let Some(deflate) = config.deflate.as_ref() {
        return Some(crate::deflate::client_offer(deflate));
    }
    let _ = config;
    None
}

impl Connection {
    pub(super) fn opening_read_request(&mut self) -> Option<Ready> {
        let max_head = self.config.max_handshake_size;
        match parse_request(self.active().rx.data(), max_head) {
            Ok(None) => None,
            Ok(Some((request, consumed))) => {
                self.active().rx.consume(consumed);
                self.state = State::ServerDeciding;
                let opening = Opening::server(&request, &self.config);
                let upgrade = opening.upgrade;
                self.opening = Some(Box::new(opening));
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
        let parsed = parse_response_offering(
            rx.data(),
            &opening.key,
            &opening.protocols,
            offers_extensions(&self.config),
            self.config.max_handshake_size,
        );
        let parsed = match parsed {
            Ok(Some((response, consumed))) => self
                .client_extensions(&response)
                .map(|()| Some((response, consumed))),
            other => other,
        };
        match parsed {
            Ok(None) => None,
            Ok(Some((response, consumed))) => {
                self.active().rx.consume(consumed);
                self.opening = None;
                self.state = self.open_state();
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

    /// Server, after [`crate::Event::Request`]: accept the upgrade
    /// (§4.2.2), optionally selecting one of the client's subprotocols and
    /// adding headers to the 101 response. Frames that arrived with the
    /// request are parsed next. `now` is when the connection opened:
    /// heartbeats and the idle timeout count from it.
    pub fn accept(
        &mut self,
        now: Timestamp,
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
        let Some(opening) = self.opening.take() else {
            return Err(UsageError::WrongState);
        };
        let extensions = self.server_extensions(&opening);
        self.active().out.write_raw(|out| {
            write_accept_response(
                out,
                &opening.key,
                protocol,
                extensions.as_deref(),
                extra_headers,
            )
        });
        self.state = self.open_state();
        self.outbound.timers.advance(now);
        self.outbound.timers.opened();
        Ok(())
    }

    /// Server, after [`crate::Event::Request`] or
    /// [`crate::Event::HttpRequest`]: answer with a complete HTTP
    /// response instead (a page, 403 for a bad Origin, 404 …; §4.2.2 item
    /// 4 "If the server does not wish to accept …"). The connection ends
    /// once it is written; `now` starts the linger that bounds writing it.
    pub fn respond(
        &mut self,
        now: Timestamp,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(), UsageError> {
        self.deciding(false)?;
        self.active()
            .out
            .write_raw(|out| write_http_response(out, status, headers, body));
        self.outbound.timers.advance(now);
        self.end(None, CloseCode::ABNORMAL, false, Peer::Ignored);
        Ok(())
    }

    /// Server: refuse the handshake with `status` and a one-line plain-text
    /// reason (shorthand for [`Connection::respond`]) at `now`.
    pub fn reject(&mut self, now: Timestamp, status: u16, reason: &str) -> Result<(), UsageError> {
        let mut body = String::with_capacity(reason.len().saturating_add(1));
        body.push_str(reason);
        body.push('\n');
        self.respond(
            now,
            status,
            &[("Content-Type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        )
    }

    /// Server, after [`crate::Event::Request`] and before
    /// [`Connection::accept`]: permessage-deflate for this connection under
    /// `config` instead of `Config::deflate`, or none at all with `None`
    /// (RFC 7692 §5: a server may decline every offer). The client's
    /// offers are answered again under the new settings, so a connection
    /// can get smaller windows, no context takeover or another threshold
    /// than the rest (by path, subprotocol or client), and a loop without
    /// `Config::deflate` can still compress the connections it chooses.
    #[cfg(feature = "deflate")]
    pub fn choose_deflate(
        &mut self,
        config: Option<&crate::deflate::DeflateConfig>,
    ) -> Result<(), UsageError> {
        self.deciding(true)?;
        let Some(opening) = self.opening.as_deref_mut() else {
            return Err(UsageError::WrongState);
        };
        opening.deflate = match (config, opening.offers.as_deref()) {
            (Some(cfg), Some(offers)) => crate::deflate::negotiate_server(offers, cfg),
            _ => None,
        };
        opening.chosen = config.cloned();
        Ok(())
    }

    /// Server: switch on what was agreed and return the response's
    /// `Sec-WebSocket-Extensions` value, if any.
    fn server_extensions(&mut self, opening: &Opening) -> Option<String> {
        #[cfg(feature = "deflate")]
        if let (Some((params, header)), Some(cfg)) = (
            &opening.deflate,
            opening.chosen.as_ref().or(self.config.deflate.as_ref()),
        ) {
            self.outbound.deflate = Some(Box::new(crate::deflate::DeflateState::new(
                *params,
                Role::Server,
                cfg,
            )));
            return Some(header.clone());
        }
        let _ = opening;
        None
    }

    /// Client: check the server's `Sec-WebSocket-Extensions` against our
    /// offer (RFC 7692 §5.1) and switch on what was agreed.
    fn client_extensions(
        &mut self,
        response: &crate::handshake::Response,
    ) -> Result<(), crate::error::HandshakeError> {
        #[cfg(feature = "deflate")]
        if let Some(cfg) = self.config.deflate.as_ref() {
            let agreed = crate::deflate::validate_response(response.extensions(), cfg)?;
            self.outbound.deflate = agreed.map(|params| {
                Box::new(crate::deflate::DeflateState::new(params, Role::Client, cfg))
            });
        }
        let _ = response;
        Ok(())
    }

    /// The handshake state while a server decides; `upgrade_only` refuses
    /// plain HTTP requests (they cannot be accepted as WebSockets).
    fn deciding(&self, upgrade_only: bool) -> Result<&Opening, UsageError> {
        match (self.role, &self.state, self.opening.as_deref()) {
            (Role::Server, State::ServerDeciding, Some(o)) if o.upgrade || !upgrade_only => Ok(o),
            _ => Err(UsageError::WrongState),
        }
    }
}
