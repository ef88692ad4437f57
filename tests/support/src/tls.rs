//! Certificates made at test time (no private key is ever committed): a
//! self-signed certificate for `localhost` and `127.0.0.1`, the server
//! configuration that presents it, and client configurations that trust
//! it — in memory, or as PEM files for the CLI and foreign peers — and a
//! client stream that is TCP or TLS by the URL's scheme.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ws6455::blocking::ReadTimeout;
use ws6455::proto::uri::WsUri;
use ws6455::tls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName,
};
use ws6455::tls::rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned,
};

/// A self-signed certificate and its key.
pub struct TestCert {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl TestCert {
    /// A fresh certificate for `localhost` and `127.0.0.1`.
    pub fn new() -> Self {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names).expect("rcgen");
        TestCert {
            cert_pem: certified.cert.pem(),
            key_pem: certified.key_pair.serialize_pem(),
            cert_der: certified.cert.der().clone(),
            key_der: certified.key_pair.serialize_der(),
        }
    }

    /// A server configuration presenting this certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = ServerConfig::builder_with_provider(ws6455::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .expect("certificate and key");
        Arc::new(config)
    }

    /// A client configuration that trusts this certificate only.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert_der.clone()).expect("trust anchor");
        let config = ClientConfig::builder_with_provider(ws6455::tls::provider())
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }

    /// Write `cert.pem` and `key.pem` into `dir`; returns their paths.
    pub fn write_to(&self, dir: &Path) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("create the certificate directory");
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, &self.cert_pem).expect("write cert.pem");
        std::fs::write(&key, &self.key_pem).expect("write key.pem");
        (cert, key)
    }
}

/// A certificate's PEM files in a directory of their own, removed on drop.
pub struct CertFiles {
    dir: PathBuf,
    /// `cert.pem`.
    pub cert: PathBuf,
    /// `key.pem`.
    pub key: PathBuf,
}

impl TestCert {
    /// Write the PEM files into a fresh directory under the system's temp
    /// directory.
    pub fn files(&self) -> CertFiles {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ws6455-test-certs-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let (cert, key) = self.write_to(&dir);
        CertFiles { dir, cert, key }
    }
}

impl Drop for CertFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestCert {
    /// Client options for the event loop and `WebSocket::connect_tls` that
    /// trust this certificate.
    pub fn client_options(&self) -> ws6455::ConnectOptions {
        let mut options = ws6455::ConnectOptions::default();
        options.tls = Some(self.client_config());
        options
    }

    /// A blocking `wss://` client of the server at `addr` (as
    /// `localhost`) that trusts this certificate; reads time out after
    /// [`crate::MUST`].
    pub fn connect(
        &self,
        addr: std::net::SocketAddr,
    ) -> ws6455::WebSocket<ws6455::blocking::TlsStream> {
        let url = format!("wss://localhost:{}/", addr.port());
        let (ws, _) =
            ws6455::WebSocket::connect_tls(&url, &self.client_options()).expect("connect");
        ws.get_ref()
            .sock
            .set_read_timeout(Some(crate::MUST))
            .expect("timeout");
        ws
    }

    /// An in-process echo server speaking TLS with this certificate, with
    /// `config`, on a free loopback port.
    pub fn echo_server(&self, config: ws6455::Config) -> ws6455::RunningServer {
        ws6455::Server::new()
            .config(config)
            .tls(self.server_config())
            .bind("127.0.0.1:0")
            .expect("bind")
            .spawn(|| crate::server::Echo)
    }
}

impl Default for TestCert {
    fn default() -> Self {
        Self::new()
    }
}

/// A client's byte stream for the blocking adapter: TCP for `ws://`, TLS
/// over TCP for `wss://` — so one scenario can run both ways.
pub enum ClientStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<ws6455::blocking::TlsStream>),
}

impl ClientStream {
    /// Connect to `url`'s host and port, with TLS checked against `trust`
    /// for `wss://`; reads time out after `timeout`.
    pub fn connect(url: &str, trust: Option<&Arc<ClientConfig>>, timeout: Duration) -> Self {
        let uri = WsUri::parse(url).expect("URL");
        let tcp = TcpStream::connect((uri.host.as_str(), uri.port)).expect("TCP connect");
        tcp.set_read_timeout(Some(timeout)).expect("read timeout");
        tcp.set_nodelay(true).expect("nodelay");
        if !uri.secure {
            return ClientStream::Plain(tcp);
        }
        let trust = trust
            .expect("a wss:// URL needs a certificate to trust")
            .clone();
        let name = ServerName::try_from(uri.host.clone()).expect("server name");
        let session = ClientConnection::new(trust, name).expect("TLS session");
        ClientStream::Tls(Box::new(StreamOwned::new(session, tcp)))
    }
}

impl Read for ClientStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.read(buf),
            ClientStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for ClientStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            ClientStream::Plain(s) => s.write(buf),
            ClientStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.flush(),
            ClientStream::Tls(s) => s.flush(),
        }
    }
}

impl ReadTimeout for ClientStream {
    fn read_timeout(&self) -> io::Result<Option<Duration>> {
        match self {
            ClientStream::Plain(s) => s.read_timeout(),
            ClientStream::Tls(s) => s.sock.read_timeout(),
        }
    }
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.set_read_timeout(timeout),
            ClientStream::Tls(s) => s.sock.set_read_timeout(timeout),
        }
    }
}

/// The start of a real ClientHello record: content type 22, TLS 1.0
/// record version, a length of 512 — and only 100 of those 512 bytes (a
/// TLS handshake abandoned halfway).
pub fn cut_client_hello() -> Vec<u8> {
    let mut hello = vec![22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3];
    hello.resize(100, 0x42);
    hello
}
