//! RFC 6455 §5.2 frames, written from the RFC for the test harness alone:
//! the harness never uses ws6455's own encoder or decoder, so a bug there
//! cannot hide behind the same bug here.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! ```

/// Continuation frame (§5.4).
pub const CONT: u8 = 0x0;
/// Text frame.
pub const TEXT: u8 = 0x1;
/// Binary frame.
pub const BINARY: u8 = 0x2;
/// Close frame (§5.5.1).
pub const CLOSE: u8 = 0x8;
/// Ping frame (§5.5.2).
pub const PING: u8 = 0x9;
/// Pong frame (§5.5.3).
pub const PONG: u8 = 0xA;

/// The §5.7 example masking key, for frames whose bytes a test compares.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// XOR `buf` with `key`, as if `buf` started `offset` bytes into the
/// payload (§5.3).
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // Eight bytes at a time (tests run unoptimised; 16 MiB payloads
    // byte by byte would dominate the suite's run time).
    let mut rotated = [0u8; 8];
    for (i, b) in rotated.iter_mut().enumerate() {
        *b = key[(offset + i) % 4];
    }
    let word = u64::from_ne_bytes(rotated);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let x = u64::from_ne_bytes((&*chunk).try_into().unwrap()) ^ word;
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= rotated[i];
    }
}

/// A frame header announcing `len` payload bytes, with the minimal length
/// encoding (§5.2) and the masking key if any.
pub fn header(fin: bool, rsv: u8, opcode: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(14);
    out.push(((fin as u8) << 7) | ((rsv & 7) << 4) | (opcode & 0x0f));
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xffff {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

/// A whole frame: header plus (masked, when a key is given) payload.
pub fn encode(fin: bool, rsv: u8, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = header(fin, rsv, opcode, payload.len() as u64, mask);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame as it came off the wire, payload unmasked.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// RSV1..3 as a 3-bit number (0b100 = RSV1).
    pub rsv: u8,
    /// The opcode, as sent (reserved ones included).
    pub opcode: u8,
    /// Whether the MASK bit was set (the payload here is unmasked).
    pub masked: bool,
    /// The masking key, when masked.
    pub key: Option<[u8; 4]>,
    /// Bytes of the header on the wire (2, 4 or 10, plus 4 for a mask).
    pub header_len: usize,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The close frame's code and reason (`None` for an empty payload).
    pub fn close_parts(&self) -> Option<(u16, String)> {
        assert_eq!(self.opcode, CLOSE, "not a close frame: {self:?}");
        match self.payload.as_slice() {
            [] => None,
            [hi, lo, reason @ ..] => Some((
                u16::from_be_bytes([*hi, *lo]),
                String::from_utf8(reason.to_vec()).expect("close reason is UTF-8"),
            )),
            [_] => panic!("a 1-byte close payload (§5.5.1)"),
        }
    }

    /// The close frame's code (`None` for an empty payload).
    pub fn close_code(&self) -> Option<u16> {
        self.close_parts().map(|(code, _)| code)
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Frame(fin={} rsv={} op={:#x} masked={} hdr={} {})",
            self.fin,
            self.rsv,
            self.opcode,
            self.masked,
            self.header_len,
            preview(&self.payload)
        )
    }
}

/// A short, readable rendering of a payload for assertion messages.
pub fn preview(bytes: &[u8]) -> String {
    const SHOW: usize = 24;
    let head = &bytes[..bytes.len().min(SHOW)];
    let shown = match std::str::from_utf8(head) {
        Ok(s) if !s.chars().any(char::is_control) => format!("{s:?}"),
        _ => head.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    };
    if bytes.len() > SHOW {
        format!("{} bytes: {shown}…", bytes.len())
    } else {
        format!("{} bytes: {shown}", bytes.len())
    }
}

/// Decode one frame from the front of `buf`: `Ok(None)` when incomplete,
/// `Err` when the bytes break a §5.2 rule that holds for any frame
/// (non-minimal length, 64-bit length with the top bit set).
pub fn decode(buf: &[u8]) -> Result<Option<(Frame, usize)>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    let masked = b1 & 0x80 != 0;
    let (len, mut at) = match b1 & 0x7f {
        126 => {
            if buf.len() < 4 {
                return Ok(None);
            }
            let len = u16::from_be_bytes([buf[2], buf[3]]) as u64;
            if len < 126 {
                return Err(format!("16-bit length {len} is not minimal (§5.2)"));
            }
            (len, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Ok(None);
            }
            let len = u64::from_be_bytes(buf[2..10].try_into().unwrap());
            if len >> 63 != 0 {
                return Err("64-bit length with the top bit set (§5.2)".into());
            }
            if len <= 0xffff {
                return Err(format!("64-bit length {len} is not minimal (§5.2)"));
            }
            (len, 10)
        }
        n => (n as u64, 2),
    };
    let key = if masked {
        if buf.len() < at + 4 {
            return Ok(None);
        }
        let key: [u8; 4] = buf[at..at + 4].try_into().unwrap();
        at += 4;
        Some(key)
    } else {
        None
    };
    let Ok(len) = usize::try_from(len) else {
        return Err(format!("payload length {len} does not fit in memory"));
    };
    if buf.len() < at + len {
        return Ok(None);
    }
    let mut payload = buf[at..at + len].to_vec();
    if let Some(key) = key {
        apply_mask(&mut payload, key, 0);
    }
    let frame = Frame {
        fin: b0 & 0x80 != 0,
        rsv: (b0 >> 4) & 7,
        opcode: b0 & 0x0f,
        masked,
        key,
        header_len: at,
        payload,
    };
    Ok(Some((frame, at + len)))
}

/// A close frame payload: the code (big-endian) and the reason (§5.5.1).
pub fn close_payload(code: u16, reason: impl AsRef<[u8]>) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_ref());
    p
}

