#!/usr/bin/env node
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against `ws6455 serve`: the chat and the game pages, as a person would use
// them, then a page's own WebSocket on the echo endpoint, where Chromium's
// offer of permessage-deflate (RFC 7692) is taken. Driven by
// tests/interop_browser.rs.
//
//   node browser.js BASE_URL SCREENSHOT_DIR
//   node browser.js --tls HTTPS_BASE_URL SCREENSHOT_DIR
//
// --tls: `ws6455 serve --tls-cert … --tls-key …` on an https:// base, with
// the test's self-signed certificate accepted: two chat pages loaded over
// https talk over their own sockets, which must be wss:// (a page served
// over https may open no other kind), and a page's echo socket reports
// `wss:`.
//
// Prints `PASS <what>`, `SCREENSHOT <path>`, `FAIL <what>`, and `DONE`. To test
// reconnection it asks the Rust side to restart the server: it prints
// `STOP_SERVER` and waits for a `STOPPED` line on stdin, then prints
// `START_SERVER` and waits for `STARTED`.
"use strict";

const fs = require("fs");
const { PATIENCE, say, until, withChromium, run, ask, shot: shotInto, players, dotsMoved } =
  require("./chromium");

const tlsMode = process.argv[2] === "--tls";
// `--echo`: only the compressed echo (with a 1 MiB message), for serve's
// memory presets.
const echoMode = process.argv[2] === "--echo";
const [base, shots] = process.argv.slice(tlsMode || echoMode ? 3 : 2);

const shot = (page, name) => shotInto(shots, page, name);


const presence = (nick) => document.querySelector(`#presence li[data-nick="${CSS.escape(nick)}"]`) !== null;
const logHas = ([kind, text]) =>
  [...document.querySelectorAll(`#log .line[data-kind="${kind}"]`)].some((l) => l.textContent.includes(text));
const stateIs = (state) => document.getElementById("state").dataset.state === state;

async function openChat(context, nick, room) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error in ${nick}'s chat: ${e.message}`));
  await page.goto(base + "/");
  await until(page, `${nick}'s chat connects`, stateIs, "open");
  await page.fill("#nick", nick);
  await page.fill("#room", room);
  await page.click("#join button");
  await until(page, `${nick} is in ${room}`, presence, nick);
  return page;
}

async function chat(context) {
  const alice = await openChat(context, "alice", "interop");
  const bob = await openChat(context, "bob", "interop");
  await until(alice, "alice sees bob in presence", presence, "bob");
  await until(bob, "bob sees alice in presence", presence, "alice");
  await until(alice, "alice sees bob join", logHas, ["notice", "bob joined"]);

  await alice.fill("#text", "hello from alice");
  await alice.press("#text", "Enter");
  await until(bob, "bob gets alice's room message", logHas, ["message", "hello from alice"]);
  await until(alice, "alice sees her own room message", logHas, ["message", "hello from alice"]);

  await bob.click('#presence li[data-nick="alice"]'); // picks alice as the recipient
  await bob.fill("#text", "psst, only for alice");
  await bob.click("#send-button");
  await until(alice, "alice gets bob's direct message", logHas, ["dm", "psst, only for alice"]);
  await until(bob, "bob sees his direct message", logHas, ["dm", "psst, only for alice"]);
  await shot(alice, "chat-alice.png");
  await shot(bob, "chat-bob.png");

  // The server goes away: both pages show it and retry with backoff; when
  // it is back they reconnect and rejoin on their own.
  await ask("STOP_SERVER", "STOPPED");
  await until(alice, "alice's page shows the server is gone", stateIs, "reconnecting");
  await shot(alice, "chat-reconnecting.png");
  await ask("START_SERVER", "STARTED");
  await until(alice, "alice's page reconnects", stateIs, "open");
  await until(alice, "alice is back in presence after reconnecting", presence, "alice");
  await until(alice, "bob is back in presence after reconnecting", presence, "bob");

  await bob.close();
  await until(alice, "alice sees bob leave", logHas, ["notice", "bob left"]);
  const absent = (nick) => document.querySelector(`#presence li[data-nick="${CSS.escape(nick)}"]`) === null;
  await until(alice, "bob is gone from alice's presence", absent, "bob");
  await shot(alice, "chat-after-bob-left.png");
  await alice.close();
}

async function game(context) {
  const one = await context.newPage();
  const two = await context.newPage();
  for (const page of [one, two]) {
    page.on("pageerror", (e) => say(`FAIL page error in the game: ${e.message}`));
    await page.goto(base + "/game");
  }
  const twoDots = () => document.querySelectorAll("#players li").length === 2;
  await until(one, "game page one shows two players", twoDots);
  await until(two, "game page two shows two players", twoDots);
  const start1 = (await one.evaluate(players)).find((p) => p.me);
  const start2 = (await two.evaluate(players)).find((p) => p.me);

  await one.keyboard.down("ArrowRight");
  await two.keyboard.down("ArrowDown");
  // Each page sees both dots move: its own and the other one.
  await until(one, "page one sees both dots move", dotsMoved, [start1, start2]);
  await until(two, "page two sees both dots move", dotsMoved, [start1, start2]);
  await one.keyboard.up("ArrowRight");
  await two.keyboard.up("ArrowDown");
  await shot(one, "game-one.png");
  await shot(two, "game-two.png");

  await two.close();
  await until(one, "the other player disappears when its page closes",
    () => document.querySelectorAll("#players li").length === 1);
  await one.close();
}

