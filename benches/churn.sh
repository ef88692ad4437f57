#!/usr/bin/env bash
# Memory after bursts: does a server give back what a burst of connections
# took, once they are gone? Rounds of load against one server process,
# its RSS read before the first round (the baseline), at its peak during
# each round, and $WAIT seconds after each round ends; ws6455 against
# Node `ws` in the same run (and `ws6455-base`, another build, with
# WS_BASE=path/to/ws6455: before/after in one run).
#
# Workloads (each a fresh server process, $ROUNDS rounds):
# * deflate: $DEFLATE_CONNS connections that each send one compressed
#   ~1 KiB message and wait for its echo, held 1 s, then all closed
#   (`bench --idle --warm --deflate`): every connection's compressor and
#   decompressor exist at once;
# * echo-64k: $ECHO_CONNS connections echoing 64 KiB binaries for 1 s;
# * echo-1m: $LARGE_CONNS connections echoing 1 MiB binaries for 1 s.
#
# The peak of a round comes from VmHWM, reset before it (/proc/PID/
# clear_refs), or from sampling every 50 ms where that is not allowed.
# Writes benches/results/churn-<date>.json and regenerates BENCHMARKS.md.
#
#   benches/churn.sh
#   ROUNDS=20 WAIT=10 WS_BASE=/tmp/ws6455-base benches/churn.sh
#   WORKLOADS="deflate" SERVERS="ws6455 node-ws" benches/churn.sh
#   QUICK=1 benches/churn.sh      # a dry run into a temp directory
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${ROUNDS:=2}" "${WAIT:=2}" "${DEFLATE_CONNS:=200}" "${ECHO_CONNS:=50}" "${LARGE_CONNS:=10}"
fi
ROUNDS=${ROUNDS:-20}
WAIT=${WAIT:-10}
DEFLATE_CONNS=${DEFLATE_CONNS:-2000}
ECHO_CONNS=${ECHO_CONNS:-1000}
LARGE_CONNS=${LARGE_CONNS:-100}
WORKLOADS=${WORKLOADS:-deflate echo-64k echo-1m}
default_servers="ws6455 node-ws"
[ -n "${WS_BASE:-}" ] && default_servers="ws6455 ws6455-base node-ws"
SERVERS=${SERVERS:-$default_servers}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.churn-$STAMP.jsonl
OUT=$RESULTS/churn-$STAMP.json

build_ws6455_and_node
COMMIT=$(commit_of "$ROOT")
BASE_COMMIT=
[ -n "${WS_BASE:-}" ] && BASE_COMMIT=$(commit_of "$WS_BASE")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"

# The server command for workload $1 on server $2 (deflate needs Node's
# extension switched on; ws6455 negotiates it by default).
churn_server() {
    case $1:$2 in
        deflate:node-ws) echo node-ws-deflate ;;
        *) echo "$2" ;;
    esac
}

# The bench arguments of one round of workload $1 against port $2.
round_args() {
    local url="ws://127.0.0.1:$2/"
    case $1 in
        deflate) echo "--idle --warm --deflate --hold 1 --connections $DEFLATE_CONNS --url $url" ;;
        echo-64k) echo "--binary --size 64k --warmup 0 --duration 1 --connections $ECHO_CONNS --url $url" ;;
        echo-1m) echo "--binary --size 1m --warmup 0 --duration 1 --connections $LARGE_CONNS --url $url" ;;
        *) log "unknown workload $1"; return 1 ;;
    esac
}

# Reset VmHWM of $1 to its current RSS; false where the kernel refuses.
reset_peak() { { echo 5 >"/proc/$1/clear_refs"; } 2>/dev/null; }

# Run the bench of one round (args in $@) while tracking the server's
# peak RSS; prints the peak in bytes.
round_peak() {
    local peak=0 v bench
    if reset_peak "$SERVER_PID"; then
        "$WS" bench --quiet "$@" >/dev/null 2>&1 || log "a round's bench failed: $*"
        proc_bytes "$SERVER_PID" VmHWM
        return
    fi
    "$WS" bench --quiet "$@" >/dev/null 2>&1 &
    bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        v=$(proc_bytes "$SERVER_PID" VmRSS)
        [ "$v" != null ] && [ "$v" -gt "$peak" ] && peak=$v
        sleep 0.05
    done
    wait "$bench" || log "a round's bench failed: $*"
    echo "$peak"
}

port=9860
for workload in $WORKLOADS; do
    for server in $SERVERS; do
        port=$((port + 1))
        start_server "$(churn_server "$workload" "$server")" "$port"
        sleep 1
        baseline=$(proc_bytes "$SERVER_PID" VmRSS)
        log "$workload $server: baseline $baseline B"
        for round in $(seq 1 "$ROUNDS"); do
            # shellcheck disable=SC2046
            peak=$(round_peak $(round_args "$workload" "$port"))
            sleep "$WAIT"
            after=$(proc_bytes "$SERVER_PID" VmRSS)
            fds=$(find "/proc/$SERVER_PID/fd" -mindepth 1 2>/dev/null | wc -l)
            log "$workload $server round $round: peak $peak B, after ${WAIT}s $after B, $fds fds"
            echo "{\"workload\":\"$workload\",\"server\":\"$server\",\"round\":$round,\"baseline\":$baseline,\"peak\":$peak,\"after\":$after,\"fds\":$fds,\"wait_s\":$WAIT,\"load\":$(load1)}" >>"$RAW"
        done
        stop_server
    done
done
base_args=()
[ -n "${WS_BASE:-}" ] && base_args=(--base-commit "$BASE_COMMIT" --base-path "$WS_BASE")
report churn "$RAW" "$OUT" --commit "$COMMIT" "${base_args[@]}" \
    --load-start "$LOAD_START" --load-end "$(load1)" \
    --settings "ROUNDS=$ROUNDS WAIT=$WAIT DEFLATE_CONNS=$DEFLATE_CONNS ECHO_CONNS=$ECHO_CONNS LARGE_CONNS=$LARGE_CONNS WORKLOADS='$WORKLOADS' SERVERS='$SERVERS'"
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
