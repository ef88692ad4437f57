//! Reading the peer's frames as autobahn's `processDataHybi` does: the
//! header checks (each violation fails the connection with 1002 and
//! reading goes on, `failByDrop` being off), UTF-8 checked per piece as it
//! arrives, compressed messages inflated, control frames answered.

use ws6455::proto::mask::apply_mask;
use ws6455::proto::raw_header::read_raw_header;
use ws6455::proto::utf8::Utf8Validator;

use super::{Drop, Event, Frame, InFrame, Peer, State, Timer, SERVER_DROP_TIMEOUT};
use crate::conformance::wirelog::Entry;

impl Peer {
    /// One step of reading (autobahn's `processDataHybi`); false when more
    /// input is needed.
    pub(super) fn process(&mut self) -> bool {
        match self.frame.take() {
            None => self.begin_frame(),
            Some(frame) => self.continue_frame(frame),
        }
    }

    fn begin_frame(&mut self) -> bool {
        let Ok(h) = read_raw_header(&self.input) else {
            return false;
        };
        let control = h.opcode > 7;
        if h.rsv != 0 && !(self.deflate.is_some() && h.rsv == 4) {
            self.protocol_violation(&format!("RSV = {} and no extension negotiated", h.rsv));
        }
        let masked = h.mask.is_some();
        if self.is_server && !masked {
            self.protocol_violation("unmasked client-to-server frame");
        }
        if !self.is_server && masked {
            self.protocol_violation("masked server-to-client frame");
        }
        if control {
            if !h.fin {
                self.protocol_violation("fragmented control frame");
            }
            if h.len7 > 125 {
                self.protocol_violation("control frame with payload length > 125 octets");
            }
            if !matches!(h.opcode, 8..=10) {
                self.protocol_violation(&format!(
                    "control frame using reserved opcode {}",
                    h.opcode
                ));
            }
            if h.opcode == 8 && h.len7 == 1 {
                self.protocol_violation("received close control frame with payload len 1");
            }
            if self.deflate.is_some() && h.rsv == 4 {
                self.protocol_violation("received compressed control frame [permessage-deflate]");
            }
        } else {
            if h.opcode > 2 {
                self.protocol_violation(&format!("data frame using reserved opcode {}", h.opcode));
            }
            if !self.inside_message && h.opcode == 0 {
                self.protocol_violation(
                    "received continuation data frame outside fragmented message",
                );
            }
            if self.inside_message && h.opcode != 0 {
                self.protocol_violation(
                    "received non-continuation data frame while inside fragmented message",
                );
            }
            if self.deflate.is_some() && h.rsv == 4 && self.inside_message {
                self.protocol_violation(
                    "received continuation data frame with compress bit set [permessage-deflate]",
                );
            }
        }
        if (h.len7 == 126 && h.payload_len < 126) || (h.len7 == 127 && h.payload_len < 65536) {
            self.protocol_violation(
                "invalid data frame length (not using minimal length encoding)",
            );
        }
        if self.state == State::Closed {
            return false;
        }
        self.input.drain(..h.header_len);
        let frame = InFrame {
            opcode: h.opcode,
            fin: h.fin,
            rsv: h.rsv,
            len: h.payload_len,
            mask: h.mask,
            got: 0,
        };
        self.frame_begin(&frame);
        let more = frame.len == 0 || !self.input.is_empty();
        self.frame = Some(frame);
        more
    }

    fn continue_frame(&mut self, mut frame: InFrame) -> bool {
        let rest = frame.len.saturating_sub(frame.got);
        let take = usize::try_from(rest)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        let mut data: Vec<u8> = self.input.drain(..take).collect();
        if let Some(key) = frame.mask {
            // The offset into the key is where this frame's payload stands.
            apply_mask(&mut data, key, (frame.got % 4) as usize);
        }
        frame.got = frame.got.saturating_add(take as u64);
        if !data.is_empty() || frame.len == 0 {
            self.frame_data(&frame, data);
        }
        if frame.got == frame.len {
            self.frame_end(&frame);
        } else {
            self.frame = Some(frame);
            return false;
        }
        !self.input.is_empty()
    }

    fn frame_begin(&mut self, frame: &InFrame) {
        if frame.opcode > 7 {
            self.control.clear();
            return;
        }
        if !self.inside_message {
            self.inside_message = true;
            self.message_compressed = self.deflate.is_some() && frame.rsv == 4;
            self.message_binary = frame.opcode == 2;
            self.message.clear();
            self.utf8 = (frame.opcode == 1).then(Utf8Validator::default);
            self.utf8_valid = true;
        }
    }

