// Shared steps for the browser tests.
const { test, expect } = require("@playwright/test");
const { spawn } = require("node:child_process");
const { once } = require("node:events");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const AxeBuilder = require("@axe-core/playwright").default;

const repo = path.resolve(__dirname, "..", "..");

/** A text no other test (or earlier run) has sent. */
function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A room name no other test (or earlier run) has used. */
function freshRoom(prefix = "room") {
  return unique(prefix).toLowerCase();
}

/** Opens the chat at `url` and waits until the WASM app has its socket open and the room on
 * screen is joined (its member list, which includes this tab, has arrived). */
async function openChat(page, url = "/") {
  await page.goto(url);
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(page.locator("#members li").first()).toBeVisible();
}

/** Opens `/r/<room>` (on `base`, default the suite's server) and waits until it is joined. */
async function openRoom(page, room, base = "") {
  await openChat(page, `${base}/r/${room}`);
  await expect(page.locator("#room-title")).toHaveText(`#${room}`);
}

/** Submits `name` in the page's name form (whether it is accepted is for the caller to see). */
async function submitName(page, name) {
  await page.locator("#name-input").fill(name);
  await page.locator("#name-input").press("Enter");
}

/** Sends `count` messages into `room` from a raw WebSocket opened inside `page`, without
 * pauses (the server coalesces them into few frames). */
async function flood(page, room, prefix, count) {
  await page.evaluate(
    async ({ room, prefix, count }) => {
      const ws = new WebSocket(`ws://${location.host}/ws?room=${room}`);
      await new Promise((resolve) => (ws.onopen = resolve));
      for (let i = 0; i < count; i++) {
        ws.send(JSON.stringify({ type: "send", room, text: `${prefix} ${i}` }));
      }
    },
    { room, prefix, count },
  );
}

/** Types a message and presses Enter, as a person would. */
async function send(page, text) {
  const input = page.locator("#composer-input");
  await input.fill(text);
  await input.press("Enter");
}

/** The text of every chat message in the log. */
function messageTexts(page) {
  return page.locator("#messages li.message .text");
}

/** Resolves once the page has rendered two more frames: the log scrolls in the frame after a
 * change (`requestAnimationFrame`), so after two the view is where the page put it. */
async function afterFrames(page) {
  await page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
  );
}

/** How long a negative check ("this never shows") watches, once a marker sent after the action
 * has arrived: whatever the action caused would have come before the marker, so this only
 * covers what could arrive by another path (another room, another connection). */
const QUIET_MS = 300;

/** Types into the composer until the other page shows the typing line: the page sends a typing
 * notice at most every 3 s, so the first keys may fall inside the last notice's window. */
async function typeUntilSeen(page, other, text = "typing") {
  const input = page.locator("#composer-input");
  await expect(async () => {
    await input.fill("");
    await input.pressSequentially(text, { delay: 30 });
    await expect(other.locator("#typing")).not.toBeEmpty({ timeout: 1_000 });
  }).toPass({ timeout: 10_000 });
}

/** Collects console errors and uncaught exceptions of a page. */
function watchErrors(page) {
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

/** The release server binary that cargo-leptos built. */
function serverBinary() {
  if (process.env.CHAT_SERVER_BIN) return process.env.CHAT_SERVER_BIN;
  const target = process.env.CARGO_TARGET_DIR || path.join(repo, "target");
  return path.join(target, "release", "chat-server");
}

/** A new empty folder for a private server's database. */
function freshDataDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), "chat-e2e-"));
}

/** Starts a private server on `port` with its database in `dataDir` (for tests that stop and
 * restart it), with any further flags in `extra`. */
async function startServer(port, dataDir, extra = []) {
  const args = ["--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, ...extra];
  const child = spawn(serverBinary(), args, {
    cwd: repo,
    env: {
      ...process.env,
      LEPTOS_SITE_ROOT: path.join(repo, "target", "site"),
      LEPTOS_OUTPUT_NAME: "chat",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`server on port ${port} did not start`);
}

/** Stops a server started by `startServer` the way an operator would (SIGTERM). */
async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}

/** Starts a server on `port` with `--access access`; resolves with it and the set-up link it
 * logs (for its first administrator). */
async function startWithSetupLink(port, dataDir, access, extra = []) {
  const binary = process.env.CHAT_SERVER_BIN || path.join(repo, "target", "debug", "chat-server");
  const child = spawn(
    binary,
    ["--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, "--access", access, ...extra],
    {
      cwd: repo,
      env: {
        ...process.env,
        LEPTOS_SITE_ROOT: path.join(repo, "target", "site"),
        LEPTOS_OUTPUT_NAME: "chat",
        RUST_LOG: "info",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = readline.createInterface({ input: child.stdout });
  const link = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no set-up link logged")), 20_000);
    lines.on("line", (line) => {
      const found = line.match(/open (http\S+\/setup\/\S+)/);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
  });
  return { child, link };
}

/** A server of a spec file's own in `access` mode on `port` (with `extra` flags), started (with
 * an empty database) before the file's tests and stopped after them. Returns `{ base, link }`: its address, and the
 * set-up link it logged for its first administrator once it has started. */
function privateServer(port, access, extra = []) {
  const server = { base: `http://127.0.0.1:${port}`, link: null, child: null };
  test.beforeAll(async () => {
    const started = await startWithSetupLink(port, freshDataDir(), access, extra);
    server.child = started.child;
    server.link = started.link;
  });
  test.afterAll(async () => {
    if (server.child) await stopServer(server.child);
  });
  return server;
}

/** Axe's findings, as short readable lines (empty when there are none). */
async function violations(page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
}

/** The page is accessible and fits its viewport's width. */
async function checkPage(page) {
  expect(await violations(page)).toEqual([]);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
}

/** Fills the name-and-password form with the keyboard alone and sends it. */
async function fillCredentials(page, name, password) {
  await page.locator("#name").focus();
  await page.keyboard.press("Control+A");
  await page.keyboard.type(name);
  await page.keyboard.press("Tab");
  await expect(page.locator("#password")).toBeFocused();
  await page.keyboard.type(password);
  // On to the form's button and press it (Enter in the field would do the same, but the
  // browser's password suggestions may take that Enter).
  await page.keyboard.press("Tab");
  await expect(page.locator("form.account-form button[type=submit]")).toBeFocused();
  await page.keyboard.press("Enter");
}
module.exports = {
  privateServer,
  startWithSetupLink,
  violations,
  checkPage,
  fillCredentials,

  afterFrames,
  QUIET_MS,
  typeUntilSeen,
  submitName,
  repo,
  unique,
  freshRoom,
  openChat,
  openRoom,
  flood,
  freshDataDir,
  send,
  messageTexts,
  watchErrors,
  startServer,
  stopServer,
};
