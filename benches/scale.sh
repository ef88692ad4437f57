#!/usr/bin/env bash
# Scale: $N idle upgraded connections to `ws6455 serve`, opened by
# `ws6455 bench --idle` from several source addresses (127.0.0.x: one
# address has only ~28,000 ephemeral ports per server port), then the
# server's VmRSS. If the open-file limit cannot be raised far enough
# (a container's hard limit), the connections are split over the fewest
# server processes that fit, each with its own generator, and their RSS
# is summed. Writes benches/results/scale-<date>.json and regenerates
# BENCHMARKS.md.
#
#   benches/scale.sh
#   N=100000 HOLD_SETTLE=3 benches/scale.sh
#   QUICK=1 benches/scale.sh      # a dry run into a temp directory
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${N:=2000}" "${HOLD_SETTLE:=1}"
fi
N=${N:-100000}
SETTLE=${HOLD_SETTLE:-3}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT=$RESULTS/scale-$STAMP.json
TMP=$(mktemp -d)
BENCH_PIDS=(); SERVER_PIDS=()
trap 'kill "${BENCH_PIDS[@]}" "${SERVER_PIDS[@]}" 2>/dev/null || true; rm -rf "$TMP"' EXIT

[ "${SKIP_BUILD:-0}" = 1 ] || build_all
COMMIT=$(commit_of "$ROOT")
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
LIMIT=$(ulimit -n)
PER=$((LIMIT - 256))
PROCS=$(((N + PER - 1) / PER))
[ "$PROCS" -gt 1 ] && log "open-file limit $LIMIT: $N connections over $PROCS server processes"
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"

declare -a SPID BEFORE COUNT
for p in $(seq 1 "$PROCS"); do
    port=$((9800 + p))
    "$WS" serve --listen "127.0.0.1:$port" --quiet &
    SPID[p]=$!; SERVER_PIDS+=("${SPID[p]}")
    wait_port $port
done
sleep 1
began=$(date +%s.%N)
for p in $(seq 1 "$PROCS"); do
    port=$((9800 + p))
    COUNT[p]=$((N / PROCS + (p <= N % PROCS ? 1 : 0)))
    BEFORE[p]=$(proc_bytes "${SPID[p]}" VmRSS)
    # Eight source addresses per generator, distinct across generators.
    first=$((8 * (p - 1) + 1)); last=$((8 * p))
    "$WS" bench --idle --url "ws://127.0.0.1:$port/" --connections "${COUNT[$p]}" --ramp 512 \
        --source-addrs "127.0.0.$first-127.0.0.$last" --connect-timeout 300 \
        --ready-file "$TMP/ready-$p" >"$TMP/bench-$p.log" 2>&1 &
    BENCH_PIDS+=("$!")
done
for p in $(seq 1 "$PROCS"); do
    for _ in $(seq 1 3000); do
        [ -f "$TMP/ready-$p" ] && break
        if ! kill -0 "${BENCH_PIDS[@]}" 2>/dev/null; then cat "$TMP"/bench-*.log >&2; log "a generator died"; exit 1; fi
        sleep 0.1
    done
    [ -f "$TMP/ready-$p" ] || { cat "$TMP"/bench-*.log >&2; log "generator $p never got all its connections open"; exit 1; }
done
opened_s=$(awk -v a="$(date +%s.%N)" -v b="$began" 'BEGIN{printf "%.1f", a - b}')
log "$N connections open in ${opened_s}s; settling ${SETTLE}s"
sleep "$SETTLE"
servers_json=""
for p in $(seq 1 "$PROCS"); do
    after=$(proc_bytes "${SPID[p]}" VmRSS)
    hwm=$(proc_bytes "${SPID[p]}" VmHWM)
    servers_json="$servers_json${servers_json:+,}{\"pid\":${SPID[$p]},\"connections\":${COUNT[$p]},\"rss_before\":${BEFORE[$p]},\"rss_after\":$after,\"rss_peak\":$hwm}"
done
kill "${BENCH_PIDS[@]}" 2>/dev/null || true; wait "${BENCH_PIDS[@]}" 2>/dev/null || true
kill "${SERVER_PIDS[@]}" 2>/dev/null || true; wait "${SERVER_PIDS[@]}" 2>/dev/null || true
BENCH_PIDS=(); SERVER_PIDS=()
echo "{\"kind\":\"scale\",\"connections\":$N,\"fd_limit\":$LIMIT,\"processes\":$PROCS,\"open_s\":$opened_s,\"settle_s\":$SETTLE,\"servers\":[$servers_json]}" >"$TMP/scale.json"
report scale "$TMP/scale.json" "$OUT" --commit "$COMMIT" \
    --load-start "$LOAD_START" --load-end "$(load1)" --settings "N=$N HOLD_SETTLE=$SETTLE"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
