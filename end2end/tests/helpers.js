// Shared steps for the browser tests.
const { expect } = require("@playwright/test");
const { spawn } = require("node:child_process");
const { once } = require("node:events");
const path = require("node:path");

const repo = path.resolve(__dirname, "..", "..");

/** A text no other test (or earlier run) has sent. */
function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens the chat and waits until the WASM app has its socket open. */
async function openChat(page, url = "/") {
  await page.goto(url);
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected");
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

/** Starts a private server on `port` (for tests that stop and restart it). */
async function startServer(port) {
  const child = spawn(serverBinary(), ["--addr", `127.0.0.1:${port}`], {
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

module.exports = {
  repo,
  unique,
  openChat,
  send,
  messageTexts,
  watchErrors,
  startServer,
  stopServer,
};
