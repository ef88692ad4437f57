//! Just enough JSON (RFC 8259) for the demos' messages, without serde.
//!
//! The browser pages send flat objects — `{"type":"say","text":"hi"}` —
//! whose values are strings, numbers, `true`, `false` or `null`. [`parse`]
//! accepts exactly that, strictly: one object, no nesting, no duplicate
//! keys, no trailing bytes, every string escape checked (lone surrogates
//! refused). Anything else is an error with the byte offset, which the
//! chat sends back to the page so a hand-written message can be fixed.
//!
//! The server's answers nest a little (a presence list is an array, a game
//! state is an array of objects), so [`Writer`] is a small streaming
//! serialiser that writes any shape straight into one `String`.
//!
//! Why not `serde_json`: the whole need is ~300 lines with tests, the apps
//! stay dependency-free like the library, and a strict, flat parser is a
//! smaller attack surface for text that comes straight off the network.

use std::fmt::{self, Write as _};

/// A value of a flat JSON object.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string, unescaped.
    Str(String),
    /// A number (RFC 8259 §6 grammar; read as `f64`).
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A parsed flat object: its members in document order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Value)>,
}

impl Object {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The string value of `key`; `None` if absent or not a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// The numeric value of `key`; `None` if absent or not a number.
    pub fn num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Value::Num(n)) => Some(*n),
            _ => None,
        }
    }
}

/// Why a text is not a flat JSON object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset of the offending input.
    pub offset: usize,
    /// What was expected or refused there.
    pub what: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

/// Parse `text` as one flat JSON object (see the module docs).
pub fn parse(text: &str) -> Result<Object, JsonError> {
    let mut p = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    p.expect(b'{', "expected '{'")?;
    let mut object = Object::default();
    p.skip_ws();
    if p.eat(b'}') {
        return p.finish(object);
    }
    loop {
        p.skip_ws();
        let key_at = p.pos;
        let key = p.string()?;
        if object.get(&key).is_some() {
            return Err(JsonError {
                offset: key_at,
                what: "duplicate key",
            });
        }
        p.skip_ws();
        p.expect(b':', "expected ':'")?;
        p.skip_ws();
        let value = p.value()?;
        object.members.push((key, value));
        p.skip_ws();
        if p.eat(b'}') {
            return p.finish(object);
        }
        p.expect(b',', "expected ',' or '}'")?;
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &'static str) -> Result<T, JsonError> {
        Err(JsonError {
            offset: self.pos,
            what,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), JsonError> {
        if self.eat(b) {
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// RFC 8259 §2: whitespace is space, tab, LF and CR only.
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn finish(mut self, object: Object) -> Result<Object, JsonError> {
        self.skip_ws();
        if self.pos == self.bytes.len() {
            Ok(object)
        } else {
            self.err("trailing characters after the object")
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::Str),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Num),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'{' | b'[') => self.err("nested objects and arrays are not accepted"),
            Some(_) => self.err("expected a value"),
            None => self.err("unexpected end of input"),
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            self.err("expected true, false or null")
        }
    }

    /// RFC 8259 §6: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Result<f64, JsonError> {
        let start = self.pos;
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.err("expected a digit"),
        }
        if self.eat(b'.') {
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("expected a digit after '.'");
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if !self.eat(b'+') {
                self.eat(b'-');
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return self.err("expected a digit in the exponent");
            }
            self.digits();
        }
        // The grammar above admits only ASCII, so the slice is valid UTF-8
        // and Rust's float parser accepts every string it lets through.
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("x");
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(n),
            _ => Err(JsonError {
                offset: start,
                what: "number out of range",
            }),
        }
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    /// RFC 8259 §7: a quoted string; control characters must be escaped.
    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"', "expected a string")?;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a &str and the run stops only at ASCII bytes, so
            // it ends on a character boundary.
            out.push_str(std::str::from_utf8(&self.bytes[run_start..self.pos]).unwrap_or(""));
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(_) => return self.err("unescaped control character in a string"),
                None => return self.err("unterminated string"),
            }
        }
    }

    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => return self.err("invalid escape"),
        };
        self.pos += 1;
        Ok(c)
    }

    /// `\uXXXX`, joining a UTF-16 surrogate pair; a lone surrogate cannot
    /// become a Rust `char` and is refused.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let at = self.pos;
        let unit = self.hex4()?;
        let code = match unit {
            0xd800..=0xdbff => {
                if !(self.eat(b'\\') && self.eat(b'u')) {
                    return Err(JsonError {
                        offset: at,
                        what: "lone high surrogate",
                    });
                }
                let low = self.hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(JsonError {
                        offset: at,
                        what: "lone high surrogate",
                    });
                }
                0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
            }
            0xdc00..=0xdfff => {
                return Err(JsonError {
                    offset: at,
                    what: "lone low surrogate",
                })
            }
            _ => unit,
        };
        char::from_u32(code).ok_or(JsonError {
            offset: at,
            what: "invalid code point",
        })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut unit = 0u32;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                _ => return self.err("expected four hex digits after \\u"),
            };
            unit = unit * 16 + u32::from(digit);
            self.pos += 1;
        }
        Ok(unit)
    }
}

