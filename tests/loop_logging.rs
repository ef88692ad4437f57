//! The event loop reports through the `log` facade what a handler cannot
//! see — an accepted socket, and why a connection was dropped — naming each
//! connection by an id that a later connection in the same slot never
//! shares.
//!
//! One test per file: the logger is process-wide.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use ws6455::{Config, Handler, Server};

/// Every record, as `(level, message)`.
static RECORDS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let line = (record.level(), record.args().to_string());
        RECORDS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

/// Accepts everything; the defaults of every callback.
struct Quiet;

impl Handler for Quiet {}

/// The first record (waiting up to a few seconds) whose message contains
/// `needle`.
fn wait_for(needle: &str) -> (Level, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = RECORDS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, m)| m.contains(needle))
            .cloned();
        if let Some(found) = found {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "no log record contains {needle:?}; got {:#?}",
            RECORDS.lock().unwrap_or_else(|e| e.into_inner())
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The id (`#slot.generation`) the loop gave the connection from `peer`,
/// read off its "accepted" record.
fn accepted_id(peer: SocketAddr) -> String {
    let (level, message) = wait_for(&format!("accepted from {peer}"));
    assert_eq!(level, Level::Trace, "{message}");
    let id = message.split_whitespace().next().unwrap_or("").to_owned();
    let (slot, generation) = id
        .strip_prefix('#')
        .and_then(|rest| rest.split_once('.'))
        .unwrap_or_else(|| panic!("not a #slot.generation id: {message}"));
    assert!(slot.parse::<u32>().is_ok() && generation.parse::<u32>().is_ok());
    id
}

#[test]
fn accepts_and_dropped_connections_are_logged_with_unique_ids() {
    log::set_logger(&Capture).expect("the only logger of this process");
    log::set_max_level(LevelFilter::Trace);
    let config = {
        let mut config = Config::default();
        config.handshake_timeout = Duration::from_millis(300);
        config
    };
    let server = Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Quiet);
    let addr = server.local_addr();
    wait_for(&format!("listening on {addr}"));

    // Garbage instead of an HTTP request: 400, and a debug line that says so.
    let mut garbage = TcpStream::connect(addr).expect("connect");
    let garbage_id = accepted_id(garbage.local_addr().expect("local addr"));
    garbage.write_all(b"hello?\r\n\r\n").expect("write");
    let mut answer = String::new();
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let _ = garbage.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer:?}");
    let (level, message) = wait_for(&format!("{garbage_id} dropped: bad handshake"));
    assert_eq!(level, Level::Debug);
    assert!(message.contains("HTTP 400"), "{message}");
    wait_for(&format!("{garbage_id} closed 1006"));
    drop(garbage);

    // Silence after connecting: the handshake timeout drops it.
    let silent = TcpStream::connect(addr).expect("connect");
    let silent_id = accepted_id(silent.local_addr().expect("local addr"));
    let (level, _) = wait_for(&format!("{silent_id} dropped: handshake timeout"));
    assert_eq!(level, Level::Debug);

    // The first connection's slot is free again by now and may be reused;
    // its id is not.
    assert_ne!(garbage_id, silent_id);
    drop(silent);
    server.stop().expect("stop");
    wait_for("event loop stopped");
}
