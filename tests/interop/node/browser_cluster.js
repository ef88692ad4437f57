#!/usr/bin/env node
// Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against three `ws6455 serve --redis … --node-id n1|n2|n3 --presence-ttl 3`
// sharing one redis-server: the chat and the game spanning servers, as
// people on different servers would use them. Driven by
// tests/interop_browser_cluster.rs.
//
//   node browser_cluster.js BASE_N1 BASE_N2 BASE_N3 SCREENSHOT_DIR
//
// alice chats on n1, bob on n2, carol on n3, all in "lobby": everyone sees
// everyone with their server, a room message and a direct message cross
// servers; a game page on n1 and one on n2 see both dots move. Then n3 is
// killed (its users leave presence once their entries expire), and Redis
// is killed and started again mid-conversation (each server keeps its own
// users going and says what did not cross; presence is rebuilt after).
//
// Prints `PASS <what>`, `SCREENSHOT <path>`, `MEASURED <what> <seconds>`,
// `FAIL <what>`, and `DONE`. It asks the Rust side to act and waits for
// the answer on stdin: `KILL_N3` → `KILLED`, `KILL_REDIS` → `REDIS_DOWN`,
// `START_REDIS` → `REDIS_UP`.
"use strict";

const fs = require("fs");
const { say, until, withChromium, run, ask, shot: shotInto, players, dotsMoved } =
  require("./chromium");

const [n1, n2, n3, shots] = process.argv.slice(2);

const shot = (page, name) => shotInto(shots, page, name);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Like `until`, but within `ms`; returns the seconds it took.
async function within(page, what, ms, fn, arg) {
  const start = Date.now();
  try {
    await page.waitForFunction(fn, arg, { timeout: ms, polling: 50 });
  } catch (e) {
    throw new Error(`${what} (within ${ms / 1000} s): ${e.message.split("\n")[0]}`);
  }
  say(`PASS ${what}`);
  return (Date.now() - start) / 1000;
}

// In the page: each [nick, server] pair is in the presence list, on that
// server.
const presenceIs = (pairs) =>
  pairs.every(([nick, server]) =>
    [...document.querySelectorAll("#presence li[data-nick]")].some(
      (li) => li.dataset.nick === nick && li.dataset.server === server,
    ));
const absent = (nick) => document.querySelector(`#presence li[data-nick="${CSS.escape(nick)}"]`) === null;
const logHas = ([kind, text]) =>
  [...document.querySelectorAll(`#log .line[data-kind="${kind}"]`)].some((l) => l.textContent.includes(text));
const logText = () => document.getElementById("log").textContent;
const stateIs = (state) => document.getElementById("state").dataset.state === state;
// In the page: `#server` names `node` and the cluster is `cluster`.
const serverIs = ([node, cluster]) => {
  const el = document.getElementById("server");
  return !el.hidden && el.dataset.node === node && el.dataset.cluster === cluster;
};
// In the page: the room message with `text` is tagged with its sender's
// server (the page tags messages from other servers only).
const taggedFrom = ([text, server]) =>
  [...document.querySelectorAll('#log .line[data-kind="message"]')].some(
    (l) => l.textContent.includes(text) && l.querySelector(".tag")?.textContent === `@ ${server}`,
  );

async function openChat(context, base, nick, room) {
  const page = await context.newPage();
  page.on("pageerror", (e) => say(`FAIL page error in ${nick}'s chat: ${e.message}`));
  await page.goto(base + "/");
  await until(page, `${nick}'s chat connects`, stateIs, "open");
  await page.fill("#nick", nick);
  await page.fill("#room", room);
  await page.click("#join button");
  await until(page, `${nick} is in ${room}`, presenceIs, [[nick, nodeOf(base)]]);
  return page;
}

const nodeOf = (base) => ({ [n1]: "n1", [n2]: "n2", [n3]: "n3" })[base];

