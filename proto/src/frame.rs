//! RFC 6455 §5.2 base framing: frame headers, decoded from and encoded into
//! byte slices.
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-------+-+-------------+-------------------------------+
//!  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//!  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//!  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//!  | |1|2|3|       |K|             |                               |
//!  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//!  |     Extended payload length continued, if payload len == 127  |
//!  + - - - - - - - - - - - - - - - +-------------------------------+
//!  |                               |Masking-key, if MASK set to 1  |
//!  +-------------------------------+-------------------------------+
//!  | Masking-key (continued)       |          Payload Data         |
//!  +-------------------------------- - - - - - - - - - - - - - - - +
//! ```
//!
//! Only the header lives here; the payload stays wherever the caller keeps
//! it, so a frame is never copied to be parsed. Like httparse, a short buffer
//! is not an error: [`decode_header`] answers `Ok(None)` and the caller
//! retries with more bytes.
//!
//! [`decode_header`] enforces only the rules that hold for every frame
//! whatever the role and the negotiated extensions (§5.2, §5.5). The RSV
//! bits (§5.2: meaningful only with an extension), the MASK bit (§5.1:
//! depends on who is talking) and size limits (§10.4: configuration) are
//! the connection's business, because only it knows those facts.

use alloc::vec::Vec;

use crate::error::ProtocolError;

/// The longest frame header (§5.2): 2 fixed bytes, 8 bytes of 64-bit
/// length, 4 bytes of masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
const MAX_CONTROL_PAYLOAD: u8 = 125;
const FIN_BIT: u8 = 0x80;
const MASK_BIT: u8 = 0x80;
const OPCODE_BITS: u8 = 0x0F;
const LEN7_BITS: u8 = 0x7F;
const LEN16_MARKER: u8 = 126;
const LEN64_MARKER: u8 = 127;

/// A frame's opcode (§5.2, §11.8): what its payload means. Reserved opcodes
/// (0x3–0x7, 0xB–0xF) have no variant, so holding an `OpCode` proves the
/// frame type is one RFC 6455 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: a later fragment of a fragmented message (§5.4).
    Continuation = 0x0,
    /// 0x1: the first (or only) frame of a UTF-8 text message (§5.6).
    Text = 0x1,
    /// 0x2: the first (or only) frame of a binary message (§5.6).
    Binary = 0x2,
    /// 0x8: the closing handshake (§5.5.1).
    Close = 0x8,
    /// 0x9: a keep-alive or liveness probe, answered by a pong (§5.5.2).
    Ping = 0x9,
    /// 0xA: the answer to a ping, or an unsolicited heartbeat (§5.5.3).
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for the 4-bit field value `v` (§5.2), or `None` for the
    /// reserved values 0x3–0x7 and 0xB–0xF and for anything above 0xF.
    pub const fn from_u8(v: u8) -> Option<OpCode> {
        match v {
            0x0 => Some(OpCode::Continuation),
            0x1 => Some(OpCode::Text),
            0x2 => Some(OpCode::Binary),
            0x8 => Some(OpCode::Close),
            0x9 => Some(OpCode::Ping),
            0xA => Some(OpCode::Pong),
            _ => None,
        }
    }

    /// The 4-bit value written in the frame's opcode field (§5.2).
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether this is a control frame (§5.5): Close, Ping or Pong. The RFC
    /// defines control frames as those whose opcode has its high bit set.
    pub const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }

    /// The opcode's lower-case name as used in §5.2 ("text", "ping", …), for
    /// logs and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            OpCode::Continuation => "continuation",
            OpCode::Text => "text",
            OpCode::Binary => "binary",
            OpCode::Close => "close",
            OpCode::Ping => "ping",
            OpCode::Pong => "pong",
        }
    }
}

/// Which of the three payload-length encodings of §5.2 a header uses: the
/// 7-bit field alone, 126 followed by 16 bits, or 127 followed by 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LengthForm {
    /// Lengths 0–125, held in the 7-bit field itself.
    Seven,
    /// Marker 126 followed by a 16-bit big-endian length.
    Sixteen,
    /// Marker 127 followed by a 64-bit big-endian length.
    SixtyFour,
}

impl LengthForm {
    /// §5.2: "the minimal number of bytes MUST be used to encode the length".
    const fn minimal_for(len: u64) -> LengthForm {
        if len <= MAX_CONTROL_PAYLOAD as u64 {
            LengthForm::Seven
        } else if len <= u16::MAX as u64 {
            LengthForm::Sixteen
        } else {
            LengthForm::SixtyFour
        }
    }

