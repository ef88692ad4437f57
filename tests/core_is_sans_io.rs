//! The protocol core (src/proto) must never do I/O, read a clock or draw
//! randomness (DESIGN.md, floor 1): every shell, test and fuzz target has to
//! be able to drive it deterministically. This test reads the sources and
//! fails on the first forbidden name.

use std::fs;
use std::path::{Path, PathBuf};

const FORBIDDEN: &[&str] = &[
    "std::net",
    "std::io::Read",
    "std::io::Write",
    "io::Read",
    "io::Write",
    "mio::",
    "Instant::now",
    "SystemTime::now",
    "thread_rng",
    "rand::rng(",
    "rand::random",
    "OsRng",
    "from_entropy",
    "from_os_rng",
    "std::thread",
    "std::fs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/proto exists") {
        let path = entry.expect("readable dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_core_does_no_io_reads_no_clock_and_draws_no_randomness() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/proto");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 5, "found the core's sources");
    let mut violations = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).expect("readable source");
        // Unit tests beside the code may use a real clock to make instants.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for word in FORBIDDEN {
                if line.contains(word) {
                    violations.push(format!("{}:{}: {}", file.display(), n + 1, word));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the core must stay Sans-I/O:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_catches_a_violation() {
    // Guard against a checker that can never fail.
    let line = "let t = std::time::Instant::now();";
    assert!(FORBIDDEN.iter().any(|w| line.contains(w)));
}
