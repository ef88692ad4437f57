#!/usr/bin/env bash
# wss:// side by side in one run: `ws6455 serve --tls-cert … --tls-key …`
# (ws6455-tls), tokio-tungstenite on tokio-rustls (tokio-tungstenite-tls,
# benches/peers, on the same rustls and provider as ws6455) and Node `ws`
# on https.createServer (node-ws-tls), servers alternating within each of
# $REPS repetitions, medians reported:
#
# * echo: `ws6455 bench --url wss://… --ca cert.pem`, closed loop, for C in
#   $CONNS × S in $SIZES: echoes per second and per server CPU-second;
# * RSS per idle TLS connection: the server's VmRSS before and after
#   $IDLE connections (TLS 1.3 handshake and upgrade done, no traffic)
#   are open and settled ($HOLD s), divided by $IDLE
#   (benches/peers' tls-idle-client);
# * handshakes per server CPU-second: $HS_CONCURRENCY client threads
#   each looping new TCP connection → full TLS 1.3 handshake → upgrade →
#   Close → the server's Close and end of the connection
#   (benches/peers' tls-handshake-client), for each key exchange offer in
#   $HS_GROUPS ("default": aws-lc-rs's list, X25519MLKEM768 first, as
#   ws6455's own client and browsers offer; "X25519": X25519 alone, what
#   a server without ML-KEM, such as Node on OpenSSL 3.0, agrees to
#   anyway).
#
# The certificate (ECDSA P-256, self-signed for 127.0.0.1 and localhost,
# valid 2 days) is made by openssl for the run in a temp directory and
# removed at exit: no key is ever written under the repo.
#
# Writes benches/results/tls-<date>.json and regenerates BENCHMARKS.md.
# A run whose 1-minute load average at the start exceeded $MAXLOAD is
# kept but not published, and the script exits 1; FORCE=1 publishes it
# all the same (the JSON and every table then say so).
#
#   benches/tls.sh
#   WARMUP=2 DURATION=5 REPS=3 CONNS="100 1000" SIZES="20 1024 65536" IDLE=2000 HOLD=2 \
#   HS_CONCURRENCY=4 HS_GROUPS="default X25519" SERVERS="ws6455-tls tokio-tungstenite-tls node-ws-tls" \
#   MAXLOAD=1.5 LOADWAIT=1200 benches/tls.sh
#   QUICK=1 benches/tls.sh      # a dry run into a temp directory
#   WS_BASE=path/to/ws6455 SERVERS="ws6455-tls ws6455-base-tls tokio-tungstenite-tls node-ws-tls" \
#   benches/tls.sh              # with another build alternating: before/after in one run
#                               # ($WS_BASE_COMMIT names its commit if its checkout cannot tell)
set -euo pipefail
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

if quick; then
    : "${CONNS:=10}" "${SIZES:=20 65536}" "${HS_GROUPS:=default}" "${HOLD:=1}"
fi
WARMUP=${WARMUP:-2}
DURATION=${DURATION:-5}
REPS=${REPS:-3}
CONNS=${CONNS:-"100 1000"}
SIZES=${SIZES:-"20 1024 65536"}
SERVERS=${SERVERS:-"ws6455-tls tokio-tungstenite-tls node-ws-tls"}
IDLE=${IDLE:-2000}
HOLD=${HOLD:-2}
HS_CONCURRENCY=${HS_CONCURRENCY:-4}
HS_GROUPS=${HS_GROUPS:-"default X25519"}
WINDOWRATE=${WINDOWRATE:-100M}
RATE=$(bytes_of "$WINDOWRATE")
FORCE=${FORCE:-0}
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
RAW=$RESULTS/.tls-$STAMP.jsonl
OUT=$RESULTS/tls-$STAMP.json

