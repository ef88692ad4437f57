#!/usr/bin/env node
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against `ws6455 serve --chat-token-file`: the chat page opened with
// `?token=TOKEN` sends the token the only way a page can, as the
// subprotocol `ws6455.token.TOKEN` beside `ws6455.chat`, connects, and
// joins under the token's name whatever nickname was typed; the page
// without a token is refused with 401 before the upgrade. Driven by
// tests/interop_browser.rs.
//
//   node browser_auth.js BASE TOKEN NAME
//
// Browsers hide a refused handshake's status from the page, so the 401 is
// taken from what Chromium tells DevTools (console or Network domain); for
// a 401 with `WWW-Authenticate` its console says "HTTP Authentication
// failed; no valid credentials available".
//
// Prints `PASS <what>`, `FAIL <what>`, and `DONE`.
"use strict";

const { PATIENCE, say, until, withChromium, run } = require("./chromium");

const [base, token, name] = process.argv.slice(2);

// A page whose console lines, WebSocket handshake statuses and chosen
// subprotocols (as DevTools sees them) are collected.
async function watchedPage(context, url) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error on ${url}: ${e.message}`));
  const seen = { console: [], statuses: [] };
  page.on("console", (m) => seen.console.push(m.text()));
  const cdp = await context.newCDPSession(page);
  cdp.on("Network.webSocketHandshakeResponseReceived", (e) =>
    seen.statuses.push({ status: e.response.status, headers: e.response.headers }));
  await cdp.send("Network.enable");
  await page.goto(url);
  return { page, seen };
}


async function withToken(context) {
  const { page, seen } = await watchedPage(context, `${base}/?token=${encodeURIComponent(token)}`);
  await until(page, "the chat page with a token connects",
    () => document.getElementById("state").dataset.state === "open");
  await until(page, "the token's name fills the nickname",
    (name) => document.getElementById("nick").value === name && document.getElementById("nick").readOnly, name);
  await page.fill("#room", "tokens");
  await page.click("#join button");
  await until(page, "the chat page with a token joins under the token's name",
    (nick) => document.querySelector(`#presence li[data-nick="${CSS.escape(nick)}"]`) !== null, name);
  const answered = seen.statuses.find((s) => s.status === 101);
  const protocol = answered && Object.entries(answered.headers)
    .find(([k]) => k.toLowerCase() === "sec-websocket-protocol");
  if (!protocol || protocol[1] !== "ws6455.chat") {
    throw new Error(`the 101 named ${JSON.stringify(protocol)}, not ws6455.chat`);
  }
  say("PASS the server answered with ws6455.chat, not the token");
  await page.close();
}

async function withoutToken(context) {
  const { page, seen } = await watchedPage(context, `${base}/`);
  const deadline = Date.now() + PATIENCE;
  let evidence = null;
  while (!evidence && Date.now() < deadline) {
    // Chromium words a 401 with a challenge it cannot answer as "HTTP
    // Authentication failed; no valid credentials available".
    const line = seen.console.find((t) => t.includes("Unexpected response code: 401") ||
      t.includes("HTTP Authentication failed"));
    const status = seen.statuses.find((s) => s.status === 401);
    evidence = line ? `console: ${line}` : status ? "DevTools: answered 401" : null;
    if (!evidence) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!evidence) {
    throw new Error(`no 401 seen: console ${JSON.stringify(seen.console)}, handshakes ${JSON.stringify(seen.statuses)}`);
  }
  const state = await page.evaluate(() => document.getElementById("state").dataset.state);
  if (state === "open") throw new Error("the page without a token is connected");
  say(`PASS the chat page without a token is refused: 401 (${evidence})`);
  await page.close();
}

async function main() {
  await withChromium({}, async (context) => {
    await withToken(context);
    await withoutToken(context);
  });
}

run(main);
