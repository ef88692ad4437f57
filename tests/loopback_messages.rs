//! Messages between ws6455's event-loop client and ws6455's server over
//! 127.0.0.1: every size class of the §5.2 length encoding, fragmentation
//! (§5.4), pings and pongs (§5.5.2–3), subprotocols and rejection (§4.2.2),
//! plain HTTP next to WebSocket, and many connections one after another
//! on one client loop (as Autobahn's client mode does).

use std::collections::HashSet;

use ws6455::blocking::Error as WsError;
use ws6455::{CloseCode, HandshakeError, ProtocolError, UsageError};
use ws6455::{ConnId, ConnectOptions, Ctx, WebSocket};
use ws6455_test_support::loopback::*;

/// Both sides of each §5.2 length boundary (7-bit, 16-bit, 64-bit
/// lengths), a megabyte, and the largest message the default config takes.
const SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

fn send(ctx: &mut Ctx<'_>, id: ConnId, (text, n): (bool, usize)) {
    let sent = if text {
        ctx.send_text(id, &text_of(n))
    } else {
        ctx.send_binary(id, &bytes_of(n, n as u8))
    };
    sent.expect("send");
}

fn client_msg(id: ConnId, (text, n): (bool, usize)) -> ClientEv {
    if text {
        ClientEv::Text(id, text_of(n))
    } else {
        ClientEv::Binary(id, bytes_of(n, n as u8))
    }
}

fn server_msg(id: ConnId, (text, n): (bool, usize)) -> Ev {
    if text {
        Ev::Text(id, text_of(n))
    } else {
        Ev::Binary(id, bytes_of(n, n as u8))
    }
}

/// A short description of an event, without megabytes of payload.
fn brief<T: std::fmt::Debug>(ev: &T) -> String {
    let s = format!("{ev:?}");
    if s.len() > 120 {
        format!("{}… ({} chars)", &s[..120], s.len())
    } else {
        s
    }
}

#[test]
fn every_size_class_crosses_both_ways() {
    let served = serve(quiet_config());
    // Text of 16 MiB only in optimised builds: unoptimised simdutf8 checks
    // a few MB/s, and both ends validate it, which would take ~6 s.
    let plan: Vec<(bool, usize)> = SIZES
        .iter()
        .flat_map(|&n| [(false, n), (true, n)])
        .filter(|&(text, n)| !(text && n > 1 << 20 && cfg!(debug_assertions)))
        .collect();
    let script = plan.clone();
    let mut next = 0;
    let (rec, ids) = run_client(
        quiet_config(),
        vec![(served.url("/sizes"), ConnectOptions::default())],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => send(ctx, id, script[0]),
            ClientEv::Text(..) | ClientEv::Binary(..) => {
                next += 1;
                match script.get(next) {
                    Some(&m) => send(ctx, id, m),
                    None => ctx.close(id, CloseCode::NORMAL, "done").expect("close"),
                }
            }
            _ => {}
        }),
    );
    let id = ids[0];

    // The client got every message back, whole and in order.
    let got = &rec.events;
    assert_eq!(got.len(), plan.len() + 3, "client saw {:?}", brief(got));
    assert_eq!(got[0], ClientEv::Open(id, None));
    for (i, &m) in plan.iter().enumerate() {
        assert!(
            got[i + 1] == client_msg(id, m),
            "echo {i} of {m:?}: got {}",
            brief(&got[i + 1])
        );
    }
    assert_eq!(
        got[plan.len() + 1..],
        [
            ClientEv::Close(id, Some(1000), String::new()),
            ClientEv::Closed(id, 1000, true),
        ]
    );

    // The server received each one whole (one event per message).
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("an id");
    assert_eq!(seen.len(), plan.len() + 4, "server saw {}", brief(&seen));
    assert!(matches!(&seen[0], Ev::Request { path, .. } if path == "/sizes"));
    assert_eq!(seen[1], Ev::Open(sid));
    for (i, &m) in plan.iter().enumerate() {
        assert!(
            seen[i + 2] == server_msg(sid, m),
            "message {i} of {m:?}: server got {}",
            brief(&seen[i + 2])
        );
    }
    assert_eq!(
        seen[plan.len() + 2..],
        [
            Ev::Close(sid, Some(1000), "done".into()),
            Ev::Closed(sid, 1000, true)
        ]
    );
}

