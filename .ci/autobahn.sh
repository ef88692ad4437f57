#!/usr/bin/env bash
# Run the real Autobahn testsuite (wstest, Python 2.7) against ws6455 in
# both roles when a CPython 2.7 is available on this machine; check every
# verdict against autobahn/expected-results.json.
#
# wstest is installed into a throwaway virtualenv (never the system Python).
# Without a Python 2.7 this says so and succeeds: the suite is then run by
# whoever has one (see autobahn/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."

py27=""
for candidate in "${PYTHON27:-}" "$HOME/.pyenv/versions/2.7.18/bin/python" "$(command -v python2.7 || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then py27="$candidate"; break; fi
done
if [ -z "$py27" ]; then
  echo "autobahn: no CPython 2.7 on this machine: the Autobahn testsuite is not run here"
  exit 0
fi

env_dir="${WSTEST_ENV:-${TMPDIR:-/tmp}/ws6455-wstest-env}"
install_wstest() {
  local tools="$env_dir-tools"
  python3 -m venv "$tools" &&
    "$tools/bin/pip" install -q 'virtualenv<20.22' &&
    "$tools/bin/virtualenv" -q -p "$py27" "$env_dir" &&
    "$env_dir/bin/pip" install -q autobahntestsuite==25.10.1
}
if [ ! -x "$env_dir/bin/wstest" ]; then
  echo "autobahn: installing wstest (autobahntestsuite 25.10.1) into $env_dir with $py27"
  # A registry hiccup is not a conformance failure: say so loudly and go on.
  if ! install_wstest; then
    echo "autobahn: WARNING: could not install wstest; the Autobahn suite was NOT run"
    rm -rf "$env_dir"
    exit 0
  fi
fi
"$env_dir/bin/wstest" --autobahnversion

export WSTEST="$env_dir/bin/wstest"
# Both roles at once, on two ports: each wstest is single-threaded Python
# and sections 12-13 make a role take tens of minutes, so on two cores this
# halves the wall time. Full logs go to target/autobahn-<role>[-tls].log; the
# per-case progress lines are left out of what is printed here.
# The wss:// runs make their certificate with openssl.
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl; }
cargo build --release
mkdir -p target
# ws:// first, then wss:// (AUTOBAHN_TLS=1: a certificate made for the run,
# serve --tls-cert/--tls-key, autobahn-client --ca).
failed=0
for tls in 0 1; do
    tag=""
    [ "$tls" = 1 ] && tag="-tls"
    AUTOBAHN_TLS=$tls AUTOBAHN_PORT=${AUTOBAHN_SERVER_PORT:-9001} bash autobahn/run.sh server >"target/autobahn-server$tag.log" 2>&1 &
    server_pid=$!
    AUTOBAHN_TLS=$tls AUTOBAHN_PORT=${AUTOBAHN_CLIENT_PORT:-9002} bash autobahn/run.sh client >"target/autobahn-client$tag.log" 2>&1 &
    client_pid=$!
    trap 'kill "$server_pid" "$client_pid" 2>/dev/null || true' EXIT
    server_rc=0
    wait "$server_pid" || server_rc=$?
    client_rc=0
    wait "$client_pid" || client_rc=$?
    trap - EXIT
    for role in server client; do
        echo "=== autobahn$tag: $role role (full log: target/autobahn-$role$tag.log)"
        grep -vE '^(Running test case ID|case [0-9]+/[0-9]+$|Cases = )' "target/autobahn-$role$tag.log" || true
    done
    echo "autobahn$tag: server role exit $server_rc, client role exit $client_rc"
    if [ "$server_rc" -ne 0 ] || [ "$client_rc" -ne 0 ]; then failed=1; fi
done
[ "$failed" -eq 0 ]
