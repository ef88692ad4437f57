//! permessage-deflate over real sockets: the mio server with compression
//! on, talking to blocking ws6455 clients (compressed echo in both
//! takeover modes, many connections at once, and a decompression bomb that
//! must end in 1009 without the server holding more than the limit).
#![cfg(feature = "deflate")]

use std::net::{SocketAddr, TcpStream};

use ws6455::proto::deflate::{Compressor, DeflateConfig};
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, WebSocket};
use ws6455_test_support::server::echo_server;
use ws6455_test_support::MUST;

fn server_config(deflate: DeflateConfig) -> Config {
    {
        let mut config = Config::default();
        config.deflate = Some(deflate);
        config.max_message_size = 1 << 20;
        config.max_frame_size = 1 << 20;
        config
    }
}

fn client(addr: SocketAddr, deflate: Option<DeflateConfig>) -> WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(MUST)).unwrap();
    let config = {
        let mut config = Config::default();
        config.deflate = deflate;
        config
    };
    let (ws, _) =
        WebSocket::client(stream, ClientRequest::new(addr.to_string(), "/"), config).unwrap();
    ws
}

fn echo_many(ws: &mut WebSocket<TcpStream>, n: usize) {
    for i in 0..n {
        let text = format!("{{\"n\": {i}, \"body\": \"{}\"}}", "abc".repeat(i % 300));
        ws.send_text(&text).unwrap();
        assert_eq!(ws.read().unwrap(), Incoming::Text(text));
        let bytes: Vec<u8> = (0..(i * 97) % 70_000).map(|j| (j % 13) as u8).collect();
        ws.send_binary(&bytes).unwrap();
        assert_eq!(ws.read().unwrap(), Incoming::Binary(bytes));
    }
}

fn close(mut ws: WebSocket<TcpStream>) {
    ws.close(CloseCode::NORMAL, "").unwrap();
    // Reads time out after MUST, so this cannot hang.
    match ws.read() {
        Ok(Incoming::Close(code, _)) => assert_eq!(code, Some(CloseCode::NORMAL)),
        other => panic!("expected the close echo, got {other:?}"),
    }
}

#[test]
fn compressed_echo_in_both_takeover_modes() {
    for lean in [false, true] {
        let deflate = {
            let mut deflate = DeflateConfig::default();
            deflate.server_no_context_takeover = lean;
            deflate.client_no_context_takeover = lean;
            deflate
        };
        let server = echo_server(server_config(deflate.clone()));
        let mut ws = client(server.local_addr(), Some(deflate));
        let params = ws.connection().deflate_params().unwrap();
        assert_eq!(params.server_no_context_takeover, lean);
        assert_eq!(params.client_no_context_takeover, lean);
        echo_many(&mut ws, 120);
        close(ws);
    }
}

#[test]
fn clients_with_and_without_compression_share_a_server() {
    let server = echo_server(server_config(DeflateConfig::default()));
    let addr = server.local_addr();
    let threads: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let deflate = (i % 2 == 0).then(DeflateConfig::default);
                let mut ws = client(addr, deflate.clone());
                assert_eq!(
                    ws.connection().deflate_params().is_some(),
                    deflate.is_some()
                );
                echo_many(&mut ws, 40);
                close(ws);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_bomb_is_stopped_with_1009() {
    let server = echo_server(server_config(DeflateConfig::default()));
    let mut ws = client(server.local_addr(), Some(DeflateConfig::default()));
    // 32 MiB of zeros in about 32 KiB; half of it inflates to about 16 MiB
    // and the server's limit is 1 MiB.
    let mut bomb = Vec::new();
    assert!(Compressor::new(9, 15).compress(&vec![0; 32 << 20], &mut bomb));
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    ws.send_raw_frame(true, 0b100, 2, &bomb[..16 << 10])
        .unwrap();
    // Reads time out after MUST, so this cannot hang.
    match ws.read() {
        Ok(Incoming::Close(code, _)) => assert_eq!(code, Some(CloseCode::MESSAGE_TOO_BIG)),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
}
