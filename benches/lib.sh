# shellcheck shell=bash
# Shared helpers of the bench scripts (sourced, not run).
#
# Environment every script understands:
#   QUICK=1       a dry run to check the scripts: WARMUP=0 DURATION=1 REPS=1,
#                 small counts and sizes, LOADWAIT=120; results and
#                 BENCHMARKS.md under a fresh temp directory (the real
#                 benches/results/ and BENCHMARKS.md are not touched)
#   MAXLOAD=1.5   a run whose 1-minute load average at the start exceeds
#                 this is measured and kept, but marked unpublished
#   LOADWAIT=1200 seconds to wait for the load to fall under MAXLOAD first
#   SKIP_BUILD=1  use the binaries as they are

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WS=$ROOT/target/release/ws6455
PEERS=$ROOT/benches/peers/target/release
RESULTS=$ROOT/benches/results
MARKDOWN=$ROOT/BENCHMARKS.md
MAXLOAD=${MAXLOAD:-1.5}

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# True in a QUICK=1 dry run.
quick() { [ "${QUICK:-0}" = 1 ]; }

if quick; then
    : "${WARMUP:=0}" "${DURATION:=1}" "${REPS:=1}" "${IDLE:=200}" "${LOADWAIT:=120}"
    RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/ws6455-bench-quick.XXXXXX")
    MARKDOWN=$RESULTS/BENCHMARKS.md
    log "QUICK=1: a dry run; results and BENCHMARKS.md go to $RESULTS"
fi
mkdir -p "$RESULTS"

# The commit whose code the git checkout holding path $1 (a directory or
# a file) builds: the newest commit that changed anything but benches/
# and Markdown (so committing results or notes between two runs does not
# make them look like different code), with "+dirty" when the tracked
# sources differ from it or there are untracked .rs files: a build from
# such a tree is not that commit. "unknown" outside a checkout.
commit_of() {
    local dir=$1 top c
    [ -d "$dir" ] || dir=$(dirname "$dir")
    top=$(git -C "$dir" rev-parse --show-toplevel 2>/dev/null) || { echo unknown; return 0; }
    c=$(git -C "$top" log -1 --format=%h -- . ':(exclude)benches' ':(exclude)*.md' 2>/dev/null)
    [ -n "$c" ] || c=$(git -C "$top" rev-parse --short HEAD 2>/dev/null) || { echo unknown; return 0; }
    if [ -n "$(git -C "$top" status --porcelain --untracked-files=no -- . ':(exclude)benches' ':(exclude)*.md' 2>/dev/null)" ] ||
        [ -n "$(git -C "$top" ls-files --others --exclude-standard -- '*.rs' ':(exclude)benches' 2>/dev/null)" ]; then
        c="$c+dirty"
    fi
    echo "$c"
}

# "2147483648", "2g", "512M", "64k" → bytes.
bytes_of() {
    local v=$1 n unit
    n=${v%[kKmMgG]}; unit=${v#"$n"}
    case $n in '' | *[!0-9]*) log "not a size: $v"; return 1 ;; esac
    case $unit in
        k | K) echo $((n << 10)) ;;
        m | M) echo $((n << 20)) ;;
        g | G) echo $((n << 30)) ;;
        *) echo "$n" ;;
    esac
}

# Wait (up to 20 s) until something accepts TCP on 127.0.0.1:$1.
wait_port() {
    local _
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"; return 1
}

