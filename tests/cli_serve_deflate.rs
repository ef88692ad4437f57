//! `ws6455 serve`'s permessage-deflate options (RFC 7692 §7.1), run as a
//! program: what each agrees to with a client offering the extension, and
//! that compressed echoes then work. Default: both sides keep their
//! context; `--deflate-server-no-context-takeover`: the server resets its
//! compressor (§7.1.1.1, its own choice) and the client keeps its
//! context; `--deflate-no-context-takeover`: neither keeps it;
//! `--no-deflate`: the offer is declined and messages go uncompressed.
#![cfg(feature = "deflate")]

use std::net::TcpStream;
use std::time::Duration;

use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::{ClientRequest, CloseCode, Config};
use ws6455::{Incoming, WebSocket};

/// The agreed (server, client) no-context-takeover, or None for no
/// agreement.
type Agreed = Option<(bool, bool)>;

/// serve's options and what they agree to.
const MODES: [(&[&str], Agreed); 4] = [
    (&[], Some((false, false))),
    (
        &["--deflate-server-no-context-takeover"],
        Some((true, false)),
    ),
    (&["--deflate-no-context-takeover"], Some((true, true))),
    (&["--no-deflate"], None),
];

#[test]
fn each_serve_option_agrees_to_what_it_says_and_echoes() {
    for (options, want) in MODES {
        let mut serve = ws6455_test_support::interop::serve_with("127.0.0.1:0", options);
        let stream = TcpStream::connect(serve.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let config = {
            let mut config = Config::default();
            config.deflate = Some({
                let mut deflate = DeflateConfig::default();
                deflate.threshold = 0;
                deflate
            });
            config
        };
        let request = ClientRequest::new(serve.addr.to_string(), "/");
        let (mut ws, _) = WebSocket::client(stream, request, config).unwrap();
        let agreed = ws
            .connection()
            .deflate_params()
            .map(|p| (p.server_no_context_takeover, p.client_no_context_takeover));
        assert_eq!(agreed, want, "serve {options:?}");
        // Repetitive messages: with the client's context kept, later ones
        // are matched against earlier ones.
        for i in 0..50 {
            let text = format!("{{\"seq\":{i},\"text\":\"{}\"}}", "state update ".repeat(i));
            ws.send_text(&text).unwrap();
            assert_eq!(
                ws.read().unwrap(),
                Incoming::Text(text),
                "serve {options:?}"
            );
        }
        ws.close(CloseCode::NORMAL, "").unwrap();
        assert!(matches!(
            ws.read(),
            Ok(Incoming::Close(Some(CloseCode::NORMAL), _))
        ));
        drop(ws);
        serve.proc.terminate();
    }
}

/// The first two bytes (flags and opcode; mask bit and 7-bit length) of
/// serve's echo of a 1,000-byte compressible text sent uncompressed over a
/// raw socket that offered permessage-deflate.
fn echo_head(options: &[&str]) -> [u8; 2] {
    use std::io::{BufRead, BufReader, Read, Write};
    let serve = ws6455_test_support::interop::serve_with("127.0.0.1:0", options);
    let mut stream = TcpStream::connect(serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = ws6455_test_support::handshake::request(
        "/",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        assert!(
            reader.read_line(&mut head).unwrap() > 0,
            "closed in the head"
        );
    }
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("permessage-deflate"), "{head}");
    // A masked text frame, FIN, 1,000 bytes (16-bit length), key 0.
    let mut frame = vec![0x81, 0x80 | 126, 0x03, 0xE8, 0, 0, 0, 0];
    frame.extend_from_slice(&[b'a'; 1000]);
    stream.write_all(&frame).unwrap();
    let mut head = [0u8; 2];
    reader.read_exact(&mut head).unwrap();
    head
}

#[test]
fn deflate_threshold_sends_shorter_messages_uncompressed() {
    // RSV1 (0x40) marks a compressed message (RFC 7692 §6).
    assert_eq!(echo_head(&[])[0] & 0x40, 0x40, "1,000 B > 64 B: compressed");
    assert_eq!(
        echo_head(&["--deflate-threshold", "100000"])[0] & 0x40,
        0,
        "1,000 B < 100,000 B: sent as it is"
    );
}

#[test]
fn deflate_level_sets_how_hard_the_server_compresses() {
    // Level 0 stores: the compressed message (RSV1 set) is the text plus
    // a stored block's header, so it needs the 16-bit length (126). Level
    // 9, like the default 6, squeezes 1,000 equal bytes into a few.
    let stored = echo_head(&["--deflate-level", "0"]);
    assert_eq!(stored[0] & 0x40, 0x40, "still a compressed message");
    assert_eq!(stored[1], 126, "1,000 B stored: a 16-bit length");
    for options in [&["--deflate-level", "9"][..], &[]] {
        let squeezed = echo_head(options);
        assert_eq!(squeezed[0] & 0x40, 0x40, "{options:?}");
        assert!(squeezed[1] < 30, "{options:?}: {} bytes", squeezed[1]);
    }
}