    fn frame_data(&mut self, frame: &InFrame, data: Vec<u8>) {
        if frame.opcode > 7 {
            self.control.extend_from_slice(&data);
            return;
        }
        let data = if self.message_compressed {
            match self.deflate.as_mut().map(|d| d.decompress(&data)) {
                Some(Ok(plain)) => plain,
                _ => {
                    // zlib raising inside wstest ends the connection.
                    self.abort_on_error();
                    return;
                }
            }
        } else {
            data
        };
        self.check_utf8(&data);
        if !self.failed_by_me {
            self.message.extend_from_slice(&data);
        }
    }

    /// Validate the next piece of a text message. wstest's validator stays
    /// rejected once it rejected, so every later piece fails the
    /// connection again (which, once closing, drops TCP).
    fn check_utf8(&mut self, data: &[u8]) {
        let Some(v) = self.utf8.as_mut() else {
            return;
        };
        if !self.utf8_valid || v.feed(data).is_err() {
            self.utf8_valid = false;
            self.invalid_payload("encountered invalid UTF-8 while processing text message");
        }
    }

    fn frame_end(&mut self, frame: &InFrame) {
        if frame.opcode > 7 {
            let payload = std::mem::take(&mut self.control);
            self.wirelog.push(|| Entry::RxFrame {
                opcode: frame.opcode,
                fin: frame.fin,
                rsv: frame.rsv,
                len: payload.len(),
                head: payload.iter().take(64).copied().collect(),
                masked: frame.mask.is_some(),
            });
            self.control_frame(frame.opcode, payload);
            return;
        }
        self.wirelog.push(|| Entry::RxFrame {
            opcode: frame.opcode,
            fin: frame.fin,
            rsv: frame.rsv,
            len: usize::try_from(frame.len).unwrap_or(usize::MAX),
            head: Vec::new(),
            masked: frame.mask.is_some(),
        });
        if !frame.fin {
            return;
        }
        if self.message_compressed {
            if let Some(Ok(plain)) = self.deflate.as_mut().map(|d| d.finish_message()) {
                self.check_utf8(&plain);
                if !self.failed_by_me {
                    self.message.extend_from_slice(&plain);
                }
            } else {
                self.abort_on_error();
                return;
            }
        }
        if let Some(mut v) = self.utf8.take() {
            if !self.utf8_valid || v.finish().is_err() {
                self.invalid_payload("UTF-8 text message payload ended within Unicode code point");
            }
        }
        self.inside_message = false;
        if !self.failed_by_me {
            let payload = std::mem::take(&mut self.message);
            self.events
                .push_back(Event::Message(payload, self.message_binary));
        }
    }

    fn control_frame(&mut self, opcode: u8, payload: Vec<u8>) {
        match opcode {
            8 => {
                let code = payload
                    .get(..2)
                    .and_then(|b| <[u8; 2]>::try_from(b).ok())
                    .map(u16::from_be_bytes);
                let reason = payload.get(2..).filter(|r| !r.is_empty() && code.is_some());
                self.close_frame(code, reason.map(<[u8]>::to_vec));
            }
            // autobahn answers pings only while open.
            9 if self.state == State::Open => self.send_frame(Frame::new(10, &payload)),
            10 => self.events.push_back(Event::Pong(payload)),
            _ => {}
        }
    }

    /// autobahn's `onCloseFrame`.
    fn close_frame(&mut self, code: Option<u16>, reason: Option<Vec<u8>>) {
        self.remote_close_code = code;
        if let Some(code) = code {
            let allowed = matches!(code, 1000..=1003 | 1007..=1011) || (3000..5000).contains(&code);
            if !allowed {
                self.protocol_violation(&format!("invalid close code {code}"));
            }
        }
        match reason {
            None => self.remote_close_reason = None,
            Some(raw) => match String::from_utf8(raw) {
                Ok(text) => self.remote_close_reason = Some(text),
                Err(_) => {
                    // wstest fails the connection, then its decoding of the
                    // reason raises, and Twisted ends the connection.
                    self.invalid_payload("invalid close reason (non-UTF-8 payload)");
                    self.abort_on_error();
                    return;
                }
            },
        }
        match self.state {
            State::Closing => {
                self.timers.retain(|(_, t)| *t != Timer::CloseHandshake);
                self.was_clean = true;
                if self.is_server {
                    self.drop_connection(Drop::Abort);
                } else {
                    self.schedule(SERVER_DROP_TIMEOUT, Timer::ServerDrop);
                }
            }
            State::Open => {
                self.was_clean = true;
                self.send_close_frame(Some(1000), None, true);
                if self.is_server {
                    self.drop_connection(Drop::Flush);
                }
            }
            State::Closed => self.was_clean = false,
            State::Connecting => {}
        }
    }
}
