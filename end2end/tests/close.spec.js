// Why the server closed the socket decides what the page does next (PROTOCOL.md's close
// codes): 1001 reconnects at once, 1008 pauses and says why, 1009 takes the message back and
// never resends it, 1012 rejoins without resuming. The page's sockets go through Playwright's
// WebSocket routing, which forwards every frame to the real server and records what the page
// sent, so a test can close the page's side with a given code.
const { test, expect } = require("@playwright/test");
const { unique, freshRoom, openRoom, send, messageTexts } = require("./helpers");

/** The shortest wait of the page's usual reconnect backoff (state.rs, `backoff_delay`). */
const SHORTEST_BACKOFF_MS = 250;

/** Routes the page's chat sockets to the real server, recording when each opened, when it was
 * closed, and every frame the page sent on it. `rewrite` may change the server's frames on
 * their way to the page. */
async function routeSockets(page, rewrite = (text) => text) {
  const sockets = [];
  await page.routeWebSocket(/\/ws/, (ws) => {
    const server = ws.connectToServer();
    const socket = { ws, opened: Date.now(), closed: null, sent: [] };
    sockets.push(socket);
    ws.onMessage((message) => {
      socket.sent.push(message);
      server.send(message);
    });
    server.onMessage((message) => ws.send(rewrite(message)));
  });
  return sockets;
}

/** Closes the page's current socket as the server would, with `code` and `reason`. */
async function closeFromServer(sockets, code, reason) {
  const socket = sockets[sockets.length - 1];
  socket.closed = Date.now();
  await socket.ws.close({ code, reason });
}

/** Waits until the page has opened its `n`th socket and says it is connected. */
async function waitForSocket(page, sockets, n) {
  await expect.poll(() => sockets.length).toBe(n);
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected", {
    timeout: 20_000,
  });
}

/** The `join` frames the page sent on a socket. */
function joins(socket) {
  return socket.sent.map((text) => JSON.parse(text)).filter((frame) => frame.type === "join");
}

test("1001: the page reconnects at once and resumes", async ({ page }) => {
  const sockets = await routeSockets(page);
  const room = freshRoom("going-away");
  await openRoom(page, room);
  const before = unique("before");
  await send(page, before);
  await expect(messageTexts(page)).toHaveText([before]);

  await closeFromServer(sockets, 1001, "server shutting down; reconnect");
  await waitForSocket(page, sockets, 2);
  // At once: sooner than the shortest wait of the usual backoff.
  expect(sockets[1].opened - sockets[0].closed).toBeLessThan(SHORTEST_BACKOFF_MS);
  await expect(page.getByText("The server is restarting; reconnecting.")).toHaveCount(1);
  await expect.poll(() => joins(sockets[1]).find((j) => j.room === room)?.since).toBe(1);
  await expect(page.getByText("Could not recover")).toHaveCount(0);
});

test("1008: the page says why, and waits before reconnecting", async ({ page }) => {
  const sockets = await routeSockets(page);
  await openRoom(page, freshRoom("policy"));

  await closeFromServer(sockets, 1008, "client too slow to keep up");
  await expect(page.locator("#messages li.notice").last()).toHaveText(
    "The server closed the connection (client too slow to keep up); reconnecting after a pause.",
  );
  await expect(page.locator("#status")).toHaveAttribute("data-state", "reconnecting");
  await waitForSocket(page, sockets, 2);
  // A pause of at least a second (four times the shortest usual retry).
  expect(sockets[1].opened - sockets[0].closed).toBeGreaterThanOrEqual(1000);
});

