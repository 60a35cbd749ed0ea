// What is new, for a signed-in account (issue 25): each room's unread count comes from the
// account's read position on the server, so it is right after a reload and the same in every
// tab and on every device; reading a room in one tab clears its count in the others at once.
// Two browser contexts of one account stand for two devices. The page's title (and the app's
// badge) carries the total; a room's page loaded with unread messages opens at the "new" line.
// A message that mentions the reader marks its room in the sidebar and is highlighted in the
// log; while the tab is hidden it shows as a notification
// (once the reader allowed them), whose click opens the room at it; in a room whose level the
// reader set to "every message", every message does.
const { test, expect } = require("@playwright/test");
const {
  unique,
  send,
  afterFrames,
  privateServer,
  fillCredentials,
  checkPage,
} = require("./helpers");

const server = privateServer(8095, "accounts");
const BASE = server.base;

/** Runs in every page of a context before its scripts: records the notifications the page
 * creates (the real ones, which headless Chromium creates but does not show) and lets a test
 * say the tab is hidden (`window.__hidden`). */
function watchNotifications() {
  window.__notes = [];
  // The app badge's calls (`setAppBadge`, where Chromium has it).
  window.__badges = [];
  navigator.setAppBadge = async (count) => window.__badges.push(count);
  navigator.clearAppBadge = async () => window.__badges.push(0);
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options && options.body, note: this });
    }
  };
  Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
  window.Notification.requestPermission = (...args) => Real.requestPermission(...args);
  Object.defineProperty(Document.prototype, "hidden", {
    get: () => window.__hidden === true,
    configurable: true,
  });
}

/** Scrolls the log to its end, as a reader does to read what is new (the log opens at the
 * "new" line): after the page's own scroll to that line, which comes in the frame after the room
 * is shown, so that it cannot undo this one. */
async function readToEnd(page) {
  await afterFrames(page);
  await page.locator("#messages").evaluate((log) => (log.scrollTop = log.scrollHeight));
}

/** The unread count the sidebar shows for `room` (0 when it shows none). */
async function unread(page, room) {
  const count = page.locator(`#room-list a[data-room="${room}"] .unread`);
  if ((await count.count()) === 0) return 0;
  return parseInt(await count.innerText(), 10);
}

