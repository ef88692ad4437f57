//! The `ws6455` command run as a child process, its stdout and stderr
//! arriving line by line on channels, so a test can wait for a line, talk
//! on stdin and collect what was printed — and kill the child, by its own
//! handle, on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use crate::MUST;

/// A running `ws6455` child whose output lines arrive on channels.
pub struct Program {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    seen_out: Vec<String>,
    seen_err: Vec<String>,
}

/// Every line `pipe` produces, on a channel fed by a thread of its own.
fn lines(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The first line (already seen, or arriving within [`MUST`]) that
/// contains `needle`.
fn wait_line(rx: &Receiver<String>, seen: &mut Vec<String>, needle: &str, what: &str) -> String {
    if let Some(line) = seen.iter().find(|l| l.contains(needle)) {
        return line.clone();
    }
    let deadline = Instant::now() + MUST;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
            Err(_) => panic!("no {what} line with {needle:?}; saw {seen:#?}"),
        }
    }
}

impl Program {
    /// `ws6455 ARGS…` with every standard stream piped.
    ///
    /// # Panics
    /// If the binary cannot be built or started.
    pub fn start(args: &[&str]) -> Program {
        let mut child = Command::new(crate::bin::ws6455_bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the ws6455 binary runs");
        let stdout = lines(child.stdout.take().expect("piped stdout"));
        let stderr = lines(child.stderr.take().expect("piped stderr"));
        Program {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
            seen_out: Vec::new(),
            seen_err: Vec::new(),
        }
    }

    /// Write `line` and a newline to its stdin.
    pub fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Close its stdin (EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for a stdout line containing `needle`; returns it.
    pub fn stdout_line(&mut self, needle: &str) -> String {
        wait_line(&self.stdout, &mut self.seen_out, needle, "stdout")
    }

    /// Wait for a stderr line containing `needle`; returns it.
    pub fn stderr_line(&mut self, needle: &str) -> String {
        wait_line(&self.stderr, &mut self.seen_err, needle, "stderr")
    }

    /// Wait for it to exit by itself (at most [`MUST`]).
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + MUST;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running; stdout {:?} stderr {:?}",
                self.seen_out,
                self.seen_err
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill it and return every stderr line it wrote.
    pub fn kill_and_take_stderr(mut self) -> Vec<String> {
        self.kill();
        self.seen_err.extend(self.stderr.iter());
        std::mem::take(&mut self.seen_err)
    }

    /// Only our own child, by its handle; harmless if it has exited.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.kill();
    }
}