test("1009: the message comes back into the input with the reason and is never resent", async ({
  page,
}) => {
  // The page is told the server takes frames of 100 kB, so it lets a 6 kB message go; the
  // real server (4096 bytes) closes the socket with 1009.
  const sockets = await routeSockets(page, (text) =>
    text.replace(/"max_frame_bytes":\d+/, '"max_frame_bytes":100000'),
  );
  const room = freshRoom("too-large");
  await openRoom(page, room);
  const big = "字".repeat(2000);
  await send(page, big);

  const input = page.locator("#composer-input");
  await expect(input).toHaveValue(big);
  await expect(page.locator("#composer-error")).toHaveText(
    "This message is larger than the server accepts, so it was not sent.",
  );
  await expect(page.getByText("a message was too large for it")).toHaveCount(1);
  await waitForSocket(page, sockets, 2);
  await expect(page.locator("#messages li.pending")).toHaveCount(0);

  // The next message goes out, and the large one never did again.
  const after = unique("after");
  await input.fill(after);
  await input.press("Enter");
  await expect(messageTexts(page)).toHaveText([after]);
  const resent = sockets.slice(1).flatMap((socket) => socket.sent).filter((t) => t.includes(big));
  expect(resent).toHaveLength(0);
  expect(sockets).toHaveLength(2);
});

test("1012: the page rejoins its rooms without resuming", async ({ page }) => {
  const sockets = await routeSockets(page);
  const room = freshRoom("reset");
  await openRoom(page, room);
  await send(page, unique("old"));
  await expect(messageTexts(page)).toHaveCount(1);

  await closeFromServer(sockets, 1012, "a room's history was reset; reconnect");
  await waitForSocket(page, sockets, 2);
  expect(sockets[1].opened - sockets[0].closed).toBeLessThan(SHORTEST_BACKOFF_MS);
  await expect.poll(() => joins(sockets[1]).map((j) => j.room)).toContain(room);
  const rejoin = joins(sockets[1]).find((j) => j.room === room);
  expect(rejoin.since).toBeUndefined();
  expect(rejoin.epoch).toBeUndefined();
  // The rejoin's answer replaces the log with the room's latest page, and says so.
  await expect(page.getByText("Could not recover")).toHaveCount(1);
});

test("back after a night away: a gap too large for one answer shows the latest page, once", async ({
  browser,
}) => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const other = await (await browser.newContext()).newPage();
  const room = freshRoom("night");
  await openRoom(page, room);
  await openRoom(other, room);
  await send(page, unique("evening"));
  await expect(messageTexts(other)).toHaveCount(1);

  await context.setOffline(true);
  await expect(page.locator("#status")).toHaveAttribute("data-state", /offline|reconnecting/);
  // 320 messages of 4 kB (1.3 MB): more than the server lets one client fall behind (1 MiB).
  await other.evaluate(async (room) => {
    const ws = new WebSocket(`ws://${location.host}/ws?room=${room}`);
    await new Promise((resolve) => (ws.onopen = resolve));
    for (let i = 0; i < 320; i++) {
      const text = `night ${String(i).padStart(3, "0")} ${"é".repeat(1990)}`;
      ws.send(JSON.stringify({ type: "send", room, text }));
    }
  }, room);
  await expect(messageTexts(other).last()).toContainText("night 319", { timeout: 20_000 });

  const closedSlow = () => metric(other, 'chat_connections_closed_total{reason="slow"}');
  const slowBefore = await closedSlow();
  await context.setOffline(false);
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected", {
    timeout: 20_000,
  });
  await expect(page.getByText("Could not recover")).toHaveCount(1);
  await expect(messageTexts(page).last()).toContainText("night 319");
  // It stays connected: a message goes out and comes back, and the server closed nobody as
  // too slow meanwhile (before the fix, its answer to the resume did, at every reconnect).
  const morning = unique("morning");
  await send(page, morning);
  await expect(messageTexts(page).last()).toHaveText(morning);
  expect(await closedSlow()).toBe(slowBefore);
});

/** One sample of the server's /metrics, read through `page`'s origin. */
async function metric(page, sample) {
  const text = await page.evaluate(async () => (await fetch("/metrics")).text());
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.split(" ")[1]) : 0;
}
