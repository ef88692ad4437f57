//! RFC 6455 §5.5.1 close frame payloads and §7.4 status codes.
//!
//! A close payload is either empty or a 2-byte big-endian status code
//! followed by a UTF-8 reason (§5.5.1). Which codes may travel is the
//! subtle part: §7.4.1 defines 1000–1011 but forbids putting 1005, 1006 and
//! 1015 in a frame (they only describe what happened locally), 1004 is
//! reserved, IANA has since registered 1012–1014, and §7.4.2 leaves
//! 3000–4999 to applications. The same rule applies to codes we send and
//! codes we receive, so [`CloseCode::is_valid_on_wire`] serves both.

pub use crate::close_code::CloseCode;
use crate::error::{ProtocolError, UsageError};
use crate::utf8;

/// The largest close reason: a control frame carries at most 125 bytes
/// (§5.5) and the code takes two of them.
const MAX_REASON_LEN: usize = 123;

/// A parsed close frame payload (§5.5.1), borrowing its reason from the
/// received bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CloseFrame<'a> {
    /// The status code, or `None` for an empty payload (which the receiver
    /// reports as 1005, [`CloseCode::NO_STATUS`], per §7.1.5).
    pub code: Option<CloseCode>,
    /// The UTF-8 reason after the code; empty if there was none.
    pub reason: &'a str,
}

/// Parses a received close payload (§5.5.1, §7.4).
///
/// An empty payload gives code `None` and reason `""`. A 1-byte payload is
/// [`ProtocolError::ClosePayloadTooShort`], a code not valid on the wire is
/// [`ProtocolError::InvalidCloseCode`], and a reason that is not UTF-8 is
/// [`ProtocolError::InvalidUtf8`] (§8.1). The 125-byte limit is the frame
/// decoder's ([`crate::frame::decode_header`]), not checked here.
pub fn parse_close_payload(payload: &[u8]) -> Result<CloseFrame<'_>, ProtocolError> {
    let Some((code, reason)) = payload.split_first_chunk::<2>() else {
        return if payload.is_empty() {
            Ok(CloseFrame {
                code: None,
                reason: "",
            })
        } else {
            Err(ProtocolError::ClosePayloadTooShort)
        };
    };
    let code = u16::from_be_bytes(*code);
    if !CloseCode(code).is_valid_on_wire() {
        return Err(ProtocolError::InvalidCloseCode(code));
    }
    Ok(CloseFrame {
        code: Some(CloseCode(code)),
        reason: utf8::validate(reason)?,
    })
}

