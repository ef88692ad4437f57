#!/usr/bin/env bash
# The peer comparison: every server in $SERVERS against the closed-loop
# load of `ws6455 bench` for C in $CONNS x S in $SIZES, servers alternating
# within each of $REPS repetitions (medians reported), then RSS per idle
# connection ($IDLE upgraded connections held open). Writes
# benches/results/peers-<date>.json and regenerates BENCHMARKS.md and
# benches/results/chart.svg.
#
#   benches/run-peers.sh
#   WARMUP=2 DURATION=5 REPS=3 CONNS="1 100 1000" SIZES="20 1024 65536" \
#   SERVERS="ws6455 fastwebsockets ..." IDLE=10000 MAXLOAD=1.0 LOADWAIT=1200 benches/run-peers.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
CONNS=${CONNS:-"1 100 1000"}
SIZES=${SIZES:-"20 1024 65536"}
SERVERS=${SERVERS:-"ws6455 fastwebsockets tokio-tungstenite tungstenite node-ws raw-mio"}
IDLE=${IDLE:-10000}
IDLE_REPS=${IDLE_REPS:-$REPS}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.peers-$STAMP.jsonl
OUT=$RESULTS/peers-$STAMP.json

[ "${SKIP_BUILD:-0}" = 1 ] || build_all
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
: >"$RAW"
port=9400
for rep in $(seq 1 "$REPS"); do
    for c in $CONNS; do
        for s in $SIZES; do
            for server in $SERVERS; do
                port=$((port + 1)); [ $port -lt 9900 ] || port=9401
                start_server "$server" $port
                log "rep $rep  $server  c=$c s=$s"
                if line=$("$WS" bench --url "ws://127.0.0.1:$port/" --connections "$c" --size "$s" \
                        --warmup "$WARMUP" --duration "$DURATION" --json --server-pid "$SERVER_PID"); then
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(cut -d' ' -f1 /proc/loadavg),\"result\":$line}" >>"$RAW"
                else
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"connections\":$c,\"size\":$s,\"error\":true}" >>"$RAW"
                fi
                stop_server
            done
        done
    done
done

# The load after the echo matrix: the idle phase below wakes 10,000
# threads of the thread-per-connection peer at once, which lifts the load
# average for a minute without meaning anything about the echo runs.
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)

# RSS per idle connection: the server's VmRSS before and after $IDLE
# upgraded connections (measured by the bench itself, after a 2 s hold).
for rep in $(seq 1 "$IDLE_REPS"); do
    for server in $SERVERS; do
        port=$((port + 1)); [ $port -lt 9900 ] || port=9401
        start_server "$server" $port
        sleep 1
        log "idle rep $rep  $server  $IDLE connections"
        if line=$("$WS" bench --idle --url "ws://127.0.0.1:$port/" --connections "$IDLE" --hold 2 \
                --json --server-pid "$SERVER_PID"); then
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"result\":$line}" >>"$RAW"
        else
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"error\":true}" >>"$RAW"
        fi
        stop_server
    done
done

python3 "$ROOT/benches/report.py" peers "$RAW" "$OUT" \
    --load-start "$LOAD_START" --load-end "$LOAD_END" \
    --settings "WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS CONNS=\"$CONNS\" SIZES=\"$SIZES\" IDLE=$IDLE"
rm -f "$RAW"
log "wrote $OUT and BENCHMARKS.md"
