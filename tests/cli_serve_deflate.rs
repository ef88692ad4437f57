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
