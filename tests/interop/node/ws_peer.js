#!/usr/bin/env node
// Node `ws` as a peer of ws6455 (driven by tests/interop_node.rs).
//
//   node ws_peer.js client URL SMALL run the scenario against `ws6455 serve`'s echo
//                                    (SMALL: a serve with --max-message 1000)
//   node ws_peer.js oversize URL     send 16 MiB + 1 byte, print the close code received
//   node ws_peer.js wait-close URL   connect, print CONNECTED, wait for the server to close
//   node ws_peer.js server           a scripted server for ws6455's client (prints LISTENING port)
//
// permessage-deflate (RFC 7692), driven by tests/deflate_interop_node.rs;
// VARIANT is `default` or `lean` (no context takeover, small windows):
//
//   node ws_peer.js deflate-client URL N VARIANT  echo N messages through `ws6455 serve`,
//                                                 compressing every one (threshold 0)
//   node ws_peer.js deflate-server VARIANT        `server` with compression (threshold 0)
//   node ws_peer.js deflate-messages N            print the N messages, `T<hex>` or `B<hex>`
//
// Over TLS: a wss:// URL is checked against the CA in $WS6455_TLS_CA; the
// servers speak TLS (https.createServer) with $WS6455_TLS_CERT and
// $WS6455_TLS_KEY when both are set.
//
// Every check prints `PASS <what>`; the first failure prints `FAIL <what>`
// and exits 1. The server prints one `CLOSED <code> <reason>` line per
// connection with the close code and reason it received.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const https = require("https");
const { WebSocket, WebSocketServer } = require("ws");

// The CA a wss:// client trusts (the test's own certificate).
const tlsClient = process.env.WS6455_TLS_CA ? { ca: fs.readFileSync(process.env.WS6455_TLS_CA) } : {};

const MIB16 = 16 << 20;
const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, MIB16];
const PATIENCE = 30000;

const say = (line) => process.stdout.write(line + "\n");

function check(ok, what) {
  if (!ok) {
    say(`FAIL ${what}`);
    process.exit(1);
  }
  say(`PASS ${what}`);
}

// Resolve with the first event `name` on `emitter` (or fail after PATIENCE).
function once(emitter, name) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${PATIENCE} ms`)), PATIENCE);
    emitter.once(name, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

// Open a connection; rejects with the handshake error if there is one.
function open(url, protocols = []) {
  const ws = new WebSocket(url, protocols, { maxPayload: 2 * MIB16, ...tlsClient });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no open within ${PATIENCE} ms`)), PATIENCE);
    ws.once("open", () => { clearTimeout(timer); resolve(ws); });
    ws.once("error", (e) => { clearTimeout(timer); reject(e); });
  }).then((ws) => {
    ws.on("error", () => {}); // later errors are reported through "close"
    return ws;
  });
}

async function roundTrip(ws, send) {
  const reply = once(ws, "message");
  send();
  const [data, isBinary] = await reply;
  return { data, isBinary };
}

async function client(url, smallUrl) {
  let ws = await open(url, ["nope", "ws6455.echo"]);
  check(ws.protocol === "ws6455.echo", "subprotocol ws6455.echo selected");

  for (const n of SIZES) {
    const text = "é".repeat(n >> 1) + "x".repeat(n & 1); // n bytes of UTF-8
    let got = await roundTrip(ws, () => ws.send(text));
    check(!got.isBinary && got.data.toString("utf8") === text, `text echo ${n} bytes`);
    const bytes = crypto.randomBytes(n);
    got = await roundTrip(ws, () => ws.send(bytes));
    check(got.isBinary && Buffer.compare(got.data, bytes) === 0, `binary echo ${n} bytes`);
  }

  // Fragmented messages: `fin: false` keeps the message open (§5.4).
  let got = await roundTrip(ws, () => {
    ws.send("frag", { fin: false });
    ws.send("mented ", { fin: false });
    ws.send("wörld", { fin: true });
  });
  check(!got.isBinary && got.data.toString() === "fragmented wörld", "fragmented text echo");
  const chunks = Array.from({ length: 16 }, () => crypto.randomBytes(1 << 20));
  got = await roundTrip(ws, () => chunks.forEach((c, i) => ws.send(c, { binary: true, fin: i === 15 })));
  check(got.isBinary && Buffer.compare(got.data, Buffer.concat(chunks)) === 0, "16 x 1 MiB fragments echo");

  // Ping/pong: the same payload comes back (§5.5.3).
  const pong = once(ws, "pong");
  ws.ping(Buffer.from("node-ping"));
  const [payload] = await pong;
  check(payload.toString() === "node-ping", "ping answered by a pong");
  ws.close(1000);
  await once(ws, "close");

  // ws6455 answers without Sec-WebSocket-Protocol (§4.2.2); `ws` is
  // stricter than §4.1 and refuses such an answer when it offered any.
  const refused = await open(url, ["nope"]).then((ws) => ws.protocol, (e) => e.message);
  check(refused === "Server sent no subprotocol", "no subprotocol when none is supported");

  for (const code of [1000, 1001, 3000, 4999]) {
    ws = await open(url);
    const closed = once(ws, "close");
    ws.close(code, `node says ${code}`);
    const [received] = await closed;
    check(received === code, `client close ${code} echoed by the server`);
  }

  // One byte over the limit of a server started with --max-message 1000:
  // ws6455 fails the connection with 1009 (§7.4.1).
  ws = await open(smallUrl);
  got = await roundTrip(ws, () => ws.send(Buffer.alloc(1000, 1)));
  check(Buffer.compare(got.data, Buffer.alloc(1000, 1)) === 0, "a message at the limit is echoed");
  const closed = once(ws, "close");
  ws.send(Buffer.alloc(1001));
  const [code] = await closed;
  check(code === 1009, "server close 1009 for a message over the limit");

  // A server-initiated closing handshake with a reason: the chat refuses
  // binary messages with 1003 (§7.4.1).
  ws = await open(url.replace(/\/[^/]*$/, "/chat"));
  const chatClosed = once(ws, "close");
  ws.send(Buffer.from([0]));
  const [chatCode, reason] = await chatClosed;
  check(chatCode === 1003 && reason.toString() === "the chat speaks JSON text", "server close 1003 with a reason");
}