# The certificate, its key and the idle client's files, gone at exit.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/ws6455-tls-bench.XXXXXX")
SERVER_PID=""
IDLE_PID=""
cleanup() {
    exec 4>&- 2>/dev/null || true
    [ -z "$IDLE_PID" ] || kill "$IDLE_PID" 2>/dev/null || true
    [ -z "$SERVER_PID" ] || stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
export TLS_CERT=$TMP/cert.pem TLS_KEY=$TMP/key.pem
# basicConstraints CA:FALSE: openssl's default for -x509 is CA:TRUE, and
# webpki (rustls) refuses a CA certificate as the server's own
# (CaUsedAsEndEntity), even when it is the trust anchor given by --ca.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$TLS_KEY" -out "$TLS_CERT" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -addext basicConstraints=critical,CA:FALSE 2>/dev/null

# Fail now, not after half an hour, on a server that cannot start.
for server in $SERVERS; do server_cmd "$server" 1 >/dev/null; done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    log "building ws6455 (release) and the peers"
    (cd "$ROOT" && cargo build --release --bin ws6455)
    (cd "$ROOT/benches/peers" && cargo build --release)
    install_node_peer
fi
COMMIT=$(commit_of "$ROOT")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LOAD_START=$(wait_for_calm)
load_gate "$LOAD_START"
: >"$RAW"

# The next port nothing listens on (another session's server must not
# answer for ours).
port=10400
next_port() {
    while :; do
        port=$((port + 1)); [ $port -lt 10900 ] || port=10401
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    done
}

# Start server $1 on a fresh port (sets SERVER_PID); if it does not come
# up within 20 s or exits, say why, record a raw line of kind $2 (with
# the JSON fields "$3", each followed by a comma) saying so, and fail.
start() {
    local cmd _
    next_port
    cmd=$(server_cmd "$1" "$port")
    $cmd >/dev/null 2>"$TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "$1 did not start: $(head -c 400 "$TMP/server.err")"
    echo "{\"kind\":\"$2\",\"server\":\"$1\",\"rep\":$rep,$3\"load\":$(load1),\"error\":true,\"start_failed\":true}" >>"$RAW"
    stop_server; SERVER_PID=""
    return 1
}

# RSS per idle TLS connection to the server on $port: prints the result
# object, or fails.
idle_rss() {
    local before after i line=""
    before=$(proc_bytes "$SERVER_PID" VmRSS)
    rm -f "$TMP/hold" "$TMP/ready"
    mkfifo "$TMP/hold"
    "$PEERS/tls-idle-client" --url "wss://127.0.0.1:$port/" --ca "$TLS_CERT" --count "$IDLE" \
        <"$TMP/hold" >"$TMP/ready" &
    IDLE_PID=$!
    exec 4>"$TMP/hold"
    for i in $(seq 1 1200); do
        line=$(head -n1 "$TMP/ready")
        [ -z "$line" ] || break
        kill -0 "$IDLE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [[ $line == READY* ]]; then
        sleep "$HOLD"
        after=$(proc_bytes "$SERVER_PID" VmRSS)
    fi
    exec 4>&-
    wait "$IDLE_PID" 2>/dev/null || true
    IDLE_PID=""
    [[ $line == READY* ]] || { log "idle client failed after $i polls"; return 1; }
    echo "{\"connections\":$IDLE,\"open_s\":${line##* },\"hold_s\":$HOLD,\"server_rss_before\":$before,\"server_rss_after\":$after,\"rss_per_connection\":$(( (after - before) / IDLE ))}"
}

for rep in $(seq 1 "$REPS"); do
    # Echo.
    for c in $CONNS; do
        for s in $SIZES; do
            duration=$(( (c * s + RATE - 1) / RATE ))
            [ "$duration" -ge "$DURATION" ] || duration=$DURATION
            warmup=$(( (c * s + 2 * RATE - 1) / (2 * RATE) ))
            [ "$warmup" -ge "$WARMUP" ] || warmup=$WARMUP
            for server in $SERVERS; do
                log "rep $rep  echo  $server  c=$c s=$s  (${warmup} s + ${duration} s)"
                start "$server" echo "\"connections\":$c,\"size\":$s," || continue
                if line=$("$WS" bench --url "wss://127.0.0.1:$port/" --ca "$TLS_CERT" --connections "$c" --size "$s" \
                        --warmup "$warmup" --duration "$duration" --json --server-pid "$SERVER_PID"); then
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"result\":$line}" >>"$RAW"
                else
                    log "echo $server c=$c s=$s failed"
                    echo "{\"kind\":\"echo\",\"server\":\"$server\",\"rep\":$rep,\"connections\":$c,\"size\":$s,\"load\":$(load1),\"error\":true}" >>"$RAW"
                fi
                stop_server; SERVER_PID=""
            done
        done
    done
    # RSS per idle TLS connection.
    for server in $SERVERS; do
        log "rep $rep  idle  $server  $IDLE connections"
        start "$server" idle "" || continue
        sleep 1
        if line=$(idle_rss); then
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"result\":$line}" >>"$RAW"
        else
            echo "{\"kind\":\"idle\",\"server\":\"$server\",\"rep\":$rep,\"load\":$(load1),\"error\":true}" >>"$RAW"
        fi
        stop_server; SERVER_PID=""
    done
    # Handshakes.
    for groups in $HS_GROUPS; do
        group_args=()
        [ "$groups" = default ] || group_args=(--groups "$groups")
        for server in $SERVERS; do
            log "rep $rep  handshakes  $server  groups=$groups  (${WARMUP} s + ${DURATION} s, $HS_CONCURRENCY threads)"
            start "$server" handshake "\"groups\":\"$groups\"," || continue
            if line=$("$PEERS/tls-handshake-client" --url "wss://127.0.0.1:$port/" --ca "$TLS_CERT" \
                    --warmup "$WARMUP" --seconds "$DURATION" --concurrency "$HS_CONCURRENCY" \
                    --server-pid "$SERVER_PID" "${group_args[@]}"); then
                echo "{\"kind\":\"handshake\",\"server\":\"$server\",\"rep\":$rep,\"groups\":\"$groups\",\"load\":$(load1),\"result\":$line}" >>"$RAW"
            else
                # The client prints its JSON line (first_error…) even then.
                log "handshakes $server groups=$groups failed: $line"
                [[ $line == "{"*"}" ]] || line=null
                echo "{\"kind\":\"handshake\",\"server\":\"$server\",\"rep\":$rep,\"groups\":\"$groups\",\"load\":$(load1),\"error\":true,\"detail\":$line}" >>"$RAW"
            fi
            stop_server; SERVER_PID=""
        done
    done
done

LOAD_END=$(load1)
FORCE_ARGS=()
[ "$FORCE" != 1 ] || FORCE_ARGS=(--force)
if [[ " $SERVERS " == *" ws6455-base-tls "* ]]; then
    FORCE_ARGS+=(--base-commit "${WS_BASE_COMMIT:-$(commit_of "$WS_BASE")}" --base-path "$WS_BASE")
fi
report tls "$RAW" "$OUT" --commit "$COMMIT" "${FORCE_ARGS[@]}" \
    --load-start "$LOAD_START" --load-end "$LOAD_END" \
    --settings "WARMUP=$WARMUP DURATION=$DURATION REPS=$REPS CONNS=\"$CONNS\" SIZES=\"$SIZES\" IDLE=$IDLE HOLD=$HOLD HS_CONCURRENCY=$HS_CONCURRENCY HS_GROUPS=\"$HS_GROUPS\" WINDOWRATE=$WINDOWRATE"
rm -f "$RAW"
log "wrote $OUT and $MARKDOWN"
if awk -v l="$LOAD_START" -v m="$MAXLOAD" 'BEGIN{exit !(l > m)}'; then
    if [ "$FORCE" = 1 ]; then
        log "load $LOAD_START > $MAXLOAD at the start: published anyway (FORCE=1), and the tables say so"
    else
        log "load $LOAD_START > $MAXLOAD at the start: not published (FORCE=1 publishes it), retry later"
        exit 1
    fi
fi
