//! The demos `ws6455 serve` hosts beside its echo endpoint: a chat and a
//! multiplayer dot game, each a [`Handler`] on the library's public API,
//! with a browser page embedded in the binary.
//!
//! [`Routes`] picks the app by path: `/chat` → [`chat::Chat`], `/game` →
//! [`game::Game`], every other WebSocket path → the fallback handler (the
//! echo, which the Autobahn testee relies on). Plain `GET /` and
//! `GET /game` serve the pages; other plain requests go to the fallback.
//!
//! One event loop, one `Routes`: the chat's rooms and the game's players
//! live in the handler of one loop, and a connection can only be sent to
//! from its own loop. With `--threads N > 1` the kernel spreads browsers
//! over N loops that cannot see each other, so two tabs could sit in "the
//! same" room without meeting. Rather than a demo that is silently wrong,
//! the demo routes then answer 503 with the reason; the echo endpoint
//! scales across threads as before — unless the loops share a broker
//! (`serve --redis`, [`cluster`]): then every loop, of this server or
//! another, is one member of the same chat and the same field.

pub mod chat;
pub mod cluster;
pub mod game;
pub mod tokens;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::io;

use serde::Serialize;

use ws6455::proto::handshake::Request;
use ws6455::proto::Response;
use ws6455::CloseCode;
use ws6455::{ConnError, ConnId, Ctx, Decision, DeflateChoice, Handler, HttpResponse, Message};

use log::info;

/// `value` as JSON text, with `<` written `\u003c` so a message can never
/// close a `<script>` if a page ever inlines one.
pub fn encode<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, ScriptSafe);
    // The demos' messages are structs of strings and numbers, which always
    // serialise; should one ever fail, the page gets an empty object.
    if value.serialize(&mut serializer).is_err() {
        return "{}".into();
    }
    String::from_utf8(out).unwrap_or_else(|_| "{}".into())
}

/// serde_json's compact output, except for `<` inside strings.
struct ScriptSafe;

impl serde_json::ser::Formatter for ScriptSafe {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut parts = fragment.split('<');
        if let Some(first) = parts.next() {
            writer.write_all(first.as_bytes())?;
        }
        for part in parts {
            writer.write_all(b"\\u003c")?;
            writer.write_all(part.as_bytes())?;
        }
        Ok(())
    }
}

/// Frame size for the demos' broadcasts: every message they send is far
/// smaller, so each is one frame (the same default as `Config`).
pub const FRAGMENT_SIZE: usize = 64 << 10;

const NOT_ON_THREADS: &str =
    "the chat and game demos keep their state in one event loop: run `ws6455 serve --threads 1`\n";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum App {
    Chat,
    Game,
}

/// Routes each connection to the chat, the game or the fallback handler.
pub struct Routes<H> {
    chat: chat::Chat,
    game: game::Game,
    fallback: H,
    routes: HashMap<ConnId, App>,
    /// Connections that asked plain HTTP, or whose upgrade the chat refused
    /// for want of a token: logged as a request with its status (or by the
    /// library's refusal line), not as a WebSocket that closed without a
    /// close frame.
    http: HashSet<ConnId>,
    demos: bool,
    /// `--chat-token-file`: `/chat` then needs one of these tokens.
    chat_tokens: Option<tokens::ChatTokens>,
    /// `--redis`: the demos span every server on that Redis.
    cluster: Option<cluster::Cluster>,
}

/// Notify tokens of the apps' broker links.
const CHAT_BROKER: u64 = 0x6368_6174; // "chat"
const GAME_BROKER: u64 = 0x6761_6d65; // "game"

impl<H: Handler> Routes<H> {
    /// The demos in front of `fallback`. `demos` false (several event
    /// loops) answers the demo paths with 503 instead of serving them.
    pub fn new(fallback: H, demos: bool) -> Self {
        Routes {
            chat: chat::Chat::new(),
            game: game::Game::new(),
            fallback,
            routes: HashMap::new(),
            http: HashSet::new(),
            demos,
            chat_tokens: None,
            cluster: None,
        }
    }

