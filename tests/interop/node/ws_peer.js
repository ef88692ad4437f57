#!/usr/bin/env node
// Node `ws` as a peer of ws6455 (driven by tests/interop_node.rs).
//
//   node ws_peer.js client URL SMALL run the scenario against `ws6455 serve`'s echo
//                                    (SMALL: a serve with --max-message 1000)
//   node ws_peer.js oversize URL     send 16 MiB + 1 byte, print the close code received
//   node ws_peer.js wait-close URL   connect, print CONNECTED, wait for the server to close
//   node ws_peer.js server           a scripted server for ws6455's client (prints LISTENING port)
//
// Every check prints `PASS <what>`; the first failure prints `FAIL <what>`
// and exits 1. The server prints one `CLOSED <code> <reason>` line per
// connection with the close code and reason it received.
"use strict";

const crypto = require("crypto");
const { WebSocket, WebSocketServer } = require("ws");

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
  const ws = new WebSocket(url, protocols, { maxPayload: 2 * MIB16 });
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

function server() {
  const wss = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    maxPayload: 2 * MIB16,
    // Accept without a subprotocol when none matches (§4.2.2).
    handleProtocols: (offered) => (offered.has("ws6455.test") ? "ws6455.test" : false),
  });
  wss.on("listening", () => say(`LISTENING ${wss.address().port}`));
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
else {
  process.stderr.write("usage: ws_peer.js client URL SMALL_URL | oversize URL | wait-close URL | server\n");
  process.exit(2);
}
