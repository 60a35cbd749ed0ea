// Web Push (issue 25), from the browser's side: the account page turns push notifications on
// for this browser (a service worker, a subscription with the server's key), the server pushes
// a mention to it while no page of the chat is open, encrypted for this browser, and the service
// worker shows it, titled by who wrote where and linked to the message.
//
// Headless Chromium has no push service to subscribe with (that is Google's, on the internet),
// so the browser's `PushManager.subscribe` is replaced by one that answers with keys this test
// made and an endpoint it serves on loopback (the server runs with the test-only
// `--push-endpoints-anywhere`); the push the server sends there is decrypted here and handed to
// the real service worker through DevTools' own "push" button (`deliverPushMessage`).
const http = require("http");
const crypto = require("crypto");
const { test, expect } = require("@playwright/test");
const { unique, send, privateServer, fillCredentials, checkPage } = require("./helpers");

const server = privateServer(8096, "accounts", ["--push-endpoints-anywhere"]);
const BASE = server.base;
const PUSH_PORT = 8097;

/** The push service: keeps what it receives, answers 201. */
function pushService() {
  const received = [];
  const waiting = [];
  const service = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const push = { path: request.url, headers: request.headers, body: Buffer.concat(chunks) };
      received.push(push);
      while (waiting.length) waiting.shift()();
      response.writeHead(201).end();
    });
  });
  const next = async () => {
    while (!received.length) await new Promise((resolve) => waiting.push(resolve));
    return received.shift();
  };
  return { service, next };
}

/** RFC 8291: what the server encrypted for the browser whose keys are `ecdh` and `auth`. */
function decrypt(body, ecdh, auth) {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverKey = body.subarray(21, 21 + idLength);
  const sealed = body.subarray(21 + idLength);
  const info = Buffer.concat([Buffer.from("WebPush: info\0"), ecdh.getPublicKey(), serverKey]);
  const ikm = crypto.hkdfSync("sha256", ecdh.computeSecret(serverKey), auth, info, 32);
  const key = crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16);
  const nonce = crypto.hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12);
  const decipher = crypto.createDecipheriv("aes-128-gcm", Buffer.from(key), Buffer.from(nonce));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  // The record ends with the delimiter 2, then padding zeros.
  return JSON.parse(plain.subarray(0, plain.lastIndexOf(2)).toString());
}

/** Runs in the page before its scripts: `PushManager` answers with the test's subscription,
 * and remembers the server key it was asked to subscribe with. */
function fakePushManager(subscription) {
  const make = () => ({
    endpoint: subscription.endpoint,
    toJSON: () => ({ endpoint: subscription.endpoint, keys: subscription.keys }),
    unsubscribe: async () => {
      localStorage.removeItem("subscribed");
      return true;
    },
  });
  PushManager.prototype.subscribe = async function (options) {
    localStorage.setItem("serverKey", btoa(String.fromCharCode(...new Uint8Array(options.applicationServerKey))));
    localStorage.setItem("subscribed", "1");
    return make();
  };
  PushManager.prototype.getSubscription = async function () {
    return localStorage.getItem("subscribed") ? make() : null;
  };
}

test("a mention reaches a browser with no page open, as a push its service worker shows", async ({
  browser,
}) => {
  const { service, next } = pushService();
  await new Promise((resolve) => service.listen(PUSH_PORT, "127.0.0.1", resolve));
  try {
    const ecdh = crypto.createECDH("prime256v1");
    ecdh.generateKeys();
    const auth = crypto.randomBytes(16);
    const subscription = {
      endpoint: `http://127.0.0.1:${PUSH_PORT}/push/owner`,
      keys: { p256dh: ecdh.getPublicKey("base64url"), auth: auth.toString("base64url") },
    };

    const context = await browser.newContext({
      permissions: ["notifications"],
      viewport: { width: 360, height: 740 },
    });
    await context.addInitScript(fakePushManager, subscription);
    const owner = await context.newPage();
    await owner.goto(server.link);
    const ownerName = unique("owner");
    await fillCredentials(owner, ownerName, "correct horse battery");
    await owner.waitForURL(`${BASE}/`);
    await owner.goto(`${BASE}/admin`);
    const invitation = await owner.getByLabel("Link").inputValue();

    // On the account page (no chat socket open), by keyboard: previews on, then turn on.
    await owner.goto(`${BASE}/account`);
    const previews = owner.getByLabel(/Show what the message says/);
    await previews.focus();
    await owner.keyboard.press("Space");
    await expect(previews).toBeChecked();
    const on = owner.getByRole("button", { name: "Turn on in this browser" });
    await on.focus();
    await owner.keyboard.press("Enter");
    await expect(owner.locator("#push-status")).toHaveText(/^On: /);
    await expect(owner.getByRole("button", { name: "Turn off in this browser" })).toBeVisible();
    await expect(on).toBeHidden();
    // It subscribed with the server's own key.
    const key = await owner.locator("#push").getAttribute("data-key");
    const asked = await owner.evaluate(() => localStorage.getItem("serverKey"));
    expect(Buffer.from(asked, "base64").toString("base64url")).toBe(key);
    await owner.reload();
    await expect(owner.getByText("On in 1 browser.")).toBeVisible();
    await checkPage(owner);

    // Someone else mentions the owner in the lobby.
    const writer = await (await browser.newContext()).newPage();
    await writer.goto(invitation);
    const writerName = unique("writer");
    await fillCredentials(writer, writerName, "battery staple horse");
    await writer.waitForURL(`${BASE}/`);
    await expect(writer.locator("#status")).toHaveAttribute("data-state", "connected");
    const words = unique("are you there");
    await send(writer, `@${ownerName} **${words}**`);

    const push = await next();
    expect(push.path).toBe("/push/owner");
    expect(push.headers["content-encoding"]).toBe("aes128gcm");
    expect(push.headers.authorization).toMatch(new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${key}$`));
    const shown = decrypt(push.body, ecdh, auth);
    expect(shown.title).toBe(`${writerName} in #lobby`);
    expect(shown.body).toBe(`@${ownerName} ${words}`);
    expect(shown.url).toMatch(/^\/r\/lobby\?m=\d+$/);

    // The browser delivers it to the service worker, which shows it.
    const cdp = await context.newCDPSession(owner);
    const registered = new Promise((resolve) => {
      cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations }) => {
        const ours = registrations.find((r) => r.scopeURL === `${BASE}/` && !r.isDeleted);
        if (ours) resolve(ours.registrationId);
      });
    });
    await cdp.send("ServiceWorker.enable");
    await cdp.send("ServiceWorker.deliverPushMessage", {
      origin: BASE,
      registrationId: await registered,
      data: JSON.stringify(shown),
    });
    const ours = (w) => w.url() === `${BASE}/sw.js`;
    const worker =
      context.serviceWorkers().find(ours) ||
      (await context.waitForEvent("serviceworker", { predicate: ours }));
    await expect
      .poll(() =>
        worker.evaluate(async () =>
          (await self.registration.getNotifications()).map((n) => ({
            title: n.title,
            body: n.body,
            tag: n.tag,
            url: n.data.url,
          })),
        ),
      )
      .toEqual([{ title: shown.title, body: shown.body, tag: "lobby", url: shown.url }]);

    // Turned off: the server forgets this browser.
    await owner.getByRole("button", { name: "Turn off in this browser" }).click();
    await expect(owner.locator("#push-status")).toHaveText("Off in this browser.");
    await owner.reload();
    await expect(owner.getByText(/On in \d browser/)).toHaveCount(0);
  } finally {
    service.close();
  }
});
