//! The event loop's two hooks for tools: `Remote` (posting work into a
//! running loop from another thread) and `Handler::on_frame` (frame
//! traces recorded by the core), on loopback.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ws6455_test_support::server::Echo;

use ws6455::proto::FrameTrace;
use ws6455::{CloseCode, Config};
use ws6455::{
    ConnId, ConnectOptions, Ctx, EventLoop, Handler, Incoming, LoopGone, Message, Server, WebSocket,
};
use ws6455_describe::TraceLine;

const PATIENCE: Duration = Duration::from_secs(10);

/// Collects echoes; closes after `want` of them.
struct Collect {
    opened: std::sync::mpsc::Sender<()>,
    want: usize,
    got: Vec<String>,
    clean: Option<bool>,
    frames: Vec<String>,
}

impl Handler for Collect {
    fn on_open(&mut self, _: &mut Ctx<'_>, _: ConnId, _: Option<&ws6455::proto::Response>) {
        let _ = self.opened.send(());
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        if let Message::Text(t) = message {
            self.got.push(t.to_owned());
        }
        if self.got.len() == self.want {
            let _ = ctx.close(id, CloseCode::NORMAL, "");
        }
    }

    fn on_closed(&mut self, _: &mut Ctx<'_>, _: ConnId, _: CloseCode, clean: bool) {
        self.clean = Some(clean);
    }

    fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, frame: &FrameTrace) {
        self.frames.push(TraceLine(frame).to_string());
    }
}

#[test]
fn remote_posts_sends_from_another_thread() {
    let server = Server::new().bind("127.0.0.1:0").unwrap().spawn(|| Echo);
    let url = format!("ws://{}/", server.local_addr());
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    event_loop.trace_frames(true);
    let id = event_loop
        .connect(&url, &ConnectOptions::default())
        .unwrap();
    let remote = event_loop.remote();
    let (opened, is_open) = std::sync::mpsc::channel();
    let poster = std::thread::spawn(move || {
        is_open
            .recv_timeout(PATIENCE)
            .expect("the connection opens");
        for i in 0..3 {
            remote
                .send(move |ctx| ctx.send_text(id, &format!("line {i}")).unwrap())
                .unwrap();
        }
        remote
    });
    let mut handler = Collect {
        opened,
        want: 3,
        got: Vec::new(),
        clean: None,
        frames: Vec::new(),
    };
    event_loop.run(&mut handler).unwrap();
    assert_eq!(handler.got, ["line 0", "line 1", "line 2"]);
    assert_eq!(handler.clean, Some(true));
    // The client's own trace: three sends, three echoes, the close both ways.
    let sent = handler
        .frames
        .iter()
        .filter(|f| f.starts_with("→ text"))
        .count();
    let received = handler
        .frames
        .iter()
        .filter(|f| f.starts_with("← text"))
        .count();
    assert_eq!((sent, received), (3, 3), "{:?}", handler.frames);
    assert!(handler
        .frames
        .contains(&"→ close 1000 (normal closure)".to_owned()));
    assert!(handler
        .frames
        .contains(&"← close 1000 (normal closure)".to_owned()));
    let remote = poster.join().unwrap();
    drop(event_loop);
    assert_eq!(remote.send(|_| {}), Err(LoopGone));
    server.stop().unwrap();
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<String>>>);

struct TracingEcho(Shared);

impl Handler for TracingEcho {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        Echo.on_message(ctx, id, message);
    }

    fn on_frame(&mut self, _: &mut Ctx<'_>, _: ConnId, frame: &FrameTrace) {
        self.0 .0.lock().unwrap().push(TraceLine(frame).to_string());
    }
}

#[test]
fn a_tracing_server_reports_every_frame() {
    let shared = Shared::default();
    let handler_shared = shared.clone();
    let server = Server::new()
        .trace_frames(true)
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || TracingEcho(handler_shared.clone()));
    let url = format!("ws://{}/", server.local_addr());
    let (mut ws, _) = WebSocket::connect(&url, &ConnectOptions::default()).unwrap();
    ws.send_text("Hello").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Text("Hello".into()));
    ws.send_ping(b"p").unwrap();
    assert_eq!(ws.read().unwrap(), Incoming::Pong(b"p".to_vec()));
    ws.close(CloseCode::NORMAL, "done").unwrap();
    assert!(matches!(ws.read(), Ok(Incoming::Close(..))));
    let expected = [
        "← text fin len=5 \"Hello\"",
        "→ text fin len=5 \"Hello\"",
        "← ping len=1 \"p\"",
        "→ pong len=1 \"p\"",
        "← close 1000 (normal closure) \"done\"",
        "→ close 1000 (normal closure)",
    ];
    let deadline = Instant::now() + PATIENCE;
    loop {
        let lines = shared.0.lock().unwrap().clone();
        if lines.len() >= expected.len() {
            assert_eq!(lines, expected);
            break;
        }
        assert!(Instant::now() < deadline, "traces so far: {lines:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop().unwrap();
}