/// `fragment_size` on our client splits a message into masked frames of
/// that size on the wire (§5.4, §5.3), seen by a hand-written server.
#[test]
fn client_fragment_size_splits_messages_on_the_wire() {
    let (listener, addr) = raw_listener();
    let peer = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let (mut peer, _head) = RawPeer::accept(stream);
        let mut frames = Vec::new();
        loop {
            let f = peer.frame();
            let fin = f.fin;
            frames.push(f);
            if fin {
                break;
            }
        }
        peer.send_frame(true, 8, &close_payload(1000, "got it"));
        let reply = peer.frame();
        (frames, reply)
        // Dropping the peer closes TCP, as a server does (§7.1.1).
    });

    let config = {
        let mut config = quiet_config();
        config.fragment_size = 1000;
        config
    };
    let (rec, ids) = run_client(
        config,
        vec![(format!("ws://{addr}/"), ConnectOptions::default())],
        Recorder::new(|ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                ctx.send_text(id, &text_of(10_000)).expect("send");
            }
        }),
    );
    let (frames, reply) = peer.join().expect("raw server");

    assert_eq!(frames.len(), 10, "10 000 bytes in frames of 1 000");
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.opcode, if i == 0 { 1 } else { 0 }, "frame {i} opcode");
        assert_eq!(f.fin, i == 9, "frame {i} FIN");
        assert!(f.masked, "frame {i} must be masked (§5.3)");
        assert_eq!(f.rsv, 0);
        assert_eq!(f.payload.len(), 1000);
    }
    let whole: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(whole, text_of(10_000).into_bytes());
    assert_eq!(reply.close_parts(), Some((1000, String::new())));
    assert!(reply.masked);

    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            ClientEv::Close(id, Some(1000), "got it".into()),
            ClientEv::Closed(id, 1000, true),
        ]
    );
}

/// `fragment_size` on our server splits its messages into unmasked frames.
#[test]
fn server_fragment_size_splits_messages_on_the_wire() {
    let served = serve({
        let mut config = quiet_config();
        config.fragment_size = 1000;
        config
    });
    let mut peer = RawPeer::connect(served.addr(), "/frag");
    let payload = bytes_of(10_500, 3);
    peer.send_frame(true, 2, &payload);
    let mut frames = Vec::new();
    loop {
        let f = peer.frame();
        let fin = f.fin;
        frames.push(f);
        if fin {
            break;
        }
    }
    assert_eq!(frames.len(), 11);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.opcode, if i == 0 { 2 } else { 0 }, "frame {i} opcode");
        assert_eq!(f.fin, i == 10);
        assert!(!f.masked, "server frames are never masked (§5.1)");
        assert_eq!(f.payload.len(), if i == 10 { 500 } else { 1000 });
    }
    let whole: Vec<u8> = frames.iter().flat_map(|f| f.payload.clone()).collect();
    assert_eq!(whole, payload);
    peer.send_close(1000, "");
    assert_eq!(peer.frame().close_parts(), Some((1000, String::new())));
    peer.expect_eof();
}

/// Both ends fragment at 1 000 bytes and refuse frames over 1 000 bytes,
/// yet 100 000-byte messages arrive whole at each receiver: reassembly,
/// with UTF-8 characters cut across frame boundaries.
#[test]
fn fragmented_messages_arrive_whole_both_ways() {
    let config = {
        let mut config = quiet_config();
        config.fragment_size = 1000;
        config.max_frame_size = 1000;
        config
    };
    let served = serve(config.clone());
    let plan = [
        (true, 100_000),
        (false, 100_000),
        (true, 999),
        (false, 1001),
    ];
    let mut next = 0;
    let (rec, ids) = run_client(
        config,
        vec![(served.url("/frag"), ConnectOptions::default())],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => send(ctx, id, plan[0]),
            ClientEv::Text(..) | ClientEv::Binary(..) => {
                next += 1;
                match plan.get(next) {
                    Some(&m) => send(ctx, id, m),
                    None => ctx.close(id, CloseCode::NORMAL, "").expect("close"),
                }
            }
            _ => {}
        }),
    );
    let id = ids[0];
    let mut expected = vec![ClientEv::Open(id, None)];
    expected.extend(plan.iter().map(|&m| client_msg(id, m)));
    expected.push(ClientEv::Close(id, Some(1000), String::new()));
    expected.push(ClientEv::Closed(id, 1000, true));
    assert!(rec.events == expected, "client saw {}", brief(&rec.events));

    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    let mut expected = vec![
        Ev::Request {
            id: sid,
            path: "/frag".into(),
            protocols: vec![],
        },
        Ev::Open(sid),
    ];
    expected.extend(plan.iter().map(|&m| server_msg(sid, m)));
    expected.push(Ev::Close(sid, Some(1000), String::new()));
    expected.push(Ev::Closed(sid, 1000, true));
    assert!(seen == expected, "server saw {}", brief(&seen));
}

