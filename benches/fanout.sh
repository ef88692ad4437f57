#!/usr/bin/env bash
# Broadcast fan-out: examples/fanout_server.rs relays every message from
# its /publish connection to all /subscribe connections (encoded once,
# PreparedMessage + Ctx::broadcast); `ws6455 bench --fanout` opens $SUBS
# subscribers and one publisher keeping $WINDOW messages in flight, and
# counts deliveries per second and per server CPU-second. Each of $REPS
# repetitions runs every size in $SIZES, a fresh server each run; the
# server's VmRSS before the run, its peak (VmHWM) and its VmRSS after are
# read from /proc (the bench itself reports no server memory in this mode).
#
# With $FANOUT_BASE (another checkout's target/release/examples/fanout_server)
# that build runs too, as "ws6455-base", alternating with the current one
# in every repetition (which goes first alternates too): before/after in
# one run. $FANOUT_BASE_COMMIT names its commit if its checkout cannot tell.
#
# Writes benches/results/fanout-<date>.json and regenerates BENCHMARKS.md.
#
#   benches/fanout.sh
#   SUBS=10000 SIZES="20 1024" WINDOW=16 WARMUP=2 DURATION=5 REPS=3 FANOUT_BASE=... benches/fanout.sh
#   QUICK=1 benches/fanout.sh      # a dry run into a temp directory
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${SUBS:=200}" "${SIZES:=20}"
fi
SUBS=${SUBS:-10000}
SIZES=${SIZES:-"20 1024"}
WINDOW=${WINDOW:-16}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.fanout-$STAMP.jsonl
OUT=$RESULTS/fanout-$STAMP.json
CURRENT=$ROOT/target/release/examples/fanout_server

KINDS="ws6455"
BASE_ARGS=()
if [ -n "${FANOUT_BASE:-}" ]; then
    [ -x "$FANOUT_BASE" ] || { log "FANOUT_BASE=$FANOUT_BASE is not an executable"; exit 1; }
    KINDS="ws6455 ws6455-base"
    BASE_ARGS=(--base-commit "${FANOUT_BASE_COMMIT:-$(commit_of "$FANOUT_BASE")}" --base-path "$FANOUT_BASE")
fi

[ "${SKIP_BUILD:-0}" = 1 ] || build_all
COMMIT=$(commit_of "$ROOT")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"
# The server's memory as JSON fields: VmRSS before the run ($rss_before),
# its peak during the run (VmHWM) and VmRSS once the bench has closed.
mem() {
    echo "\"server_rss_before\":$rss_before,\"server_rss_peak\":$(proc_bytes "$SERVER_PID" VmHWM),\"server_rss_after\":$(proc_bytes "$SERVER_PID" VmRSS)"
}
port=9950
for rep in $(seq 1 "$REPS"); do
    order=$KINDS
    if [ $((rep % 2)) = 0 ]; then order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for size in $SIZES; do
        for kind in $order; do
            bin=$CURRENT; [ "$kind" = ws6455 ] || bin=$FANOUT_BASE
            port=$((port + 1)); [ $port -lt 9999 ] || port=9951
            "$bin" "127.0.0.1:$port" 2>/dev/null &
            SERVER_PID=$!
            log "fanout rep $rep: $kind, $SUBS subscribers, $size B"
            if ! wait_port $port; then
                echo "{\"kind\":\"fanout\",\"server\":\"$kind\",\"rep\":$rep,\"size\":$size,\"load\":$(load1),\"error\":true,\"start_failed\":true}" >>"$RAW"
                stop_server
                continue
            fi
            rss_before=$(proc_bytes "$SERVER_PID" VmRSS)
            if line=$("$WS" bench --fanout --url "ws://127.0.0.1:$port" --connections "$SUBS" --size "$size" \
                    --window "$WINDOW" --warmup "$WARMUP" --duration "$DURATION" --json --server-pid "$SERVER_PID"); then
                echo "{\"kind\":\"fanout\",\"server\":\"$kind\",\"rep\":$rep,\"size\":$size,\"load\":$(load1),$(mem),\"result\":$line}" >>"$RAW"
            else
                echo "{\"kind\":\"fanout\",\"server\":\"$kind\",\"rep\":$rep,\"size\":$size,\"load\":$(load1),$(mem),\"error\":true}" >>"$RAW"
            fi
            stop_server
        done
    done
done
report fanout "$RAW" "$OUT" --commit "$COMMIT" "${BASE_ARGS[@]}" \
    --load-start "$LOAD_START" --load-end "$(load1)" \
    --settings "SUBS=$SUBS SIZES=\"$SIZES\" WINDOW=$WINDOW WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS"
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
