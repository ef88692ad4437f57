//! `Handler::on_start`, `Ctx::remote` and `Remote::notify`: how a thread
//! outside the loop (a broker's) reaches the handler that owns the state.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use ws6455::{Ctx, Handler, Remote, Server};

const PATIENCE: Duration = Duration::from_secs(10);

/// Hands its loop's `Remote` out on start; reports every notice.
struct Notified {
    remotes: Sender<Remote>,
    heard: Sender<u64>,
}

impl Handler for Notified {
    fn on_start(&mut self, ctx: &mut Ctx<'_>) {
        let _ = self.remotes.send(ctx.remote());
    }

    fn on_notify(&mut self, ctx: &mut Ctx<'_>, token: u64) {
        let _ = self.heard.send(token);
        if token == 1 {
            // Asked three times within one turn: heard once, next turn.
            let remote = ctx.remote();
            for _ in 0..3 {
                remote.notify(2).unwrap();
            }
            remote.notify(3).unwrap();
        }
    }
}

fn start() -> (ws6455::RunningServer, Remote, Receiver<u64>) {
    let (remotes, remote) = channel();
    let (heard, heard_rx) = channel();
    let server = Server::new()
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn(move || Notified {
            remotes: remotes.clone(),
            heard: heard.clone(),
        });
    let remote = remote.recv_timeout(PATIENCE).expect("on_start ran");
    (server, remote, heard_rx)
}

#[test]
fn notices_reach_the_handler_once_per_turn_in_order_first_asked() {
    let (server, remote, heard) = start();
    remote.notify(1).unwrap();
    assert_eq!(heard.recv_timeout(PATIENCE), Ok(1));
    assert_eq!(heard.recv_timeout(PATIENCE), Ok(2));
    assert_eq!(heard.recv_timeout(PATIENCE), Ok(3));
    assert!(
        heard.recv_timeout(Duration::from_millis(300)).is_err(),
        "three notices of 2 in one turn are heard once"
    );
    // From another thread, many at once: each token heard at least once.
    for _ in 0..1000 {
        remote.notify(9).unwrap();
    }
    assert_eq!(heard.recv_timeout(PATIENCE), Ok(9));
    server.stop().unwrap();
}

#[test]
fn a_remote_taken_in_on_start_outlives_nothing() {
    let (server, remote, _heard) = start();
    server.stop().unwrap();
    assert_eq!(remote.notify(1), Err(ws6455::LoopGone));
}
