#!/usr/bin/env node
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against `ws6455 serve`'s Origin policy (RFC 6455 §10.2): a page from
// another origin must not open the chat's WebSocket, the chat page served
// by `serve` itself must, and `--allow-origin` must let exactly the named
// origin in. Driven by tests/interop_browser.rs.
//
//   node browser_origins.js BASE ALLOWING_BASE FOREIGN_PORT
//
// BASE: `serve` with its default policy (same origin as Host).
// ALLOWING_BASE: `serve --allow-origin http://127.0.0.1:FOREIGN_PORT`.
// The other origin is this script's own HTTP server on FOREIGN_PORT
// (node's http module), serving a blank page.
//
// Browsers hide a refused handshake's status from the page (it sees only
// an error and close code 1006), so the 403 is taken from what Chromium
// tells DevTools: the console line "Unexpected response code: 403", or
// the handshake response of the Network domain.
//
// Prints `PASS <what>`, `FAIL <what>`, and `DONE`.
"use strict";

const http = require("http");
const { PATIENCE, say, until, withChromium, run } = require("./chromium");

const [base, allowingBase, foreignPort] = process.argv.slice(2);
const wsUrl = (httpBase, route) => httpBase.replace(/^http/, "ws") + route;

// In the page: open a WebSocket to `url` and report whether it opened and
// the close code it ended with (closing it at once if it opened).
async function tryOpen({ url, patience }) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let opened = false;
    const timer = setTimeout(() => resolve({ opened, code: null }), patience);
    ws.onopen = () => {
      opened = true;
      ws.close(1000, "done");
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      resolve({ opened, code: e.code });
    };
  });
}

// A page at `url` whose console lines and WebSocket handshake statuses (as
// DevTools sees them) are collected.
async function watchedPage(context, url) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error on ${url}: ${e.message}`));
  const seen = { console: [], statuses: [] };
  page.on("console", (m) => seen.console.push(m.text()));
  const cdp = await context.newCDPSession(page);
  const urls = new Map();
  cdp.on("Network.webSocketCreated", (e) => urls.set(e.requestId, e.url));
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) =>
    seen.statuses.push({ url: urls.get(e.requestId), status: e.response.status }));
  await cdp.send("Network.enable");
  await page.goto(url);
  return { page, seen };
}

// Where Chromium said the handshake to `socket` was answered 403, if it did.
function forbidden(seen, socket) {
  const line = seen.console.find((t) => t.includes(socket) && t.includes("Unexpected response code: 403"));
  if (line) return `console: ${line}`;
  const status = seen.statuses.find((s) => s.url === socket && s.status === 403);
  if (status) return `DevTools: ${status.url} answered ${status.status}`;
  return null;
}

// A page from `origin` opens `socket`, which must be refused with 403.
async function refused(context, origin, socket, what) {
  const { page, seen } = await watchedPage(context, origin + "/");
  const got = await page.evaluate(tryOpen, { url: socket, patience: PATIENCE });
  if (got.opened) throw new Error(`a page from ${origin} opened ${socket}`);
  if (got.code !== 1006) throw new Error(`${socket} from ${origin} ended with ${got.code}, not 1006`);
  say(`PASS ${what}`);
  // The console line may trail the close event a little.
  const deadline = Date.now() + 5000;
  let evidence = forbidden(seen, socket);
  while (!evidence && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    evidence = forbidden(seen, socket);
  }
  if (!evidence) {
    throw new Error(`no 403 seen for ${socket} from ${origin}: console ${JSON.stringify(seen.console)}, ` +
      `handshakes ${JSON.stringify(seen.statuses)}`);
  }
  say(`PASS ${what}: 403 (${evidence})`);
  await page.close();
}

// A page from `origin` opens `socket`, which must open.
async function opens(context, origin, socket, what) {
  const { page } = await watchedPage(context, origin + "/");
  const got = await page.evaluate(tryOpen, { url: socket, patience: PATIENCE });
  if (!got.opened || got.code !== 1000) {
    throw new Error(`${socket} from ${origin}: opened ${got.opened}, closed with ${got.code}`);
  }
  say(`PASS ${what}`);
  await page.close();
}

// The chat page served by `serve` itself still connects and joins.
async function ownChat(context) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error in the chat: ${e.message}`));
  await page.goto(base + "/");
  await until(page, "the chat page on its own origin connects",
    () => document.getElementById("state").dataset.state === "open");
  await page.fill("#nick", "carol");
  await page.fill("#room", "origins");
  await page.click("#join button");
  await until(page, "the chat page on its own origin joins a room",
    (nick) => document.querySelector(`#presence li[data-nick="${CSS.escape(nick)}"]`) !== null, "carol");
  await page.close();
}

async function main() {
  const foreign = `http://127.0.0.1:${foreignPort}`;
  const site = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" });
    res.end("<!doctype html><title>another site</title><p>a page from another origin</p>\n");
  });
  await new Promise((resolve, reject) => {
    site.once("error", reject);
    site.listen(Number(foreignPort), "127.0.0.1", resolve);
  });
  try {
    await withChromium({}, async (context) => {
      await refused(context, foreign, wsUrl(base, "/chat"),
        "a page from another origin cannot open the chat socket");
      await ownChat(context);
      await opens(context, foreign, wsUrl(allowingBase, "/chat"),
        "--allow-origin lets the named origin open the chat socket");
      // The same page under another name is another origin.
      await refused(context, `http://localhost:${foreignPort}`, wsUrl(allowingBase, "/chat"),
        "--allow-origin lets no other origin in");
    });
  } finally {
    site.close();
  }
}

run(main);