/// One frame as bytes: FIN, RSV bits (0b100 = RSV1), opcode, payload,
/// masked with [`MASK`] when `masked` (as a client must, §5.1).
pub fn frame_bytes(fin: bool, rsv: u8, opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    encode(fin, rsv, opcode, payload, masked.then_some(MASK))
}

/// A masked, final frame: what a well-behaved client sends.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_bytes(true, 0, opcode, payload, true)
}

/// A masked close frame with `code` and raw `reason` bytes.
pub fn close_frame(code: u16, reason: &[u8]) -> Vec<u8> {
    frame(CLOSE, &close_payload(code, reason))
}

/// `Sec-WebSocket-Accept` for a key (§1.3, §4.2.2): base64(SHA-1(key ++
/// GUID)).
pub fn accept_key(key: &str) -> String {
    use base64::Engine;
    use sha1::{Digest, Sha1};
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1).
pub fn fresh_key() -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>())
}

/// Parse a hex string ("cebae1…") into bytes.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex string {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Checks the harness's own encoder against RFC 6455's examples (§1.3,
/// §5.7); called from one test so it runs once, not once per test file.
pub fn self_check() {
    // §5.7: a single-frame unmasked text message "Hello".
    assert_eq!(
        encode(true, 0, TEXT, b"Hello", None),
        [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    );
    // §5.7: a single-frame masked text message "Hello".
    let masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        encode(true, 0, TEXT, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
        masked
    );
    let (frame, used) = decode(&masked).unwrap().unwrap();
    assert_eq!((frame.payload.as_slice(), used), (&b"Hello"[..], 11));
    // §5.7: 256 bytes binary in a single unmasked frame uses 16-bit length.
    assert_eq!(header(true, 0, BINARY, 256, None), [0x82, 0x7E, 0x01, 0x00]);
    // §5.7: 64 KiB uses the 64-bit length.
    assert_eq!(
        header(true, 0, BINARY, 65536, None),
        [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]
    );
    // §1.3's sample key.
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}
