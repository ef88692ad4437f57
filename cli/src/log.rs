//! One-line logs on stderr, with a UTC time of day.

use std::time::{SystemTime, UNIX_EPOCH};

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

/// Print an info line when logging is on.
#[macro_export]
macro_rules! info {
    ($quiet:expr, $($arg:tt)*) => {
        if !$quiet {
            eprintln!("{} {}", $crate::log::timestamp(), format_args!($($arg)*));
        }
    };
}
