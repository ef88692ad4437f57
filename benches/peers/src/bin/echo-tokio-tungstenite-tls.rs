//! tokio-tungstenite echo over TLS on a current-thread runtime:
//! echo-tokio-tungstenite.rs with tokio-rustls's `TlsAcceptor` in front,
//! on the same rustls (0.23.48, aws-lc-rs) and server settings as
//! ws6455's `server_config_from_pem` (ws6455_peers::tls::server_config).
//!
//!   echo-tokio-tungstenite-tls --listen 127.0.0.1:9443 --tls-cert cert.pem --tls-key key.pem

use futures_util::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::{Error, Message};

const USAGE: &str = "echo-tokio-tungstenite-tls --listen ADDR --tls-cert cert.pem --tls-key key.pem";

async fn handle(stream: TcpStream, acceptor: TlsAcceptor) -> Result<(), Error> {
    let _ = stream.set_nodelay(true);
    let tls = acceptor.accept(stream).await?;
    let mut ws = tokio_tungstenite::accept_async(tls).await?;
    while let Some(msg) = ws.next().await {
        // tungstenite answers a Close (and pings) by itself on the next
        // poll, after which the stream ends: keep polling, do not break on
        // the Close, or the answer is never sent.
        if let m @ (Message::Text(_) | Message::Binary(_)) = msg? {
            ws.send(m).await?;
        }
    }
    // close_notify, then FIN, as ws6455 does.
    let _ = ws.into_inner().shutdown().await;
    Ok(())
}

fn main() -> std::io::Result<()> {
    let addr = ws6455_peers::listen_addr();
    let cert = ws6455_peers::required_arg("--tls-cert", USAGE);
    let key = ws6455_peers::required_arg("--tls-key", USAGE);
    let acceptor = TlsAcceptor::from(ws6455_peers::tls::server_config(&cert, &key));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!("echo-tokio-tungstenite-tls on {addr}");
        loop {
            let (stream, _) = listener.accept().await?;
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = handle(stream, acceptor).await;
            });
        }
    })
}
