// Cluster mode in the browser: two nodes sharing rooms through a real redis-server (Debian's,
// started here on a loopback port and stopped after). People on different nodes chat, see each
// other present and typing, cannot take each other's names; when Redis goes away the page says
// so, gives a refused message back, and everything flows again once Redis returns.
const { test, expect } = require("@playwright/test");
const { spawn } = require("node:child_process");
const { once } = require("node:events");
const net = require("node:net");
const {
  unique,
  freshRoom,
  openRoom,
  send,
  messageTexts,
  freshDataDir,
  startServer,
  stopServer,
  submitName,
} = require("./helpers");

const REDIS_PORT = 6392;
const NODES = [8091, 8092];
const base = (port) => `http://127.0.0.1:${port}`;

/** Starts redis-server with its append-only file in `dir`; resolves once it accepts connections. */
async function startRedis(dir) {
  const child = spawn(
    "redis-server",
    ["--bind", "127.0.0.1", "--port", `${REDIS_PORT}`, "--dir", dir, "--appendonly", "yes",
      "--appendfsync", "always", "--save", ""],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(REDIS_PORT, "127.0.0.1", () => {
        socket.end();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not start");
}

async function killRedis(child) {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

let redis;
let nodes = [];
const redisDir = freshDataDir();

test.beforeAll(async () => {
  redis = await startRedis(redisDir);
  const url = `redis://127.0.0.1:${REDIS_PORT}/0`;
  nodes = await Promise.all(
    NODES.map((port) => startServer(port, freshDataDir(), ["--redis-url", url, "--rate-limit-per-sec", "0"])),
  );
});

test.afterAll(async () => {
  await Promise.all(nodes.map(stopServer));
  if (redis) await killRedis(redis);
});

// A new person (own browser context) with `room` open on the node at `port`.
async function personOn(browser, port, room) {
  const page = await (await browser.newContext()).newPage();
  await openRoom(page, room, base(port));
  return page;
}

async function named(page, name) {
  await submitName(page, name);
  await expect(page.locator("#name-hint")).toBeEmpty();
}

test("people on two nodes chat in one room, see each other, and hold their names", async ({
  browser,
}) => {
  const room = freshRoom("cluster");
  const ada = await personOn(browser, NODES[0], room);
  const bob = await personOn(browser, NODES[1], room);
  const adaName = unique("Ada").slice(0, 20);
  const bobName = unique("Bob").slice(0, 20);
  await named(ada, adaName);
  await named(bob, bobName);

  // Who is here spans both nodes.
  await expect(ada.locator("#members")).toContainText(bobName);
  await expect(bob.locator("#members")).toContainText(adaName);
  await expect(ada.locator("#members li")).toHaveCount(2);

  // Typing crosses nodes too (before anyone sends: a notice is sent at most every 3 s).
  await bob.locator("#composer-input").pressSequentially("typ", { delay: 50 });
  await expect(ada.locator("#typing")).toHaveText(`${bobName} is typing…`);
  await bob.locator("#composer-input").fill("");

  const hello = unique("hello from node one");
  const reply = unique("and back from node two");
  await send(ada, hello);
  await expect(messageTexts(bob)).toHaveText([hello]);
  await send(bob, reply);
  await expect(messageTexts(ada)).toHaveText([hello, reply]);
  await expect(bob.locator("#messages li.message.mine .text")).toHaveText([reply]);

  // Ada's name is held on the other node too.
  const carol = await personOn(browser, NODES[1], room);
  await submitName(carol, adaName.toLowerCase());
  await expect(carol.locator("#name-error")).toContainText("taken");

  // Bob leaves: gone from Ada's list on the other node.
  await bob.close();
  await expect(ada.locator("#members")).not.toContainText(bobName);
});

test("while Redis is down the page says so and gives a refused message back", async ({
  browser,
}) => {
  const room = freshRoom("outage");
  const ada = await personOn(browser, NODES[0], room);
  const bob = await personOn(browser, NODES[1], room);
  const before = unique("before");
  await send(ada, before);
  await expect(messageTexts(bob)).toHaveText([before]);

  await killRedis(redis);
  // Still connected, and told.
  await expect(ada.locator("#composer-error")).toContainText("Redis");
  await expect(ada.locator("#status")).toHaveAttribute("data-state", "connected");
  const during = unique("during");
  await send(ada, during);
  await expect(ada.locator("#composer-input")).toHaveValue(during, { timeout: 15_000 });
  await expect(ada.locator("#composer-error")).toContainText("nothing was stored");

  redis = await startRedis(redisDir);
  // Both nodes reconnect (with backoff) and say so on /readyz.
  for (const port of NODES) {
    await expect(async () => {
      expect((await fetch(`${base(port)}/readyz`)).status).toBe(200);
    }).toPass({ timeout: 30_000 });
  }
  await ada.locator("#composer-input").press("Enter"); // the refused text, sent again
  const after = unique("after");
  await send(ada, after);
  await expect(messageTexts(bob)).toHaveText([before, during, after]);
  await expect(messageTexts(ada)).toHaveText([before, during, after]);
});
