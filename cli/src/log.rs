//! The CLI's logger: one line per record on stderr, with a UTC time of
//! day. Info lines read as they always have (`HH:MM:SS.mmm message`, which
//! tests and users parse); other levels add the level and the module, so a
//! `-v` line from the library says where it came from.

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};

/// `HH:MM:SS.mmm` of the current UTC time.
pub fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    )
}

/// The level the global `-v`/`-q` flags select: `-q` errors only, none
/// info, `-v` debug, `-vv` and more trace.
pub fn level(verbose: u8, quiet: bool) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::Error,
        (false, 0) => LevelFilter::Info,
        (false, 1) => LevelFilter::Debug,
        (false, _) => LevelFilter::Trace,
    }
}

struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // One write per line, so lines of several event loops never mix.
        let line = match record.level() {
            Level::Info => format!("{} {}\n", timestamp(), record.args()),
            level => format!(
                "{} {level} {}: {}\n",
                timestamp(),
                record.target(),
                record.args()
            ),
        };
        // Nowhere left to report a failing stderr.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Install the stderr logger at `level`. A second call changes nothing but
/// the level (the facade takes one logger per process).
pub fn init(level: LevelFilter) {
    static LOGGER: StderrLogger = StderrLogger;
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
