//! `decode_header` (§5.2) on arbitrary bytes.
//!
//! Oracles:
//! * never panics;
//! * the verdict is monotone in the input: every prefix is `Ok(None)` until
//!   the first decided prefix, and from there on every longer prefix — any
//!   bytes appended — gives exactly the same answer (errors fail fast and
//!   stay; an accepted header does not change with payload bytes after it);
//!   errors are decided within the first three bytes;
//! * every accepted header obeys the per-frame rules (§5.5 control frames
//!   are final and ≤ 125 bytes, the 64-bit length has its top bit clear);
//! * encode → decode gives the same header back; the re-encoding is
//!   minimal, so it is never longer than what was decoded, and identical to
//!   it byte for byte when the input's length form was already minimal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws6455_proto::frame::{decode_header, decoded_length_form, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let full = decode_header(data);
    let mut decided_at = None;
    for cut in 0..=data.len().min(MAX_HEADER_LEN + 2) {
        let r = decode_header(&data[..cut]);
        match decided_at {
            None if r == Ok(None) => {}
            None => {
                assert_eq!(r, full, "first verdict at {cut} differs from the whole");
                decided_at = Some(cut);
            }
            Some(at) => assert_eq!(r, full, "verdict at {at} changed at {cut}"),
        }
    }
    match full {
        Ok(None) => {
            assert_eq!(decided_at, None);
            assert!(data.len() < MAX_HEADER_LEN);
        }
        Err(_) => assert!(
            decided_at.is_some_and(|at| at <= 3),
            "late error {decided_at:?}"
        ),
        Ok(Some((header, len))) => {
            assert_eq!(
                decided_at,
                Some(len),
                "a header is complete at its last byte"
            );
            assert!(len <= MAX_HEADER_LEN);
            assert!(header.payload_len < 1 << 63);
            assert!(header.rsv < 8);
            assert_eq!(header.mask.is_some(), data[1] & 0x80 != 0);
            if header.opcode.is_control() {
                assert!(header.fin && header.payload_len <= 125);
            }
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = header.encode(&mut buf);
            assert_eq!(n, header.encoded_len());
            assert!(n <= len, "re-encoding longer than the input ({n} > {len})");
            assert_eq!(decode_header(&buf[..n]), Ok(Some((header, n))));
            assert_eq!(decoded_length_form(&buf[..n]), Some(header.length_form()));
            if decoded_length_form(data) == Some(header.length_form()) {
                assert_eq!(
                    &buf[..n],
                    &data[..len],
                    "minimal input re-encodes byte for byte"
                );
            } else {
                assert!(n < len, "non-minimal input must shrink");
            }
            // The re-encoding followed by the rest of the input decodes the
            // same (payload bytes never change a header).
            let mut again = buf[..n].to_vec();
            again.extend_from_slice(&data[len..]);
            assert_eq!(decode_header(&again), Ok(Some((header, n))));
        }
    }
});
