#!/usr/bin/env bash
# Fan-out across servers through Redis (issue 14): one publisher and $SUBS
# subscribers spread round robin over 3 servers that share one Redis, so a
# message published on the first server reaches the subscribers of all
# three. Two kinds, alternating (which goes first alternates too) in every
# repetition, each size with 3 fresh servers:
#   ws6455    target/release/examples/cluster_fanout --listen … --redis … --node-id nK
#             (/publish → /subscribe, as examples/fanout_server.rs; built
#             with --features redis)
#   socketio  node benches/peers/socketio/server.js PORT REDIS_URL
#             (Socket.IO 4 + @socket.io/redis-adapter; `bench --socketio`)
# The script starts its own redis-server (no persistence) on a free port.
# `ws6455 bench --fanout` counts deliveries per second and per CPU-second
# of the 3 servers and redis-server together, and p50/p99 latency from
# publish to delivery.
#
# Writes benches/results/cluster-<date>.json and regenerates BENCHMARKS.md.
#
#   benches/cluster.sh
#   SUBS=10000 SIZES="20 1024" WINDOW=16 WARMUP=2 DURATION=5 REPS=3 benches/cluster.sh
#   QUICK=1 benches/cluster.sh     # a dry run into a temp directory (300 subscribers);
#                                  # a kind whose server is not built is skipped
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${SUBS:=300}"
fi
SUBS=${SUBS:-10000}
SIZES=${SIZES:-"20 1024"}
WINDOW=${WINDOW:-16}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
KINDS=${KINDS:-"ws6455 socketio"}
NODES=3
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.cluster-$STAMP.jsonl
OUT=$RESULTS/cluster-$STAMP.json
CLUSTER=$ROOT/target/release/examples/cluster_fanout
SOCKETIO=$ROOT/benches/peers/socketio

if ! command -v redis-server >/dev/null; then
    log "redis-server is missing: installing the Debian package"
    apt-get install -y redis-server >&2
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building ws6455 (release) and the cluster example"
    # Apart: in one command the feature would reach the ws6455 binary too
    # (features unify), making it another build than the other scripts'.
    (cd "$ROOT" && nice cargo build --release --bin ws6455)
    if [ -f "$ROOT/examples/cluster_fanout.rs" ]; then
        (cd "$ROOT" && nice cargo build --release --features redis --example cluster_fanout)
    fi
fi
if [ ! -d "$SOCKETIO/node_modules" ]; then
    (cd "$SOCKETIO" && npm ci --no-audit --no-fund >&2)
fi

# Every kind must have its server; a dry run only skips the missing ones.
ready_kinds=""
for kind in $KINDS; do
    case $kind in
        ws6455) [ -x "$CLUSTER" ] && ok=1 || ok=0; what="$CLUSTER (examples/cluster_fanout.rs)" ;;
        socketio) [ -f "$SOCKETIO/node_modules/socket.io/package.json" ] && ok=1 || ok=0; what="$SOCKETIO/node_modules (npm ci)" ;;
        *) log "unknown kind $kind (ws6455 or socketio)"; exit 1 ;;
    esac
    if [ $ok = 1 ]; then
        ready_kinds="$ready_kinds $kind"
    elif quick; then
        log "QUICK=1: skipping $kind: $what is missing"
    else
        log "$kind needs $what, which is missing"; exit 1
    fi
done
KINDS=${ready_kinds# }
[ -n "$KINDS" ] || { log "no kind to run"; exit 1; }

COMMIT=$(commit_of "$ROOT")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/ws6455-cluster.XXXXXX")
REDIS_PID=""
SERVER_PIDS=()
stop_servers() {
    local p
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${SERVER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    SERVER_PIDS=()
}
cleanup() {
    stop_servers
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$LOGS"
}
trap cleanup EXIT

RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no >"$LOGS/redis.log" 2>&1 &
REDIS_PID=$!
wait_port "$RPORT" || { cat "$LOGS/redis.log" >&2; exit 1; }
REDIS_URL=redis://127.0.0.1:$RPORT
log "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on port $RPORT (pid $REDIS_PID)"

# Start the $NODES servers of kind $1; sets SERVER_PIDS and PORTS.
start_servers() {
    local kind=$1 k port
    PORTS=()
    for k in $(seq 1 "$NODES"); do
        port=$(free_port)
        case $kind in
            ws6455) "$CLUSTER" --listen "127.0.0.1:$port" --redis "$REDIS_URL" --node-id "n$k" >>"$LOGS/$kind-n$k.log" 2>&1 & ;;
            socketio) node "$SOCKETIO/server.js" "$port" "$REDIS_URL" >>"$LOGS/$kind-n$k.log" 2>&1 & ;;
        esac
        SERVER_PIDS+=($!)
        PORTS+=("$port")
    done
    for k in $(seq 1 "$NODES"); do
        if ! wait_port "${PORTS[$((k - 1))]}"; then
            tail -n 5 "$LOGS/$kind-n$k.log" >&2 || true
            return 1
        fi
    done
}

LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"
# The servers' peak RSS (VmHWM) and their RSS now, summed, as JSON fields.
mem() {
    local p peak=0 now=0 v
    for p in "${SERVER_PIDS[@]}"; do
        v=$(proc_bytes "$p" VmHWM); [ "$v" = null ] && peak=null
        [ "$peak" = null ] || peak=$((peak + v))
        v=$(proc_bytes "$p" VmRSS); [ "$v" = null ] && now=null
        [ "$now" = null ] || now=$((now + v))
    done
    echo "\"servers_rss_peak\":$peak,\"servers_rss_after\":$now"
}
for rep in $(seq 1 "$REPS"); do
    order=$KINDS
    if [ $((rep % 2)) = 0 ]; then order=$(echo "$KINDS" | tr ' ' '\n' | tac | tr '\n' ' '); fi
    for size in $SIZES; do
        for kind in $order; do
            head="\"kind\":\"cluster\",\"server\":\"$kind\",\"rep\":$rep,\"size\":$size,\"nodes\":$NODES,\"redis_pid\":$REDIS_PID"
            log "cluster rep $rep: $kind, $NODES servers, $SUBS subscribers, $size B"
            if ! start_servers "$kind"; then
                echo "{$head,\"load\":$(load1),\"error\":true,\"start_failed\":true}" >>"$RAW"
                stop_servers
                continue
            fi
            args=(bench --fanout --url "ws://127.0.0.1:${PORTS[0]}" --connections "$SUBS" --size "$size"
                --window "$WINDOW" --warmup "$WARMUP" --duration "$DURATION" --json)
            [ "$kind" = socketio ] && args+=(--socketio)
            for port in "${PORTS[@]}"; do args+=(--subscribe-url "ws://127.0.0.1:$port"); done
            for p in "${SERVER_PIDS[@]}" "$REDIS_PID"; do args+=(--server-pid "$p"); done
            if line=$("$WS" "${args[@]}"); then
                echo "{$head,\"load\":$(load1),$(mem),\"result\":$line}" >>"$RAW"
            else
                echo "{$head,\"load\":$(load1),$(mem),\"error\":true}" >>"$RAW"
            fi
            stop_servers
        done
    done
done
report cluster "$RAW" "$OUT" --commit "$COMMIT" \
    --load-start "$LOAD_START" --load-end "$(load1)" \
    --settings "SUBS=$SUBS SIZES=\"$SIZES\" WINDOW=$WINDOW WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS NODES=$NODES KINDS=\"$KINDS\""
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
