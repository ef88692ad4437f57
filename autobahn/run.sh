#!/usr/bin/env bash
# Runs the Autobahn testsuite (wstest) against ws6455 and checks the result.
#
#   bash autobahn/run.sh server   # wstest -m fuzzingclient tests `ws6455 serve`
#   bash autobahn/run.sh client   # wstest -m fuzzingserver tests `ws6455 autobahn-client`
#   AUTOBAHN_TLS=1 bash autobahn/run.sh server|client   # the same over wss://
#
# Reports land in autobahn/reports/{servers,clients}/ (over TLS:
# autobahn/reports/{servers,clients}-tls/) (index.html to read,
# index.json for autobahn/check.py). Exit status: the checker's (0 all as
# expected, 1 failures or differences), 2 when wstest or python3 is missing
# or a report cannot be read, 64 on bad usage, other non-zero when the
# build, the server or wstest itself fails.
#
# Environment: WSTEST (default: wstest) names the wstest executable, e.g.
# the one inside a Python 2.7 virtualenv; PYTHON3 (default: python3) runs
# the checker; AUTOBAHN_PORT (default 9001) is the port on 127.0.0.1 the run
# uses, which must be free (the spec files say 9001; for another port the
# run uses a copy with the port changed, so both roles can run at once);
# AUTOBAHN_TLS=1 runs over wss://, with a certificate for 127.0.0.1 made
# for the run by openssl (ws6455 trusts it with --ca; wstest's client does
# not check certificates).
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$here/.." && pwd)
host=127.0.0.1
port=${AUTOBAHN_PORT:-9001}
tls=${AUTOBAHN_TLS:-0}
scheme=ws
suffix=""
if [ "$tls" = 1 ]; then
    scheme=wss
    suffix=-tls
fi
url="$scheme://$host:$port"
agent=ws6455
wstest=${WSTEST:-wstest}
python3=${PYTHON3:-python3}

usage() {
    echo "usage: $0 server|client" >&2
    exit 64
}

[ $# -eq 1 ] || usage
role=$1
case $role in
server | client) ;;
*) usage ;;
esac

# Check the tools before a minutes-long release build.
if ! command -v "$wstest" >/dev/null 2>&1; then
    cat >&2 <<EOF
run.sh: wstest (Autobahn testsuite, Python 2.7) is not installed: '$wstest' is not on PATH.
Install it in a Python 2.7 virtualenv and point WSTEST at it:
    virtualenv -p python2.7 ~/wstest-env
    ~/wstest-env/bin/pip install autobahntestsuite
    WSTEST=~/wstest-env/bin/wstest bash autobahn/run.sh $role
See autobahn/README.md.
EOF
    exit 2
fi
if ! command -v "$python3" >/dev/null 2>&1; then
    echo "run.sh: python3 is not installed ('$python3' is not on PATH); autobahn/check.py needs it." >&2
    exit 2
fi

# Everything this script starts runs in the background, so that a signal
# reaches the traps at once (bash runs a trap only after the foreground
# command ends) and whatever way the script ends, nothing it started
# outlives it. bg_pid: the peer that serves during the run (our server or
# wstest's fuzzingserver); fg_pid: the command the script waits on.
bg_pid=""
fg_pid=""
stop() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    # A graceful stop first (the server closes its connections); a hard
    # one if it is still there after 10 s.
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_bg() {
    stop "$bg_pid"
    bg_pid=""
}
cleanup() {
    stop "$fg_pid"
    fg_pid=""
    stop_bg
    [ -z "${moved:-}" ] || rm -f "$moved"
    [ -z "${certs:-}" ] || rm -rf "$certs"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background and waits for it; returns its status.
run_fg() {
    "$@" &
    fg_pid=$!
    local rc=0
    wait "$fg_pid" || rc=$?
    fg_pid=""
    return "$rc"
}

port_open() {
    (: <>"/dev/tcp/$host/$port") 2>/dev/null
}

# Waits until the port accepts connections while the background process
# lives; fails if it dies or 30 s pass.
wait_for_port() {
    local what=$1 i
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$bg_pid" 2>/dev/null; then
            echo "run.sh: $what exited before listening on $host:$port" >&2
            return 1
        fi
        port_open && return 0
        sleep 0.1
    done
    echo "run.sh: $what did not listen on $host:$port within 30 s" >&2
    return 1
}

if port_open; then
    echo "run.sh: $host:$port is already in use; stop whatever listens there first." >&2
    exit 1
fi

echo "run.sh: building the release binary" >&2
run_fg cargo build --release --manifest-path "$root/Cargo.toml"
bin="$root/target/release/ws6455"

tls_serve=()
tls_client=()
if [ "$tls" = 1 ]; then
    certs=$(mktemp -d "${TMPDIR:-/tmp}/ws6455-autobahn-certs-XXXXXX")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$certs/key.pem" -out "$certs/cert.pem" -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
        -addext basicConstraints=critical,CA:FALSE 2>/dev/null
    tls_serve=(--tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem")
    tls_client=(--ca "$certs/cert.pem")
fi

# wstest resolves the spec's outdir (./reports/...) against its cwd.
cd "$here"
spec=fuzzingclient.json
if [ "$role" = client ]; then spec=fuzzingserver.json; fi
if [ "$port" != 9001 ] || [ "$tls" = 1 ]; then
    moved=$(mktemp "${TMPDIR:-/tmp}/ws6455-autobahn-$role-XXXXXX")
    "$python3" - "$spec" "$moved" "$url" "$suffix" "${certs:-}" <<'PY'
import json, sys
src, dst, url, suffix, certs = sys.argv[1:]
spec = json.load(open(src))
spec["outdir"] += suffix
if "servers" in spec:
    for server in spec["servers"]:
        server["url"] = url
else:
    spec["url"] = url
    if certs:
        spec["key"] = certs + "/key.pem"
        spec["cert"] = certs + "/cert.pem"
json.dump(spec, open(dst, "w"), indent=4)
PY
    spec=$moved
fi
status=0
if [ "$role" = server ]; then
    "$bin" serve --listen "$host:$port" --quiet "${tls_serve[@]}" &
    bg_pid=$!
    wait_for_port "ws6455 serve"
    run_fg "$wstest" -m fuzzingclient -s "$spec" || status=$?
    stop_bg
    reports=reports/servers
else
    # --webport 0: no report web server on 8080, so nothing else is needed free.
    "$wstest" -m fuzzingserver -s "$spec" --webport 0 &
    bg_pid=$!
    wait_for_port "wstest -m fuzzingserver"
    run_fg "$bin" autobahn-client --url "$url" --agent "$agent" "${tls_client[@]}" || status=$?
    stop_bg
    reports=reports/clients
fi
reports=$reports$suffix

if [ "$status" -ne 0 ]; then
    echo "run.sh: the run failed (exit $status); checking whatever report it left" >&2
fi
check=0
"$python3" "$here/check.py" --role "$role" --agent "$agent" --reports "$here/$reports" || check=$?
echo "run.sh: full report: $here/$reports/index.html" >&2
if [ "$check" -ne 0 ]; then
    exit "$check"
fi
exit "$status"
