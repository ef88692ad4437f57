#!/usr/bin/env node
// Echo server on Node `ws` 8, a peer of autobahn/parity.py: every text and
// binary message goes back as it came, with permessage-deflate enabled
// (perMessageDeflate: true, the library's default parameters: offers from
// clients are accepted; messages under 1 KiB are sent uncompressed).
// Everything else is ws's default (UTF-8 checked, maxPayload 100 MiB).
//
// usage: node ws_server.js --listen 127.0.0.1:PORT
//   (finds `ws` through NODE_PATH, e.g. tests/interop/node/node_modules;
//   stops on SIGTERM or SIGINT)
'use strict';

const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const i = args.indexOf('--listen');
const listen = i >= 0 ? args[i + 1] : '127.0.0.1:9001';
const sep = listen.lastIndexOf(':');
const host = listen.slice(0, sep);
const port = Number(listen.slice(sep + 1));

const wss = new WebSocketServer({ host, port, perMessageDeflate: true });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws_server on ${host}:${port}`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