    /// Share the chat and the game with every server on `cluster`'s
    /// broker (`serve --redis`); links are taken when the loop starts.
    pub fn with_cluster(mut self, cluster: Option<cluster::Cluster>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Require a token from `tokens` on `/chat`: the token's name is the
    /// user's nickname. Without one, or with an unknown one, the upgrade is
    /// answered 401 (which the library counts and logs).
    pub fn with_chat_tokens(mut self, tokens: Option<tokens::ChatTokens>) -> Self {
        self.chat_tokens = tokens;
        self
    }

    fn page(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> HttpResponse {
        let page = match request.path() {
            "/" | "/index.html" => chat::PAGE,
            "/game" => game::PAGE,
            _ => return self.fallback.on_http(ctx, id, request),
        };
        if !self.demos {
            let mut response = HttpResponse::ok("text/plain; charset=utf-8", NOT_ON_THREADS);
            response.status = 503;
            return response;
        }
        let mut response = HttpResponse::ok("text/html; charset=utf-8", page);
        // The pages change with the binary; never show a stale one.
        response
            .headers
            .push(("Cache-Control".into(), "no-store".into()));
        response
    }

    /// The handler that owns connection `id`.
    fn app(&mut self, id: ConnId) -> &mut dyn Handler {
        match self.routes.get(&id) {
            Some(App::Chat) => &mut self.chat,
            Some(App::Game) => &mut self.game,
            None => &mut self.fallback,
        }
    }
}

impl<H: Handler> Handler for Routes<H> {
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(cluster) = &self.cluster {
            let node = cluster.node().to_owned();
            self.chat
                .attach(Box::new(cluster.link(ctx, CHAT_BROKER)), &node);
            self.game
                .attach(Box::new(cluster.link(ctx, GAME_BROKER)), &node);
            info!("demos shared through redis as server {node}");
        }
        self.fallback.on_start(ctx);
    }

    fn on_notify(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        match token {
            CHAT_BROKER => self.chat.on_broker(ctx),
            GAME_BROKER => self.game.on_broker(ctx),
            _ => self.fallback.on_notify(ctx, token),
        }
    }

    fn on_request(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> Decision {
        let app = match request.path() {
            "/chat" => App::Chat,
            "/game" => App::Game,
            _ => return self.fallback.on_request(ctx, id, request),
        };
        if !self.demos {
            return Decision::Reject {
                status: 503,
                reason: NOT_ON_THREADS.into(),
            };
        }
        let protocol = request
            .choose_subprotocol(&[chat::PROTOCOL])
            .filter(|_| app == App::Chat)
            .map(String::from);
        if app == App::Chat {
            if let Some(tokens) = &self.chat_tokens {
                let name = match tokens.identify(request) {
                    Ok(name) => name,
                    Err(why) => {
                        // Logged (rate-limited) and counted by the library;
                        // no "closed" line of its own for each, or a flood
                        // of bad tokens would be a flood of lines.
                        self.http.insert(id);
                        return Decision::unauthorized(format!("chat: {why}"));
                    }
                };
                // A page that sent its token as a subprotocol must also
                // offer one to accept: never answer with the token's.
                if !request.protocols().is_empty() && protocol.is_none() {
                    return Decision::Reject {
                        status: 400,
                        reason: format!("chat: offer the subprotocol {}", chat::PROTOCOL),
                    };
                }
                self.chat.bind_nick(id, name);
            }
        }
        self.routes.insert(id, app);
        Decision::Accept {
            protocol,
            deflate: DeflateChoice::Configured,
        }
    }

    fn on_http(&mut self, ctx: &mut Ctx<'_>, id: ConnId, request: &Request) -> HttpResponse {
        let response = self.page(ctx, id, request);
        // The path only: a query may carry a token (`/?token=…` opens the
        // chat page with one), and tokens never go to the log.
        let query = if request.query().is_some() {
            "?…"
        } else {
            ""
        };
        info!(
            "{id} http {} {}{query} {}",
            request.method(),
            request.path(),
            response.status
        );
        self.http.insert(id);
        response
    }

    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, response: Option<&Response>) {
        self.app(id).on_open(ctx, id, response);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        self.app(id).on_message(ctx, id, message);
    }

    fn on_ping(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        self.app(id).on_ping(ctx, id, payload);
    }

    fn on_pong(&mut self, ctx: &mut Ctx<'_>, id: ConnId, payload: &[u8]) {
        self.app(id).on_pong(ctx, id, payload);
    }

    fn on_close(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: Option<CloseCode>, reason: &str) {
        self.app(id).on_close(ctx, id, code, reason);
    }

    fn on_error(&mut self, ctx: &mut Ctx<'_>, id: ConnId, error: &ConnError) {
        self.app(id).on_error(ctx, id, error);
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        self.app(id).on_writable(ctx, id);
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, id: ConnId, code: CloseCode, clean: bool) {
        // An answered HTTP request ends without close frames (1006) by
        // design; it was never a WebSocket, so no app hears of it.
        if self.http.remove(&id) {
            return;
        }
        self.app(id).on_closed(ctx, id, code, clean);
        self.routes.remove(&id);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        if token == game::TICK_TOKEN {
            self.game.on_timer(ctx, token);
        } else {
            self.fallback.on_timer(ctx, token);
        }
    }

    /// `--trace` lines come from the echo handler for every path.
    fn on_frame(&mut self, ctx: &mut Ctx<'_>, id: ConnId, frame: &ws6455::proto::FrameTrace) {
        self.fallback.on_frame(ctx, id, frame);
    }

    fn on_shutdown(&mut self, ctx: &mut Ctx<'_>) {
        self.chat.on_shutdown(ctx);
        self.game.on_shutdown(ctx);
        self.fallback.on_shutdown(ctx);
    }
}
