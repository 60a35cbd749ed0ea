// Connection trouble: a server restart, a network drop and a server that lost its history. The
// page says what happened, shows every message exactly once, and sends what was typed meanwhile
// exactly once. Runs its own servers so it can stop and start them.
const { test, expect } = require("@playwright/test");
const {
  unique,
  freshRoom,
  openRoom,
  send,
  messageTexts,
  freshDataDir,
  startServer,
  stopServer,
} = require("./helpers");

const PORT = 8090;
const BASE = `http://127.0.0.1:${PORT}`;

/** Every message text in the page appears once. */
async function expectEachOnce(page, texts) {
  const shown = await messageTexts(page).allTextContents();
  for (const text of texts) expect(shown.filter((t) => t === text)).toHaveLength(1);
}

test("a server restart shows the lost connection, resumes, and sends what was typed", async ({
  browser,
}) => {
  const dataDir = freshDataDir();
  let server = await startServer(PORT, dataDir);
  try {
    const room = freshRoom("restart");
    const page = await (await browser.newContext()).newPage();
    const other = await (await browser.newContext()).newPage();
    await openRoom(page, room, BASE);
    await openRoom(other, room, BASE);
    const before = unique("before restart");
    await send(page, before);
    await expect(messageTexts(other)).toHaveText([before]);

    await stopServer(server);
    const status = page.locator("#status");
    await expect(status).toHaveAttribute("data-state", /reconnecting|offline/);
    // Stopped with SIGTERM: the server said it was going away (1001).
    await expect(page.locator("#messages li.notice").last()).toHaveText(
      "The server is restarting; reconnecting.",
    );

    // Written while disconnected: shown as pending, the input is free for the next one.
    const offline = unique("typed while offline");
    await send(page, offline);
    await expect(page.locator("#messages li.pending .text")).toHaveText(offline);
    await expect(page.locator("#composer-input")).toHaveValue("");
    await expect(page.locator("#composer-hint")).toContainText("Not connected");

    server = await startServer(PORT, dataDir);
    // The other page may come back first and talk at once: the page must still see it once.
    await expect(other.locator("#status")).toHaveAttribute("data-state", "connected", {
      timeout: 20_000,
    });
    const meanwhile = [unique("meanwhile 1"), unique("meanwhile 2")];
    for (const text of meanwhile) await send(other, text);
    await expect(status).toHaveAttribute("data-state", "connected", { timeout: 20_000 });

    const all = [before, offline, ...meanwhile];
    for (const p of [page, other]) {
      await expect(messageTexts(p)).toHaveCount(all.length);
      await expectEachOnce(p, all);
    }
    await expect(page.locator("#messages li.pending")).toHaveCount(0);
    await expect(page.getByText("Reconnected.")).toHaveCount(1);
    // No "could not recover": the history continued.
    await expect(page.getByText("Could not recover")).toHaveCount(0);
  } finally {
    await stopServer(server);
  }
});

test("a network drop: messages sent meanwhile show once, and a message typed offline is sent once", async ({
  browser,
}) => {
  const dataDir = freshDataDir();
  const server = await startServer(PORT, dataDir);
  try {
    const room = freshRoom("offline");
    const context = await browser.newContext();
    const page = await context.newPage();
    const other = await (await browser.newContext()).newPage();
    await openRoom(page, room, BASE);
    await openRoom(other, room, BASE);

    await context.setOffline(true);
    await expect(page.locator("#status")).toHaveAttribute("data-state", /offline|reconnecting/);
    const meanwhile = [unique("while away 1"), unique("while away 2"), unique("while away 3")];
    for (const text of meanwhile) await send(other, text);
    await expect(messageTexts(other)).toHaveCount(3);
    const typed = unique("typed offline");
    await send(page, typed);
    await expect(page.locator("#messages li.pending .text")).toHaveText(typed);

    await context.setOffline(false);
    await expect(page.locator("#status")).toHaveAttribute("data-state", "connected", {
      timeout: 20_000,
    });
    const all = [...meanwhile, typed];
    for (const p of [page, other]) {
      await expect(messageTexts(p)).toHaveCount(all.length);
      await expectEachOnce(p, all);
    }
    await expect(page.locator("#messages li.pending")).toHaveCount(0);
  } finally {
    await stopServer(server);
  }
});

test("a server that lost its history: the page says it could not recover", async ({ browser }) => {
  let server = await startServer(PORT, freshDataDir());
  try {
    const room = freshRoom("epoch");
    const page = await (await browser.newContext()).newPage();
    await openRoom(page, room, BASE);
    const old = unique("old history");
    await send(page, old);
    await expect(messageTexts(page)).toHaveText([old]);

    await stopServer(server);
    server = await startServer(PORT, freshDataDir());
    await expect(page.locator("#status")).toHaveAttribute("data-state", "connected", {
      timeout: 20_000,
    });
    await expect(page.locator("#messages li.notice").first()).toHaveText(/Could not recover/);
    // The log shows the new history only (empty), and works on.
    await expect(messageTexts(page)).toHaveCount(0);
    const fresh = unique("new history");
    await send(page, fresh);
    await expect(messageTexts(page)).toHaveText([fresh]);
  } finally {
    await stopServer(server);
  }
});

test("a message refused by the rate limit comes back into the input with the reason", async ({
  browser,
}) => {
  // The default limit (5/s, burst 20), whatever the suite's environment says.
  const server = await startServer(PORT, freshDataDir(), [
    "--rate-limit-per-sec",
    "5",
    "--rate-limit-burst",
    "20",
  ]);
  try {
    const room = freshRoom("limited");
    const page = await (await browser.newContext()).newPage();
    const other = await (await browser.newContext()).newPage();
    await openRoom(page, room, BASE);
    await openRoom(other, room, BASE);
    // 25 messages as fast as the page takes them: the burst of 20 passes, then the limit.
    const texts = Array.from({ length: 25 }, (_, i) => `fast ${i}`);
    await page.evaluate((texts) => {
      const input = document.getElementById("composer-input");
      const form = input.form;
      for (const text of texts) {
        input.value = text;
        input.dispatchEvent(new Event("input", { bubbles: true }));
        form.requestSubmit();
      }
    }, texts);
    await expect(page.locator("#composer-error")).toContainText("slow down");
    const input = page.locator("#composer-input");
    await expect(input).not.toHaveValue("");
    // Nothing is lost: every text is either delivered or back in the input, none twice.
    await expect(page.locator("#messages li.pending")).toHaveCount(0);
    const back = (await input.inputValue()).match(/fast \d+/g) || [];
    expect(back.length).toBeGreaterThan(0);
    // The burst allowance went through (less one typing notice, which counts too: the page
    // sends at most one per 3 s however fast one types).
    await expect(messageTexts(other)).toHaveCount(texts.length - back.length);
    // (A slow machine may see a token or two refill at 5/s while the 25 go out.)
    expect(texts.length - back.length).toBeGreaterThanOrEqual(19);
    expect(texts.length - back.length).toBeLessThanOrEqual(21);
    const delivered = await messageTexts(other).allTextContents();
    for (const text of texts) {
      const count = [...delivered, ...back].filter((t) => t === text).length;
      expect(count, text).toBe(1);
    }
  } finally {
    await stopServer(server);
  }
});