/// Pings from either side are answered with a pong carrying the same
/// payload (§5.5.2–3); the handler sees both.
#[test]
fn pings_and_pongs_both_ways() {
    let served = serve(quiet_config());
    let big = vec![7u8; 125];
    let big2 = big.clone();
    let (rec, ids) = run_client(
        quiet_config(),
        vec![(served.url("/ping"), ConnectOptions::default())],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => {
                assert_eq!(
                    ctx.send_ping(id, &[0; 126]),
                    Err(UsageError::ControlPayloadTooLong)
                );
                ctx.send_ping(id, b"client-ping").expect("ping");
                ctx.send_ping(id, &big2).expect("125-byte ping");
            }
            ClientEv::Pong(_, p) if p.len() == 125 => {
                ctx.send_text(id, "cmd:ping:server-ping").expect("send");
            }
            ClientEv::Ping(..) => ctx.close(id, CloseCode::NORMAL, "").expect("close"),
            _ => {}
        }),
    );
    let id = ids[0];
    assert_eq!(
        rec.events,
        [
            ClientEv::Open(id, None),
            ClientEv::Pong(id, b"client-ping".to_vec()),
            ClientEv::Pong(id, big.clone()),
            ClientEv::Ping(id, b"server-ping".to_vec()),
            ClientEv::Close(id, Some(1000), String::new()),
            ClientEv::Closed(id, 1000, true),
        ]
    );
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen[1..],
        [
            Ev::Open(sid),
            Ev::Ping(sid, b"client-ping".to_vec()),
            Ev::Ping(sid, big),
            Ev::Text(sid, "cmd:ping:server-ping".into()),
            // The client's automatic pong went out before its close.
            Ev::Pong(sid, b"server-ping".to_vec()),
            Ev::Close(sid, Some(1000), String::new()),
            Ev::Closed(sid, 1000, true),
        ]
    );
}

/// §4.2.2 /subprotocol/: the server picks one of the offered protocols in
/// its own order of preference, or none; picking one that was not
/// offered is a server bug answered with 500.
#[test]
fn subprotocol_negotiation() {
    let served = serve(quiet_config());
    let offer = |protocols: &[&str]| {
        let mut options = ConnectOptions::default();
        options.protocols = protocols.iter().map(|p| p.to_string()).collect();
        options
    };
    let (rec, ids) = run_client(
        quiet_config(),
        vec![
            (served.url("/chat"), offer(&["superchat", "chat"])),
            (served.url("/other"), offer(&["other"])),
            (served.url("/badproto"), offer(&["x"])),
        ],
        Recorder::new(|ctx, id, ev| {
            if let ClientEv::Open(..) = ev {
                ctx.close(id, CloseCode::NORMAL, "").expect("close");
            }
        }),
    );
    let closed_clean = |id| {
        [
            ClientEv::Close(id, Some(1000), String::new()),
            ClientEv::Closed(id, 1000, true),
        ]
    };
    let chat = rec.of(ids[0]);
    assert_eq!(chat[0], ClientEv::Open(ids[0], Some("chat".into())));
    assert_eq!(chat[1..], closed_clean(ids[0]));
    let other = rec.of(ids[1]);
    assert_eq!(other[0], ClientEv::Open(ids[1], None));
    assert_eq!(other[1..], closed_clean(ids[1]));
    let bad = rec.of(ids[2]);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(
        matches!(&bad[0], ClientEv::Error(_, e) if e.contains("500")),
        "{bad:?}"
    );
    assert_eq!(bad[1], ClientEv::Closed(ids[2], 1006, false));

    // The server saw each offer in the client's order.
    let mut offers = Vec::new();
    let mut closed = 0;
    while closed < 3 {
        match served.events.next() {
            Ev::Request {
                path, protocols, ..
            } => offers.push((path, protocols)),
            Ev::Closed(..) => closed += 1,
            _ => {}
        }
    }
    offers.sort();
    assert_eq!(
        offers,
        [
            ("/badproto".to_string(), vec!["x".to_string()]),
            (
                "/chat".to_string(),
                vec!["superchat".to_string(), "chat".to_string()]
            ),
            ("/other".to_string(), vec!["other".to_string()]),
        ]
    );
}

