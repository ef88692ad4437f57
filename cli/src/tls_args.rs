//! The TLS options of the commands, and the rustls configurations they
//! make: `--tls-cert`/`--tls-key` for `serve`; `--ca` and `--insecure` for
//! every command that connects (`connect`, `bench`, `autobahn-client`).
//!
//! A file that cannot be used is a [`BadOptions`] error: one line naming
//! the option and the file, and exit status 2.
//!
//! `--insecure` lives here and not in the library on purpose: accepting
//! any certificate is a testing aid for a command line, never something
//! an application should be one option away from.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use ws6455::tls::rustls;
use ws6455::tls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use ws6455::tls::rustls::crypto::WebPkiSupportedAlgorithms;
use ws6455::tls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use ws6455::tls::rustls::{
    ClientConfig, DigitallySignedStruct, InconsistentKeys, ServerConfig, SignatureScheme,
};
use ws6455::tls::TlsConfigError;

use crate::BadOptions;

/// `serve`'s TLS options: both or neither.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ServerTls {
    /// Serve over TLS (pages on https://, sockets on wss://) with the
    /// certificate chain in this PEM file (leaf first).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key: an unencrypted PEM file (PKCS#8,
    /// PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl ServerTls {
    /// The server configuration, or `None` when TLS was not asked for.
    pub fn config(&self) -> Result<Option<Arc<ServerConfig>>, BadOptions> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            // clap's `requires` lets through only both or neither.
            return Ok(None);
        };
        ws6455::tls::server_config_from_pem(cert, key)
            .map(Some)
            .map_err(|e| BadOptions(server_error(&e, cert, key)))
    }
}

/// One line saying which file is wrong and how.
fn server_error(error: &TlsConfigError, cert: &Path, key: &Path) -> String {
    match error {
        TlsConfigError::Pem { path, .. } if path == key => format!("--tls-key {error}"),
        TlsConfigError::Pem { .. } | TlsConfigError::NoCertificate(_) => {
            format!("--tls-cert {error}")
        }
        TlsConfigError::Rustls(rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => {
            format!(
                "--tls-key {}: not the private key of the certificate in {}",
                key.display(),
                cert.display()
            )
        }
        other => format!("--tls-cert/--tls-key: {other}"),
    }
}

/// The TLS options of a `wss://` client. Neither given: the server's
/// certificate must chain to Mozilla's root certificates.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClientTls {
    /// wss://: trust the certificate or CA in this PEM file (e.g. the
    /// server's self-signed certificate) instead of the public roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// wss://: accept any server certificate, unchecked (only the TLS
    /// handshake's signatures are verified). For testing only.
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
}

impl ClientTls {
    /// The configuration for `ConnectOptions::tls`: `None` leaves the
    /// library's default (Mozilla's roots). `--insecure` warns on stderr
    /// that certificates go unchecked when `url` is `wss://`.
    pub fn config(&self, url: &str) -> Result<Option<Arc<ClientConfig>>, BadOptions> {
        if self.insecure {
            if is_wss(url) {
                warn_insecure();
            }
            return insecure_config().map(Some);
        }
        let Some(ca) = &self.ca else {
            return Ok(None);
        };
        ws6455::tls::client_config(Some(ca))
            .map(Some)
            .map_err(|e| BadOptions(ca_error(&e, ca)))
    }
}

fn ca_error(error: &TlsConfigError, ca: &Path) -> String {
    match error {
        // The library says the key and certificate do not fit, which is
        // about servers; for a CA file the certificate itself is unusable.
        TlsConfigError::Rustls(e) => {
            format!("--ca {}: not a usable certificate: {e}", ca.display())
        }
        other => format!("--ca {other}"),
    }
}

fn is_wss(url: &str) -> bool {
    url.get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("wss://"))
}

/// Once per process, however many connections use the configuration.
fn warn_insecure() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        eprintln!(
            "warning: --insecure: the server's certificate is not checked; anyone on the path can read and change this connection"
        );
    });
}

fn insecure_config() -> Result<Arc<ClientConfig>, BadOptions> {
    let provider = ws6455::tls::provider();
    let verifier = AcceptAnyCertificate {
        algorithms: provider.signature_verification_algorithms,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| BadOptions(format!("--insecure: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `--insecure`: takes any certificate for any name, but still checks
/// that the server signed the handshake with the certificate's key (with
/// the provider's algorithms), so the session is at least with whoever
/// holds that key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_wss_urls_are_wss() {
        assert!(is_wss("wss://localhost/"));
        assert!(is_wss("WSS://localhost/"));
        assert!(!is_wss("ws://localhost/"));
        assert!(!is_wss("wss:"));
    }

    #[test]
    fn no_options_leave_the_library_default() {
        let none = ClientTls::default();
        assert!(matches!(none.config("wss://localhost/"), Ok(None)));
        assert!(matches!(ServerTls::default().config(), Ok(None)));
    }

    #[test]
    fn insecure_offers_the_providers_signature_schemes() {
        let provider = ws6455::tls::provider();
        let verifier = AcceptAnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        };
        let schemes = verifier.supported_verify_schemes();
        assert_eq!(
            schemes,
            provider
                .signature_verification_algorithms
                .supported_schemes()
        );
        assert!(schemes.contains(&SignatureScheme::ECDSA_NISTP256_SHA256));
        let insecure = ClientTls {
            ca: None,
            insecure: true,
        };
        assert!(matches!(insecure.config("ws://localhost/"), Ok(Some(_))));
    }
}
