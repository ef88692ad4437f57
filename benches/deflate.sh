#!/usr/bin/env bash
# permessage-deflate (RFC 7692): what it costs per idle connection and how
# fast it echoes compressed text, ws6455 against Node `ws` (which has the
# extension, at the same zlib settings) in the same run.
#
# * idle: $IDLE connections each, RSS per connection, for: no extension;
#   the extension agreed but unused; one ~1 KiB message each way
#   (`bench --idle --warm`) with and without the extension, and with
#   `serve --deflate-no-context-takeover` and
#   `--deflate-server-no-context-takeover`, and under each
#   `--deflate-memory` preset (the default windows, full, small, tiny)
#   against Node `ws` with the same window bits;
# * echo: $CONNS connections echoing JSON-like text of each of $SIZES,
#   every message compressed both ways (`bench --deflate`); payload MB per
#   server CPU-second = what one core inflates and deflates; the default
#   (zlib level 5), `--deflate-memory full` and the default at
#   `--deflate-level 6` against Node `ws` (its default, level 6);
# * ratio (first repetition only: it is deterministic): the chat and mixed
#   corpora of benches/corpus.py echoed over one connection (`bench
#   --ratio`), wire bytes of the server's echoes over payload bytes, per
#   preset against Node `ws` with the same windows, and the default at
#   level 6 against Node's at 6.
#
# With WS_BASE=path/to/another/ws6455, that build echoes too (as
# ws6455-base), alternating with the current one: before/after in one run.
#
# $REPS repetitions, servers alternating, medians reported. Writes
# benches/results/deflate-<date>.json and regenerates BENCHMARKS.md.
#
#   benches/deflate.sh
#   IDLE=10000 CONNS=10 SIZES="1k 16k 128k" REPS=3 benches/deflate.sh
#   WS_BASE=/tmp/ws6455-before benches/deflate.sh
#   QUICK=1 benches/deflate.sh      # a dry run into a temp directory
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${CONNS:=2}" "${SIZES:=1k}"
fi
IDLE=${IDLE:-10000}
CONNS=${CONNS:-10}
SIZES=${SIZES:-1k 16k 128k}
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.deflate-$STAMP.jsonl
CORPUS=$(mktemp -d)
trap 'rm -rf "$CORPUS"' EXIT
python3 "$ROOT/benches/corpus.py" "$CORPUS"
OUT=$RESULTS/deflate-$STAMP.json

build_ws6455_and_node
COMMIT=$(commit_of "$ROOT")
ECHO_SERVERS="ws6455-deflate ws6455-full ws6455-level6 node-ws-deflate"
base_args=()
if [ -n "${WS_BASE:-}" ]; then
    ECHO_SERVERS="ws6455-deflate ws6455-full ws6455-level6 ws6455-base node-ws-deflate"
    base_args=(--base-commit "$(commit_of "$WS_BASE")" --base-path "$WS_BASE")
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"

# record KIND REP SERVER CASE -- bench args…
record() {
    local kind=$1 rep=$2 server=$3 case=$4 line
    shift 5
    if line=$("$WS" bench "$@" --json --server-pid "$SERVER_PID"); then
        echo "{\"kind\":\"$kind\",\"rep\":$rep,\"server\":\"$server\",\"case\":\"$case\",\"load\":$(load1),\"result\":$line}" >>"$RAW"
    else
        log "$kind $server $case failed"
        echo "{\"kind\":\"$kind\",\"rep\":$rep,\"server\":\"$server\",\"case\":\"$case\",\"load\":$(load1),\"error\":true}" >>"$RAW"
    fi
}

port=9960
for rep in $(seq 1 "$REPS"); do
    # server, case, bench flags
    while read -r server case flags; do
        port=$((port + 1))
        start_server "$server" "$port"
        log "idle rep $rep: $server $case"
        # shellcheck disable=SC2086
        record idle "$rep" "$server" "$case" -- --idle --url "ws://127.0.0.1:$port/" \
            --connections "$IDLE" --hold 2 $flags
        stop_server
    done <<'CASES'
ws6455 plain
node-ws plain
ws6455 plain-warm --warm
node-ws plain-warm --warm
ws6455-deflate agreed --deflate
node-ws-deflate agreed --deflate
ws6455-deflate warm --deflate --warm
node-ws-deflate warm --deflate --warm
ws6455-full warm-full --deflate --warm
ws6455-nct warm-nct --deflate --warm
ws6455-snct warm-snct --deflate --warm
ws6455-small warm-small --deflate --warm
node-ws-small warm-small --deflate --warm
ws6455-tiny warm-tiny --deflate --warm
node-ws-tiny warm-tiny --deflate --warm
CASES
    if [ "$rep" = 1 ]; then
        while read -r server preset; do
            for corpus in chat mixed; do
                port=$((port + 1))
                start_server "$server" "$port"
                log "ratio: $server $corpus"
                record ratio "$rep" "$server" "$preset-$corpus" -- --ratio "$CORPUS/$corpus.jsonl" \
                    --url "ws://127.0.0.1:$port/"
                stop_server
            done
        done <<'RATIOS'
ws6455-deflate windows
node-ws-deflate windows
ws6455-small small
node-ws-small small
ws6455-tiny tiny
node-ws-tiny tiny
ws6455-level6 level6
RATIOS
    fi
    for size in $SIZES; do
        for server in $ECHO_SERVERS; do
            port=$((port + 1))
            start_server "$server" "$port"
            log "echo rep $rep: $server $size"
            record echo "$rep" "$server" "$size" -- --url "ws://127.0.0.1:$port/" --deflate \
                --connections "$CONNS" --size "$size" --warmup "$WARMUP" --duration "$DURATION"
            stop_server
        done
    done
done
report deflate "$RAW" "$OUT" --commit "$COMMIT" "${base_args[@]}" \
    --load-start "$LOAD_START" --load-end "$(load1)" \
    --settings "IDLE=$IDLE CONNS=$CONNS SIZES='$SIZES' WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS"
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
load_gate "$LOAD_START"
