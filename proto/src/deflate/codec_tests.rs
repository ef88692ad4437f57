use proptest::prelude::*;

use super::*;

const HELLO: &[u8] = b"Hello";

/// Inflate one message given as fragments; the pieces handed on, or the
/// error, and the largest piece seen.
fn inflate_message(
    d: &mut Decompressor,
    fragments: &[&[u8]],
    limit: u64,
) -> (Result<Vec<u8>, ProtocolError>, usize) {
    let mut out = Vec::new();
    let mut largest = 0;
    let mut produced = 0u64;
    let result = {
        let mut sink = InflateSink {
            produced: &mut produced,
            limit,
            push: |piece: &[u8]| {
                largest = largest.max(piece.len());
                out.extend_from_slice(piece);
                Ok(())
            },
        };
        fragments
            .iter()
            .try_for_each(|f| d.inflate(f, &mut sink))
            .and_then(|()| d.finish(&mut sink))
    };
    // Never more than the limit handed on; the count is exact on success
    // and at most one byte past the limit on failure.
    assert!(out.len() as u64 <= limit);
    match &result {
        Ok(()) => assert_eq!(produced, out.len() as u64),
        Err(_) => assert!(produced <= limit.saturating_add(1)),
    }
    (result.map(|()| out), largest)
}

fn inflate_one(d: &mut Decompressor, payload: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    inflate_message(d, &[payload], u64::MAX).0
}

fn compress(c: &mut Compressor, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    assert!(c.compress(message, &mut out));
    out
}

#[test]
fn rfc_7692_7_2_3_1_hello_compresses_to_the_rfc_bytes() {
    let mut c = Compressor::new(6, 15);
    assert_eq!(
        compress(&mut c, HELLO),
        [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
    );
}

#[test]
fn rfc_7692_7_2_3_1_hello_decodes_whole_and_fragmented() {
    let mut d = Decompressor::new(15);
    assert_eq!(
        inflate_one(&mut d, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]).unwrap(),
        HELLO
    );
    let mut d = Decompressor::new(15);
    let (got, _) = inflate_message(
        &mut d,
        &[&[0xf2, 0x48, 0xcd], &[0xc9, 0xc9, 0x07, 0x00]],
        100,
    );
    assert_eq!(got.unwrap(), HELLO);
}

#[test]
fn rfc_7692_7_2_3_2_the_second_message_uses_the_shared_window() {
    let mut d = Decompressor::new(15);
    let first = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let second = [0xf2, 0x00, 0x11, 0x00, 0x00];
    assert_eq!(inflate_one(&mut d, &first).unwrap(), HELLO);
    assert_eq!(inflate_one(&mut d, &second).unwrap(), HELLO);
    // And our compressor, keeping its context, produces exactly that.
    let mut c = Compressor::new(6, 15);
    assert_eq!(compress(&mut c, HELLO), first);
    assert_eq!(compress(&mut c, HELLO), second);
    // Without the first message's window the second cannot be read.
    let mut fresh = Decompressor::new(15);
    assert_eq!(
        inflate_one(&mut fresh, &second),
        Err(ProtocolError::BadCompressedData)
    );
}

#[test]
fn rfc_7692_7_2_3_3_an_uncompressed_block_decodes() {
    let mut d = Decompressor::new(15);
    let payload = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(inflate_one(&mut d, &payload).unwrap(), HELLO);
}

#[test]
fn rfc_7692_7_2_3_4_a_final_block_decodes_and_the_stream_restarts() {
    let mut d = Decompressor::new(15);
    let payload = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    assert_eq!(inflate_one(&mut d, &payload).unwrap(), HELLO);
    // The next message starts a new stream.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(inflate_one(&mut d, &hello).unwrap(), HELLO);
    // What follows the final block (here the RFC's empty block header,
    // split off into a fragment of its own) is not part of the stream.
    let mut d = Decompressor::new(15);
    let (got, _) = inflate_message(&mut d, &[&payload[..7], &payload[7..]], 100);
    assert_eq!(got.unwrap(), HELLO);
}

#[test]
fn rfc_7692_7_2_3_5_two_blocks_in_one_message_decode() {
    let mut d = Decompressor::new(15);
    let payload = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(inflate_one(&mut d, &payload).unwrap(), HELLO);
}

#[test]
fn rfc_7692_7_2_3_6_an_empty_message_is_one_zero_byte() {
    let mut c = Compressor::new(6, 15);
    assert_eq!(compress(&mut c, b""), [0x00]);
    // A second empty flush in a row gives zlib nothing to say: still 00.
    assert_eq!(compress(&mut c, b""), [0x00]);
    let mut d = Decompressor::new(15);
    assert_eq!(inflate_one(&mut d, &[0x00]).unwrap(), b"");
    assert_eq!(inflate_one(&mut d, &[0x00]).unwrap(), b"");
    assert_eq!(
        inflate_one(&mut d, &compress(&mut c, HELLO)).unwrap(),
        HELLO
    );
}

