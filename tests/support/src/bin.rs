//! The `ws6455` command, for tests that run the real binary.
//!
//! The binary belongs to the CLI package (`cli/`), so `tests/` (the
//! library's integration tests) cannot use `CARGO_BIN_EXE_ws6455`. Instead
//! the first caller in each test process asks cargo to build it — a no-op
//! when it is fresh, as it is after a workspace-wide `cargo test` — in the
//! profile and target directory this test was built in.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of a `ws6455` binary built from the current sources.
///
/// # Panics
/// If cargo cannot build it (the test cannot run without it).
pub fn ws6455_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build)
}

/// `target/<profile>/` of the running test binary, which lives in
/// `target/<profile>/deps/<test>-<hash>`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("a test binary lives in target/<profile>/deps")
        .to_path_buf()
}

/// The target directory the running test was built in (`target/`, or
/// `CARGO_TARGET_DIR`): `CARGO_TARGET_TMPDIR` is only set for the test
/// crates themselves, not for this library.
pub fn target_dir() -> PathBuf {
    let profile = profile_dir();
    profile.parent().unwrap_or(&profile).to_path_buf()
}

fn build() -> PathBuf {
    let profile_dir = profile_dir();
    let profile_dir = profile_dir.as_path();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", "ws6455-cli", "--bin", "ws6455"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    if let Some(target) = profile_dir.parent() {
        cargo.env("CARGO_TARGET_DIR", target);
    }
    let status = cargo.status().expect("cargo runs");
    assert!(status.success(), "cargo build -p ws6455-cli failed");
    let bin = profile_dir.join(format!("ws6455{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} was not built", bin.display());
    bin
}
