//! The server's answer to an upgrade request ([`Decision`]), and the
//! compression it chooses for the connection ([`DeflateChoice`]).

use crate::handler::HttpResponse;

/// A server's answer to a WebSocket upgrade request (§4.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// Accept, optionally selecting one of the client's subprotocols and
    /// this connection's compression.
    Accept {
        /// The subprotocol to answer with (must be one the client offered).
        protocol: Option<String>,
        /// permessage-deflate for this connection (RFC 7692): what
        /// `Config::deflate` agrees to, none, or other settings.
        deflate: DeflateChoice,
    },
    /// Refuse with an HTTP status (403 for a bad Origin, 404 for an unknown
    /// path …) and a one-line reason.
    Reject {
        /// HTTP status code.
        status: u16,
        /// Plain-text body.
        reason: String,
    },
    /// Refuse with a complete response, for answers that need headers: a
    /// 401 must carry `WWW-Authenticate` (RFC 7235 §3.1), a 503 may carry
    /// `Retry-After`. `Content-Length` and `Connection: close` are added.
    /// The status should be a 4xx or 5xx: the connection closes after it.
    Refuse(HttpResponse),
}

/// The realm named in [`Decision::unauthorized`]'s challenge.
pub const AUTH_REALM: &str = "ws6455";

impl Decision {
    /// Accept without a subprotocol, compressing as `Config::deflate`
    /// says.
    pub fn accept() -> Self {
        Decision::Accept {
            protocol: None,
            deflate: DeflateChoice::Configured,
        }
    }

    /// Accept with `protocol`, one of the subprotocols the client offered
    /// (§4.2.2 /subprotocol/; see `Request::choose_subprotocol`).
    pub fn accept_protocol(protocol: impl Into<String>) -> Self {
        Decision::Accept {
            protocol: Some(protocol.into()),
            deflate: DeflateChoice::Configured,
        }
    }

    /// This decision with `choice` as the connection's compression, if it
    /// accepts (a refusal has none): e.g.
    /// `Decision::accept().with_deflate(DeflateChoice::Off)`.
    pub fn with_deflate(mut self, choice: DeflateChoice) -> Self {
        if let Decision::Accept { deflate, .. } = &mut self {
            *deflate = choice;
        }
        self
    }

    /// 401 Unauthorized with `WWW-Authenticate: Bearer realm="ws6455"`
    /// (RFC 7235 §3.1 requires a challenge; RFC 6750 §3 defines Bearer's):
    /// no credential, or one that is not valid. `reason` is the plain-text
    /// body and what the server log shows; say what was wrong, never echo
    /// the token. Counted in [`Refusals::auth_failed`](crate::Refusals).
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Decision::Refuse(HttpResponse::text(
            401,
            vec![(
                "WWW-Authenticate".into(),
                format!("Bearer realm=\"{AUTH_REALM}\""),
            )],
            reason.into(),
        ))
    }

    /// 403 Forbidden (RFC 7231 §6.5.3): the client is known but may not
    /// have this. Counted in [`Refusals::auth_failed`](crate::Refusals).
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Decision::Refuse(HttpResponse::text(403, Vec::new(), reason.into()))
    }
}

/// permessage-deflate (RFC 7692) for one connection, chosen when it is
/// accepted: per path, subprotocol or client, a server can run some
/// connections lean (small windows, no context takeover), others with
/// full windows, and others uncompressed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeflateChoice {
    /// What `Config::deflate` agrees to (nothing when it is `None`).
    #[default]
    Configured,
    /// No compression, whatever the client offered (RFC 7692 §5: a server
    /// may decline every offer).
    Off,
    /// The client's offers answered under these settings instead of
    /// `Config::deflate` (which need not be set): windows, context
    /// takeover, level and threshold for this connection.
    #[cfg(feature = "deflate")]
    With(crate::DeflateConfig),
}

impl DeflateChoice {
    /// Apply the choice to a server connection that is deciding.
    pub(crate) fn apply(&self, conn: &mut crate::proto::Connection) {
        #[cfg(feature = "deflate")]
        {
            // Fails only once the connection stopped deciding, where there
            // is nothing left to choose.
            let _ = match self {
                DeflateChoice::Configured => Ok(()),
                DeflateChoice::Off => conn.choose_deflate(None),
                DeflateChoice::With(config) => conn.choose_deflate(Some(config)),
            };
        }
        #[cfg(not(feature = "deflate"))]
        let _ = conn;
    }
}
