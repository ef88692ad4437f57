#!/usr/bin/env bash
# The peer comparison: every server in $SERVERS against the closed-loop
# load of `ws6455 bench` for C in $CONNS x S in $SIZES, servers alternating
# within each of $REPS repetitions (medians reported), then RSS per idle
# connection ($IDLE upgraded connections held open). Writes
# benches/results/peers-<date>.json and regenerates BENCHMARKS.md and
# benches/results/chart.svg.
#
# A cell whose connections × size exceeds $MAXINFLIGHT (bytes, k/M/G
# suffixes; default 2G) is skipped and the report says so: every
# connection keeps one message in flight, so the server and the generator
# would each hold about that much (1,000 × 16 MiB ≈ 16 GiB each).
#
# A cell's window grows with what it keeps in flight: every connection's
# message takes a turn through one server core, so a cell of C × S bytes
# completes echoes in waves about C × S / (server throughput) apart, and a
# window of a few waves counts whole waves or none (100 × 16 MiB in 5 s
# gave 0 to 340 echoes from run to run). Each cell measures for at least
# C × S / $WINDOWRATE seconds (bytes per second, k/M/G suffixes; default
# 100M), after a warm-up of at least half that.
#
# The server `ws6455-base` is `ws6455 serve` from the build at $WS_BASE
# (another checkout's target/release/ws6455), for a before/after
# comparison in one run; $WS_BASE_COMMIT names its commit if the
# checkout holding it cannot tell.
#
#   benches/run-peers.sh
#   WARMUP=2 DURATION=5 REPS=3 CONNS="1 100 1000" SIZES="20 1024 65536 1048576 16777216" \
#   SERVERS="ws6455 fastwebsockets ..." IDLE=10000 MAXINFLIGHT=2G WINDOWRATE=100M MAXLOAD=1.5 LOADWAIT=1200 benches/run-peers.sh
#   QUICK=1 benches/run-peers.sh      # a dry run into a temp directory
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${CONNS:=1 10}" "${SIZES:=20 65536}" "${IDLE_REPS:=1}"
fi
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
CONNS=${CONNS:-"1 100 1000"}
SIZES=${SIZES:-"20 1024 65536 1048576 16777216"}
SERVERS=${SERVERS:-"ws6455 fastwebsockets tokio-tungstenite tungstenite node-ws raw-mio"}
IDLE=${IDLE:-10000}
IDLE_REPS=${IDLE_REPS:-$REPS}
MAXINFLIGHT=${MAXINFLIGHT:-2G}
BUDGET=$(bytes_of "$MAXINFLIGHT")
WINDOWRATE=${WINDOWRATE:-100M}
RATE=$(bytes_of "$WINDOWRATE")
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.peers-$STAMP.jsonl
OUT=$RESULTS/peers-$STAMP.json

# Fail now, not after half an hour, on a server that cannot start.
for server in $SERVERS; do server_cmd "$server" 1 >/dev/null; done
BASE_ARGS=()
if [[ " $SERVERS " == *" ws6455-base "* ]]; then
    BASE_ARGS=(--base-commit "${WS_BASE_COMMIT:-$(commit_of "$WS_BASE")}" --base-path "$WS_BASE")
fi

[ "${SKIP_BUILD:-0}" = 1 ] || build_all
COMMIT=$(commit_of "$ROOT")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"
port=9400
for rep in $(seq 1 "$REPS"); do
    for c in $CONNS; do
        for s in $SIZES; do
            if [ $((c * s)) -gt "$BUDGET" ]; then
                if [ "$rep" = 1 ]; then
                    log "skipping $c × $s B: $((c * s)) B in flight > MAXINFLIGHT=$MAXINFLIGHT"
                    echo "{\"kind\":\"skip\",\"connections\":$c,\"size\":$s,\"in_flight\":$((c * s)),\"budget\":$BUDGET}" >>"$RAW"
                fi
                continue
            fi
            duration=$(( (c * s + RATE - 1) / RATE ))
            [ "$duration" -ge "$DURATION" ] || duration=$DURATION
            warmup=$(( (c * s + 2 * RATE - 1) / (2 * RATE) ))
            [ "$warmup" -ge "$WARMUP" ] || warmup=$WARMUP
            for server in $SERVERS; do
                port=$((port + 1)); [ $port -lt 9900 ] || port=9401
                log "rep $rep  $server  c=$c s=$s  (${warmup} s + ${duration} s)"
                if ! start_server "$server" $port; then
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"connections\":$c,\"size\":$s,\"load\":$(load1),\"error\":true,\"start_failed\":true}" >>"$RAW"
                elif line=$("$WS" bench --url "ws://127.0.0.1:$port/" --connections "$c" --size "$s" \
                        --warmup "$warmup" --duration "$duration" --json --server-pid "$SERVER_PID"); then
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"result\":$line}" >>"$RAW"
                else
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"connections\":$c,\"size\":$s,\"load\":$(load1),\"error\":true}" >>"$RAW"
                fi
                stop_server
            done
        done
    done
done

# The load after the echo matrix: the idle phase below wakes 10,000
# threads of the thread-per-connection peer at once, which lifts the load
# average for a minute without meaning anything about the echo runs.
LOAD_END=$(load1)

# RSS per idle connection: the server's VmRSS before and after $IDLE
# upgraded connections (measured by the bench itself, after a 2 s hold).
for rep in $(seq 1 "$IDLE_REPS"); do
    for server in $SERVERS; do
        port=$((port + 1)); [ $port -lt 9900 ] || port=9401
        log "idle rep $rep  $server  $IDLE connections"
        if ! start_server "$server" $port; then
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"error\":true,\"start_failed\":true}" >>"$RAW"
        elif sleep 1 && line=$("$WS" bench --idle --url "ws://127.0.0.1:$port/" --connections "$IDLE" --hold 2 \
                --json --server-pid "$SERVER_PID"); then
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"result\":$line}" >>"$RAW"
        else
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"error\":true}" >>"$RAW"
        fi
        stop_server
    done
done

report peers "$RAW" "$OUT" --commit "$COMMIT" "${BASE_ARGS[@]}" \
    --load-start "$LOAD_START" --load-end "$LOAD_END" \
    --settings "WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS CONNS=\"$CONNS\" SIZES=\"$SIZES\" IDLE=$IDLE MAXINFLIGHT=$MAXINFLIGHT WINDOWRATE=$WINDOWRATE"
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
