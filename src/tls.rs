//! `wss://`: TLS between the socket and the core, with rustls (feature
//! `tls`).
//!
//! rustls's unbuffered API is a Sans-I/O state machine over buffers the
//! caller owns: ciphertext is decrypted where it lies, and records are
//! sealed straight into the caller's output. The event loop drives one
//! session per connection on the same edge-triggered discipline as plain
//! TCP (read until `WouldBlock` or a short read that left nothing behind,
//! write until `WouldBlock`); the WebSocket core only ever sees plaintext.
//! The TLS handshake happens before the opening handshake's bytes can
//! flow, so the core's handshake timeout covers both. Reading (one `read`
//! per TCP read into the thread's buffer) is in `tls_read`, sealing and
//! writing (one `write` per batch of records from the thread's buffer) in
//! `tls_write`: an idle session owns no buffer of its own.
//!
//! This module also builds configurations from PEM files
//! ([`server_config_from_pem`], [`client_config`]) and re-exports the
//! [`rustls`] it was built with, so that an application's configurations
//! have the right type.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use rustls;
use rustls::client::UnbufferedClientConnection;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::UnbufferedServerConnection;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::proto::Timestamp;

/// Encrypted bytes a session may hold for a socket that does not take
/// them, and the plaintext sealed per `write`; beyond it the core's output
/// queue holds the plaintext, where the output bound
/// (`Config::max_output_buffer`) sees it. 80 KiB lets a 64 KiB message
/// and its frame header go out in one `write`.
pub const PENDING_LIMIT: usize = 80 << 10;

/// The crypto provider every configuration here uses: aws-lc-rs (see
/// `Cargo.toml` for why).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Why a TLS configuration could not be built from files.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file is missing, unreadable or malformed (an encrypted key
    /// is reported here too: rustls reads only unencrypted keys).
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: rustls::pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    NoCertificate(PathBuf),
    /// A certificate in a CA file cannot be a trust anchor.
    Ca {
        /// The CA file.
        path: PathBuf,
        /// Why rustls refused it.
        error: rustls::Error,
    },
    /// rustls refused the pair: the key does not match the certificate,
    /// or is of a kind it cannot use.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsConfigError::Pem { path, error } => {
                write!(f, "{}: {}", path.display(), describe_pem_error(error))
            }
            TlsConfigError::NoCertificate(path) => {
                write!(f, "{}: no certificate in the file", path.display())
            }
            TlsConfigError::Ca { path, error } => {
                write!(
                    f,
                    "{}: not a usable CA certificate: {error}",
                    path.display()
                )
            }
            TlsConfigError::Rustls(e) => write!(f, "the key and certificate do not fit: {e}"),
        }
    }
}

fn describe_pem_error(error: &rustls::pki_types::pem::Error) -> String {
    use rustls::pki_types::pem::Error;
    match error {
        Error::Io(e) => e.to_string(),
        Error::NoItemsFound => {
            "no unencrypted private key in the file (is it a certificate, or an encrypted key? decrypt it first)"
                .to_string()
        }
        other => format!("not a valid PEM file ({other:?})"),
    }
}

