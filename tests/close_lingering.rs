//! A failed connection's close frame reaches a peer that is still sending:
//! the server shuts its side of TCP after the close frame and reads the
//! peer's remaining bytes until its FIN, instead of closing a socket with
//! unread data (which makes the kernel send a reset that can overtake the
//! close frame).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use ws6455::Config;
use ws6455::{ConnId, Ctx, Handler, Message, Server};

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = ctx.send_binary(id, message.as_bytes());
    }
}

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[test]
fn a_peer_still_sending_reads_the_1009_close_and_an_orderly_fin() {
    let config = {
        let mut config = Config::default();
        config.max_message_size = 1000;
        config.max_frame_size = 1000;
        config
    };
    let server = Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(|| Echo);
    for _ in 0..5 {
        let mut stream = TcpStream::connect(server.local_addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(REQUEST).unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        // A masked binary frame announcing 1 MiB, then its payload, written
        // from another thread while we read.
        let mut writer = stream.try_clone().unwrap();
        let sender = thread::spawn(move || {
            let header = vec![0x82, 0xff, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4];
            let _ = writer.write_all(&header);
            let chunk = [0x55u8; 16 << 10];
            for _ in 0..64 {
                if writer.write_all(&chunk).is_err() {
                    break;
                }
            }
        });
        let mut frame = [0u8; 4];
        stream
            .read_exact(&mut frame)
            .expect("the close frame arrives, not a reset");
        assert_eq!(frame[0], 0x88, "a close frame");
        let len = usize::from(frame[1]);
        assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), 1009);
        let mut rest = vec![0u8; len - 2];
        stream.read_exact(&mut rest).unwrap();
        let mut tail = [0u8; 16];
        assert_eq!(
            stream.read(&mut tail).expect("an orderly FIN, not a reset"),
            0
        );
        drop(stream);
        sender.join().unwrap();
    }
    server.stop().unwrap();
}