    const fn from_marker(len7: u8) -> LengthForm {
        match len7 & LEN7_BITS {
            LEN16_MARKER => LengthForm::Sixteen,
            LEN64_MARKER => LengthForm::SixtyFour,
            _ => LengthForm::Seven,
        }
    }

    /// Bytes of extended length that follow byte 1.
    const fn extension_len(self) -> usize {
        match self {
            LengthForm::Seven => 0,
            LengthForm::Sixteen => 2,
            LengthForm::SixtyFour => 8,
        }
    }
}

/// One decoded frame header (§5.2): everything before the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of its message (§5.4).
    pub fin: bool,
    /// RSV1–RSV3 as three bits: 0b100 = RSV1, 0b010 = RSV2, 0b001 = RSV3.
    /// Must be 0 unless an extension gives them a meaning (§5.2); only the
    /// low three bits are encoded.
    pub rsv: u8,
    /// What the payload means (§5.2).
    pub opcode: OpCode,
    /// The masking key, present exactly when the MASK bit is set (§5.3).
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes (§5.2). Must be below 2^63 to be sendable.
    pub payload_len: u64,
}

impl FrameHeader {
    /// The minimal length encoding for `payload_len` (§5.2), which is the one
    /// [`FrameHeader::encode`] writes.
    pub const fn length_form(&self) -> LengthForm {
        LengthForm::minimal_for(self.payload_len)
    }

    /// How many bytes [`FrameHeader::encode`] writes: 2 to 14 (§5.2).
    pub const fn encoded_len(&self) -> usize {
        let mask_len = if self.mask.is_some() { 4 } else { 0 };
        2usize
            .saturating_add(self.length_form().extension_len())
            .saturating_add(mask_len)
    }

    /// Writes the header with the minimal length encoding (§5.2) into `out`
    /// and returns how many bytes it used ([`FrameHeader::encoded_len`]).
    ///
    /// Writes exactly what the fields say: a caller that sets a
    /// `payload_len` of 2^63 or more, or builds a fragmented or oversized
    /// control frame, gets a header every peer will reject. `rsv` bits above
    /// the third are ignored.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let fin = if self.fin { FIN_BIT } else { 0 };
        let byte0 = fin | (self.rsv & 0b111) << 4 | self.opcode.as_u8();
        let mask = if self.mask.is_some() { MASK_BIT } else { 0 };
        let form = self.length_form();
        let len7 = match form {
            // Masking first makes the narrowing cast visibly lossless.
            LengthForm::Seven => (self.payload_len & u64::from(LEN7_BITS)) as u8,
            LengthForm::Sixteen => LEN16_MARKER,
            LengthForm::SixtyFour => LEN64_MARKER,
        };
        let len_bytes = self.payload_len.to_be_bytes();
        // The 16-bit form is the low two bytes of the 64-bit big-endian value.
        let extension = len_bytes
            .get(len_bytes.len().saturating_sub(form.extension_len())..)
            .unwrap_or_default();
        let key: &[u8] = match &self.mask {
            Some(key) => key,
            None => &[],
        };
        let bytes = [byte0, mask | len7];
        let mut written: usize = 0;
        for (slot, byte) in out.iter_mut().zip(bytes.iter().chain(extension).chain(key)) {
            *slot = *byte;
            written = written.saturating_add(1);
        }
        written
    }

    /// Appends the encoded header (§5.2) to `out`, for callers that build
    /// whole frames in a growable buffer.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0; MAX_HEADER_LEN];
        let len = self.encode(&mut buf);
        out.extend_from_slice(buf.get(..len).unwrap_or_default());
    }
}

/// Reads the length form a header on the wire used (§5.2) from its byte 1,
/// or `None` if `buf` is shorter than two bytes. Unlike
/// [`FrameHeader::length_form`] this shows non-minimal encodings as sent.
pub fn decoded_length_form(buf: &[u8]) -> Option<LengthForm> {
    buf.get(1).map(|&byte1| LengthForm::from_marker(byte1))
}