// 16 MiB + 1 byte: ws6455 fails on the frame header while we still send.
async function oversize(url) {
  const ws = await open(url);
  const closed = once(ws, "close");
  ws.send(Buffer.alloc(MIB16 + 1));
  const [code] = await closed;
  say(`CLOSED ${code}`);
}

async function waitClose(url) {
  const ws = await open(url);
  say("CONNECTED");
  const [code, reason] = await once(ws, "close");
  say(`CLOSED ${code} ${reason.toString()}`);
}

// The messages of the deflate tests, the same on every run: JSON-like text
// whose keys repeat from message to message (what context takeover pays
// off on), binary with patterns and some incompressible noise, sizes from
// 0 to 64 KiB (the first 14 at the length-encoding edges of §5.2), and two
// of 1 MiB.
function deflateMessages(n) {
  let seed = 0x6455;
  const rand = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const EDGES = [0, 1, 125, 126, 127, 65535, 65536];
  const KINDS = ["join", "leave", "message", "typing", "presence"];
  const TAGS = ["alpha", "beta", "gamma", "delta"];
  const text = (i, size) => {
    let s = "";
    for (let k = 0; s.length < size; k++) {
      s += (k ? "," : "[") + JSON.stringify({
        seq: i * 1000 + k, user: `user${(i + k) % 17}`, kind: KINDS[(i * 7 + k) % 5],
        tags: TAGS.slice(0, (i + k) % 5), ok: k % 3 === 0, text: "lorem ipsum dolor sit amet, κόσμε ✓",
      });
    }
    // Exactly `size` bytes of UTF-8: cut at a character boundary, pad.
    const bytes = Buffer.from(s.slice(0, size));
    let cut = Math.min(size, bytes.length);
    while (cut < bytes.length && (bytes[cut] & 0xc0) === 0x80) cut--;
    return bytes.subarray(0, cut).toString("utf8") + "x".repeat(size - cut);
  };
  const binary = (i, size) => {
    const b = Buffer.alloc(size);
    if (i % 10 === 4) for (let j = 0; j < size; j++) b[j] = rand() & 0xff; // noise
    else if (i % 10 === 2) for (let j = 0; j < size; j++) b[j] = (j >> 9) & 1 ? 0 : (j * 7 + i) & 0xff; // runs
    else for (let j = 0; j < size; j++) b[j] = j % 16 < 4 ? (j >> 4) & 0xff : (i + j % 16) & 0xff; // records
    return b;
  };
  const out = [];
  for (let i = 0; i < n; i++) {
    let isText = i < 2 * EDGES.length ? i % 2 === 0 : i % 5 !== 2 && i % 5 !== 4;
    let size = i < 2 * EDGES.length ? EDGES[i >> 1] : Math.floor(2 ** ((rand() % 16001) / 1000));
    if (i === Math.floor(n / 3) || i === Math.floor((2 * n) / 3)) {
      isText = i === Math.floor(n / 3);
      size = 1 << 20;
    }
    out.push(isText ? text(i, size) : binary(i, size));
  }
  return out;
}

// VARIANT's perMessageDeflate options; threshold 0 compresses every message.
function deflateOptions(variant, isServer) {
  if (variant === "default") return { threshold: 0 };
  if (variant !== "lean") throw new Error(`unknown variant ${variant}`);
  return {
    threshold: 0,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: isServer ? 11 : 10,
    clientMaxWindowBits: isServer ? 10 : 9,
  };
}