async function say_(page, text) {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

async function chat(context) {
  const alice = await openChat(context, n1, "alice", "lobby");
  const bob = await openChat(context, n2, "bob", "lobby");
  const carol = await openChat(context, n3, "carol", "lobby");
  const everyone = [["alice", "n1"], ["bob", "n2"], ["carol", "n3"]];
  const pages = { alice: [alice, "n1"], bob: [bob, "n2"], carol: [carol, "n3"] };

  // 1. Everyone sees everyone, on their own server; each page names its
  // own server, with the cluster up.
  for (const [nick, [page, node]] of Object.entries(pages)) {
    await until(page, `${nick}'s presence lists alice@n1, bob@n2 and carol@n3`, presenceIs, everyone);
    await until(page, `${nick}'s page shows server ${node} with the cluster up`, serverIs, [node, "up"]);
  }

  // 2. A room message from n1 reaches n2 and n3; a direct message from n2
  // reaches n3 and nobody else.
  await say_(alice, "hello from alice on n1");
  await until(alice, "alice sees her own room message", logHas, ["message", "hello from alice on n1"]);
  await until(bob, "bob gets alice's room message", logHas, ["message", "hello from alice on n1"]);
  await until(carol, "carol gets alice's room message", logHas, ["message", "hello from alice on n1"]);
  await until(bob, "bob's page tags alice's message with @ n1", taggedFrom, ["hello from alice on n1", "n1"]);

  await bob.click('#presence li[data-nick="carol"]'); // picks carol as the recipient
  await bob.fill("#text", "psst carol, bob from n2 here");
  await bob.click("#send-button");
  await until(carol, "carol gets bob's direct message", logHas, ["dm", "psst carol, bob from n2 here"]);
  await until(bob, "bob sees his direct message", logHas, ["dm", "psst carol, bob from n2 here"]);
  await sleep(1000); // it reached carol; anything for alice would be here by now
  if (await alice.evaluate(logText).then((t) => t.includes("psst carol"))) {
    throw new Error("alice got bob's direct message to carol");
  }
  say("PASS alice does not get bob's direct message to carol");

  await shot(alice, "cluster-chat-alice.png");
  await shot(bob, "cluster-chat-bob.png");
  await shot(carol, "cluster-chat-carol.png");
  return { alice, bob, carol };
}

// 3. The game on n1 and n2: each page sees both dots, each on its server,
// and both move while each page holds an arrow key.
async function game(context) {
  const one = await context.newPage();
  const two = await context.newPage();
  for (const [page, base] of [[one, n1], [two, n2]]) {
    page.on("pageerror", (e) => say(`FAIL page error in the game: ${e.message}`));
    await page.goto(base + "/game");
  }
  const twoDots = () => {
    const lis = [...document.querySelectorAll("#players li")];
    return lis.length === 2 && ["n1", "n2"].every((s) => lis.some((li) => li.dataset.server === s));
  };
  await until(one, "game page on n1 shows two dots, one on n1 and one on n2", twoDots);
  await until(two, "game page on n2 shows two dots, one on n1 and one on n2", twoDots);
  const ownServer = (node) => document.getElementById("server").dataset.node === node &&
    [...document.querySelectorAll("#players li")].find((li) => li.dataset.me === "true")?.dataset.server === node;
  await until(one, "game page on n1 shows server n1, and its own dot is on n1", ownServer, "n1");
  await until(two, "game page on n2 shows server n2, and its own dot is on n2", ownServer, "n2");
  const start1 = (await one.evaluate(players)).find((p) => p.me);
  const start2 = (await two.evaluate(players)).find((p) => p.me);

  await one.keyboard.down("ArrowRight");
  await two.keyboard.down("ArrowDown");
  await until(one, "game page on n1 sees both dots move", dotsMoved, [start1, start2]);
  await until(two, "game page on n2 sees both dots move", dotsMoved, [start1, start2]);
  await one.keyboard.up("ArrowRight");
  await two.keyboard.up("ArrowDown");
  await shot(one, "cluster-game-n1.png");
  await shot(two, "cluster-game-n2.png");

  await two.close();
  await until(one, "the n2 dot disappears from n1 when its page closes",
    () => document.querySelectorAll("#players li").length === 1);
  await one.close();
}

// 4. n3 killed: carol stays in the others' presence only until her entry
// expires (TTL 3 s, refreshed every 1 s).
async function killN3({ alice, bob, carol }) {
  await ask("KILL_N3", "KILLED");
  const limit = 10000;
  const [a, b] = await Promise.all([
    within(alice, "carol leaves alice's presence after n3 is killed", limit, absent, "carol"),
    within(bob, "carol leaves bob's presence after n3 is killed", limit, absent, "carol"),
  ]);
  say(`MEASURED carol-gone-from-alice ${a.toFixed(2)}`);
  say(`MEASURED carol-gone-from-bob ${b.toFixed(2)}`);
  await until(alice, "alice still sees bob@n2", presenceIs, [["alice", "n1"], ["bob", "n2"]]);
  await until(carol, "carol's page shows its server is gone", stateIs, "reconnecting");
  await carol.close();
}

// 5. Redis killed mid-conversation, then back.
async function redisOutage({ alice, bob }) {
  await ask("KILL_REDIS", "REDIS_DOWN");
  const a = await within(alice, "alice's page shows the cluster down", 10000, serverIs, ["n1", "down"]);
  await within(bob, "bob's page shows the cluster down", 10000, serverIs, ["n2", "down"]);
  say(`MEASURED cluster-down-on-alice ${a.toFixed(2)}`);

  await say_(alice, "said while redis is down");
  await until(alice, "alice's own room message is delivered on n1", logHas, ["message", "said while redis is down"]);
  await until(alice, "alice's page says the message did not reach the other servers", logHas,
    ["error", "Not delivered to the other servers"]);
  await until(alice, "the undelivered notice names the message", logHas, ["error", "said while redis is down"]);
  await shot(alice, "cluster-chat-alice-redis-down.png");
  await sleep(2000);
  if (await bob.evaluate(logText).then((t) => t.includes("said while redis is down"))) {
    throw new Error("bob got alice's message sent while Redis was down");
  }
  say("PASS bob does not get alice's message sent while Redis is down");

  await ask("START_REDIS", "REDIS_UP");
  await until(alice, "alice's page shows the cluster up again", serverIs, ["n1", "up"]);
  await until(bob, "bob's page shows the cluster up again", serverIs, ["n2", "up"]);
  await until(alice, "bob@n2 is back in alice's presence", presenceIs, [["alice", "n1"], ["bob", "n2"]]);
  await until(bob, "alice@n1 is back in bob's presence", presenceIs, [["alice", "n1"], ["bob", "n2"]]);
  for (const [nick, page] of [["alice", alice], ["bob", bob]]) {
    if (!(await page.evaluate(absent, "carol"))) throw new Error(`carol is back in ${nick}'s presence`);
  }
  say("PASS carol (n3, killed) stays out of the rebuilt presence");

  // The pages say the cluster is up: the next message must cross (or be
  // reported undelivered). If it is lost, say how: does a later one cross?
  await say_(alice, "redis is back, bob");
  const arrives = (text) => bob.waitForFunction(logHas, ["message", text], { timeout: 10000, polling: 50 })
    .then(() => true, () => false);
  if (!(await arrives("redis is back, bob"))) {
    await say_(alice, "second try after redis is back");
    const second = await arrives("second try after redis is back");
    const told = await alice.evaluate(logHas, ["error", "redis is back, bob"]);
    throw new Error("bob gets alice's message after Redis is back: the first message after both pages showed " +
      `the cluster up never reached bob within 10 s (alice ${told ? "was" : "was not"} told it was undelivered); ` +
      `a second one sent 10 s later ${second ? "did reach him" : "did not either"}`);
  }
  say("PASS bob gets alice's message after Redis is back");
  await until(alice, "alice sees her own message after Redis is back", logHas, ["message", "redis is back, bob"]);
  if (await bob.evaluate(logText).then((t) => t.includes("said while redis is down"))) {
    throw new Error("bob got alice's message sent while Redis was down, late");
  }
  say("PASS bob never gets the message sent while Redis was down");
  await shot(alice, "cluster-chat-alice-redis-back.png");
}

async function main() {
  fs.mkdirSync(shots, { recursive: true });
  await withChromium({ viewport: { width: 1100, height: 640 } }, async (context) => {
    const chats = await chat(context);
    await game(context);
    await killN3(chats);
    await redisOutage(chats);
    await chats.alice.close();
    await chats.bob.close();
  });
}

run(main);