#[test]
fn invalid_deflate_data_is_refused() {
    let mut d = Decompressor::new(15);
    // BTYPE 11 is reserved (RFC 1951 §3.2.3).
    assert_eq!(
        inflate_one(&mut d, &[0xff, 0xff, 0xff]),
        Err(ProtocolError::BadCompressedData)
    );
    // A stored block whose NLEN is not the complement of LEN.
    let mut d = Decompressor::new(15);
    assert_eq!(
        inflate_one(&mut d, &[0x00, 0x05, 0x00, 0x00, 0x00, b'H']),
        Err(ProtocolError::BadCompressedData)
    );
}

#[test]
fn a_bomb_stops_at_the_limit_in_bounded_pieces() {
    let mut c = Compressor::new(9, 15);
    let big = vec![0u8; 16 << 20];
    let bomb = compress(&mut c, &big);
    assert!(bomb.len() < 32 << 10, "{} bytes", bomb.len());
    let limit = 1 << 20;
    let mut d = Decompressor::new(15);
    let mut handed = 0usize;
    let mut largest = 0usize;
    let mut produced = 0u64;
    let mut sink = InflateSink {
        produced: &mut produced,
        limit,
        push: |piece: &[u8]| {
            handed += piece.len();
            largest = largest.max(piece.len());
            Ok(())
        },
    };
    let err = d.inflate(&bomb, &mut sink).unwrap_err();
    assert_eq!(err, ProtocolError::MessageTooLarge(limit + 1));
    assert_eq!(produced, limit + 1);
    assert_eq!(handed as u64, limit);
    assert!(largest <= INFLATE_CHUNK);
}

#[test]
fn a_message_of_exactly_the_limit_passes() {
    let mut c = Compressor::new(6, 15);
    let message = vec![b'a'; 100_000];
    let payload = compress(&mut c, &message);
    let mut d = Decompressor::new(15);
    let (got, largest) = inflate_message(&mut d, &[&payload], 100_000);
    assert_eq!(got.unwrap(), message);
    assert!(largest <= INFLATE_CHUNK);
    let mut d = Decompressor::new(15);
    let (got, _) = inflate_message(&mut d, &[&payload], 99_999);
    assert_eq!(got, Err(ProtocolError::MessageTooLarge(100_000)));
}

#[test]
fn the_sink_error_stops_inflating() {
    let mut c = Compressor::new(6, 15);
    let payload = compress(&mut c, &[b'x'; 50_000]);
    let mut d = Decompressor::new(15);
    let mut produced = 0;
    let mut calls = 0;
    let mut sink = InflateSink {
        produced: &mut produced,
        limit: u64::MAX,
        push: |_: &[u8]| {
            calls += 1;
            Err(ProtocolError::InvalidUtf8)
        },
    };
    assert_eq!(
        d.inflate(&payload, &mut sink),
        Err(ProtocolError::InvalidUtf8)
    );
    assert_eq!(calls, 1);
}

#[test]
fn small_windows_round_trip() {
    for bits in 9..=15 {
        let mut c = Compressor::new(6, bits);
        let mut d = Decompressor::new(bits);
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for _ in 0..3 {
            let payload = compress(&mut c, &text);
            assert_eq!(inflate_one(&mut d, &payload).unwrap(), text, "bits {bits}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Compress → split anywhere → inflate gives every message back, with
    /// and without context takeover, for every window and level.
    #[test]
    fn round_trip(
        messages in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..3000),
                proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'{'), Just(b'"')], 0..5000),
            ],
            1..6,
        ),
        takeover in any::<bool>(),
        bits in 9u8..=15,
        level in 0u32..=9,
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let mut c = Compressor::new(level, bits);
        let mut d = Decompressor::new(bits);
        for message in &messages {
            let payload = compress(&mut c, message);
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(payload.len() + 1)).collect();
            at.sort_unstable();
            let mut fragments = Vec::new();
            let mut last = 0;
            for cut in at {
                fragments.push(&payload[last..cut]);
                last = cut;
            }
            fragments.push(&payload[last..]);
            let (got, largest) = inflate_message(&mut d, &fragments, message.len() as u64);
            prop_assert_eq!(got.unwrap(), message.clone());
            prop_assert!(largest <= INFLATE_CHUNK);
            if !takeover {
                c.reset();
                d.reset();
            }
        }
    }

    /// Arbitrary bytes never panic and never hand on more than the limit.
    #[test]
    fn arbitrary_input_is_bounded(
        fragments in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..4),
        limit in 0u64..5000,
        bits in 8u8..=15,
    ) {
        let mut d = Decompressor::new(bits);
        let slices: Vec<&[u8]> = fragments.iter().map(Vec::as_slice).collect();
        let (got, largest) = inflate_message(&mut d, &slices, limit);
        if let Ok(out) = got {
            prop_assert!(out.len() as u64 <= limit);
        }
        prop_assert!(largest <= INFLATE_CHUNK);
        // Whatever happened, the next message can be attempted.
        d.reset();
        prop_assert_eq!(inflate_one(&mut d, &[0x00]).unwrap(), b"");
    }
}
