#!/usr/bin/env node
// Autobahn client on Node `ws` 8, a peer of autobahn/parity.py: asks the
// fuzzingserver (wstest -m fuzzingserver or `ws6455 conformance client`)
// for /getCaseCount, runs every case on /runCase?case=N&agent=A echoing each
// text and binary message, then asks for /updateReports?agent=A. Shaped
// like ws's own test/autobahn.js; perMessageDeflate: true (offered, the
// library's default parameters), everything else ws's default.
//
// usage: node ws_client.js [--url ws://127.0.0.1:9001] [--agent ws]
//   (finds `ws` through NODE_PATH, e.g. tests/interop/node/node_modules)
// Exit 0 once the reports were asked for, 1 if /getCaseCount or
// /updateReports fails.
'use strict';

const WebSocket = require('ws');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const url = opt('--url', 'ws://127.0.0.1:9001').replace(/\/+$/, '');
const agent = opt('--agent', 'ws');
const options = { perMessageDeflate: true };

let count = 0;
let current = 1;

function fail(what, err) {
  console.error(`ws_client: ${what}: ${err.message}`);
  process.exit(1);
}

function next() {
  if (current > count) {
    const ws = new WebSocket(`${url}/updateReports?agent=${encodeURIComponent(agent)}`, options);
    ws.on('error', (err) => fail('/updateReports', err));
    ws.on('close', () => {
      console.error('ws_client: reports updated');
      process.exit(0);
    });
    return;
  }
  const ws = new WebSocket(`${url}/runCase?case=${current}&agent=${encodeURIComponent(agent)}`, options);
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
  ws.on('close', () => {
    current += 1;
    process.nextTick(next);
  });
}

const ws = new WebSocket(`${url}/getCaseCount`, options);
ws.on('message', (data) => {
  count = parseInt(data.toString(), 10);
});
ws.on('error', (err) => fail('/getCaseCount', err));
ws.on('close', () => {
  console.error(`ws_client: ${count} cases`);
  next();
});
