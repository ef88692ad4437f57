//! The floors of the house, checked where the compiler cannot: by the
//! dependency graph cargo resolves.
//!
//! That the core does no I/O, reads no clock and draws no randomness is
//! the compiler's to enforce: `ws6455-proto` is `#![no_std]`, so
//! `std::net`, `std::time::Instant` and `std::thread` do not exist for it.
//! What `no_std` cannot see is a dependency that does I/O for it, and what
//! the library cannot see is a CLI-only crate creeping into what every
//! user of `ws6455` compiles. `cargo tree` can.

use std::process::Command;

fn normal_deps(package: &str, features: &[&str]) -> String {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for f in features {
        cargo.args(["--features", f]);
    }
    let out = cargo.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

fn crate_names(tree: &str) -> Vec<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

#[test]
fn the_core_depends_on_no_io_crate() {
    for features in [&[][..], &["deflate"], &["deflate", "std"]] {
        let tree = normal_deps("ws6455-proto", features);
        let names = crate_names(&tree);
        assert!(names.contains(&"httparse"), "sanity: {tree}");
        for io in ["mio", "socket2", "libc", "tokio", "ws6455"] {
            assert!(
                !names.contains(&io),
                "ws6455-proto ({features:?}) depends on {io}:\n{tree}"
            );
        }
    }
}

#[test]
fn the_library_compiles_nothing_of_the_cli() {
    let tree = normal_deps("ws6455", &[]);
    let names = crate_names(&tree);
    assert!(names.contains(&"mio"), "sanity: {tree}");
    for cli_only in [
        "clap",
        "ctrlc",
        "ws6455-describe",
        "ws6455-cli",
        "serde_json",
    ] {
        assert!(
            !names.contains(&cli_only),
            "ws6455 depends on {cli_only}, which only the CLI needs:\n{tree}"
        );
    }
}
