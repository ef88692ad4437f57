// Node `ws` echo server for the peer rig: every message straight back,
// text as text and binary as binary.
// Usage: node echo-ws.js --listen 127.0.0.1:9001 [--deflate [--deflate-window BITS]] [--tls-cert cert.pem --tls-key key.pem]
// --deflate: accept permessage-deflate (RFC 7692) and compress every message
// (threshold 0), at zlib's defaults (level 6, 32 KiB windows, context takeover),
// the same settings as `ws6455 serve`.
// --tls-cert/--tls-key: wss://, `ws` on an https.createServer with the PEM
// certificate and key, at Node's TLS defaults (what `ws6455 serve --tls-cert`
// is compared with in benches/tls.sh).
'use strict';
const fs = require('fs');
const https = require('https');
const { WebSocketServer } = require('ws');

const args = process.argv.slice(2);
const i = args.indexOf('--listen');
const listen = i >= 0 ? args[i + 1] : (args[0] || '127.0.0.1:9001');
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];

const option = (name) => {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : undefined;
};
const cert = option('--tls-cert');
const key = option('--tls-key');
if (!cert !== !key) {
  console.error('--tls-cert and --tls-key go together');
  process.exit(2);
}

const deflate = args.includes('--deflate');
// --deflate-window BITS: both windows at most 2^BITS (server_max_window_bits,
// and client_max_window_bits when the client offers it), as ws6455's
// `serve --deflate-memory small|tiny` ask.
const windowBits = option('--deflate-window');
// Plain: ws listens itself. TLS: ws shares an https server's upgrades.
const server = cert ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }) : undefined;
const wss = new WebSocketServer({
  ...(server ? { server } : { host, port }),
  perMessageDeflate: deflate
    ? {
        threshold: 0,
        ...(windowBits ? { serverMaxWindowBits: Number(windowBits), clientMaxWindowBits: Number(windowBits) } : {}),
      }
    : false,
  clientTracking: false,
  maxPayload: 64 << 20,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
const listening = () => console.error(`echo-ws (node ${process.version}) on ${server ? 'wss' : 'ws'}://${listen}`);
if (server) {
  server.on('tlsClientError', () => {});
  server.listen(port, host, listening);
} else {
  wss.on('listening', listening);
}
