//! An event-loop client that sends messages one at a time and checks each
//! echo, closing after the last: how the interop tests drive our loop
//! client (whose connections park between messages and, under a deflate
//! memory preset, hand their codecs back to the loop) against a peer's
//! echo server.

use ws6455::proto::deflate::DeflateConfig;
use ws6455::proto::handshake::Response;
use ws6455::Config;
use ws6455::{CloseCode, ConnId, ConnectOptions, Ctx, Handler, Incoming, Message};

use crate::loopback::run_client;

/// What the run saw.
pub struct EchoEach {
    messages: Vec<Incoming>,
    /// Messages echoed intact so far.
    pub echoed: usize,
    /// The `Sec-WebSocket-Extensions` the server answered with.
    pub agreed: Option<String>,
    /// The first thing that went wrong.
    pub failure: Option<String>,
    /// The close code received and whether the close was clean.
    pub closed: Option<(CloseCode, bool)>,
}

impl EchoEach {
    fn send_next(&mut self, ctx: &mut Ctx<'_>, id: ConnId) {
        let sent = match self.messages.get(self.echoed) {
            Some(Incoming::Text(t)) => ctx.send_text(id, t),
            Some(Incoming::Binary(b)) => ctx.send_binary(id, b),
            _ => ctx.close(id, CloseCode::NORMAL, "deflate done"),
        };
        if let Err(e) = sent {
            self.failure
                .get_or_insert(format!("send {}: {e:?}", self.echoed));
        }
    }
}

impl Handler for EchoEach {
    fn on_open(&mut self, ctx: &mut Ctx<'_>, id: ConnId, response: Option<&Response>) {
        self.agreed = response.and_then(|r| r.extensions()).map(str::to_owned);
        self.send_next(ctx, id);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let same = match (&message, self.messages.get(self.echoed)) {
            (Message::Text(a), Some(Incoming::Text(b))) => a == b,
            (Message::Binary(a), Some(Incoming::Binary(b))) => a == b,
            _ => false,
        };
        if !same {
            self.failure
                .get_or_insert(format!("echo of message {} differs", self.echoed));
            let _ = ctx.close(id, CloseCode::NORMAL, "mismatch");
            return;
        }
        self.echoed += 1;
        self.send_next(ctx, id);
    }

    fn on_closed(&mut self, ctx: &mut Ctx<'_>, _: ConnId, code: CloseCode, clean: bool) {
        self.closed = Some((code, clean));
        ctx.stop();
    }
}

/// Echo `messages` one at a time through a loop client connected to
/// `url` with `deflate` (messages up to 64 MiB), then close with 1000
/// "deflate done"; returns what it saw once the loop ends.
pub fn echo_each(url: &str, deflate: DeflateConfig, messages: Vec<Incoming>) -> EchoEach {
    let mut config = Config::default();
    config.deflate = Some(deflate);
    config.max_message_size = 64 << 20;
    let client = EchoEach {
        messages,
        echoed: 0,
        agreed: None,
        failure: None,
        closed: None,
    };
    let (client, _) = run_client(
        config,
        vec![(url.to_owned(), ConnectOptions::default())],
        client,
    );
    client
}
