// What the Chromium scripts (browser.js, browser_cluster.js,
// browser_origins.js, browser_auth.js) share: a fresh headless profile per
// run, the line protocol with the Rust side (requests answered on stdin,
// screenshots, DONE, or FAIL with the first line of the error), and the
// game page's checks.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const say = (line) => process.stdout.write(line + "\n");

// How long a page may take to do what a check waits for, in ms.
const PATIENCE = 30000;

// Wait until `fn(arg)` is truthy in `page`; `what` names the check, said
// as PASS, or thrown with the reason.
async function until(page, what, fn, arg) {
  try {
    await page.waitForFunction(fn, arg, { timeout: PATIENCE, polling: 50 });
  } catch (e) {
    throw new Error(`${what}: ${e.message.split("\n")[0]}`);
  }
  say(`PASS ${what}`);
}

// Runs `body(context)` in Debian's Chromium (or $CHROMIUM) with a profile
// of its own, made for this run and removed after it; `options` adds
// launch options (viewport, ignoreHTTPSErrors …).
async function withChromium(options, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "ws6455-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    ...options,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  try {
    await body(context);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// Asks the Rust side to act (prints `request`) and resolves when it answers
// `answer` on stdin.
const waiting = [];
let stdinLines = null;
function ask(request, answer) {
  if (!stdinLines) {
    stdinLines = require("readline").createInterface({ input: process.stdin });
    stdinLines.on("line", (line) => {
      const i = waiting.findIndex((w) => w.line === line);
      if (i >= 0) waiting.splice(i, 1)[0].resolve();
    });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${answer} on stdin`)), 2 * PATIENCE);
    waiting.push({ line: answer, resolve: () => { clearTimeout(timer); resolve(); } });
    say(request);
  });
}

// A screenshot of `page` into `dir`, its path said for the Rust side.
async function shot(dir, page, name) {
  const file = path.join(dir, name);
  await page.screenshot({ path: file });
  say(`SCREENSHOT ${file}`);
}

// In a game page: every dot of the players list.
const players = () =>
  [...document.querySelectorAll("#players li")].map((li) => ({
    id: Number(li.dataset.id), x: Number(li.dataset.x), y: Number(li.dataset.y),
    me: li.dataset.me === "true", server: li.dataset.server,
  }));

// In a game page: dot `a` went right and dot `b` went down by 40 px (or
// hit the edge) since the positions given.
const dotsMoved = ([a, b]) => {
  const now = [...document.querySelectorAll("#players li")].map((li) => ({
    id: Number(li.dataset.id), x: Number(li.dataset.x), y: Number(li.dataset.y),
  }));
  const p1 = now.find((p) => p.id === a.id), p2 = now.find((p) => p.id === b.id);
  return p1 && p2 && p1.x >= Math.min(a.x + 40, 630) && p2.y >= Math.min(b.y + 40, 390);
};

// Runs `main` and exits by its outcome.
function run(main) {
  main().then(
    () => { say("DONE"); process.exit(0); },
    (e) => { say(`FAIL ${e.message.split("\n")[0]}`); process.exit(1); },
  );
}

module.exports = { PATIENCE, say, until, withChromium, run, ask, shot, players, dotsMoved };
