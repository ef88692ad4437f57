//! The Autobahn harness in `autobahn/` stays runnable although wstest
//! itself (Python 2.7) is not installed here: the checker's own tests pass,
//! the spec files point wstest at 127.0.0.1:9001 with every section
//! included (permessage-deflate runs 12 and 13), and `run.sh` says plainly
//! when wstest is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn autobahn_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("autobahn")
}

/// Whether `program --version` runs; tests that need it print a note and
/// pass without it, as the harness is optional tooling.
fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The spec text with all whitespace removed, so checks do not depend on
/// how the JSON is laid out.
fn compact(name: &str) -> String {
    let path = autobahn_dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn checker_unit_tests_pass() {
    if !have("python3") {
        println!("note: python3 not found; skipping autobahn/test_check.py");
        return;
    }
    let output = Command::new("python3")
        .arg(autobahn_dir().join("test_check.py"))
        .output()
        .expect("run python3 autobahn/test_check.py");
    assert!(output.status.success(), "{}", describe(&output));
    // unittest reports on stderr; make sure tests actually ran.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("\nOK"), "{}", describe(&output));
    assert!(!stderr.contains("Ran 0 tests"), "{}", describe(&output));
}

/// Every needle occurs in the spec once whitespace is removed.
fn assert_spec_has(name: &str, needles: &[&str]) {
    let spec = compact(name);
    for needle in needles {
        assert!(spec.contains(needle), "{name} lacks {needle}: {spec}");
    }
}

#[test]
fn fuzzingclient_spec_targets_our_server_with_every_case() {
    assert_spec_has(
        "fuzzingclient.json",
        &[
            r#""outdir":"./reports/servers""#,
            r#""agent":"ws6455""#,
            r#""url":"ws://127.0.0.1:9001""#,
            r#""cases":["*"]"#,
            r#""exclude-cases":[]"#,
        ],
    );
}

#[test]
fn fuzzingserver_spec_listens_where_the_client_connects() {
    assert_spec_has(
        "fuzzingserver.json",
        &[
            r#""url":"ws://127.0.0.1:9001""#,
            r#""outdir":"./reports/clients""#,
            r#""cases":["*"]"#,
            r#""exclude-cases":[]"#,
        ],
    );
}

#[test]
fn spec_and_expected_files_are_valid_json() {
    if !have("python3") {
        println!("note: python3 not found; skipping the JSON parse of autobahn/*.json");
        return;
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\n\
             for path in sys.argv[1:]:\n    json.load(open(path, encoding='utf-8'))\n",
        )
        .arg(autobahn_dir().join("fuzzingclient.json"))
        .arg(autobahn_dir().join("fuzzingserver.json"))
        .arg(autobahn_dir().join("expected-results.json"))
        .output()
        .expect("run python3 -c 'import json'");
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn run_sh_without_wstest_says_so_and_exits_2() {
    if !have("bash") {
        println!("note: bash not found; skipping autobahn/run.sh");
        return;
    }
    // A name that is on no PATH; run.sh checks for wstest before it builds.
    let output = Command::new("bash")
        .arg(autobahn_dir().join("run.sh"))
        .arg("server")
        .env("WSTEST", "ws6455-test-no-such-wstest")
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run bash autobahn/run.sh server");
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("wstest (Autobahn testsuite, Python 2.7) is not installed"),
        "{}",
        describe(&output)
    );
    assert!(!stderr.contains("building"), "{}", describe(&output));
}

#[test]
fn run_sh_rejects_an_unknown_mode() {
    if !have("bash") {
        println!("note: bash not found; skipping autobahn/run.sh");
        return;
    }
    let output = Command::new("bash")
        .arg(autobahn_dir().join("run.sh"))
        .arg("both")
        .output()
        .expect("run bash autobahn/run.sh both");
    assert_eq!(output.status.code(), Some(64), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("usage:"),
        "{}",
        describe(&output)
    );
}
