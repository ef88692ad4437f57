//! Explaining an opening handshake head (§4): each header with what the
//! RFC says about it, the verdict, and the `Sec-WebSocket-Accept`
//! arithmetic of §1.3.
//!
//! A request is judged by the core's own parser
//! ([`ws6455_proto::handshake::parse_request`]), so the verdict is exactly
//! what a ws6455 server would answer. A response cannot be judged the way a
//! client judges it — that needs the key the client sent — so its checks
//! are the ones that need no key (§4.1 steps 1–3 and the form of the accept
//! value), plus the match when the key is given.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use ws6455_proto::handshake::{
    accept_key, header_has_token, parse_request, reason_phrase, MAX_HEADERS, WEBSOCKET_GUID,
};

/// Heads larger than this are not described (the server default is 8 KiB).
const MAX_HEAD: usize = 64 << 10;

/// Which side wrote the head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    /// The client's `GET` (§4.1, judged as in §4.2.1).
    Request,
    /// The server's answer (§4.2.2, judged as in §4.1).
    Response,
}

/// One header line and what RFC 6455 says about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderLine {
    /// The name as written.
    pub name: String,
    /// The value, lossily decoded for display.
    pub value: String,
    /// Its role in the handshake, with the section, for the headers RFC
    /// 6455 names.
    pub note: Option<&'static str>,
}

/// Everything [`describe_handshake`] found out about a head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeReport {
    /// Request or response.
    pub kind: HeadKind,
    /// The request line or status line.
    pub start_line: String,
    /// Every header, in order.
    pub headers: Vec<HeaderLine>,
    /// For a request with a `Sec-WebSocket-Key`: the `Sec-WebSocket-Accept`
    /// value the server must answer with (§1.3, §4.2.2).
    pub computed_accept: Option<String>,
    /// Each rule checked: whether it holds, and the rule in words with its
    /// section.
    pub checks: Vec<(bool, String)>,
    /// Remarks that break no rule.
    pub notes: Vec<String>,
    /// How many input bytes the head used (bytes after it are frames).
    pub head_len: usize,
}

impl HandshakeReport {
    /// True when every check holds.
    pub fn is_valid(&self) -> bool {
        self.checks.iter().all(|(ok, _)| *ok)
    }

    fn check(&mut self, ok: bool, rule: impl Into<String>) {
        self.checks.push((ok, rule.into()));
    }

    fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.trim())
    }
}

/// Describes the request or response head at the start of `input` (a
/// response if it starts with `HTTP/`). `key` is the client's
/// `Sec-WebSocket-Key`, to check a response's accept value against.
///
/// Leading blank lines are skipped, and a head that lacks its final empty
/// line is completed with one (and a note says so), since text pasted into
/// a terminal rarely ends with it.
pub fn describe_handshake(input: &[u8], key: Option<&str>) -> HandshakeReport {
    let skipped = input.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let text = input.get(skipped..).unwrap_or_default();
    let kind = if text.starts_with(b"HTTP/") {
        HeadKind::Response
    } else {
        HeadKind::Request
    };
    let mut report = HandshakeReport {
        kind,
        start_line: String::new(),
        headers: Vec::new(),
        computed_accept: None,
        checks: Vec::new(),
        notes: Vec::new(),
        head_len: skipped,
    };
    let (buf, completed) = complete_head(text, kind);
    if completed {
        report
            .notes
            .push("the head did not end with an empty line; one was assumed".into());
    }
    if has_bare_lf(&buf) {
        report.notes.push(
            "lines end in LF alone; HTTP asks for CRLF (RFC 2616 §2.2), though parsers such as ws6455's accept both"
                .into(),
        );
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let parsed = match kind {
        HeadKind::Request => parse_request_line(&buf, &mut slots, &mut report),
        HeadKind::Response => parse_status_line(&buf, &mut slots, &mut report),
    };
    let Some((len, status)) = parsed else {
        return report;
    };
    if !completed {
        report.head_len = skipped.saturating_add(len);
    } else {
        report.head_len = input.len();
    }
    match kind {
        HeadKind::Request => judge_request(&mut report, &buf),
        HeadKind::Response => judge_response(&mut report, status, key),
    }
    report
}

/// The head with its final empty line, added if missing; and whether it was.
fn complete_head(text: &[u8], kind: HeadKind) -> (Vec<u8>, bool) {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let complete = match kind {
        HeadKind::Request => httparse::Request::new(&mut slots)
            .parse(text)
            .map(|s| s.is_complete()),
        HeadKind::Response => httparse::Response::new(&mut slots)
            .parse(text)
            .map(|s| s.is_complete()),
    };
    if complete.unwrap_or(true) {
        return (text.to_vec(), false);
    }
    let mut buf = text.to_vec();
    while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        buf.pop();
    }
    buf.extend_from_slice(b"\r\n\r\n");
    (buf, true)
}