/// A streaming JSON writer: objects, arrays, strings and numbers written
/// straight into one `String`, commas placed for you.
///
/// ```ignore
/// let mut w = Writer::new();
/// w.begin_object().key("type").string("presence").key("users");
/// w.begin_array().string("ann").string("bob").end_array();
/// w.end_object();
/// assert_eq!(w.finish(), r#"{"type":"presence","users":["ann","bob"]}"#);
/// ```
#[derive(Debug, Default)]
pub struct Writer {
    out: String,
    /// Whether the next value in the current container needs a comma.
    need_comma: bool,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }

    fn separate(&mut self) {
        if self.need_comma {
            self.out.push(',');
        }
    }

    /// `{`
    pub fn begin_object(&mut self) -> &mut Self {
        self.separate();
        self.out.push('{');
        self.need_comma = false;
        self
    }

    /// `}`
    pub fn end_object(&mut self) -> &mut Self {
        self.out.push('}');
        self.need_comma = true;
        self
    }

    /// `[`
    pub fn begin_array(&mut self) -> &mut Self {
        self.separate();
        self.out.push('[');
        self.need_comma = false;
        self
    }

    /// `]`
    pub fn end_array(&mut self) -> &mut Self {
        self.out.push(']');
        self.need_comma = true;
        self
    }

    /// An object member's key; the next call writes its value.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.separate();
        escape_into(&mut self.out, key);
        self.out.push(':');
        self.need_comma = false;
        self
    }

    /// A string value.
    pub fn string(&mut self, value: &str) -> &mut Self {
        self.separate();
        escape_into(&mut self.out, value);
        self.need_comma = true;
        self
    }

    /// An integer value.
    pub fn int(&mut self, value: i64) -> &mut Self {
        self.separate();
        let _ = write!(self.out, "{value}");
        self.need_comma = true;
        self
    }

    /// A number value; non-finite numbers (which JSON cannot spell) are
    /// written as `null`.
    pub fn num(&mut self, value: f64) -> &mut Self {
        self.separate();
        if value.is_finite() {
            let _ = write!(self.out, "{value}");
        } else {
            self.out.push_str("null");
        }
        self.need_comma = true;
        self
    }

    /// `"key":"value"`
    pub fn str_member(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key).string(value)
    }

    /// The text written so far.
    pub fn finish(self) -> String {
        self.out
    }
}

