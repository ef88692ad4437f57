//! The smallest useful ws6455 server: echo every message back.
//!
//! Run: `cargo run --example echo_server`, then connect to ws://127.0.0.1:9002/.

use ws6455::{ConnId, Ctx, Handler, Message, Server};

struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(text) => ctx.send_text(id, text),
            Message::Binary(data) => ctx.send_binary(id, data),
        };
    }
}

fn main() -> std::io::Result<()> {
    let server = Server::new().bind("127.0.0.1:9002")?;
    println!("echo server on ws://{}", server.local_addr());
    server.run(|| Echo)
}
