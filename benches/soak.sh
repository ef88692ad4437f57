#!/usr/bin/env bash
# Soak the real `ws6455 serve` binary for longer than `cargo test` does:
# several threads churn connections and messages of random sizes, closing
# cleanly or dropping abruptly, then the server's file descriptors and RSS
# are compared with their baseline after warm-up (tests/soak.rs).
#
# Usage: benches/soak.sh [SECONDS]     (default 60)
#        WS6455_SOAK_SEED=<n> benches/soak.sh 60   replays a run's choices
# Builds with --release so the churn, not debug code, is what is measured.
# Linux only for the fd/RSS figures (they are read from /proc).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
case "$secs" in
  ''|*[!0-9.]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
echo "soaking ws6455 serve for ${secs}s (release build)"
WS6455_SOAK_SECS="$secs" cargo test --release --test soak -- --nocapture 2>&1 |
  grep -E '^soak:|^test |test result|panicked|FAILED'