// Echo N messages one at a time, each checked byte for byte. Prints the
// agreed extensions header and the bytes on the wire against the payload.
async function deflateClient(url, n, variant) {
  const ws = new WebSocket(url, { maxPayload: 2 * MIB16, perMessageDeflate: deflateOptions(variant, false), ...tlsClient });
  const upgrade = once(ws, "upgrade");
  await once(ws, "open");
  const [response] = await upgrade;
  check(ws.extensions === "permessage-deflate", "extensions name permessage-deflate");
  say(`AGREED ${response.headers["sec-websocket-extensions"]}`);
  let payload = 0;
  const messages = deflateMessages(n);
  for (const [i, m] of messages.entries()) {
    const got = await roundTrip(ws, () => ws.send(m));
    const want = typeof m === "string" ? Buffer.from(m) : m;
    if (got.isBinary !== (typeof m !== "string") || Buffer.compare(got.data, want) !== 0) {
      check(false, `echo of message ${i} (${want.length} bytes)`);
    }
    payload += want.length;
  }
  check(true, `${messages.length} compressed messages echoed byte-exact`);
  say(`BYTES payload=${payload} sent=${ws._socket.bytesWritten} received=${ws._socket.bytesRead}`);
  const closed = once(ws, "close");
  ws.close(1000, "deflate done");
  const [code] = await closed;
  check(code === 1000, "closed with 1000");
}

function server(perMessageDeflate = false) {
  const { WS6455_TLS_CERT: cert, WS6455_TLS_KEY: key } = process.env;
  const https_ = cert && key ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }) : null;
  const wss = new WebSocketServer({
    ...(https_ ? { server: https_ } : { host: "127.0.0.1", port: 0 }),
    maxPayload: 2 * MIB16,
    perMessageDeflate,
    // Accept without a subprotocol when none matches (§4.2.2).
    handleProtocols: (offered) => (offered.has("ws6455.test") ? "ws6455.test" : false),
  });
  if (https_) https_.listen(0, "127.0.0.1", () => say(`LISTENING ${https_.address().port}`));
  else wss.on("listening", () => say(`LISTENING ${wss.address().port}`));
  wss.on("connection", (ws) => {
    ws.on("error", () => {});
    ws.on("close", (code, reason) => say(`CLOSED ${code} ${reason.toString()}`));
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === null || !text.startsWith("cmd:")) {
        ws.send(data, { binary: isBinary });
        return;
      }
      const space = text.indexOf(" ");
      const command = space < 0 ? text.slice(4) : text.slice(4, space);
      const arg = space < 0 ? "" : text.slice(space + 1);
      if (command === "close") {
        const [code, ...reason] = arg.split(" ");
        ws.close(Number(code), reason.join(" "));
      } else if (command === "fragments" || command === "binary-fragments") {
        const parts = arg.split(",");
        parts.forEach((p, i) =>
          ws.send(command === "fragments" ? p : Buffer.from(p), {
            binary: command !== "fragments",
            fin: i === parts.length - 1,
          }),
        );
      } else if (command === "ping") {
        ws.once("pong", (payload) => ws.send(`pong-received ${payload.toString()}`));
        ws.ping(Buffer.from(arg));
      } else if (command === "subprotocol") {
        ws.send(ws.protocol || "none");
      } else {
        ws.send(`unknown command ${command}`);
      }
    });
  });
  // Until the test closes our stdin (or kills us).
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}

const [mode, url, smallUrl] = process.argv.slice(2);
const fail = (e) => {
  say(`FAIL ${e && e.stack ? e.stack.split("\n")[0] : e}`);
  process.exit(1);
};
if (mode === "client") client(url, smallUrl).then(() => { say("DONE"); process.exit(0); }, fail);
else if (mode === "oversize") oversize(url).then(() => process.exit(0), fail);
else if (mode === "wait-close") waitClose(url).then(() => process.exit(0), fail);
else if (mode === "server") server();
else if (mode === "deflate-client") {
  deflateClient(url, Number(process.argv[4]), process.argv[5]).then(() => { say("DONE"); process.exit(0); }, fail);
} else if (mode === "deflate-server") server(deflateOptions(url, true));
else if (mode === "deflate-messages") {
  for (const m of deflateMessages(Number(url))) {
    say(typeof m === "string" ? "T" + Buffer.from(m).toString("hex") : "B" + m.toString("hex"));
  }
} else {
  process.stderr.write(
    "usage: ws_peer.js client URL SMALL_URL | oversize URL | wait-close URL | server\n" +
      "       | deflate-client URL N VARIANT | deflate-server VARIANT | deflate-messages N\n",
  );
  process.exit(2);
}