/// Write `s` as a JSON string literal: quotes, backslashes and control
/// characters escaped; `<` too, so a message can never close a `<script>`
/// if a page ever inlines one.
fn escape_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' => out.push_str("\\u003c"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One flat object of string members, for the common case.
pub fn object(members: &[(&str, &str)]) -> String {
    let mut w = Writer::new();
    w.begin_object();
    for (k, v) in members {
        w.str_member(k, v);
    }
    w.end_object();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_at(text: &str) -> usize {
        parse(text).unwrap_err().offset
    }

    #[test]
    fn parses_a_flat_object_of_every_value_kind() {
        let o =
            parse(r#" { "type" : "say", "n": -12.5e1, "t":true, "f":false, "z":null } "#).unwrap();
        assert_eq!(o.str("type"), Some("say"));
        assert_eq!(o.num("n"), Some(-125.0));
        assert_eq!(o.get("t"), Some(&Value::Bool(true)));
        assert_eq!(o.get("f"), Some(&Value::Bool(false)));
        assert_eq!(o.get("z"), Some(&Value::Null));
        assert_eq!(o.str("n"), None, "a number is not a string");
        assert_eq!(o.get("missing"), None);
        assert_eq!(parse("{}").unwrap(), Object::default());
    }

    #[test]
    fn unescapes_strings_including_surrogate_pairs() {
        let o = parse(r#"{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\u20AC\ud83d\ude00"}"#).unwrap();
        assert_eq!(o.str("s"), Some("a\"b\\c/d\u{8}\u{c}\n\r\té€😀"));
        let o = parse("{\"s\":\"héllo 😀\"}").unwrap();
        assert_eq!(o.str("s"), Some("héllo 😀"));
    }

    #[test]
    fn refuses_what_rfc_8259_refuses() {
        for bad in [
            "",
            "[]",
            "\"s\"",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{'a':1}",
            "{a:1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":-}",
            "{\"a\":tru}",
            "{\"a\":NaN}",
            "{\"a\":1e999}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"tab\there\"}",
            "{\"a\":\"unterminated}",
            "{\"a\":1} x",
            "{\"a\":1}{}",
        ] {
            assert!(parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn refuses_nesting_duplicates_and_lone_surrogates_at_the_right_byte() {
        assert_eq!(err_at(r#"{"a":{"b":1}}"#), 5);
        assert_eq!(err_at(r#"{"a":[1]}"#), 5);
        assert_eq!(err_at(r#"{"a":1,"a":2}"#), 7);
        assert_eq!(err_at(r#"{"a":"\ud800"}"#), 8);
        assert_eq!(err_at(r#"{"a":"\ud800\u0041"}"#), 8);
        assert_eq!(err_at(r#"{"a":"\udc00"}"#), 8);
        assert_eq!(
            parse("{\"a\" 1}").unwrap_err().to_string(),
            "expected ':' at byte 5"
        );
    }

    #[test]
    fn writer_nests_and_escapes() {
        let mut w = Writer::new();
        w.begin_object()
            .str_member("type", "state")
            .key("players")
            .begin_array();
        for id in 1..=2 {
            w.begin_object()
                .key("id")
                .int(id)
                .key("x")
                .num(1.5)
                .end_object();
        }
        w.end_array()
            .key("bad")
            .num(f64::NAN)
            .key("s")
            .string("q\"\\\n\u{1}</script>é");
        w.end_object();
        assert_eq!(
            w.finish(),
            r#"{"type":"state","players":[{"id":1,"x":1.5},{"id":2,"x":1.5}],"bad":null,"s":"q\"\\\n\u0001\u003c/script>é"}"#
        );
        assert_eq!(object(&[]), "{}");
        assert_eq!(object(&[("a", "b"), ("c", "d")]), r#"{"a":"b","c":"d"}"#);
    }

    #[test]
    fn what_the_writer_writes_the_parser_reads_back() {
        let nasty = "\"\\/\u{0}\u{1f}\u{7f}\u{fffd}😀<>&'";
        let text = object(&[("type", "say"), ("text", nasty)]);
        let o = parse(&text).unwrap();
        assert_eq!(o.str("type"), Some("say"));
        assert_eq!(o.str("text"), Some(nasty));
    }
}
