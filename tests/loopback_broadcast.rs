//! Broadcast: one message encoded once (`PreparedMessage`) and queued on a
//! thousand connections with `ctx.broadcast(ctx.connections(), …)`; every
//! client receives it exactly once.
//!
//! Both ends live in this process, so each connection costs two file
//! descriptors. With the usual soft limit of 1024 open files the test
//! uses as many connections as fit (about 450) instead of 1000; it never
//! raises the limit itself.

use std::collections::HashMap;
use std::time::Duration;

use ws6455::CloseCode;
use ws6455::{ConnId, ConnectOptions};
use ws6455_test_support::loopback::*;

#[test]
fn broadcast_reaches_every_connection_exactly_once() {
    let n = connections_that_fit(1000);
    assert!(
        n >= 100,
        "too few file descriptors for a meaningful test: {n}"
    );
    // A thousand handshakes at once on a loaded machine may take a while.
    let patient = {
        let mut config = quiet_config();
        config.handshake_timeout = Duration::from_secs(60);
        config
    };
    let served = serve_with(patient.clone(), false);
    let url = served.url("/crowd");
    // Longer than the 1 000-byte frames the server prepares it in, with
    // characters cut across frames: clients reassemble it (§5.4).
    let message = text_of(2_500);
    let command = format!("cmd:broadcast:{message}");

    let mut opened = 0;
    let mut received = 0;
    let expected = message.clone();
    let (rec, ids) = run_client(
        patient,
        (0..n)
            .map(|_| (url.clone(), ConnectOptions::default()))
            .collect(),
        Recorder::new(move |ctx, id, ev| match ev {
            ClientEv::Open(..) => {
                opened += 1;
                if opened == n {
                    // Everyone is in: ask for the broadcasts.
                    ctx.send_text(id, &command).expect("send");
                }
            }
            ClientEv::Text(_, t) => {
                assert!(*t == expected, "the broadcast arrived whole");
                received += 1;
                if received == n {
                    // Every connection has one; any duplicate would arrive
                    // before the close completes and be counted.
                    let all: Vec<ConnId> = ctx.connections().collect();
                    for id in all {
                        ctx.close(id, CloseCode::NORMAL, "").expect("close");
                    }
                }
            }
            _ => {}
        }),
    );

    assert_eq!(ids.len(), n);
    let mut texts: HashMap<ConnId, usize> = HashMap::new();
    let mut closed_clean = 0;
    for ev in &rec.events {
        match ev {
            ClientEv::Text(id, _) => *texts.entry(*id).or_default() += 1,
            ClientEv::Closed(_, 1000, true) => closed_clean += 1,
            ClientEv::Open(..) | ClientEv::Close(_, Some(1000), _) => {}
            other => panic!(
                "unexpected client event {other:?}; that connection saw {:?}",
                rec.of(other.id())
            ),
        }
    }
    assert_eq!(texts.len(), n, "every connection got the broadcast");
    assert!(
        texts.values().all(|&c| c == 1),
        "each exactly once: {:?}",
        texts.values().filter(|&&c| c != 1).collect::<Vec<_>>()
    );
    assert_eq!(closed_clean, n);

    // The server's broadcast was taken by every connection, the sender too.
    let taken = served
        .events
        .wait("broadcast", |e| matches!(e, Ev::Broadcast(_)));
    assert_eq!(taken, Ev::Broadcast(n));
}