// In the page: open a WebSocket to `url`, send `count` JSON texts (keys
// repeating from one to the next) one at a time, and compare each echo.
async function echoInPage({ url, count, patience, big }) {
  const ws = new WebSocket(url);
  const inbox = [];
  let waiter = null;
  ws.onmessage = (e) => (waiter ? waiter(e.data) : inbox.push(e.data));
  const closed = new Promise((resolve) => (ws.onclose = (e) => resolve(e.code)));
  const next = () =>
    inbox.length
      ? Promise.resolve(inbox.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no echo in time")), patience);
          waiter = (data) => { clearTimeout(timer); waiter = null; resolve(data); };
        });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the echo WebSocket did not open")), patience);
    ws.onopen = () => { clearTimeout(timer); resolve(); };
    ws.onerror = () => { clearTimeout(timer); reject(new Error("the echo WebSocket failed")); };
  });
  const extensions = ws.extensions;
  const wrong = [];
  for (let i = 0; i < count; i++) {
    const text = JSON.stringify({
      seq: i, room: "interop", user: `user${i % 7}`, kind: ["join", "message", "leave"][i % 3],
      tags: ["alpha", "beta", "gamma"].slice(0, i % 4),
      text: "lorem ipsum dolor sit amet, κόσμε ✓ ".repeat(i % 50 === 49 ? 2000 : 1 + ((i * 13) % 200)),
    });
    ws.send(text);
    const echo = await next();
    if (echo !== text) wrong.push(i);
  }
  if (big) {
    // 1 MiB of text that repeats far beyond any window.
    let text = "";
    for (let k = 0; text.length < 1 << 20; k++) text += `${k} lorem ipsum dolor sit amet `;
    text = text.slice(0, 1 << 20);
    ws.send(text);
    if ((await next()) !== text) wrong.push(count);
  }
  ws.close(1000, "echo done");
  return { extensions, wrong, code: await closed };
}

async function compressedEcho(context, big = false) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error in the echo page: ${e.message}`));
  await page.goto(base + "/echo"); // a 404 page, but on the server's origin
  const count = 200;
  const got = await page.evaluate(echoInPage, { url: base.replace(/^http/, "ws") + "/echo", count, patience: PATIENCE, big });
  say(`EXTENSIONS ${got.extensions}`);
  if (!got.extensions.split(",").some((e) => e.trim().split(";")[0] === "permessage-deflate")) {
    throw new Error(`the echo WebSocket agreed to ${JSON.stringify(got.extensions)}, not permessage-deflate`);
  }
  say("PASS the page's WebSocket agreed permessage-deflate");
  if (got.wrong.length) throw new Error(`${got.wrong.length} of ${count} echoes differ, the first: message ${got.wrong[0]}`);
  say(`PASS ${count} JSON messages echoed in the page`);
  if (big) say("PASS 1 MiB echoed in the page");
  if (got.code !== 1000) throw new Error(`the echo WebSocket closed with ${got.code}`);
  say("PASS the echo WebSocket closed with 1000");
  await page.close();
}

// The chat over https: both pages' sockets are wss://, a message goes
// from one to the other, and a page's own socket on the echo endpoint
// reports wss: and echoes.
async function chatOverTls(context) {
  const sockets = [];
  context.on("page", (page) => page.on("websocket", (ws) => sockets.push(ws.url())));
  const alice = await openChat(context, "alice", "tls");
  const bob = await openChat(context, "bob", "tls");
  if (!alice.url().startsWith("https://")) throw new Error(`the chat page is at ${alice.url()}`);
  say("PASS the chat page is served over https");
  if (sockets.length < 2 || !sockets.every((u) => u.startsWith("wss://"))) {
    throw new Error(`the pages opened ${JSON.stringify(sockets)}`);
  }
  say("PASS the chat pages' sockets are wss://");
  await until(alice, "alice sees bob in presence", presence, "bob");
  await alice.fill("#text", "hello over wss");
  await alice.press("#text", "Enter");
  await until(bob, "bob gets alice's room message over wss", logHas, ["message", "hello over wss"]);
  await shot(bob, "chat-tls-bob.png");
  const echo = await bob.evaluate(async (patience) => {
    const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/echo");
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the echo WebSocket did not open")), patience);
      ws.onopen = () => { clearTimeout(timer); resolve(); };
      ws.onerror = () => { clearTimeout(timer); reject(new Error("the echo WebSocket failed")); };
    });
    const got = new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data)));
    ws.send("echo over wss");
    const data = await got;
    ws.close(1000);
    return { protocol: new URL(ws.url).protocol, data };
  }, PATIENCE);
  if (echo.protocol !== "wss:") throw new Error(`the page's own socket reports ${echo.protocol}`);
  say("PASS the page's own socket reports wss:");
  if (echo.data !== "echo over wss") throw new Error(`the echo was ${JSON.stringify(echo.data)}`);
  say("PASS the page's wss echo");
  await alice.close();
  await bob.close();
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  await withChromium({
    viewport: { width: 1100, height: 640 },
    // The test's certificate is self-signed: trusted for this profile only.
    ignoreHTTPSErrors: tlsMode,
  }, async (context) => {
    if (tlsMode) {
      await chatOverTls(context);
    } else if (echoMode) {
      await compressedEcho(context, true);
    } else {
      await chat(context);
      await game(context);
      await compressedEcho(context);
    }
  });
}

run(main);
