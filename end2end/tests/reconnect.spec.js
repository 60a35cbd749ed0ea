// A server restart: the page says it lost the connection, keeps what the reader typed, and comes
// back by itself. Runs its own server so it can stop and start it.
const { test, expect } = require("@playwright/test");
const { unique, openChat, send, messageTexts, startServer, stopServer } = require("./helpers");

const PORT = 8090;
const URL = `http://127.0.0.1:${PORT}/`;

test("a server restart shows the lost connection, then reconnects by itself", async ({ browser }) => {
  let server = await startServer(PORT);
  try {
    const page = await (await browser.newContext()).newPage();
    const other = await (await browser.newContext()).newPage();
    await openChat(page, URL);
    await openChat(other, URL);
    await send(page, unique("before restart"));
    await expect(messageTexts(other)).toHaveCount(1);

    await stopServer(server);
    const status = page.locator("#status");
    await expect(status).not.toHaveAttribute("data-state", "connected");
    await expect(status).toHaveAttribute("data-state", /reconnecting|offline/);
    await expect(page.locator("#messages li.notice").last()).toHaveText("Connection closed.");

    // While disconnected, Send is disabled and the draft is kept, never silently lost.
    const draft = unique("typed while offline");
    await page.locator("#composer-input").fill(draft);
    await page.locator("#composer-input").press("Enter");
    await expect(page.locator("button[type=submit]")).toBeDisabled();
    await expect(page.locator("#composer-input")).toHaveValue(draft);
    await expect(page.locator("#composer-hint")).toContainText("Not connected");

    server = await startServer(PORT);
    // Backoff starts at 0.5 s; a few attempts at most after a short outage.
    await expect(status).toHaveAttribute("data-state", "connected", { timeout: 20_000 });
    await expect(page.locator("#messages li.notice").last()).toHaveText("Reconnected.");
    await expect(other.locator("#status")).toHaveAttribute("data-state", "connected", {
      timeout: 20_000,
    });

    // The kept draft goes out now, and messages flow both ways again.
    await page.locator("button[type=submit]").click();
    await expect(messageTexts(other).last()).toHaveText(draft);
    await expect(page.locator("#composer-input")).toHaveValue("");
    const reply = unique("welcome back");
    await send(other, reply);
    await expect(messageTexts(page).last()).toHaveText(reply);
  } finally {
    await stopServer(server);
  }
});
