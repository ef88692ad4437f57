//! Token authentication in `on_request`, and the identity kept per
//! connection afterwards.
//!
//! A token may come as `Authorization: Bearer <token>` (programs), as the
//! subprotocol `example.token.<token>` offered beside `example.v1` (browser
//! pages: `new WebSocket(url, ["example.v1", "example.token." + token])`),
//! or as `?token=<token>` (works everywhere, but lands in logs). No token,
//! or an unknown one: 401 with `WWW-Authenticate` before the upgrade,
//! counted in `Refusals::auth_failed` and logged by the library. An
//! accepted connection's name lives in the handler's own map, keyed by
//! `ConnId`, until `on_closed`.
//!
//! Run: `cargo run --example token_auth -- 127.0.0.1:9003 ann:s3cr3t bob:t0ken`,
//! then `ws6455 connect ws://127.0.0.1:9003/ --header 'Authorization: Bearer s3cr3t'`;
//! every line you type comes back as `ann: …`.

use std::collections::HashMap;

use ws6455::proto::handshake::Request;
use ws6455::{auth, CloseCode, ConnId, Ctx, Decision, DeflateChoice, Handler, Message, Server};

/// The subprotocol this server speaks, and the prefix of the one that
/// carries a token.
const PROTOCOL: &str = "example.v1";
const TOKEN_PREFIX: &str = "example.token.";

/// Who a token says a connection is.
#[derive(Clone)]
struct Identity {
    name: String,
}

struct Authed {
    /// token → name, from the command line.
    tokens: HashMap<String, String>,
    /// The identity of every open connection: set in `on_request`,
    /// removed in `on_closed` (which comes exactly once for each).
    who: HashMap<ConnId, Identity>,
}

impl Authed {
    /// The name of the token `request` carries, compared in constant time.
    fn identify(&self, request: &Request) -> Option<Identity> {
        let token = auth::bearer(request)
            .or_else(|| auth::subprotocol(request, TOKEN_PREFIX))
            .map(String::from)
            .or_else(|| auth::query(request, "token").map(String::from))?;
        let mut found = None;
        for (known, name) in &self.tokens {
            if auth::constant_time_eq(known.as_bytes(), token.as_bytes()) {
                found = Some(Identity { name: name.clone() });
            }
        }
        found
    }
}

impl Handler for Authed {
    fn on_request(&mut self, _: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        let Some(identity) = self.identify(request) else {
            // Say what was wrong; never echo the token.
            return Decision::unauthorized("a valid token is needed");
        };
        // Never accept with the token's own subprotocol: answer with the
        // real one the client offered beside it, if it offered any.
        let protocol = request.choose_subprotocol(&[PROTOCOL]);
        if protocol.is_none() && !request.protocols().is_empty() {
            return Decision::Reject {
                status: 400,
                reason: format!("offer the subprotocol {PROTOCOL}"),
            };
        }
        self.who.insert(id, identity);
        Decision::Accept {
            protocol: protocol.map(String::from),
            deflate: DeflateChoice::Configured,
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let Some(identity) = self.who.get(&id) else {
            return;
        };
        if let Message::Text(text) = message {
            let _ = ctx.send_text(id, &format!("{}: {text}", identity.name));
        }
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, _: CloseCode, _: bool) {
        self.who.remove(&id);
        let refusals = ctx.refusals();
        println!("{id} gone; refused so far: {refusals}");
    }
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9003".into());
    let mut tokens: HashMap<String, String> = args
        .filter_map(|pair| {
            let (name, token) = pair.split_once(':')?;
            Some((token.to_owned(), name.to_owned()))
        })
        .collect();
    if tokens.is_empty() {
        tokens.insert("s3cr3t".into(), "ann".into());
    }
    let server = Server::new().bind(listen.as_str())?;
    println!(
        "token_auth on ws://{} ({} token(s))",
        server.local_addr(),
        tokens.len()
    );
    server.run(move || Authed {
        tokens: tokens.clone(),
        who: HashMap::new(),
    })
}