impl std::error::Error for TlsConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsConfigError::Rustls(e) | TlsConfigError::Ca { error: e, .. } => Some(e),
            TlsConfigError::Pem { .. } | TlsConfigError::NoCertificate(_) => None,
        }
    }
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let pem = |error| TlsConfigError::Pem {
        path: path.to_path_buf(),
        error,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(TlsConfigError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// A server configuration from a PEM certificate chain (leaf first) and
/// its unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1), with TLS 1.3
/// and 1.2 and `http/1.1` offered by ALPN.
pub fn server_config_from_pem(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let certs = certificates(cert.as_ref())?;
    let key_path = key.as_ref();
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|error| TlsConfigError::Pem {
        path: key_path.to_path_buf(),
        error,
    })?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(TlsConfigError::Rustls)?;
    // The opening handshake is HTTP/1.1 (§4.1); a browser offering h2 must
    // not get it.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client configuration that trusts the certificates in `ca` (a PEM
/// file: a CA, or the server's own self-signed certificate), or Mozilla's
/// root certificates (`webpki-roots`) when `ca` is `None`.
pub fn client_config(ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            for cert in certificates(path)? {
                roots.add(cert).map_err(|error| TlsConfigError::Ca {
                    path: path.to_path_buf(),
                    error,
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsConfigError::Rustls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The configuration a `wss://` client uses when none is given: Mozilla's
/// roots, built once per process.
pub fn default_client_config() -> Result<Arc<ClientConfig>, TlsConfigError> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = DEFAULT.get() {
        return Ok(config.clone());
    }
    let config = client_config(None)?;
    Ok(DEFAULT.get_or_init(|| config).clone())
}

/// A client session for `host` (the name its certificate must carry).
pub(crate) fn client_session(
    config: Arc<ClientConfig>,
    host: &str,
) -> Result<Session, rustls::Error> {
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| rustls::Error::General(format!("{host:?} is not a valid server name")))?;
    let conn = UnbufferedClientConnection::new(config, name)?;
    Ok(Session::new(Conn::Client(conn)))
}

/// A server session for a newly accepted socket.
pub(crate) fn server_session(config: Arc<ServerConfig>) -> Result<Session, rustls::Error> {
    Ok(Session::new(Conn::Server(UnbufferedServerConnection::new(
        config,
    )?)))
}

/// rustls's unbuffered connection, client or server: the two differ only
/// in their type, so [`process!`] runs the same code on either.
enum Conn {
    Client(UnbufferedClientConnection),
    Server(UnbufferedServerConnection),
}

/// Run `$body` with `$status` bound to what one `process_tls_records`
/// call over `$incoming` returned, whichever side `$conn` is.
macro_rules! process {
    ($conn:expr, $incoming:expr, |$status:ident| $body:expr) => {
        match $conn {
            Conn::Client(c) => {
                let $status = c.process_tls_records($incoming);
                $body
            }
            Conn::Server(s) => {
                let $status = s.process_tls_records($incoming);
                $body
            }
        }
    };
}

/// One connection's TLS session: rustls's unbuffered state machine and
/// the few bytes it cannot hand on yet. Ciphertext is read and written
/// through buffers owned by the thread (one per event loop), so an idle
/// session owns no buffer at all: everything below is empty and holds no
/// memory unless a socket refused bytes or a caller had no room.
pub(crate) struct Session {
    conn: Conn,
    /// Ciphertext rustls has not processed yet: a record cut at the end
    /// of a read, or records past what the caller had room for.
    stash: Vec<u8>,
    /// Decrypted bytes the caller had no room for; they come first.
    plain_left: Vec<u8>,
    /// Encrypted bytes the socket has not taken yet.
    pending: Vec<u8>,
    /// Plaintext written before the handshake let it be encrypted (a
    /// client's opening request); sealed as soon as it can be.
    early: Vec<u8>,
    /// The last TCP read filled less than it was offered.
    tcp_drained: bool,
    /// The last read stopped because the caller's buffer was full.
    more: bool,
    /// The peer's close_notify came, or TCP ended.
    ended: bool,
    /// Our close_notify is queued (or cannot be, before the handshake).
    close_queued: bool,
    /// When the session started waiting to write its last records.
    closing_until: Option<Timestamp>,
    /// An error met after plaintext that the last read returned; the next
    /// read returns it.
    failed: Option<io::Error>,
}

/// What of `chunks` lies past their first `skip` bytes, as slices in
/// `out`; returns how many.
fn unwritten<'a>(chunks: &[&'a [u8]], mut skip: usize, out: &mut [&'a [u8]]) -> usize {
    let mut n = 0;
    for chunk in chunks {
        if skip >= chunk.len() {
            skip -= chunk.len();
            continue;
        }
        let Some(slot) = out.get_mut(n) else {
            break;
        };
        *slot = chunk.get(skip..).unwrap_or_default();
        skip = 0;
        n += 1;
    }
    n
}

impl Session {
    fn new(conn: Conn) -> Self {
        Session {
            conn,
            stash: Vec::new(),
            plain_left: Vec::new(),
            pending: Vec::new(),
            early: Vec::new(),
            tcp_drained: false,
            more: false,
            ended: false,
            close_queued: false,
            closing_until: None,
            failed: None,
        }
    }

    /// Whether the last [`Session::read`] drained the TCP socket: its
    /// TCP read came back short, and it stopped for want of ciphertext,
    /// not of room. A record cut at the read's end waits in the stash for
    /// the rest, which raises a new readiness edge when it comes.
    pub(crate) fn drained(&self) -> bool {
        self.tcp_drained && !self.more && self.plain_left.is_empty()
    }

    /// Whether encrypted bytes wait for the socket.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[path = "tls_read.rs"]
mod read;

#[path = "tls_write.rs"]
mod write;

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