/// `Decision::Reject` answers 403 with its reason and closes; a client
/// sees a failed handshake, never `on_open`.
#[test]
fn rejected_upgrade_fails_the_client_handshake() {
    let served = serve(quiet_config());

    // The event-loop client.
    let (rec, ids) = run_client(
        quiet_config(),
        vec![(served.url("/reject"), ConnectOptions::default())],
        Recorder::passive(),
    );
    let id = ids[0];
    assert_eq!(rec.events.len(), 2, "{:?}", rec.events);
    assert!(
        matches!(&rec.events[0], ClientEv::Error(_, e) if e.contains("403")),
        "{:?}",
        rec.events
    );
    assert_eq!(rec.events[1], ClientEv::Closed(id, 1006, false));
    let seen = served.events.until_closed(None);
    let sid = seen[0].id().expect("id");
    assert_eq!(
        seen,
        [
            Ev::Request {
                id: sid,
                path: "/reject".into(),
                protocols: vec![]
            },
            Ev::Closed(sid, 1006, false)
        ]
    );

    // The blocking client.
    match WebSocket::connect(&served.url("/reject"), &ConnectOptions::default()) {
        Err(WsError::Protocol(ProtocolError::Handshake(HandshakeError::UnexpectedStatus(403)))) => {
        }
        Err(e) => panic!("expected a 403 handshake failure, got {e}"),
        Ok(_) => panic!("expected a 403 handshake failure, got a connection"),
    }

    // On the wire: a complete 403 response, then the server closes TCP.
    let mut peer = RawPeer::new(
        std::net::TcpStream::connect(served.addr()).expect("connect"),
        true,
    );
    peer.send(upgrade_request(served.addr(), "/reject").as_bytes());
    let head = peer.read_head_text();
    assert!(head.starts_with("HTTP/1.1 403 "), "{head}");
    assert!(head.contains("Content-Length: 10\r\n"), "{head}");
    assert_eq!(peer.read_exact_bytes(10), b"forbidden\n");
    peer.expect_eof();
}

/// A request without `Upgrade: websocket` goes to `on_http`; the answer is
/// a complete HTTP/1.1 response and the connection is closed.
#[test]
fn plain_http_is_answered_through_on_http() {
    let served = serve(quiet_config());
    for (path, status, body) in [
        ("/", "200", PAGE.as_bytes()),
        ("/missing", "404", b"not found\n".as_slice()),
    ] {
        let mut peer = RawPeer::new(
            std::net::TcpStream::connect(served.addr()).expect("connect"),
            true,
        );
        peer.send(format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", served.addr()).as_bytes());
        let head = peer.read_head_text();
        assert!(head.starts_with(&format!("HTTP/1.1 {status} ")), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(head.contains("Connection: close\r\n"), "{head}");
        assert_eq!(peer.read_exact_bytes(body.len()), body);
        peer.expect_eof();
        let seen = served.events.until_closed(None);
        let sid = seen[0].id().expect("id");
        assert_eq!(
            seen,
            [Ev::Http(sid, path.into()), Ev::Closed(sid, 1006, false)]
        );
    }
}

/// Like Autobahn's client mode: one loop, one connection at a time, the
/// next one opened from `on_closed` of the previous.
#[test]
fn many_sequential_connections_on_one_loop() {
    const N: usize = 50;
    let served = serve(quiet_config());
    let url = served.url("/seq");
    let next_url = url.clone();
    let mut started = 1;
    let (rec, _) = run_client(
        quiet_config(),
        vec![(url, ConnectOptions::default())],
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => ctx.send_text(id, &format!("n{started}")).expect("send"),
            ClientEv::Text(..) => ctx.close(id, CloseCode::NORMAL, "").expect("close"),
            ClientEv::Closed(..) if started < N => {
                started += 1;
                ctx.connect(&next_url, &ConnectOptions::default())
                    .expect("connect");
            }
            _ => {}
        }),
    );
    let mut order = Vec::new();
    for ev in &rec.events {
        if !order.contains(&ev.id()) {
            order.push(ev.id());
        }
    }
    assert_eq!(order.len(), N, "distinct connection ids");
    assert_eq!(order.iter().collect::<HashSet<_>>().len(), N);
    for (k, &id) in order.iter().enumerate() {
        assert_eq!(
            rec.of(id),
            [
                ClientEv::Open(id, None),
                ClientEv::Text(id, format!("n{}", k + 1)),
                ClientEv::Close(id, Some(1000), String::new()),
                ClientEv::Closed(id, 1000, true),
            ],
            "connection {k}"
        );
    }
    // One after another: each connection's events end before the next's begin.
    let firsts: Vec<usize> = order
        .iter()
        .map(|&id| rec.events.iter().position(|e| e.id() == id).unwrap_or(0))
        .collect();
    assert!(firsts.windows(2).all(|w| w[1] == w[0] + 4));

    let mut clean = 0;
    while clean < N {
        if let Ev::Closed(_, code, is_clean) = served.events.next() {
            assert_eq!((code, is_clean), (1000, true));
            clean += 1;
        }
    }
}
