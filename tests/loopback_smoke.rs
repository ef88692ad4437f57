//! Our blocking client against our mio server on loopback.

use ws6455::CloseCode;
use ws6455::{ConnectOptions, Incoming, Server, WebSocket};
use ws6455_test_support::server::Echo;

#[test]
fn echo_round_trip_and_clean_close() {
    let server = Server::new().bind("127.0.0.1:0").unwrap().spawn(|| Echo);
    let url = format!("ws://{}/echo", server.local_addr());
    let (mut ws, _) = WebSocket::connect(&url, &ConnectOptions::default()).unwrap();
    ws.send_text("hello").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text("hello".into()));
    let big = vec![7u8; 1 << 20];
    ws.send_binary(&big).unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Binary(big));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(
        ws.read().unwrap(),
        Incoming::Close(Some(CloseCode::NORMAL), String::new())
    );
    match ws.read() {
        Err(ws6455::blocking::Error::Closed { code, clean }) => {
            assert_eq!(code, CloseCode::NORMAL);
            assert!(clean);
        }
        other => panic!("expected a clean close, got {other:?}"),
    }
    server.stop().unwrap();
}
