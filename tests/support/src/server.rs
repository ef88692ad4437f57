//! ws6455 as a server under test: in process with an echo handler, or the
//! real `ws6455 serve` binary on a free loopback port — and what the
//! kernel says about a server process (memory, file descriptors).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ws6455::Config;
use ws6455::{ConnId, Ctx, Handler, Message, RunningServer, Server};

use crate::MUST;

/// Echoes every message as received (the Autobahn testee's behaviour,
/// and `ws6455 serve`'s).
pub struct Echo;

impl Handler for Echo {
    fn on_message(&mut self, ctx: &mut Ctx<'_>, id: ConnId, message: Message<'_>) {
        let _ = match message {
            Message::Text(t) => ctx.send_text(id, t),
            Message::Binary(b) => ctx.send_binary(id, b),
        };
    }
}

/// An in-process ws6455 echo server with `config` on a free loopback port;
/// dropping it shuts it down.
pub fn echo_server(config: Config) -> RunningServer {
    Server::new()
        .config(config)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn(|| Echo)
}

/// The `ws6455 serve` binary on a free loopback port, killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// `ws6455 serve --listen 127.0.0.1:<free port> --quiet`.
    pub fn spawn() -> Self {
        Self::spawn_with(&[])
    }

    /// Like [`ServerProcess::spawn`] with extra `serve` arguments. A port
    /// taken between probing and binding makes the child exit: try again
    /// on another one.
    pub fn spawn_with(extra: &[&str]) -> Self {
        let mut last_error = String::new();
        for _ in 0..20 {
            let port = {
                let probe = TcpListener::bind("127.0.0.1:0").expect("bind a probe listener");
                probe.local_addr().expect("probe address").port()
            };
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
            let mut child = Command::new(crate::bin::ws6455_bin())
                .args(["serve", "--listen", &addr.to_string(), "--quiet"])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn the ws6455 binary");
            match wait_until_serving(&mut child, addr) {
                Ok(()) => return ServerProcess { child, addr },
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_error = why;
                }
            }
        }
        panic!("could not start ws6455 serve: {last_error}");
    }

    /// Its process id (for /proc figures).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server is still running (not crashed).
    pub fn assert_alive(&mut self) {
        let status = self.child.try_wait().expect("try_wait");
        assert!(status.is_none(), "the server process exited: {status:?}");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait until the child accepts on `addr` and (on Linux) owns the listening
/// socket there, so a probe answered by some other process does not count.
fn wait_until_serving(child: &mut Child, addr: SocketAddr) -> Result<(), String> {
    let deadline = Instant::now() + MUST;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                let _ = pipe.read_to_string(&mut stderr);
            }
            return Err(format!("exited with {status}: {stderr}"));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
            && owns_listener(child.id(), addr.port())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("not accepting on {addr} after {MUST:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(target_os = "linux")]
fn owns_listener(pid: u32, port: u16) -> bool {
    use std::io::BufRead;
    // The child's sockets, as the "socket:[inode]" links of its fds.
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let sockets: Vec<String> = fds
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy();
            let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
            Some(inode.to_owned())
        })
        .collect();
    // /proc/net/tcp: "sl local_address rem_address st ... uid timeout
    // inode". The kernel lists listening sockets first; on a busy machine
    // the table holds tens of thousands of lines, so stop reading at the
    // first match.
    let Ok(table) = std::fs::File::open("/proc/net/tcp") else {
        return false;
    };
    let wanted = format!("0100007F:{port:04X}");
    std::io::BufReader::new(table)
        .lines()
        .skip(1)
        .map_while(Result::ok)
        .any(|line| {
            let mut cols = line.split_whitespace();
            let local = cols.nth(1);
            let state = cols.nth(1);
            let inode = cols.nth(5);
            local == Some(wanted.as_str())
                && state == Some("0A")
                && inode.is_some_and(|i| sockets.iter().any(|s| s == i))
        })
}

#[cfg(not(target_os = "linux"))]
fn owns_listener(_pid: u32, _port: u16) -> bool {
    true
}

/// Resident set size of `pid` in KiB (`VmRSS`).
#[cfg(target_os = "linux")]
pub fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// Peak resident set size of `pid` in KiB (`VmHWM`): catches a transient
/// allocation that was freed again before we looked.
#[cfg(target_os = "linux")]
pub fn peak_rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmHWM:")
}

#[cfg(target_os = "linux")]
fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Open file descriptors of `pid`.
#[cfg(target_os = "linux")]
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fd dir")
        .count()
}

/// A config for in-process servers: short close timeout so shutdown at
/// the end of a test does not linger.
pub fn test_config() -> Config {
    {
        let mut config = Config::default();
        config.close_timeout = Duration::from_secs(1);
        config
    }
}
