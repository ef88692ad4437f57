//! Feeding the same bytes split at any points yields exactly the same
//! events and output (proptest).

use std::sync::Arc;

use ws6455::proto::{Config, Connection, OpCode};
use ws6455_test_support::core::*;

mod split_invariance {
    use super::*;
    use proptest::prelude::*;

    fn conversation() -> Vec<u8> {
        let mut bytes = REQUEST.to_vec();
        bytes.extend(client_frame(true, OpCode::Text, "héllo wörld".as_bytes()));
        bytes.extend(client_frame(false, OpCode::Binary, &[1, 2, 3]));
        bytes.extend(client_frame(true, OpCode::Ping, b"mid"));
        bytes.extend(client_frame(true, OpCode::Continuation, &[4; 300]));
        bytes.extend(client_frame(false, OpCode::Text, "κό".as_bytes()));
        bytes.extend(client_frame(true, OpCode::Continuation, "σμε".as_bytes()));
        bytes.extend(client_frame(true, OpCode::Pong, b""));
        bytes.extend(client_frame(true, OpCode::Binary, &[9; 70000]));
        bytes.extend(client_frame(true, OpCode::Close, &[0x03, 0xe8, b'o', b'k']));
        bytes
    }

    fn run(bytes: &[u8], cuts: &[usize]) -> (Vec<Ev>, Vec<u8>) {
        let mut s = Connection::server(Arc::new(Config::default()), t0());
        let mut evs = Vec::new();
        let mut last = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
        points.push(bytes.len());
        points.sort_unstable();
        for p in points {
            s.recv(&bytes[last..p]);
            last = p;
            while let Some(ev) = s.poll_event() {
                let ev = owned(ev);
                if matches!(ev, Ev::Request(_)) {
                    s.accept(t0(), None, &[]).unwrap();
                }
                evs.push(ev);
            }
        }
        (evs, take_output(&mut s))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_split_yields_the_same_events(cuts in proptest::collection::vec(0usize..80_000, 0..40)) {
            let bytes = conversation();
            let whole = run(&bytes, &[]);
            prop_assert_eq!(whole.0.len(), 9);
            let split = run(&bytes, &cuts);
            prop_assert_eq!(split, whole);
        }

        #[test]
        fn byte_at_a_time_matches_the_whole(prefix in 0usize..600) {
            let bytes = conversation();
            let cuts: Vec<usize> = (0..prefix.min(bytes.len())).collect();
            prop_assert_eq!(run(&bytes, &cuts), run(&bytes, &[]));
        }
    }
}
