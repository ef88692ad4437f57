//! `release_when_idle`: a connection that hands its codecs back between
//! bursts and keeps only its windows speaks the same stream as one that
//! kept its codecs (RFC 7692 §7.1.1 context takeover), in both directions,
//! whenever the releases fall.

use proptest::prelude::*;

use super::codec::InflateSink;
use super::{CodecPool, Compressor, Decompressor, DeflateConfig, DeflateParams, DeflateState};
use crate::role::Role;

/// A message of JSON-like text that repeats itself across messages, so
/// that later messages refer back into earlier ones.
fn message(seed: usize, len: usize) -> Vec<u8> {
    let words = [
        "{\"user\":",
        "\"alice\"",
        ",\"text\":",
        "\"hello\"",
        "}",
        " again ",
        "42",
    ];
    let mut out = Vec::with_capacity(len);
    let mut i = seed;
    while out.len() < len {
        out.extend_from_slice(words[i % words.len()].as_bytes());
        i = i.wrapping_mul(31).wrapping_add(7);
    }
    out.truncate(len);
    out
}

/// Inflate one whole compressed message with `d`.
fn inflate(d: &mut Decompressor, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut produced = 0;
    let mut sink = InflateSink {
        produced: &mut produced,
        limit: u64::MAX,
        push: |piece: &[u8]| {
            out.extend_from_slice(piece);
            Ok(())
        },
    };
    d.inflate(payload, &mut sink).expect("inflate");
    d.finish(&mut sink).expect("finish");
    out
}

/// Inflate one whole message through the connection's receiving side.
fn receive(state: &mut DeflateState, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut produced = 0;
    {
        let (d, mut window) = state.receiving();
        let mut sink = InflateSink {
            produced: &mut produced,
            limit: u64::MAX,
            push: |piece: &[u8]| {
                if let Some(window) = window.as_deref_mut() {
                    window.push(piece);
                }
                out.extend_from_slice(piece);
                Ok(())
            },
        };
        d.inflate(payload, &mut sink).expect("inflate");
        d.finish(&mut sink).expect("finish");
    }
    state.finished_receiving();
    out
}

/// Whether the compressor and the decompressor are held.
fn held(state: &DeflateState) -> (bool, bool) {
    (state.compressor.is_some(), state.decompressor.is_some())
}

/// Bytes of window kept apart from the codecs (sent, received).
fn windows(state: &DeflateState) -> (usize, usize) {
    (
        state.sent.as_ref().map_or(0, |h| h.len()),
        state.received.as_ref().map_or(0, |h| h.len()),
    )
}

