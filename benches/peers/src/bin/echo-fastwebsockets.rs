//! fastwebsockets echo on a current-thread tokio runtime, shaped like the
//! crate's own echo example (FragmentCollector, `unconstrained` tasks).
//! The upgrade is answered by hand instead of through hyper, which only
//! makes the peer leaner and faster: the comparison stays conservative.

use fastwebsockets::{FragmentCollector, OpCode, Role, WebSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn handle(mut stream: TcpStream) -> Result<(), Box<dyn std::error::Error>> {
    stream.set_nodelay(true)?;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = ws6455_peers::head_end(&head) {
            break end;
        }
    };
    // A client waits for the 101 before sending frames.
    assert_eq!(end, head.len(), "bytes after the request head");
    let response = ws6455_peers::response_101(&head[..end]).ok_or("no key")?;
    drop(head);
    stream.write_all(&response).await?;
    let mut ws = FragmentCollector::new(WebSocket::after_handshake(stream, Role::Server));
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let addr = ws6455_peers::listen_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&addr).await?;
        eprintln!("echo-fastwebsockets on {addr}");
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(tokio::task::unconstrained(async move {
                let _ = handle(stream).await;
            }));
        }
    })
}
