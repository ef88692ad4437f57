//! `wss://`: TLS between the socket and the core, with rustls (feature
//! `tls`).
//!
//! rustls is itself Sans-I/O: ciphertext goes in with `read_tls`,
//! plaintext comes out of `reader`, plaintext goes in with `writer` and
//! ciphertext comes out with `write_tls`. The event loop drives one
//! session per connection on the same edge-triggered discipline as plain
//! TCP (read until `WouldBlock` or a short read that left no plaintext
//! behind, write until `WouldBlock`); the WebSocket core only ever sees
//! plaintext. The TLS handshake happens before the opening handshake's
//! bytes can flow, so the core's handshake timeout covers both. Reading
//! (one `readv` per TCP read, past rustls's own buffer) is in `tls_read`.
//!
//! This module also builds configurations from PEM files
//! ([`server_config_from_pem`], [`client_config`]) and re-exports the
//! [`rustls`] it was built with, so that an application's configurations
//! have the right type.

use std::fmt;
use std::io::{self, IoSlice, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mio::net::TcpStream;
pub use rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use crate::proto::Timestamp;
use crate::socket::Finish;
use crate::transmit::MAX_IOV;

/// Encrypted bytes a session may hold for a socket that does not take
/// them; beyond it the core's output queue holds the plaintext, where the
/// output bound (`Config::max_output_buffer`) sees it. A 64 KiB batch of
/// records keeps `writev` calls large without hiding much from the bound;
/// the extra 16 KiB lets a 64 KiB message and its frame header go out in
/// one `writev`, where an exact 64 KiB limit would seal the header's worth
/// of overflow into a record of its own and write it with a second
/// `writev` (a second TCP segment) per message.
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
    let conn = ClientConnection::new(config, name)?;
    Ok(Session::new(conn.into()))
}

/// A server session for a newly accepted socket.
pub(crate) fn server_session(config: Arc<ServerConfig>) -> Result<Session, rustls::Error> {
    Ok(Session::new(ServerConnection::new(config)?.into()))
}

/// One connection's TLS session and what the loop remembers of it.
pub(crate) struct Session {
    conn: rustls::Connection,
    /// The last TCP read filled less than rustls offered it: the socket
    /// was drained then (see [`Session::drained`]).
    tcp_drained: bool,
    /// Decrypted bytes waiting in rustls for [`Session::read`].
    plaintext_left: usize,
    /// When the session started waiting to write its last records.
    closing_until: Option<Timestamp>,
    /// Ciphertext read from the socket that rustls has not taken yet
    /// (see `tls_read`): empty, and holding no memory, but for a moment.
    stash: Vec<u8>,
    /// An error met after plaintext that the last read returned; the next
    /// read returns it.
    failed: Option<io::Error>,
}

/// What of `chunks` lies past their first `skip` bytes, as slices in
/// `out`; returns how many.
fn unwritten<'a>(chunks: &[&'a [u8]], mut skip: usize, out: &mut [IoSlice<'a>]) -> usize {
    let mut n = 0;
    for chunk in chunks {
        if skip >= chunk.len() {
            skip -= chunk.len();
            continue;
        }
        let Some(slot) = out.get_mut(n) else {
            break;
        };
        *slot = IoSlice::new(chunk.get(skip..).unwrap_or_default());
        skip = 0;
        n += 1;
    }
    n
}

/// `Write` for `&TcpStream` made `dyn`-friendly for rustls.
struct Tcp<'a>(&'a TcpStream);

impl Write for Tcp<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self.0).write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Session {
    fn new(mut conn: rustls::Connection) -> Self {
        conn.set_buffer_limit(Some(PENDING_LIMIT));
        Session {
            conn,
            tcp_drained: false,
            plaintext_left: 0,
            closing_until: None,
            stash: Vec::new(),
            failed: None,
        }
    }

    /// Whether the last [`Session::read`] drained the TCP socket: its
    /// TCP read came back short, every decrypted byte has been read and
    /// no ciphertext waits in the stash. A record cut at the read's end
    /// waits in rustls for the rest, which raises a new readiness edge
    /// when it comes.
    pub(crate) fn drained(&self) -> bool {
        self.tcp_drained && self.plaintext_left == 0 && self.stash.is_empty()
    }

    /// Encrypt up to [`MAX_IOV`] chunks and write them, a batch of at
    /// most [`PENDING_LIMIT`] at a time, until all are taken or the socket
    /// would block; see [`crate::socket::Socket::write_chunks`]. As with
    /// `writev` on TCP, a short count means the socket is full (so a
    /// WRITABLE edge will come): stopping at the session's limit alone
    /// would leave the loop waiting for an edge that never comes.
    ///
    /// The chunks go to rustls together, so that a frame's header and its
    /// payload (and small frames queued together) share TLS records: one
    /// seal and one 22-byte record overhead instead of one per chunk.
    pub(crate) fn write_chunks(&mut self, tcp: &TcpStream, chunks: &[&[u8]]) -> io::Result<usize> {
        let chunks = chunks.get(..MAX_IOV).unwrap_or(chunks);
        let total: usize = chunks.iter().map(|c| c.len()).sum();
        let mut taken = 0;
        while taken < total {
            if !self.flush(tcp)? {
                break;
            }
            let mut slices = [IoSlice::new(&[]); MAX_IOV];
            let n = unwritten(chunks, taken, &mut slices);
            let wrote = self
                .conn
                .writer()
                .write_vectored(slices.get(..n).unwrap_or_default())?;
            if wrote == 0 {
                break;
            }
            taken += wrote;
        }
        self.flush(tcp)?;
        if taken == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(taken)
    }

    /// Whether encrypted bytes wait for the socket.
    pub(crate) fn has_pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Write waiting records until none wait (`Ok(true)`) or the socket
    /// would block (`Ok(false)`).
    pub(crate) fn flush(&mut self, tcp: &TcpStream) -> io::Result<bool> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut Tcp(tcp)) {
                Ok(0) => return Ok(false),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// See [`crate::socket::Socket::finish`].
    pub(crate) fn finish(&mut self, tcp: &TcpStream, now: Timestamp, grace: Duration) -> Finish {
        let until = *self
            .closing_until
            .get_or_insert_with(|| now.checked_add(grace).unwrap_or(now));
        // Once per session: rustls ignores a second call.
        self.conn.send_close_notify();
        match self.flush(tcp) {
            Ok(true) => Finish::Done,
            Ok(false) if now < until => Finish::Wait(until),
            Ok(false) | Err(_) => Finish::GiveUp,
        }
    }
}

#[path = "tls_read.rs"]
mod read;

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
