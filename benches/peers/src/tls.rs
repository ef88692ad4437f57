//! TLS for the peer rig (benches/tls.sh): the server configuration of the
//! TLS echo peer, the same as ws6455's `server_config_from_pem`, and the
//! steps of a blocking wss:// client (TCP, TLS, the opening handshake, a
//! close) for `tls-idle-client` and `tls-handshake-client`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, StreamOwned};

/// The provider ws6455 uses: aws-lc-rs, with its default key exchange
/// groups (X25519MLKEM768 first) and cipher suites.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certificates(path: &str) -> Vec<CertificateDer<'static>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .unwrap_or_else(|e| panic!("{path}: {e:?}"));
    assert!(!certs.is_empty(), "{path}: no certificate");
    certs
}

/// What ws6455's `server_config_from_pem` builds: TLS 1.3 and 1.2, no
/// client authentication, rustls's defaults otherwise (a 256-entry
/// session cache, two TLS 1.3 tickets per handshake), ALPN `http/1.1`.
pub fn server_config(cert: &str, key: &str) -> Arc<ServerConfig> {
    let certs = certificates(cert);
    let key = PrivateKeyDer::from_pem_file(key).unwrap_or_else(|e| panic!("{key}: {e:?}"));
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("the key does not fit the certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A client that trusts the certificates in `ca`, speaks TLS 1.3 only,
/// and never resumes a session: every connection is a full handshake.
/// `groups`: the key exchange groups to offer, by rustls's names
/// separated by commas (`X25519`, `X25519MLKEM768`, `secp256r1`…), in
/// that order; None offers the provider's default list.
pub fn client_config(ca: &str, groups: Option<&str>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca) {
        roots.add(cert).expect("a CA certificate rustls accepts");
    }
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(groups) = groups {
        let all = std::mem::take(&mut provider.kx_groups);
        for name in groups.split(',') {
            let group = all
                .iter()
                .find(|g| format!("{:?}", g.name()).eq_ignore_ascii_case(name.trim()))
                .unwrap_or_else(|| {
                    let known: Vec<String> = all.iter().map(|g| format!("{:?}", g.name())).collect();
                    panic!("no key exchange group {name:?}; known: {}", known.join(", "))
                });
            provider.kx_groups.push(*group);
        }
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A `wss://host:port/path` URL.
#[derive(Clone, Debug)]
pub struct WssUrl {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl WssUrl {
    pub fn parse(url: &str) -> Result<WssUrl, String> {
        let rest = url
            .strip_prefix("wss://")
            .ok_or_else(|| format!("{url}: not a wss:// URL"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (h, p.parse().map_err(|_| format!("{url}: bad port"))?),
            _ => (authority, 443),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        Ok(WssUrl {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    /// host:port for `TcpStream::connect` (brackets around IPv6).
    pub fn socket_addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A blocking wss:// connection.
pub type Wss = StreamOwned<ClientConnection, TcpStream>;

/// 16 bytes for a Sec-WebSocket-Key or a mask from std's per-process
/// random hasher keys: enough for a benchmark client (§10.3 asks for
/// unpredictability from browsers, not from load generators).
pub fn nonce() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut out = [0u8; 16];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// TCP connect, TLS handshake and the opening handshake (§4.1): the GET
/// goes out as the first application data, so the TLS handshake completes
/// on the way; the 101's Sec-WebSocket-Accept is checked. Returns the
/// stream and whatever followed the 101 in the same read.
pub fn connect(url: &WssUrl, config: &Arc<ClientConfig>, timeout: Duration) -> io::Result<(Wss, Vec<u8>)> {
    let tcp = TcpStream::connect(url.socket_addr())?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let name = ServerName::try_from(url.host.clone())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
    let mut stream = StreamOwned::new(conn, tcp);
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(nonce());
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        url.path,
        url.socket_addr()
    );
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = crate::head_end(&buf) {
            break end;
        }
        if buf.len() > 16 << 10 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "response head over 16 KiB"));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before the 101"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..end]).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response head not UTF-8"))?;
    if !head.starts_with("HTTP/1.1 101") {
        let line = head.lines().next().unwrap_or("");
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("not a 101: {line}")));
    }
    let want = crate::accept_key(key.as_bytes());
    let accepted = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == want
        })
    });
    if !accepted {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "wrong or missing Sec-WebSocket-Accept"));
    }
    Ok((stream, buf[end..].to_vec()))
}

/// Send a masked Close (1000, §5.5.1), read frames until the server's
/// Close, then read until the server ends the connection (close_notify
/// or FIN). Ok(true) if the server ended it, Ok(false) if it sent its
/// Close but had not ended the connection within the read timeout.
pub fn close(stream: &mut Wss, mut buf: Vec<u8>) -> io::Result<bool> {
    let m = nonce();
    let code = 1000u16.to_be_bytes();
    let frame = [0x88, 0x82, m[0], m[1], m[2], m[3], code[0] ^ m[0], code[1] ^ m[1]];
    stream.write_all(&frame)?;
    stream.flush()?;
    let mut chunk = [0u8; 1024];
    // Frames until the Close; servers send nothing else here, but skip
    // anything unmasked and complete that comes first.
    loop {
        if buf.len() >= 2 {
            let len7 = (buf[1] & 0x7f) as usize;
            let (header, len) = match len7 {
                126 if buf.len() >= 4 => (4, u16::from_be_bytes([buf[2], buf[3]]) as usize),
                127 if buf.len() >= 10 => (10, u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize),
                126 | 127 => (usize::MAX, 0),
                n => (2, n),
            };
            if header != usize::MAX && buf.len() >= header + len {
                let opcode = buf[0] & 0x0f;
                buf.drain(..header + len);
                if opcode == 0x8 {
                    break;
                }
                continue;
            }
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed before the server's Close"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    // Now the server closes: close_notify (read gives 0) or a bare FIN
    // (rustls reports UnexpectedEof); a reset counts as closed as well.
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return Ok(true),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Ok(false),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Ok(true)
            }
            Err(e) => return Err(e),
        }
    }
}

/// User + system CPU seconds of process `pid` so far (/proc/PID/stat).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the ")" that ends the command name: state is field 3,
    // utime 14 and stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clock_ticks())
}

/// This process's user + system CPU seconds so far.
pub fn own_cpu_seconds() -> f64 {
    cpu_seconds(std::process::id()).unwrap_or(0.0)
}

fn clock_ticks() -> f64 {
    // USER_HZ: 100 on every Linux architecture that has /proc/PID/stat in
    // ticks, but ask all the same.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

#[cfg(test)]
mod tests {
    use super::WssUrl;

    #[test]
    fn urls() {
        let u = WssUrl::parse("wss://127.0.0.1:9443/").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("127.0.0.1", 9443, "/"));
        let u = WssUrl::parse("wss://localhost").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str()), ("localhost", 443, "/"));
        let u = WssUrl::parse("wss://[::1]:9/x?y").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.path.as_str(), u.socket_addr().as_str()), ("::1", 9, "/x?y", "[::1]:9"));
        assert!(WssUrl::parse("ws://x/").is_err());
    }
}
