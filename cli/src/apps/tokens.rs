//! `serve --chat-token-file FILE`: who may join the chat, and as whom.
//!
//! The file has one `TOKEN NAME` pair a line, separated by white space;
//! blank lines and lines starting with `#` are ignored. The NAME (the rest
//! of the line, trimmed; 1 to 24 characters) becomes that user's nickname,
//! so nobody can take it by joining first. A TOKEN is what a client shows:
//! `Authorization: Bearer TOKEN`, `/chat?token=TOKEN`, or the subprotocol
//! `ws6455.token.TOKEN` (see `ws6455::auth`); to be usable from a browser
//! it must be an HTTP token (letters, digits, `-`, `_`, `.` … no `=`, `/`
//! or `:`), which base64url without padding and hex are.
//!
//! ```text
//! # token                  name
//! 5e1f0c0a9d2b4c8e9f1a     ann
//! Qm9iJ3MgdG9rZW4          bob
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use ws6455::auth;
use ws6455::proto::handshake::Request;

/// The subprotocol prefix that carries a token (`ws6455.token.<TOKEN>`).
pub const TOKEN_PROTOCOL_PREFIX: &str = "ws6455.token.";

/// Longest name, in characters (the chat's nickname limit).
const MAX_NAME: usize = 24;

/// Tokens and the names they stand for.
#[derive(Clone, Default)]
pub struct ChatTokens {
    names: HashMap<String, String>,
}

impl fmt::Debug for ChatTokens {
    /// The count only: tokens are secrets and never reach a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChatTokens({} tokens)", self.names.len())
    }
}

impl ChatTokens {
    /// Read and parse `path`; the error names the file and the line.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--chat-token-file {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("--chat-token-file {}: {e}", path.display()))
    }

    /// Parse the file's text (format in the module docs).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut names = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let number = n.saturating_add(1);
            let Some((token, name)) = line.split_once(char::is_whitespace) else {
                return Err(format!("line {number}: expected `TOKEN NAME`"));
            };
            let name = name.trim();
            let count = name.chars().count();
            if count == 0 || count > MAX_NAME || name.chars().any(char::is_control) {
                return Err(format!(
                    "line {number}: a name is 1 to {MAX_NAME} characters"
                ));
            }
            if names.insert(token.to_owned(), name.to_owned()).is_some() {
                return Err(format!("line {number}: this token is already listed"));
            }
        }
        if names.is_empty() {
            return Err("no `TOKEN NAME` line".into());
        }
        Ok(ChatTokens { names })
    }

    /// How many tokens there are.
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// The name bound to the token `request` carries, or why there is none
    /// (the 401's reason; never the token itself). Looks in
    /// `Authorization: Bearer`, then the `ws6455.token.` subprotocol, then
    /// the `token` query parameter.
    pub fn identify(&self, request: &Request) -> Result<&str, &'static str> {
        let token: Cow<'_, str> = auth::bearer(request)
            .or_else(|| auth::subprotocol(request, TOKEN_PROTOCOL_PREFIX))
            .map(Cow::Borrowed)
            .or_else(|| auth::query(request, "token"))
            .ok_or("no token (Authorization: Bearer, ws6455.token.* subprotocol or ?token=)")?;
        // Every entry is compared, in constant time each, so the time
        // taken says nothing about which token came close.
        let mut found = None;
        for (known, name) in &self.names {
            if auth::constant_time_eq(known.as_bytes(), token.as_bytes()) {
                found = Some(name.as_str());
            }
        }
        found.ok_or("unknown token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_token_then_name() {
        let tokens = ChatTokens::parse("# comment\n\n  abc   ann \nxyz Bob Smith\n").unwrap();
        assert_eq!(tokens.count(), 2);
        assert_eq!(tokens.names["abc"], "ann");
        assert_eq!(tokens.names["xyz"], "Bob Smith");
        assert!(format!("{tokens:?}").contains("2 tokens"));
        assert!(!format!("{tokens:?}").contains("abc"));
    }

    #[test]
    fn bad_files_name_the_line() {
        assert_eq!(
            ChatTokens::parse("abc ann\nlonely\n").unwrap_err(),
            "line 2: expected `TOKEN NAME`"
        );
        assert!(ChatTokens::parse("abc ann\nabc bob\n")
            .unwrap_err()
            .contains("already listed"));
        assert!(ChatTokens::parse(&format!("t {}", "x".repeat(25)))
            .unwrap_err()
            .starts_with("line 1: a name"));
        assert!(ChatTokens::parse("# only comments\n").is_err());
    }
}
