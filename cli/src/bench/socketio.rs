//! The little of Socket.IO v5 over Engine.IO v4 that `bench --fanout
//! --socketio` speaks: the WebSocket transport only (no long-polling, no
//! upgrade), the default namespace, events without acknowledgements.
//!
//! Every WebSocket text message is one Engine.IO packet: a type digit and
//! its data (`0` open, `1` close, `2` ping, `3` pong, `4` message, `6`
//! noop). A message packet carries one Socket.IO packet: a type digit
//! (`0` connect, `1` disconnect, `2` event, `4` connect error), then an
//! optional namespace (`/name,`) and JSON. So `40` asks to join the
//! default namespace, `40{"sid":…}` is the server's yes and
//! `42["m","…"]` is the event `m` with one string argument.
//!
//! Parsing never fails loudly: a packet this client does not know is
//! [`Packet::Other`], to be ignored.

/// The WebSocket URL of a Socket.IO server whose base is `base`
/// (`ws://host:port`, with or without a trailing slash).
pub fn url(base: &str) -> String {
    format!(
        "{}/socket.io/?EIO=4&transport=websocket",
        base.trim_end_matches('/')
    )
}

/// What the client asks to join the default namespace (sent on the
/// server's open packet).
pub const CONNECT: &str = "40";

/// The Engine.IO pong answering a ping (`3`, then the ping's data).
pub fn pong(ping_data: &[u8]) -> String {
    format!("3{}", String::from_utf8_lossy(ping_data))
}

/// The event the publisher sends, `42["publish","<payload>"]`, written
/// into `out` (cleared first). The payload is put in verbatim: the bench's
/// payloads are hex digits and `x`, which JSON strings take unescaped.
pub fn publish_into(out: &mut String, payload: &str) {
    out.clear();
    out.push_str(PUBLISH_PREFIX);
    out.push_str(payload);
    out.push_str("\"]");
}

/// What precedes the payload of a publish event.
const PUBLISH_PREFIX: &str = "42[\"publish\",\"";
/// What precedes the payload of the event the server fans out.
const DELIVERY_PREFIX: &[u8] = b"42[\"m\",\"";

/// An Engine.IO packet as this client sees it.
#[derive(Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    /// `0{…}`: the handshake; answer with [`CONNECT`].
    Open,
    /// `2…`: a ping; answer with [`pong`] of this data.
    Ping(&'a [u8]),
    /// `40…`: connected to the default namespace.
    Connected,
    /// `44…`: the server refused the namespace; its JSON.
    ConnectError(&'a [u8]),
    /// `42…`: an event; everything after `42` (`["name",args…]`).
    Event(&'a [u8]),
    /// `1`: the server closes the session.
    Close,
    /// Anything else (pong, noop, other namespaces, acks, binary events,
    /// malformed text): ignored.
    Other,
}

/// Classify one WebSocket message.
pub fn parse(message: &[u8]) -> Packet<'_> {
    match message {
        [b'0', b'{', ..] => Packet::Open,
        [b'1', ..] => Packet::Close,
        [b'2', data @ ..] => Packet::Ping(data),
        // Only the default namespace: `4<type>` with no `/nsp,` after it.
        [b'4', b'0', rest @ ..] if !rest.starts_with(b"/") => Packet::Connected,
        [b'4', b'4', rest @ ..] if !rest.starts_with(b"/") => Packet::ConnectError(rest),
        [b'4', b'2', rest @ ..] if rest.starts_with(b"[") => Packet::Event(rest),
        _ => Packet::Other,
    }
}

/// The payload of a delivered `42["m","<payload>"]` (without the closing
/// quote and bracket), or `None` for any other message.
pub fn delivery_payload(message: &[u8]) -> Option<&[u8]> {
    let rest = message.strip_prefix(DELIVERY_PREFIX)?;
    Some(rest.strip_suffix(b"\"]").unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            url("ws://127.0.0.1:9001/"),
            "ws://127.0.0.1:9001/socket.io/?EIO=4&transport=websocket"
        );
        assert_eq!(
            url("ws://h:1"),
            "ws://h:1/socket.io/?EIO=4&transport=websocket"
        );
    }

    #[test]
    fn packets() {
        let open = br#"0{"sid":"a","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
        assert_eq!(parse(open), Packet::Open);
        assert_eq!(parse(b"2"), Packet::Ping(b""));
        assert_eq!(parse(b"2probe"), Packet::Ping(b"probe"));
        assert_eq!(parse(br#"40{"sid":"x"}"#), Packet::Connected);
        assert_eq!(parse(b"40"), Packet::Connected);
        assert_eq!(
            parse(br#"44{"message":"no"}"#),
            Packet::ConnectError(br#"{"message":"no"}"#)
        );
        assert_eq!(parse(br#"42["m","ab"]"#), Packet::Event(br#"["m","ab"]"#));
        assert_eq!(parse(b"1"), Packet::Close);
    }

    #[test]
    fn bad_or_foreign_packets_are_other() {
        for bad in [
            &b""[..],
            b"0",
            b"0x",
            b"3",
            b"4",
            b"6",
            b"9zz",
            b"42",
            b"42{",
            b"40/admin,{\"sid\":\"x\"}",
            b"42/admin,[\"m\",\"x\"]",
            b"43[]",
            b"451-[\"m\",{\"_placeholder\":true,\"num\":0}]",
            b"\xff\xfe",
        ] {
            assert_eq!(parse(bad), Packet::Other, "{bad:?}");
        }
    }

    #[test]
    fn pongs_echo_the_ping_data() {
        assert_eq!(pong(b""), "3");
        assert_eq!(pong(b"probe"), "3probe");
    }

    #[test]
    fn publish_and_delivery_round_trip() {
        let mut s = String::from("stale");
        publish_into(&mut s, "000000000000002axxxx");
        assert_eq!(s, r#"42["publish","000000000000002axxxx"]"#);
        assert_eq!(
            delivery_payload(br#"42["m","000000000000002axxxx"]"#),
            Some(&b"000000000000002axxxx"[..])
        );
        // Truncated or foreign messages: no payload, or what there is.
        assert_eq!(delivery_payload(br#"42["m","00"#), Some(&b"00"[..]));
        assert_eq!(delivery_payload(br#"42["other","00"]"#), None);
        assert_eq!(delivery_payload(b"42"), None);
        assert_eq!(delivery_payload(b""), None);
    }
}