# The command line of server $1 listening on 127.0.0.1:$2.
server_cmd() {
    case $1 in
        ws6455) echo "$WS serve --listen 127.0.0.1:$2 --quiet" ;;
        # `ws6455 serve` of another build ($WS_BASE), for before/after in one run.
        ws6455-base)
            if [ -z "${WS_BASE:-}" ] || [ ! -x "$WS_BASE" ]; then
                log "server ws6455-base needs WS_BASE=path/to/another/ws6455 (got '${WS_BASE:-}')"; return 1
            fi
            echo "$WS_BASE serve --listen 127.0.0.1:$2 --quiet" ;;
        fastwebsockets) echo "$PEERS/echo-fastwebsockets --listen 127.0.0.1:$2" ;;
        tokio-tungstenite) echo "$PEERS/echo-tokio-tungstenite --listen 127.0.0.1:$2" ;;
        tungstenite) echo "$PEERS/echo-tungstenite --listen 127.0.0.1:$2" ;;
        node-ws) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2" ;;
        # permessage-deflate with each side's defaults (ws6455 at zlib
        # level 5, Node at 6; 32 KiB windows, context takeover, every
        # message compressed: threshold 0); ws6455-deflate is serve's
        # default (codecs lent between bursts, `--deflate-memory
        # windows`), ws6455-full keeps them; ws6455-nct: no context
        # takeover; ws6455-snct: no context takeover for the server only.
        ws6455-deflate) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0" ;;
        ws6455-full) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-memory full" ;;
        # The default at zlib level 6, Node's: what the default's step
        # down to 5 buys in compressor time and costs in ratio.
        ws6455-level6) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-level 6" ;;
        ws6455-nct) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-no-context-takeover" ;;
        ws6455-snct) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-server-no-context-takeover" ;;
        node-ws-deflate) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2 --deflate" ;;
        # serve --deflate-memory PRESET, and Node `ws` with the same windows.
        ws6455-small) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-memory small" ;;
        ws6455-tiny) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-threshold 0 --deflate-memory tiny" ;;
        node-ws-small) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2 --deflate --deflate-window 12" ;;
        node-ws-tiny) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2 --deflate --deflate-window 9" ;;
        raw-mio) echo "$PEERS/echo-raw-mio --listen 127.0.0.1:$2" ;;
        # wss:// (benches/tls.sh): the PEM certificate and key in $TLS_CERT
        # and $TLS_KEY (paths without spaces).
        ws6455-tls | ws6455-base-tls | tokio-tungstenite-tls | node-ws-tls)
            if [ -z "${TLS_CERT:-}" ] || [ -z "${TLS_KEY:-}" ]; then
                log "server $1 needs TLS_CERT and TLS_KEY"; return 1
            fi
            case $1 in
                ws6455-tls) echo "$WS serve --listen 127.0.0.1:$2 --quiet --tls-cert $TLS_CERT --tls-key $TLS_KEY" ;;
                # The build at $WS_BASE, for before/after in one run.
                ws6455-base-tls)
                    if [ -z "${WS_BASE:-}" ] || [ ! -x "$WS_BASE" ]; then
                        log "server ws6455-base-tls needs WS_BASE=path/to/another/ws6455 (got '${WS_BASE:-}')"; return 1
                    fi
                    echo "$WS_BASE serve --listen 127.0.0.1:$2 --quiet --tls-cert $TLS_CERT --tls-key $TLS_KEY" ;;
                tokio-tungstenite-tls) echo "$PEERS/echo-tokio-tungstenite-tls --listen 127.0.0.1:$2 --tls-cert $TLS_CERT --tls-key $TLS_KEY" ;;
                node-ws-tls) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2 --tls-cert $TLS_CERT --tls-key $TLS_KEY" ;;
            esac ;;
        *) log "unknown server $1"; return 1 ;;
    esac
}

# Start server $1 on port $2 in the background; sets SERVER_PID.
start_server() {
    local cmd
    cmd=$(server_cmd "$1" "$2")
    $cmd >/dev/null 2>&1 &
    SERVER_PID=$!
    wait_port "$2"
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# Field $2 (VmRSS, VmHWM) of /proc/$1/status in bytes, or null.
proc_bytes() {
    awk -v k="$2:" '$1 == k {print $2 * 1024; found = 1} END {if (!found) print "null"}' "/proc/$1/status" 2>/dev/null ||
        echo null
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# Wait (up to $LOADWAIT s, default 1200) for the 1-minute load average to
# drop to $MAXLOAD or below; prints the load it started with.
wait_for_calm() {
    local wait=${LOADWAIT:-1200} waited=0 load
    while :; do
        load=$(load1)
        if awk -v l="$load" -v m="$MAXLOAD" 'BEGIN{exit !(l <= m)}'; then
            log "load $load ≤ $MAXLOAD: starting"; break
        fi
        if [ "$waited" -ge "$wait" ]; then
            log "load still $load after ${waited}s: running anyway"; break
        fi
        sleep 15; waited=$((waited + 15))
    done
    echo "$load"
}

# Say (at the start, and again at the end) whether a run that started at
# load $1 may be published; report.py records the same verdict.
load_gate() {
    if awk -v l="$1" -v m="$MAXLOAD" 'BEGIN{exit !(l > m)}'; then
        log "load $1 > $MAXLOAD at the start: not published, retry later"
    fi
}

# report.py KIND RAW OUT [more args]: write the results JSON and render
# BENCHMARKS.md, in QUICK mode under the temp directory.
report() {
    local kind=$1 raw=$2 out=$3
    shift 3
    python3 "$ROOT/benches/report.py" "$kind" "$raw" "$out" \
        --results "$RESULTS" --markdown "$MARKDOWN" --max-load "$MAXLOAD" "$@"
}

# Node `ws` for the node-ws servers, installed once.
install_node_peer() {
    if [ ! -d "$ROOT/benches/peers/node/node_modules/ws" ]; then
        (cd "$ROOT/benches/peers/node" && npm install --no-audit --no-fund)
    fi
}

# Unless SKIP_BUILD=1: ws6455 (release) and Node `ws`, what the scripts
# that measure only those two need.
build_ws6455_and_node() {
    [ "${SKIP_BUILD:-0}" = 1 ] && return 0
    (cd "$ROOT" && cargo build --release --bin ws6455)
    install_node_peer
}

build_all() {
    log "building ws6455 (release) and the peers"
    (cd "$ROOT" && cargo build --release --bin ws6455 --example fanout_server)
    (cd "$ROOT/benches/peers" && cargo build --release)
    install_node_peer
}
