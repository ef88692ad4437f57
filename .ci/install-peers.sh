#!/usr/bin/env bash
# Installs the peers that the interop tests (tests/interop_*.rs) drive:
# Python `websockets` (pip), the npm packages of tests/interop/node (`ws`,
# `playwright-core`, pinned by its package-lock.json), Debian's
# `chromium`, and Debian's `redis-server` for the broker tests (each test
# starts its own on a free port; the package's own service is stopped). Idempotent and quiet: whatever is already there is skipped.
# Runs as root (CI does); safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
quietly() {
  if ! "$@" >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-peers: failed: $*" >&2
    exit 1
  fi
}

if python3 -c 'import websockets.asyncio.server' 2>/dev/null; then
  echo "python websockets: present"
else
  echo "python websockets: installing"
  quietly python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    'websockets>=13'
fi

if (cd tests/interop/node && npm ls --depth=0 >/dev/null 2>&1); then
  echo "npm ws + playwright-core: present"
else
  echo "npm ws + playwright-core: installing into tests/interop/node"
  quietly npm ci --prefix tests/interop/node --no-audit --no-fund --loglevel=error
fi

if [ -x /usr/bin/chromium ]; then
  echo "chromium: present"
else
  echo "chromium: installing (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  quietly apt-get update
  quietly apt-get install -y chromium
fi

if command -v redis-server >/dev/null 2>&1; then
  echo "redis-server: present"
else
  echo "redis-server: installing (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  quietly apt-get update
  # No init system starts it in a container; tests start their own.
  quietly apt-get install -y redis-server
fi