fn has_bare_lf(buf: &[u8]) -> bool {
    buf.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || buf.get(i.wrapping_sub(1)) != Some(&b'\r')))
}

fn collect_headers(report: &mut HandshakeReport, headers: &[httparse::Header<'_>]) {
    let kind = report.kind;
    report.headers = headers
        .iter()
        .map(|h| HeaderLine {
            name: h.name.to_owned(),
            value: String::from_utf8_lossy(h.value).into_owned(),
            note: header_note(kind, h.name),
        })
        .collect();
}

fn parse_request_line<'b>(
    buf: &'b [u8],
    slots: &mut [httparse::Header<'b>],
    report: &mut HandshakeReport,
) -> Option<(usize, u16)> {
    let mut request = httparse::Request::new(slots);
    match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            report.start_line = format!(
                "{} {} HTTP/1.{}",
                request.method.unwrap_or_default(),
                request.path.unwrap_or_default(),
                request.version.unwrap_or_default()
            );
            collect_headers(report, request.headers);
            Some((len, 0))
        }
        Ok(httparse::Status::Partial) => {
            report.check(false, "the request head is incomplete");
            None
        }
        Err(e) => {
            report.check(false, format!("malformed HTTP request: {e}"));
            None
        }
    }
}

fn parse_status_line<'b>(
    buf: &'b [u8],
    slots: &mut [httparse::Header<'b>],
    report: &mut HandshakeReport,
) -> Option<(usize, u16)> {
    let mut response = httparse::Response::new(slots);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let code = response.code.unwrap_or_default();
            report.start_line = format!(
                "HTTP/1.{} {} {}",
                response.version.unwrap_or_default(),
                code,
                response.reason.unwrap_or_default()
            );
            collect_headers(report, response.headers);
            if response.version != Some(1) {
                report.check(false, "a 101 response must be HTTP/1.1 (§4.1)");
            }
            Some((len, code))
        }
        Ok(httparse::Status::Partial) => {
            report.check(false, "the response head is incomplete");
            None
        }
        Err(e) => {
            report.check(false, format!("malformed HTTP response: {e}"));
            None
        }
    }
}

/// The core's verdict on a request, plus the accept arithmetic.
fn judge_request(report: &mut HandshakeReport, buf: &[u8]) {
    let key = report
        .headers_named("sec-websocket-key")
        .next()
        .map(str::to_owned);
    match parse_request(buf, MAX_HEAD) {
        Ok(Some((request, _))) if request.is_websocket() => {
            report.check(
                true,
                "a valid WebSocket opening handshake: a server accepts it with 101 (§4.2.1)",
            );
        }
        Ok(Some(_)) => report.check(
            false,
            "not a WebSocket upgrade: no \"Upgrade: websocket\" header (§4.2.1 item 3); a server answers it as plain HTTP",
        ),
        Ok(None) => report.check(false, "the request head is incomplete"),
        Err(e) => {
            let status = e.http_status();
            report.check(
                false,
                format!(
                    "{e}: a server refuses it with {status} {}",
                    reason_phrase(status)
                ),
            );
        }
    }
    if let Some(key) = key {
        let decoded = STANDARD.decode(key.as_bytes()).map(|b| b.len());
        if decoded != Ok(16) {
            report.notes.push(format!(
                "Sec-WebSocket-Key {key:?} is not base64 of 16 bytes (§4.1 item 7)"
            ));
        }
        report.computed_accept = Some(accept_key(key.as_bytes()));
    }
}

