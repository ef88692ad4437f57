//! Blocking tungstenite echo: one thread per connection (small stacks, so
//! 10,000 idle connections fit).

use std::net::{TcpListener, TcpStream};

use tungstenite::Message;

fn handle(stream: TcpStream) -> Result<(), tungstenite::Error> {
    let _ = stream.set_nodelay(true);
    let mut ws = tungstenite::accept(stream).map_err(|e| match e {
        tungstenite::HandshakeError::Failure(e) => e,
        tungstenite::HandshakeError::Interrupted(_) => tungstenite::Error::ConnectionClosed,
    })?;
    loop {
        match ws.read()? {
            m @ (Message::Text(_) | Message::Binary(_)) => ws.send(m)?,
            Message::Close(_) => {
                // Answer the close and let the write finish.
                let _ = ws.flush();
                return Ok(());
            }
            _ => {}
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = ws6455_peers::listen_addr();
    let listener = TcpListener::bind(&addr)?;
    eprintln!("echo-tungstenite on {addr}");
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let spawned = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || {
                let _ = handle(stream);
            });
        if let Err(e) = spawned {
            eprintln!("cannot spawn a thread: {e}");
        }
    }
    Ok(())
}
