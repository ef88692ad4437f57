// What the Chromium scripts (browser.js, browser_origins.js,
// browser_auth.js) share: a fresh headless profile per run, and the end of
// the line protocol the Rust side reads (DONE, or FAIL with the first line
// of the error).
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

// Runs `main` and exits by its outcome.
function run(main) {
  main().then(
    () => { say("DONE"); process.exit(0); },
    (e) => { say(`FAIL ${e.message.split("\n")[0]}`); process.exit(1); },
  );
}

module.exports = { PATIENCE, say, until, withChromium, run };