/// §4.1 steps 1–4 as far as they can be checked without the client.
fn judge_response(report: &mut HandshakeReport, status: u16, key: Option<&str>) {
    if status != 101 {
        report.check(
            false,
            format!(
                "status {status} is not 101 Switching Protocols: the handshake failed, and the client handles the answer as plain HTTP (§4.1)"
            ),
        );
        return;
    }
    report.check(true, "status 101 Switching Protocols (§4.2.2)");
    let upgrades: Vec<&str> = report.headers_named("upgrade").collect();
    let upgrade_ok =
        !upgrades.is_empty() && upgrades.iter().all(|v| v.eq_ignore_ascii_case("websocket"));
    report.check(upgrade_ok, "Upgrade is \"websocket\" (§4.1, client step 2)");
    let connection_ok = report
        .headers_named("connection")
        .any(|v| header_has_token(v.as_bytes(), "upgrade"));
    report.check(
        connection_ok,
        "Connection includes the token \"Upgrade\" (§4.1, client step 3)",
    );
    let accepts: Vec<String> = report
        .headers_named("sec-websocket-accept")
        .map(str::to_owned)
        .collect();
    match accepts.as_slice() {
        [] => report.check(false, "missing Sec-WebSocket-Accept (§4.1, client step 4)"),
        [accept] => {
            let digest_len = STANDARD.decode(accept.as_bytes()).map(|b| b.len());
            report.check(
                digest_len == Ok(20),
                format!(
                    "Sec-WebSocket-Accept is well-formed: base64 of a 20-byte SHA-1 digest (§4.2.2){}",
                    match digest_len {
                        Ok(20) => String::new(),
                        Ok(n) => format!(", but it decodes to {n} bytes"),
                        Err(_) => ", but it is not base64".into(),
                    }
                ),
            );
            match key {
                Some(key) => {
                    let expected = accept_key(key.trim().as_bytes());
                    report.check(
                        *accept == expected,
                        format!(
                            "Sec-WebSocket-Accept matches the key {key}: base64(SHA-1(key + \"{WEBSOCKET_GUID}\")) = {expected} (§4.1, client step 4)"
                        ),
                    );
                }
                None => report.notes.push(
                    "whether the accept value matches depends on the client's Sec-WebSocket-Key, which a response does not carry (give the key to check it)"
                        .into(),
                ),
            }
        }
        _ => report.check(
            false,
            "exactly one Sec-WebSocket-Accept, but there are several (§4.1, client step 4)",
        ),
    }
    let protocols: Vec<&str> = report.headers_named("sec-websocket-protocol").collect();
    if !protocols.is_empty() {
        let single = protocols.len() == 1 && protocols.iter().all(|p| !p.contains(','));
        report.check(
            single,
            "Sec-WebSocket-Protocol names one subprotocol, chosen from the client's offer (§4.2.2, §4.3)",
        );
    }
}

/// What RFC 6455 says about the headers it names.
fn header_note(kind: HeadKind, name: &str) -> Option<&'static str> {
    let request = kind == HeadKind::Request;
    let lower = name.to_ascii_lowercase();
    Some(match lower.as_str() {
        "host" => "the server's authority (§4.1 item 4, §4.2.1 item 2)",
        "upgrade" if request => "must include \"websocket\" (§4.2.1 item 3)",
        "upgrade" => "must be \"websocket\" (§4.1, client step 2)",
        "connection" => "must include the token \"Upgrade\" (§4.1, §4.2.1 item 4)",
        "sec-websocket-key" => "base64 of a random 16-byte nonce (§4.1 item 7)",
        "sec-websocket-version" => "must be 13 (§4.1 item 9, §4.2.1 item 6)",
        "sec-websocket-accept" => {
            "base64(SHA-1(key + GUID)): proves the server read the key (§4.2.2)"
        }
        "sec-websocket-protocol" if request => {
            "subprotocols offered, preferred first (§4.1 item 10)"
        }
        "sec-websocket-protocol" => "the one subprotocol the server chose (§4.2.2)",
        "sec-websocket-extensions" if request => "extensions offered (§4.1 item 11, §9.1)",
        "sec-websocket-extensions" => "extensions the server accepted (§4.2.2, §9.1)",
        "origin" => "sent by browsers; a server may refuse unknown origins (§4.1 item 8, §10.2)",
        _ => return None,
    })
}
