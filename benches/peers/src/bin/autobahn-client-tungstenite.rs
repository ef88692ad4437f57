//! Blocking tungstenite client for an Autobahn fuzzingserver (wstest -m
//! fuzzingserver, or `ws6455 conformance client`): asks /getCaseCount, runs
//! every case on /runCase?case=N&agent=A echoing each text and binary
//! message, then asks /updateReports?agent=A. Default tungstenite settings
//! (no permessage-deflate: tungstenite 0.28 has none). A peer of
//! autobahn/parity.py.
//!
//! usage: autobahn-client-tungstenite [--url ws://127.0.0.1:9001] [--agent tungstenite]
//!
//! Exit 0 once the reports were asked for, 1 if the fuzzingserver could not
//! be reached for /getCaseCount or /updateReports.

use std::net::TcpStream;

use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error, Message, WebSocket};

type Ws = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(url: &str) -> Result<Ws, Error> {
    let (ws, _) = tungstenite::connect(url)?;
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        let _ = s.set_nodelay(true);
    }
    Ok(ws)
}

/// Reads until the connection ends, echoing data messages. The close
/// handshake is tungstenite's own: after a Close, reading on lets it send
/// the reply and wait for the server to drop the TCP connection.
fn echo(ws: &mut Ws) -> Result<(), Error> {
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m)?,
            Ok(_) => {}
            Err(Error::ConnectionClosed | Error::AlreadyClosed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn main() {
    let url = ws6455_peers::arg("--url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let url = url.trim_end_matches('/').to_string();
    let agent = ws6455_peers::arg("--agent").unwrap_or_else(|| "tungstenite".into());

    let count = (|| -> Result<u32, Error> {
        let mut ws = connect(&format!("{url}/getCaseCount"))?;
        let mut count = None;
        loop {
            match ws.read() {
                Ok(Message::Text(t)) => count = t.trim().parse().ok(),
                Ok(_) => {}
                Err(Error::ConnectionClosed | Error::AlreadyClosed) => break,
                Err(e) => return Err(e),
            }
        }
        count.ok_or_else(|| Error::Io(std::io::Error::other("no case count")))
    })();
    let count = match count {
        Ok(n) => n,
        Err(e) => {
            eprintln!("autobahn-client-tungstenite: /getCaseCount: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("autobahn-client-tungstenite: {count} cases");
    for case in 1..=count {
        match connect(&format!("{url}/runCase?case={case}&agent={agent}")) {
            Ok(mut ws) => {
                if let Err(e) = echo(&mut ws) {
                    eprintln!("case {case}: {e}");
                }
            }
            Err(e) => eprintln!("case {case}: connect: {e}"),
        }
    }
    match connect(&format!("{url}/updateReports?agent={agent}")).and_then(|mut ws| echo(&mut ws)) {
        Ok(()) => eprintln!("autobahn-client-tungstenite: reports updated"),
        Err(e) => {
            eprintln!("autobahn-client-tungstenite: /updateReports: {e}");
            std::process::exit(1);
        }
    }
}