fn releasing(bits: u8) -> DeflateState {
    let params = DeflateParams {
        server_max_window_bits: bits,
        client_max_window_bits: bits,
        ..DeflateParams::default()
    };
    let config = DeflateConfig {
        release_when_idle: true,
        threshold: 0,
        ..DeflateConfig::default()
    };
    DeflateState::new(params, Role::Server, &config)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_releasing_sender_is_read_by_a_peer_that_kept_its_window(
        bits in 9u8..=15,
        sizes in proptest::collection::vec(1usize..3000, 1..24),
        releases in proptest::collection::vec(any::<bool>(), 24),
    ) {
        let mut ours = releasing(bits);
        let mut pool = CodecPool::new(2);
        let mut peer = Decompressor::new(bits);
        for (i, len) in sizes.iter().enumerate() {
            let plain = message(i, *len);
            ours.lend(&mut pool);
            let mut wire = Vec::new();
            prop_assert!(ours.compress(&plain, &mut wire));
            prop_assert_eq!(inflate(&mut peer, &wire), plain);
            if releases[i] {
                ours.give_back(Some(&mut pool));
                prop_assert_eq!(held(&ours), (false, false));
                prop_assert!(windows(&ours).0 <= 1 << bits);
            }
        }
    }

    #[test]
    fn a_releasing_receiver_reads_a_peer_that_kept_its_window(
        bits in 9u8..=15,
        sizes in proptest::collection::vec(1usize..3000, 1..24),
        releases in proptest::collection::vec(any::<bool>(), 24),
    ) {
        let mut ours = releasing(bits);
        let mut pool = CodecPool::new(2);
        let mut peer = Compressor::new(6, bits);
        for (i, len) in sizes.iter().enumerate() {
            let plain = message(i, *len);
            let mut wire = Vec::new();
            prop_assert!(peer.compress(&plain, &mut wire));
            ours.lend(&mut pool);
            prop_assert_eq!(receive(&mut ours, &wire), plain);
            if releases[i] {
                ours.give_back(Some(&mut pool));
                prop_assert_eq!(held(&ours), (false, false));
                prop_assert!(windows(&ours).1 <= 1 << bits);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Several connections of one loop take turns with fewer pooled codecs
    /// than connections: each gets its own codec back, or one another
    /// connection used (primed from its window), in any order.
    #[test]
    fn connections_sharing_a_small_pool_keep_their_own_streams(
        bits in 9u8..=15,
        limit in 0usize..=3,
        turns in proptest::collection::vec((0usize..3, 1usize..3000, any::<bool>()), 1..40),
    ) {
        let mut pool = CodecPool::new(limit);
        let mut conns: Vec<DeflateState> = (0..3).map(|_| releasing(bits)).collect();
        let mut to_peer: Vec<Decompressor> = (0..3).map(|_| Decompressor::new(bits)).collect();
        let mut from_peer: Vec<Compressor> = (0..3).map(|_| Compressor::new(6, bits)).collect();
        for (i, (who, len, release)) in turns.into_iter().enumerate() {
            let (ours, peer_in, peer_out) = (&mut conns[who], &mut to_peer[who], &mut from_peer[who]);
            ours.lend(&mut pool);
            let plain = message(i + who, len);
            let mut wire = Vec::new();
            prop_assert!(ours.compress(&plain, &mut wire));
            prop_assert_eq!(inflate(peer_in, &wire), plain.clone());
            let mut wire = Vec::new();
            prop_assert!(peer_out.compress(&plain, &mut wire));
            prop_assert_eq!(receive(ours, &wire), plain);
            if release {
                ours.give_back(Some(&mut pool));
                prop_assert!(pool.len().0 <= limit && pool.len().1 <= limit);
            }
        }
    }
}

#[test]
fn a_connection_that_comes_back_first_gets_its_own_codecs_mid_stream() {
    let mut ours = releasing(15);
    let mut pool = CodecPool::new(2);
    let mut wire = Vec::new();
    assert!(ours.compress(&message(1, 2000), &mut wire));
    assert_eq!(receive_from_fresh_peer(&mut ours), message(5, 1500));
    let codecs = codec_addresses(&ours);
    ours.give_back(Some(&mut pool));
    assert_eq!(pool.len(), (1, 1));
    ours.lend(&mut pool);
    assert_eq!(pool.len(), (0, 0));
    assert_eq!(codec_addresses(&ours), codecs, "the same codecs came back");
    assert!(
        ours.send_primed && ours.receive_primed,
        "and need no priming"
    );
}

#[test]
fn a_codec_another_connection_used_is_primed_from_the_window() {
    let mut a = releasing(15);
    let mut b = releasing(15);
    let mut pool = CodecPool::new(1);
    let first = message(1, 2000);
    let mut wire = Vec::new();
    assert!(a.compress(&first, &mut wire));
    a.give_back(Some(&mut pool));
    // b has none of its own: it takes a's, reset.
    b.lend(&mut pool);
    let mut other = Vec::new();
    assert!(b.compress(&message(9, 700), &mut other));
    b.give_back(Some(&mut pool));
    // a's own is gone; it takes b's and primes it from its window.
    a.lend(&mut pool);
    assert!(!a.send_primed, "a foreign codec is primed on first use");
    let mut again = Vec::new();
    assert!(a.compress(&first, &mut again));
    assert!(again.len() * 4 < wire.len(), "the window was not used");
    let mut peer = Decompressor::new(15);
    assert_eq!(inflate(&mut peer, &wire), first);
    assert_eq!(inflate(&mut peer, &again), first);
}

#[test]
fn while_the_pool_has_room_another_connection_gets_a_new_codec_not_ours() {
    let mut a = releasing(15);
    let mut b = releasing(15);
    let mut pool = CodecPool::new(2);
    let mut wire = Vec::new();
    assert!(a.compress(&message(1, 2000), &mut wire));
    let own = codec_addresses(&a).0;
    a.give_back(Some(&mut pool));
    b.lend(&mut pool);
    assert_eq!(held(&b), (false, false), "b makes its own on first use");
    assert!(b.compress(&message(2, 900), &mut wire));
    b.give_back(Some(&mut pool));
    assert_eq!(pool.len(), (2, 0));
    a.lend(&mut pool);
    assert_eq!(codec_addresses(&a).0, own, "a's codec waited for it");
    assert!(a.send_primed);
}

#[test]
fn a_trimmed_pool_keeps_the_codecs_handed_back_last() {
    let mut conns: Vec<DeflateState> = (0..3).map(|_| releasing(12)).collect();
    let mut pool = CodecPool::new(4);
    for (i, c) in conns.iter_mut().enumerate() {
        let mut wire = Vec::new();
        assert!(c.compress(&message(i, 500), &mut wire));
        c.give_back(Some(&mut pool));
    }
    assert_eq!(pool.len(), (3, 0));
    pool.trim(1);
    assert_eq!(pool.len(), (1, 0));
    conns[2].lend(&mut pool);
    assert!(conns[2].send_primed, "the newest owner got its own back");
    conns[0].lend(&mut pool);
    assert_eq!(held(&conns[0]), (false, false), "the oldest one's went");
}

/// The messages a peer that keeps its compressor sends, read by `ours`.
fn receive_from_fresh_peer(ours: &mut DeflateState) -> Vec<u8> {
    let mut peer = Compressor::new(6, 15);
    let mut wire = Vec::new();
    assert!(peer.compress(&message(5, 1500), &mut wire));
    receive(ours, &wire)
}

/// Where the connection's codecs live now (to tell them apart).
fn codec_addresses(state: &DeflateState) -> (usize, usize) {
    (
        state
            .compressor
            .as_deref()
            .map_or(0, |c| c as *const Compressor as usize),
        state
            .decompressor
            .as_deref()
            .map_or(0, |d| d as *const Decompressor as usize),
    )
}

#[test]
fn a_later_message_refers_back_across_a_release() {
    // Without the window, the second message could not be this small: it
    // repeats the first.
    let mut ours = releasing(15);
    let mut pool = CodecPool::new(1);
    let first = message(1, 2000);
    let mut wire = Vec::new();
    assert!(ours.compress(&first, &mut wire));
    ours.give_back(Some(&mut pool));
    assert_eq!(pool.len(), (1, 0), "the compressor went back to the pool");
    ours.lend(&mut pool);
    let mut again = Vec::new();
    assert!(ours.compress(&first, &mut again));
    assert!(
        again.len() * 4 < wire.len(),
        "{} bytes the second time, {} the first: the window was not kept",
        again.len(),
        wire.len()
    );
    let mut peer = Decompressor::new(15);
    assert_eq!(inflate(&mut peer, &wire), first);
    assert_eq!(inflate(&mut peer, &again), first);
}

#[test]
fn without_release_the_codecs_stay_and_no_window_is_kept_apart() {
    let mut ours = DeflateState::new(
        DeflateParams::default(),
        Role::Server,
        &DeflateConfig::preset(super::DeflateMemory::Full),
    );
    let mut pool = CodecPool::new(1);
    let mut wire = Vec::new();
    assert!(ours.compress(&message(3, 500), &mut wire));
    ours.give_back(Some(&mut pool));
    assert_eq!(held(&ours), (true, false));
    assert_eq!(windows(&ours), (0, 0));
}
