//! Client connections (§4.1) on the event loop: resolving a `ws://` URL,
//! the non-blocking connect, the core that speaks for us.

use crate::proto::Timestamp;
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use mio::net::TcpStream;
use rand::RngCore;

use crate::proto::config::Config;
use crate::proto::connection::Connection;
use crate::proto::handshake::ClientRequest;
use crate::proto::uri::{UriError, WsUri};
use crate::socket::Socket;

/// What a client asks for in its opening handshake, beyond the URL.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// `Sec-WebSocket-Protocol` values to offer, in order of preference.
    pub protocols: Vec<String>,
    /// Extra request headers (the handshake's own headers cannot be
    /// overridden).
    pub headers: Vec<(String, String)>,
    /// An `Origin` header, as a browser would send.
    pub origin: Option<String>,
    /// The TLS configuration for `wss://` URLs (feature `tls`); `None`
    /// trusts Mozilla's root certificates
    /// ([`crate::tls::default_client_config`]).
    #[cfg(feature = "tls")]
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// Why a connection could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a valid WebSocket URI (§3).
    Uri(UriError),
    /// `wss://` needs TLS: the library was built without the `tls`
    /// feature.
    TlsUnsupported,
    /// The TLS session could not start (feature `tls`): an invalid server
    /// name, or a default configuration that could not be built.
    #[cfg(feature = "tls")]
    Tls(String),
    /// The host name did not resolve to any address.
    Unresolved(String),
    /// The socket could not be created or registered.
    Io(io::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Uri(e) => write!(f, "invalid WebSocket URL: {e}"),
            ConnectError::TlsUnsupported => {
                f.write_str("wss:// needs ws6455 built with the `tls` feature")
            }
            #[cfg(feature = "tls")]
            ConnectError::Tls(e) => write!(f, "cannot start TLS: {e}"),
            ConnectError::Unresolved(host) => write!(f, "cannot resolve {host}"),
            ConnectError::Io(e) => write!(f, "cannot connect: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Uri(e) => Some(e),
            ConnectError::Io(e) => Some(e),
            ConnectError::TlsUnsupported | ConnectError::Unresolved(_) => None,
            #[cfg(feature = "tls")]
            ConnectError::Tls(_) => None,
        }
    }
}

/// Parse `url` and resolve its host to the first address.
pub fn resolve(url: &str) -> Result<(WsUri, SocketAddr), ConnectError> {
    let uri = WsUri::parse(url).map_err(ConnectError::Uri)?;
    if uri.secure && !cfg!(feature = "tls") {
        return Err(ConnectError::TlsUnsupported);
    }
    let addr = (uri.host.as_str(), uri.port)
        .to_socket_addrs()
        .map_err(ConnectError::Io)?
        .next()
        .ok_or_else(|| ConnectError::Unresolved(uri.host.clone()))?;
    Ok((uri, addr))
}

/// The opening handshake request for `uri` with `options`.
pub fn request_for(uri: &WsUri, options: &ConnectOptions) -> ClientRequest {
    let mut request = ClientRequest::from_uri(uri);
    request.protocols.clone_from(&options.protocols);
    request.headers.clone_from(&options.headers);
    request.origin.clone_from(&options.origin);
    request
}

/// A fresh CSPRNG seed for a client core's nonce and masking keys (§10.3).
pub fn fresh_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    seed
}

/// The TLS session a `wss://` client speaks through: `options.tls`, or
/// the default configuration.
#[cfg(feature = "tls")]
pub(crate) fn tls_session(
    uri: &WsUri,
    options: &ConnectOptions,
) -> Result<crate::tls::Session, ConnectError> {
    let config = match options.tls.clone() {
        Some(config) => config,
        None => {
            crate::tls::default_client_config().map_err(|e| ConnectError::Tls(e.to_string()))?
        }
    };
    crate::tls::client_session(config, &uri.host).map_err(|e| ConnectError::Tls(e.to_string()))
}

/// Start a non-blocking connect and the core that will speak over it.
pub(crate) fn open(
    url: &str,
    options: &ConnectOptions,
    config: &Arc<Config>,
    now: Timestamp,
) -> Result<(Socket, Connection), ConnectError> {
    let (uri, addr) = resolve(url)?;
    #[cfg(feature = "tls")]
    let session = match uri.secure {
        true => Some(tls_session(&uri, options)?),
        false => None,
    };
    let stream = TcpStream::connect(addr).map_err(ConnectError::Io)?;
    #[cfg(feature = "tls")]
    let stream = match session {
        Some(session) => Socket::tls(stream, session),
        None => Socket::plain(stream),
    };
    #[cfg(not(feature = "tls"))]
    let stream = Socket::plain(stream);
    let conn = Connection::client(
        config.clone(),
        request_for(&uri, options),
        fresh_seed(),
        now,
    );
    Ok((stream, conn))
}
