# Shared helpers of the bench scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WS=$ROOT/target/release/ws6455
PEERS=$ROOT/benches/peers/target/release
RESULTS=$ROOT/benches/results
mkdir -p "$RESULTS"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# Wait (up to 20 s) until something accepts TCP on 127.0.0.1:$1.
wait_port() {
    local i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "nothing listens on port $1"; return 1
}

# The command line of server $1 listening on 127.0.0.1:$2.
server_cmd() {
    case $1 in
        ws6455) echo "$WS serve --listen 127.0.0.1:$2 --quiet" ;;
        fastwebsockets) echo "$PEERS/echo-fastwebsockets --listen 127.0.0.1:$2" ;;
        tokio-tungstenite) echo "$PEERS/echo-tokio-tungstenite --listen 127.0.0.1:$2" ;;
        tungstenite) echo "$PEERS/echo-tungstenite --listen 127.0.0.1:$2" ;;
        node-ws) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2" ;;
        # permessage-deflate at the same settings on both (level 6, 32 KiB
        # windows, context takeover); ws6455-nct: no context takeover;
        # ws6455-snct: no context takeover for the server only.
        ws6455-deflate) echo "$WS serve --listen 127.0.0.1:$2 --quiet" ;;
        ws6455-nct) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-no-context-takeover" ;;
        ws6455-snct) echo "$WS serve --listen 127.0.0.1:$2 --quiet --deflate-server-no-context-takeover" ;;
        node-ws-deflate) echo "node $ROOT/benches/peers/node/echo-ws.js --listen 127.0.0.1:$2 --deflate" ;;
        raw-mio) echo "$PEERS/echo-raw-mio --listen 127.0.0.1:$2" ;;
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

# Wait (up to $LOADWAIT s, default 1200) for the 1-minute load average to
# drop below $MAXLOAD (default 1.0); prints the load it started with.
wait_for_calm() {
    local max=${MAXLOAD:-1.0} wait=${LOADWAIT:-1200} waited=0 load
    while :; do
        load=$(cut -d' ' -f1 /proc/loadavg)
        if awk -v l="$load" -v m="$max" 'BEGIN{exit !(l < m)}'; then
            log "load $load < $max: starting"; break
        fi
        if [ "$waited" -ge "$wait" ]; then
            log "load still $load after ${waited}s: running anyway"; break
        fi
        sleep 15; waited=$((waited + 15))
    done
    echo "$load"
}

build_all() {
    log "building ws6455 (release) and the peers"
    (cd "$ROOT" && cargo build --release --bin ws6455 --example fanout_server)
    (cd "$ROOT/benches/peers" && cargo build --release)
    if [ ! -d "$ROOT/benches/peers/node/node_modules/ws" ]; then
        (cd "$ROOT/benches/peers/node" && npm install --no-audit --no-fund)
    fi
}
