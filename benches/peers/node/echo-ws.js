// Node `ws` echo server for the peer rig: every message straight back,
// text as text and binary as binary. Usage: node echo-ws.js --listen 127.0.0.1:9001 [--deflate]
// --deflate: accept permessage-deflate (RFC 7692) and compress every message
// (threshold 0), at zlib's defaults (level 6, 32 KiB windows, context takeover),
// the same settings as `ws6455 serve`.
'use strict';
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const i = args.indexOf('--listen');
const listen = i >= 0 ? args[i + 1] : (args[0] || '127.0.0.1:9001');
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];

const deflate = args.includes('--deflate');
const wss = new WebSocketServer({
  host,
  port,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  clientTracking: false,
  maxPayload: 64 << 20,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => console.error(`echo-ws (node ${process.version}) on ${listen}`));