/// Decodes the frame header at the start of `buf` (§5.2).
///
/// * `Ok(None)`: `buf` is a valid prefix of a header; call again with more
///   bytes.
/// * `Ok(Some((header, header_len)))`: a complete header; the payload starts
///   at `buf[header_len]`.
/// * `Err(_)`: no continuation can make this a valid frame. Errors are
///   reported as soon as the offending byte is present, even if the rest of
///   the header is not, so a peer cannot stall the check by sending slowly.
///
/// Checked here: reserved opcode ([`ProtocolError::ReservedOpcode`], byte
/// 0), control frame without FIN ([`ProtocolError::FragmentedControlFrame`],
/// byte 0, §5.5), control frame whose 7-bit length field exceeds 125
/// ([`ProtocolError::ControlFrameTooLong`] with that field's value, byte 1,
/// §5.5; a 126/127 marker counts, since the real length is not read), and a
/// 64-bit length with its top bit set ([`ProtocolError::LengthTopBitSet`],
/// byte 2).
///
/// Not checked: RSV bits, the MASK bit against the role, size limits. Non-
/// minimal length encodings are accepted: the minimal-encoding rule of §5.2
/// binds the sender, and rejecting them would buy nothing.
pub fn decode_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let Some((&byte0, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let raw_opcode = byte0 & OPCODE_BITS;
    let opcode = OpCode::from_u8(raw_opcode).ok_or(ProtocolError::ReservedOpcode(raw_opcode))?;
    let fin = byte0 & FIN_BIT != 0;
    if opcode.is_control() && !fin {
        return Err(ProtocolError::FragmentedControlFrame);
    }

    let Some((&byte1, rest)) = rest.split_first() else {
        return Ok(None);
    };
    let len7 = byte1 & LEN7_BITS;
    if opcode.is_control() && len7 > MAX_CONTROL_PAYLOAD {
        return Err(ProtocolError::ControlFrameTooLong(u64::from(len7)));
    }

    let form = LengthForm::from_marker(len7);
    let (payload_len, rest) = match form {
        LengthForm::Seven => (u64::from(len7), rest),
        LengthForm::Sixteen => match rest.split_first_chunk::<2>() {
            Some((len, rest)) => (u64::from(u16::from_be_bytes(*len)), rest),
            None => return Ok(None),
        },
        LengthForm::SixtyFour => {
            // §5.2: "the most significant bit MUST be 0"; it sits in the
            // first extended byte, so judge it before waiting for the rest.
            if rest.first().is_some_and(|&b| b & 0x80 != 0) {
                return Err(ProtocolError::LengthTopBitSet);
            }
            match rest.split_first_chunk::<8>() {
                Some((len, rest)) => (u64::from_be_bytes(*len), rest),
                None => return Ok(None),
            }
        }
    };

    let (mask, mask_len) = if byte1 & MASK_BIT != 0 {
        match rest.first_chunk::<4>() {
            Some(key) => (Some(*key), 4),
            None => return Ok(None),
        }
    } else {
        (None, 0)
    };

    let header = FrameHeader {
        fin,
        rsv: (byte0 >> 4) & 0b111,
        opcode,
        mask,
        payload_len,
    };
    let header_len = 2usize
        .saturating_add(form.extension_len())
        .saturating_add(mask_len);
    Ok(Some((header, header_len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::apply_mask;
    use proptest::prelude::*;

    const ALL_OPCODES: [OpCode; 6] = [
        OpCode::Continuation,
        OpCode::Text,
        OpCode::Binary,
        OpCode::Close,
        OpCode::Ping,
        OpCode::Pong,
    ];

    /// Decodes a complete frame and returns its header and unmasked payload.
    fn decode_frame(bytes: &[u8]) -> (FrameHeader, Vec<u8>) {
        let (header, len) = decode_header(bytes).unwrap().unwrap();
        let mut payload = bytes[len..].to_vec();
        assert_eq!(payload.len() as u64, header.payload_len);
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        // Every strict prefix of a header is "need more".
        for cut in 0..len {
            assert_eq!(decode_header(&bytes[..cut]), Ok(None), "prefix {cut}");
        }
        (header, payload)
    }

    fn encode_vec(header: &FrameHeader) -> Vec<u8> {
        let mut out = Vec::new();
        header.write_to(&mut out);
        out
    }

    fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: 0,
            opcode,
            mask,
            payload_len: len,
        }
    }

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn from_hex(s: &str) -> Vec<u8> {
        s.split(' ')
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// The frames of §5.7, as printed there; the fragmented "Hello" is two.
    #[test]
    fn rfc_5_7_examples() {
        let cases = [
            ("81 05 48 65 6c 6c 6f", true, OpCode::Text, None, "Hello"),
            (
                "81 85 37 fa 21 3d 7f 9f 4d 51 58",
                true,
                OpCode::Text,
                Some(KEY),
                "Hello",
            ),
            ("01 03 48 65 6c", false, OpCode::Text, None, "Hel"),
            ("80 02 6c 6f", true, OpCode::Continuation, None, "lo"),
            ("89 05 48 65 6c 6c 6f", true, OpCode::Ping, None, "Hello"),
            (
                "8a 85 37 fa 21 3d 7f 9f 4d 51 58",
                true,
                OpCode::Pong,
                Some(KEY),
                "Hello",
            ),
        ];
        for (hex, fin, opcode, mask, text) in cases {
            let wire = from_hex(hex);
            let (h, payload) = decode_frame(&wire);
            assert_eq!(h, header(fin, opcode, mask, text.len() as u64), "{hex}");
            assert_eq!(payload, text.as_bytes());
            assert_eq!(encode_vec(&h), wire[..h.encoded_len()]);
        }
    }

    /// The 256-byte and 64 KiB binary frames of §5.7 (headers only).
    #[test]
    fn rfc_5_7_long_binary_frames() {
        let cases = [
            ("82 7E 01 00", 256, LengthForm::Sixteen),
            (
                "82 7F 00 00 00 00 00 01 00 00",
                65536,
                LengthForm::SixtyFour,
            ),
        ];
        for (hex, len, form) in cases {
            let head = from_hex(hex);
            let mut wire = head.clone();
            wire.resize(head.len() + len as usize, 0xAB);
            let (h, payload) = decode_frame(&wire);
            assert_eq!(h, header(true, OpCode::Binary, None, len));
            assert_eq!(payload.len() as u64, len);
            assert_eq!(encode_vec(&h), head);
            assert_eq!(h.length_form(), form);
            assert_eq!(decoded_length_form(&wire), Some(form));
        }
    }

    #[test]
    fn opcode_table() {
        for op in ALL_OPCODES {
            assert_eq!(OpCode::from_u8(op.as_u8()), Some(op));
        }
        let reserved = (0x3..=0x7).chain(0xB..=0xF).chain([0x10, 0x80, 0xFF]);
        for v in reserved {
            assert_eq!(OpCode::from_u8(v), None, "{v:#x}");
        }
        let control: Vec<_> = ALL_OPCODES.into_iter().filter(|o| o.is_control()).collect();
        assert_eq!(control, [OpCode::Close, OpCode::Ping, OpCode::Pong]);
        let names: Vec<_> = ALL_OPCODES.into_iter().map(OpCode::name).collect();
        assert_eq!(
            names,
            ["continuation", "text", "binary", "close", "ping", "pong"]
        );
    }

    /// Each error is reported on the shortest prefix that shows it, and
    /// every shorter prefix is "need more".
    #[test]
    fn errors_fail_fast_on_the_shortest_prefix() {
        use ProtocolError::*;
        let mut cases = vec![
            // Control frames without FIN, with and without RSV bits.
            (vec![0x08], FragmentedControlFrame),
            (vec![0x09], FragmentedControlFrame),
            (vec![0x7A], FragmentedControlFrame),
            // 126/127 markers on control frames, masked or not.
            (vec![0x88, 0x7E], ControlFrameTooLong(126)),
            (vec![0x89, 0xFF], ControlFrameTooLong(127)),
            (vec![0x8A, 0xFE], ControlFrameTooLong(126)),
            // The top bit of a 64-bit length, in the first extended byte.
            (vec![0x82, 0x7F, 0x80], LengthTopBitSet),
            (vec![0x02, 0xFF, 0xFF], LengthTopBitSet),
        ];
        for op in (0x3..=0x7).chain(0xB..=0xF) {
            for high in [0x00, 0x80, 0x70, 0xF0] {
                cases.push((vec![high | op], ReservedOpcode(op)));
            }
        }
        for (bytes, error) in cases {
            assert_eq!(decode_header(&bytes), Err(error.clone()), "{bytes:02x?}");
            for cut in 0..bytes.len() {
                assert_eq!(decode_header(&bytes[..cut]), Ok(None));
            }
        }
    }

    #[test]
    fn largest_legal_lengths_are_accepted() {
        for op in [0x88, 0x89, 0x8A] {
            let (h, len) = decode_header(&[op, 0x80 | 125, 1, 2, 3, 4])
                .unwrap()
                .unwrap();
            assert_eq!((h.payload_len, len), (125, 6));
        }
        let max = [0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let (h, len) = decode_header(&max).unwrap().unwrap();
        assert_eq!((h.payload_len, len), (i64::MAX as u64, 10));
    }

    #[test]
    fn non_minimal_lengths_are_accepted() {
        let (h, len) = decode_header(&[0x82, 0x7E, 0x00, 0x05]).unwrap().unwrap();
        assert_eq!((h.payload_len, len), (5, 4));
        assert_eq!(h.length_form(), LengthForm::Seven);
        assert_eq!(
            decoded_length_form(&[0x82, 0x7E]),
            Some(LengthForm::Sixteen)
        );
        let wire = [0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4];
        let (h, len) = decode_header(&wire).unwrap().unwrap();
        assert_eq!((h.payload_len, len, h.mask), (7, 14, Some([1, 2, 3, 4])));
        assert_eq!(decoded_length_form(&[0x82]), None);
    }

    #[test]
    fn rsv_bits_are_reported_not_rejected() {
        for rsv in 0..8u8 {
            let (h, _) = decode_header(&[0x81 | rsv << 4, 0]).unwrap().unwrap();
            assert_eq!(h.rsv, rsv);
            assert_eq!(encode_vec(&h), [0x81 | rsv << 4, 0]);
        }
    }

    #[test]
    fn length_boundaries_encode_minimally() {
        let cases = [
            (0, 2),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
            (i64::MAX as u64, 10),
        ];
        for (len, size) in cases {
            for (mask, extra) in [(None, 0), (Some(KEY), 4)] {
                let h = header(true, OpCode::Binary, mask, len);
                assert_eq!(h.encoded_len(), size + extra, "{len}");
                let wire = encode_vec(&h);
                assert_eq!(wire.len(), size + extra);
                assert_eq!(decode_header(&wire), Ok(Some((h, size + extra))));
            }
        }
    }

    fn opcode_strategy() -> impl Strategy<Value = OpCode> {
        proptest::sample::select(ALL_OPCODES.to_vec())
    }

    fn len_strategy() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..=125u64,
            126..=65535u64,
            65536..(1u64 << 63),
            proptest::sample::select(vec![0, 125, 126, 65535, 65536, (1 << 63) - 1]),
        ]
    }

    prop_compose! {
        fn valid_header()(
            opcode in opcode_strategy(),
            fin in any::<bool>(),
            rsv in 0..8u8,
            mask in proptest::option::of(any::<[u8; 4]>()),
            len in len_strategy(),
        ) -> FrameHeader {
            let control = opcode.is_control();
            FrameHeader {
                fin: fin || control,
                rsv,
                opcode,
                mask,
                payload_len: if control { len % 126 } else { len },
            }
        }
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(h in valid_header(), trailing in proptest::collection::vec(any::<u8>(), 0..8)) {
            let mut buf = [0; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            prop_assert_eq!(n, h.encoded_len());
            let mut wire = buf[..n].to_vec();
            // Payload bytes after the header must not change the answer.
            wire.extend_from_slice(&trailing);
            prop_assert_eq!(decode_header(&wire), Ok(Some((h, n))));
            for cut in 0..n {
                prop_assert_eq!(decode_header(&wire[..cut]), Ok(None));
            }
        }

        #[test]
        fn encoding_is_minimal(h in valid_header()) {
            let base = match h.payload_len {
                0..=125 => 2,
                126..=65535 => 4,
                _ => 10,
            };
            let expected = base + if h.mask.is_some() { 4 } else { 0 };
            prop_assert_eq!(h.encoded_len(), expected);
            let wire = encode_vec(&h);
            prop_assert_eq!(wire.len(), expected);
            prop_assert_eq!(decoded_length_form(&wire), Some(h.length_form()));
        }

        /// On arbitrary input the answer only ever moves from "need more" to
        /// one final verdict, errors are decided within three bytes, and any
        /// accepted header obeys the per-frame rules.
        #[test]
        fn arbitrary_bytes_decide_once_and_early(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            let full = decode_header(&bytes);
            let mut decided_at = None;
            for cut in 0..=bytes.len() {
                let r = decode_header(&bytes[..cut]);
                match decided_at {
                    None if r != Ok(None) => {
                        prop_assert_eq!(&r, &full);
                        decided_at = Some(cut);
                    }
                    None => {}
                    Some(_) => prop_assert_eq!(&r, &full),
                }
            }
            match full {
                Ok(Some((h, n))) => {
                    prop_assert!(n <= bytes.len() && n <= MAX_HEADER_LEN);
                    prop_assert_eq!(decided_at, Some(n));
                    prop_assert!(h.payload_len < 1 << 63);
                    prop_assert!(!h.opcode.is_control() || (h.fin && h.payload_len <= 125));
                }
                Err(_) => prop_assert!(decided_at.is_some_and(|at| at <= 3)),
                Ok(None) => prop_assert_eq!(decided_at, None),
            }
        }
    }
}
