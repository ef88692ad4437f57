#!/usr/bin/env bash
# Broadcast fan-out: examples/fanout_server.rs relays every message from
# its /publish connection to all /subscribe connections (encoded once,
# PreparedMessage + Ctx::broadcast); `ws6455 bench --fanout` opens $SUBS
# subscribers and one publisher keeping $WINDOW messages in flight, and
# counts deliveries per second and per server CPU-second. $REPS runs, a
# fresh server each. Writes benches/results/fanout-<date>.json and
# regenerates BENCHMARKS.md.
#
#   benches/fanout.sh
#   SUBS=10000 SIZE=20 WINDOW=4 WARMUP=2 DURATION=5 REPS=3 benches/fanout.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SUBS=${SUBS:-10000}
SIZE=${SIZE:-20}
WINDOW=${WINDOW:-16}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.fanout-$STAMP.jsonl
OUT=$RESULTS/fanout-$STAMP.json

[ "${SKIP_BUILD:-0}" = 1 ] || build_all
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
: >"$RAW"
for rep in $(seq 1 "$REPS"); do
    port=$((9950 + rep))
    "$ROOT/target/release/examples/fanout_server" "127.0.0.1:$port" 2>/dev/null &
    SERVER_PID=$!
    wait_port $port
    log "fanout rep $rep: $SUBS subscribers, $SIZE B"
    if line=$("$WS" bench --fanout --url "ws://127.0.0.1:$port" --connections "$SUBS" --size "$SIZE" \
            --window "$WINDOW" --warmup "$WARMUP" --duration "$DURATION" --json --server-pid "$SERVER_PID"); then
        echo "{\"kind\":\"fanout\",\"rep\":$rep,\"load\":$(cut -d' ' -f1 /proc/loadavg),\"result\":$line}" >>"$RAW"
    else
        echo "{\"kind\":\"fanout\",\"rep\":$rep,\"error\":true}" >>"$RAW"
    fi
    stop_server
done
python3 "$ROOT/benches/report.py" fanout "$RAW" "$OUT" \
    --load-start "$LOAD_START" --load-end "$(cut -d' ' -f1 /proc/loadavg)" \
    --settings "SUBS=$SUBS SIZE=$SIZE WINDOW=$WINDOW WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS"
rm -f "$RAW"
log "wrote $OUT and BENCHMARKS.md"