/// Encodes `code` and `reason` as a close payload (§5.5.1) into `out` and
/// returns its length (2 + the reason's length).
///
/// The code must be valid on the wire ([`UsageError::InvalidCloseCode`]
/// otherwise, §7.4.1) and the reason at most 123 bytes
/// ([`UsageError::CloseReasonTooLong`] otherwise, §5.5). An empty payload
/// needs no encoding, so it has no place here.
pub fn encode_close_payload(
    code: CloseCode,
    reason: &str,
    out: &mut [u8; 125],
) -> Result<usize, UsageError> {
    if !code.is_valid_on_wire() {
        return Err(UsageError::InvalidCloseCode(code.0));
    }
    let reason = reason.as_bytes();
    if reason.len() > MAX_REASON_LEN {
        return Err(UsageError::CloseReasonTooLong);
    }
    let code_bytes = code.0.to_be_bytes();
    // The length check above guarantees `out` has room for every byte.
    for (slot, byte) in out.iter_mut().zip(code_bytes.iter().chain(reason)) {
        *slot = *byte;
    }
    Ok(code_bytes.len().saturating_add(reason.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload(code: u16, reason: &[u8]) -> Vec<u8> {
        [&code.to_be_bytes()[..], reason].concat()
    }

    /// Boundary codes and the Autobahn 7.7.x (valid) and 7.9.x / 7.13.x
    /// (invalid) codes.
    const VALID: &[u16] = &[
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000,
        4999,
    ];
    const INVALID: &[u16] = &[
        0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ];

    #[test]
    fn wire_validity_at_every_boundary() {
        for &code in VALID {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
            let bytes = payload(code, b"");
            let frame = parse_close_payload(&bytes).unwrap();
            assert_eq!(frame.code, Some(CloseCode(code)));
            assert_eq!(frame.reason, "");
            let mut out = [0; 125];
            assert_eq!(encode_close_payload(CloseCode(code), "", &mut out), Ok(2));
            assert_eq!(out[..2], code.to_be_bytes());
        }
        for &code in INVALID {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
            assert_eq!(
                parse_close_payload(&payload(code, b"why")),
                Err(ProtocolError::InvalidCloseCode(code))
            );
            let mut out = [0; 125];
            assert_eq!(
                encode_close_payload(CloseCode(code), "", &mut out),
                Err(UsageError::InvalidCloseCode(code))
            );
        }
    }

    #[test]
    fn empty_payload_has_no_code() {
        assert_eq!(
            parse_close_payload(&[]),
            Ok(CloseFrame {
                code: None,
                reason: ""
            })
        );
    }

    #[test]
    fn one_byte_payload_is_too_short() {
        for b in [0x00, 0x03, 0xE8, 0xFF] {
            assert_eq!(
                parse_close_payload(&[b]),
                Err(ProtocolError::ClosePayloadTooShort)
            );
        }
    }

    #[test]
    fn autobahn_7_5_1_invalid_utf8_reason() {
        let reason = [
            0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            0x65, 0x64, 0x69, 0x74, 0x65, 0x64,
        ];
        assert_eq!(
            parse_close_payload(&payload(1000, &reason)),
            Err(ProtocolError::InvalidUtf8)
        );
        // A code check comes first: a bad code with a bad reason is a bad code.
        assert_eq!(
            parse_close_payload(&payload(1005, &reason)),
            Err(ProtocolError::InvalidCloseCode(1005))
        );
    }

    #[test]
    fn reason_is_returned() {
        let bytes = payload(4001, "bye κόσμε".as_bytes());
        let frame = parse_close_payload(&bytes).unwrap();
        assert_eq!(frame.code, Some(CloseCode(4001)));
        assert_eq!(frame.reason, "bye κόσμε");
    }

    #[test]
    fn reason_of_123_bytes_fits_124_does_not() {
        let mut out = [0; 125];
        let max = "a".repeat(123);
        assert_eq!(
            encode_close_payload(CloseCode::NORMAL, &max, &mut out),
            Ok(125)
        );
        assert_eq!(&out[2..], max.as_bytes());
        assert_eq!(
            encode_close_payload(CloseCode::NORMAL, &"a".repeat(124), &mut out),
            Err(UsageError::CloseReasonTooLong)
        );
        // Bytes, not chars: 62 two-byte chars are 124 bytes.
        assert_eq!(
            encode_close_payload(CloseCode::NORMAL, &"é".repeat(62), &mut out),
            Err(UsageError::CloseReasonTooLong)
        );
        // An invalid code is reported before the length.
        assert_eq!(
            encode_close_payload(CloseCode(1006), &"a".repeat(124), &mut out),
            Err(UsageError::InvalidCloseCode(1006))
        );
    }

    #[test]
    fn meanings_and_display() {
        let cases = [
            (0, "invalid"),
            (999, "invalid"),
            (1000, "normal closure"),
            (1001, "going away"),
            (1002, "protocol error"),
            (1003, "unsupported data"),
            (1004, "reserved"),
            (1005, "no status received"),
            (1006, "abnormal closure"),
            (1007, "invalid payload data"),
            (1008, "policy violation"),
            (1009, "message too big"),
            (1010, "mandatory extension"),
            (1011, "internal error"),
            (1012, "service restart"),
            (1013, "try again later"),
            (1014, "bad gateway"),
            (1015, "TLS handshake failure"),
            (1016, "reserved"),
            (2999, "reserved"),
            (3000, "registered by IANA (3000–3999)"),
            (3999, "registered by IANA (3000–3999)"),
            (4000, "private use (4000–4999)"),
            (4999, "private use (4000–4999)"),
            (5000, "invalid"),
            (65535, "invalid"),
        ];
        for (code, meaning) in cases {
            assert_eq!(CloseCode(code).meaning(), meaning, "{code}");
        }
        assert_eq!(CloseCode::NORMAL.to_string(), "1000 (normal closure)");
        assert_eq!(
            CloseCode(4242).to_string(),
            "4242 (private use (4000–4999))"
        );
    }

    #[test]
    fn named_constants_and_conversions() {
        let named = [
            (CloseCode::NORMAL, 1000),
            (CloseCode::GOING_AWAY, 1001),
            (CloseCode::PROTOCOL_ERROR, 1002),
            (CloseCode::UNSUPPORTED_DATA, 1003),
            (CloseCode::NO_STATUS, 1005),
            (CloseCode::ABNORMAL, 1006),
            (CloseCode::INVALID_PAYLOAD, 1007),
            (CloseCode::POLICY_VIOLATION, 1008),
            (CloseCode::MESSAGE_TOO_BIG, 1009),
            (CloseCode::MANDATORY_EXTENSION, 1010),
            (CloseCode::INTERNAL_ERROR, 1011),
            (CloseCode::SERVICE_RESTART, 1012),
            (CloseCode::TRY_AGAIN_LATER, 1013),
            (CloseCode::BAD_GATEWAY, 1014),
            (CloseCode::TLS_HANDSHAKE, 1015),
        ];
        for (code, value) in named {
            assert_eq!(u16::from(code), value);
            assert_eq!(CloseCode::from(value), code);
        }
        assert!(CloseCode::NORMAL < CloseCode::GOING_AWAY);
    }

    fn wire_code() -> impl Strategy<Value = CloseCode> {
        prop_oneof![1000..=1003u16, 1007..=1014u16, 3000..=4999u16].prop_map(CloseCode)
    }

    /// Any string of at most 123 bytes, cut back to a char boundary.
    fn reason() -> impl Strategy<Value = String> {
        ".{0,123}".prop_map(|mut s| {
            let mut end = s.len().min(123);
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s
        })
    }

    proptest! {
        #[test]
        fn encode_parse_round_trip(code in wire_code(), reason in reason()) {
            let mut out = [0; 125];
            let len = encode_close_payload(code, &reason, &mut out).unwrap();
            prop_assert_eq!(len, 2 + reason.len());
            let frame = parse_close_payload(&out[..len]).unwrap();
            prop_assert_eq!(frame, CloseFrame { code: Some(code), reason: &reason });
        }

        #[test]
        fn validity_decides_parse_and_encode(code in any::<u16>()) {
            let valid = CloseCode(code).is_valid_on_wire();
            prop_assert_eq!(parse_close_payload(&payload(code, b"x")).is_ok(), valid);
            let mut out = [0; 125];
            prop_assert_eq!(encode_close_payload(CloseCode(code), "x", &mut out).is_ok(), valid);
            prop_assert_eq!(valid, CloseCode(code).meaning() != "invalid"
                && CloseCode(code).meaning() != "reserved"
                && ![1005, 1006, 1015].contains(&code));
        }

        #[test]
        fn parse_agrees_with_std_on_reasons(bytes in proptest::collection::vec(any::<u8>(), 0..125)) {
            let parsed = parse_close_payload(&bytes);
            match bytes.len() {
                0 => prop_assert_eq!(parsed, Ok(CloseFrame { code: None, reason: "" })),
                1 => prop_assert_eq!(parsed, Err(ProtocolError::ClosePayloadTooShort)),
                _ => {
                    let code = u16::from_be_bytes([bytes[0], bytes[1]]);
                    let expected = if !CloseCode(code).is_valid_on_wire() {
                        Err(ProtocolError::InvalidCloseCode(code))
                    } else {
                        core::str::from_utf8(&bytes[2..])
                            .map(|reason| CloseFrame { code: Some(CloseCode(code)), reason })
                            .map_err(|_| ProtocolError::InvalidUtf8)
                    };
                    prop_assert_eq!(parsed, expected);
                }
            }
        }
    }
}