test("two browsers of one account share what is read, live and after a reload", async ({
  browser,
}) => {
  // The owner, then a second account through the invitation.
  const owner = await (await browser.newContext()).newPage();
  await owner.goto(server.link);
  await fillCredentials(owner, unique("owner"), "correct horse battery");
  await owner.waitForURL(`${BASE}/`);
  await owner.goto(`${BASE}/admin`);
  const invitation = await owner.getByLabel("Link").inputValue();
  // The reader allowed notifications in this browser.
  const readerContext = await browser.newContext({ permissions: ["notifications"] });
  await readerContext.addInitScript(watchNotifications);
  const reader = await readerContext.newPage();
  await reader.goto(invitation);
  const readerName = unique("reader");
  await fillCredentials(reader, readerName, "battery staple horse");
  await reader.waitForURL(`${BASE}/`);

  // The reader has the room open once, so it is in the sidebar, then goes back to the lobby.
  const room = unique("news").toLowerCase();
  await reader.goto(`${BASE}/r/${room}`);
  await expect(reader.locator("#status")).toHaveAttribute("data-state", "connected");
  await reader.goto(`${BASE}/`);
  // A second device of the same account: another browser context, signed in on its own.
  const otherContext = await browser.newContext({ permissions: ["notifications"] });
  await otherContext.addInitScript(watchNotifications);
  const other = await otherContext.newPage();
  await other.goto(`${BASE}/signin`);
  await fillCredentials(other, readerName, "battery staple horse");
  await other.waitForURL(`${BASE}/`);
  for (const tab of [reader, other]) {
    await expect(tab.locator("#status")).toHaveAttribute("data-state", "connected");
    await expect(tab.locator(`#room-list a[data-room="${room}"]`)).toBeVisible();
  }

  // Someone else writes three messages there.
  await owner.goto(`${BASE}/r/${room}`);
  await expect(owner.locator("#status")).toHaveAttribute("data-state", "connected");
  for (const n of [1, 2, 3]) await send(owner, unique(`news ${n}`));
  for (const tab of [reader, other]) {
    await expect.poll(() => unread(tab, room)).toBe(3);
    await expect(tab).toHaveTitle(/^\(3\) /);
    // The same total on the app's badge.
    await expect.poll(() => tab.evaluate(() => window.__badges.at(-1))).toBe(3);
  }

  // A reload counts from the server's read position, not from what the tab had seen.
  await other.reload();
  await expect(other.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect.poll(() => unread(other, room)).toBe(3);

  // Opened straight from its address, the room starts at the "new" line above what is unread.
  await other.goto(`${BASE}/r/${room}`);
  const newLine = other.locator("#messages li[data-new]");
  await expect(newLine).toHaveCount(1);
  await expect(newLine).toContainText("news 1");
  await other.goto(`${BASE}/`);
  await expect(other.locator("#status")).toHaveAttribute("data-state", "connected");

  // Reading the room in one tab clears it in the other.
  await reader.locator(`#room-list a[data-room="${room}"]`).click();
  await expect(reader.locator("#room-title")).toHaveText(`#${room}`);
  await readToEnd(reader);
  await expect.poll(() => unread(other, room)).toBe(0);
  await expect(other).not.toHaveTitle(/^\(/);
  await expect.poll(() => other.evaluate(() => window.__badges.at(-1))).toBe(0);
  await other.reload();
  await expect(other.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect.poll(() => unread(other, room)).toBe(0);

  // A mention: the room is marked where it is not on screen, also after a reload, and the
  // message is highlighted where it is; reading it clears the mark everywhere.
  await reader.goto(`${BASE}/`);
  await expect(reader.locator("#status")).toHaveAttribute("data-state", "connected");
  const mark = (tab) => tab.locator(`#room-list a[data-room="${room}"] .mention`);
  const asked = unique("a question");
  await send(owner, `@${readerName} ${asked}`);
  await send(owner, "and something else");
  for (const tab of [reader, other]) await expect(mark(tab)).toHaveCount(1);
  await other.reload();
  await expect(mark(other)).toHaveCount(1);
  await expect(other.locator(`#room-list a[data-room="${room}"]`)).toContainText(
    "you were mentioned",
  );
  await checkPage(other);
  await other.locator(`#room-list a[data-room="${room}"]`).click();
  const line = other.locator("#messages li.message").filter({ hasText: asked });
  await expect(line).toHaveAttribute("data-mention", "");
  await readToEnd(other);
  await expect(
    other.locator("#messages li.message").filter({ hasText: "and something else" }),
  ).not.toHaveAttribute("data-mention", "");
  await expect(mark(reader)).toHaveCount(0);
  // Accessible with a highlighted line on screen.
  await reader.locator(`#room-list a[data-room="${room}"]`).click();
  await expect(reader.locator("#messages li[data-mention]")).toHaveCount(1);
  await checkPage(reader);

  // Hidden, the other tab shows a mention as a notification (the visible one does not), and
  // nothing else; its click opens the room at the message.
  await other.goto(`${BASE}/`);
  await expect(other.locator("#status")).toHaveAttribute("data-state", "connected");
  await other.evaluate(() => (window.__hidden = true));
  const ping = unique("ping");
  await send(owner, "not for anyone");
  await send(owner, `@${readerName} ${ping}`);
  await expect.poll(() => other.evaluate(() => window.__notes.length)).toBe(1);
  const note = await other.evaluate(() => ({ ...window.__notes[0], note: undefined }));
  expect(note.title).toContain(`in #${room}`);
  expect(note.body).toContain(ping);
  expect(await reader.evaluate(() => window.__notes.length)).toBe(0);
  await other.evaluate(() => window.__notes[0].note.onclick());
  await expect(other.locator("#room-title")).toHaveText(`#${room}`);
  await expect(other.locator("#messages li:target")).toContainText(ping);

  // The reader chooses "every message" for the room on its settings page: the hidden tab now
  // shows a message that mentions no one too.
  await reader.goto(`${BASE}/r/${room}/settings`);
  await reader.getByLabel("Every message").check();
  await reader.getByRole("button", { name: "Save" }).click();
  await other.goto(`${BASE}/`);
  await expect(other.locator("#status")).toHaveAttribute("data-state", "connected");
  await other.evaluate(() => (window.__hidden = true));
  const plain = unique("plain news");
  await send(owner, plain);
  await expect.poll(() => other.evaluate(() => window.__notes.length)).toBe(1);
  expect(await other.evaluate(() => window.__notes[0].body)).toContain(plain);

  // Where the reader has not decided yet, the account box offers to ask; asked, it goes.
  const ask = owner.getByRole("button", { name: "Notify me in this browser" });
  await expect(ask).toBeVisible();
  await ask.click();
  await expect(ask).toBeHidden();
});
