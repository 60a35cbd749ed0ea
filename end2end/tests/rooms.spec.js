// Rooms, names, presence and typing as people use them, in a real Chromium against the release
// build.
const { test, expect } = require("@playwright/test");
const {
  afterFrames,
  QUIET_MS,
  unique,
  freshRoom,
  openRoom,
  flood,
  send,
  messageTexts,
  submitName,
} = require("./helpers");

const roomLink = (page, room) => page.locator(`#room-list a[data-room="${room}"]`);

test("two people in two rooms see only their room, and the other's unread count", async ({
  browser,
}) => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const rust = freshRoom("rust");
  const ops = freshRoom("ops");
  await openRoom(alice, rust);
  await openRoom(bob, ops);

  // Alice joins ops too through the join field: one socket, two rooms, each with its URL.
  await alice.locator("#room-input").fill(ops);
  await alice.locator("#room-input").press("Enter");
  await expect(alice).toHaveURL(new RegExp(`/r/${ops}$`));
  await expect(alice.locator("#room-title")).toHaveText(`#${ops}`);
  await expect(alice.locator("#members li")).toHaveCount(2);
  await roomLink(alice, rust).click();
  await expect(alice).toHaveURL(new RegExp(`/r/${rust}$`));

  // Bob talks in ops while Alice reads rust: she sees a count, not the messages.
  const inOps = [unique("ops one"), unique("ops two"), unique("ops three")];
  for (const text of inOps) await send(bob, text);
  await expect(messageTexts(bob)).toHaveCount(3);
  await expect(roomLink(alice, ops).locator(".unread")).toContainText("3");
  await expect(messageTexts(alice)).toHaveCount(0);

  // Alice talks in rust; Bob, only in ops, never sees it.
  const inRust = unique("rust only");
  await send(alice, inRust);
  await expect(messageTexts(alice).last()).toHaveText(inRust);
  await bob.waitForTimeout(QUIET_MS); // a negative check, after alice's copy arrived
  await expect(messageTexts(bob)).toHaveCount(3);
  await expect(bob.getByText(inRust)).toHaveCount(0);

  // Switching shows ops' messages at once and clears the count; back keeps rust's log.
  await roomLink(alice, ops).click();
  await expect(messageTexts(alice)).toHaveText(inOps);
  await expect(roomLink(alice, ops).locator(".unread")).toHaveCount(0);
  await alice.goBack();
  await expect(alice.locator("#room-title")).toHaveText(`#${rust}`);
  await expect(messageTexts(alice)).toHaveText([inRust]);

  // The rooms list survives a reload; leaving removes a room from it.
  await alice.reload();
  await expect(alice.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(roomLink(alice, ops)).toBeVisible();
  await roomLink(alice, ops).click();
  await expect(alice.locator("#room-title")).toHaveText(`#${ops}`);
  await alice.locator("#leave-room").click();
  await expect(roomLink(alice, ops)).toHaveCount(0);
  await expect(alice.locator("#room-title")).not.toHaveText(`#${ops}`);
  // Bob sees her go.
  await expect(bob.locator("#members li")).toHaveCount(1);
});

test("a name is chosen, refused when taken, and kept after a reload", async ({ browser }) => {
  const room = freshRoom("names");
  const first = await (await browser.newContext()).newPage();
  await openRoom(first, room);
  const nameInput = first.locator("#name-input");
  // The field offers the generated guest name; one can chat at once without choosing.
  await expect(nameInput).toHaveValue(/^guest-/);
  await expect(first.locator("#name-hint")).toContainText("guest");

  const name = unique("Ada").slice(0, 24);
  await submitName(first, name);
  await expect(first.locator("#members li")).toHaveText([name]);
  await expect(first.locator("#name-hint")).toBeEmpty();
  await send(first, "hello from Ada");
  await expect(first.locator("#messages li.message.mine .name")).toHaveText(name);

  // Someone else (another browser, no token) cannot take it.
  const second = await (await browser.newContext()).newPage();
  await openRoom(second, room);
  await submitName(second, name.toUpperCase());
  await expect(second.locator("#name-error")).toContainText("taken");
  await expect(second.locator("#members li")).toHaveCount(2);

  // The first browser keeps its name across a reload (the token in localStorage reclaims it).
  await first.reload();
  await expect(first.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(nameInput).toHaveValue(name);
  await expect(first.locator("#name-error")).toBeEmpty();
  await expect(second.locator("#members li")).toContainText([name]);
  // Its own earlier message is still marked as its own.
  await expect(first.locator("#messages li.message.mine .name")).toHaveText(name);
});

test("a token kept by an earlier version of the page still reclaims its name", async ({ browser }) => {
  // Pages before 2026-11-26 kept every token in one JSON object, "chat.tokens"; the page now
  // keeps one "chat.token.<name key>" entry each, and still reads the old object.
  const room = freshRoom("oldtoken");
  const first = await (await browser.newContext()).newPage();
  await openRoom(first, room);
  const name = unique("Old").slice(0, 24);
  await submitName(first, name);
  await expect(first.locator("#members li")).toHaveText([name]);
  const key = name.toLowerCase();
  const token = await first.evaluate((key) => localStorage.getItem(`chat.token.${key}`), key);
  expect(token).toBeTruthy();

  // Another browser that has only the old object, as an earlier version left it.
  const later = await (await browser.newContext()).newPage();
  await later.goto(`/r/${room}`);
  await later.evaluate(
    ({ name, key, token }) => {
      localStorage.clear();
      localStorage.setItem("chat.name", name);
      localStorage.setItem("chat.tokens", JSON.stringify({ [key]: token }));
    },
    { name, key, token },
  );
  await later.reload();
  await expect(later.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(later.locator("#name-input")).toHaveValue(name);
  await expect(later.locator("#name-error")).toBeEmpty();
  await expect(later.locator("#members li")).toHaveText([name]);
  // From then on it is kept the new way.
  expect(await later.evaluate((key) => localStorage.getItem(`chat.token.${key}`), key)).toBe(token);
});

test("a name outside ASCII is one name in any case, as the server counts it", async ({ browser }) => {
  // The page compares such names with the browser's toLowerCase (frontend/src/names.rs).
  const room = freshRoom("unicode");
  const zoe = await (await browser.newContext()).newPage();
  await openRoom(zoe, room);
  const name = unique("Zoë").slice(0, 24);
  const nameInput = zoe.locator("#name-input");
  await submitName(zoe, name);
  await expect(zoe.locator("#members li")).toHaveText([name]);
  await send(zoe, "hello from Zoë");
  await expect(zoe.locator("#messages li.message.mine .name")).toHaveText(name);

  // The same person writing the name in capitals keeps it (the token is found under the same
  // key), and the earlier message is still marked as theirs.
  const upper = name.toUpperCase();
  await submitName(zoe, upper);
  await expect(zoe.locator("#members li")).toHaveText([upper]);
  await expect(zoe.locator("#name-error")).toBeEmpty();
  await expect(zoe.locator("#messages li.message.mine .name")).toHaveText(name);
  await send(zoe, "still me");
  await expect(zoe.locator("#messages li.message.mine")).toHaveCount(2);

  // Anyone else is refused the name in any case, and sees it once in the members list.
  const other = await (await browser.newContext()).newPage();
  await openRoom(other, room);
  await submitName(other, name.toLowerCase());
  await expect(other.locator("#name-error")).toContainText("taken");
  await expect(other.locator("#members li")).toHaveCount(2);
  await expect(other.locator("#messages li.message.mine")).toHaveCount(0);

  await zoe.reload();
  await expect(zoe.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(nameInput).toHaveValue(upper);
  await expect(zoe.locator("#messages li.message.mine")).toHaveCount(2);
});

test("presence shows a name once for two tabs, and typing comes and goes", async ({ browser }) => {
  const room = freshRoom("presence");
  const carol = await browser.newContext();
  const tab1 = await carol.newPage();
  await openRoom(tab1, room);
  const name = unique("carol").slice(0, 20);
  await submitName(tab1, name);
  await expect(tab1.locator("#members li")).toHaveText([name]);
  // A second tab of the same browser uses the same name.
  const tab2 = await carol.newPage();
  await openRoom(tab2, room);
  await expect(tab2.locator("#name-input")).toHaveValue(name);

  const dave = await (await browser.newContext()).newPage();
  await openRoom(dave, room);
  await expect(dave.locator("#members li")).toHaveCount(2);
  await expect(dave.locator("#members")).toContainText(name);

  // Typing shows in the others' page, with the name, and clears a few seconds after it stops.
  await tab1.locator("#composer-input").pressSequentially("hel", { delay: 50 });
  await expect(dave.locator("#typing")).toHaveText(`${name} is typing…`);
  await expect(tab1.locator("#typing")).toBeEmpty();
  await expect(dave.locator("#typing")).toBeEmpty({ timeout: 9_000 });

  // One tab closing keeps the name here; the last one closing removes it.
  await tab2.close();
  // A message from the tab that stays, then a quiet period: no "left" came with them.
  const still = unique("still here");
  await send(tab1, still);
  await expect(messageTexts(dave).last()).toHaveText(still);
  await dave.waitForTimeout(QUIET_MS);
  await expect(dave.locator("#members li")).toHaveCount(2);
  await tab1.close();
  await expect(dave.locator("#members li")).toHaveCount(1);
});

test("switching rooms keeps each room's scroll position", async ({ browser }) => {
  const page = await (await browser.newContext({ viewport: { width: 900, height: 600 } })).newPage();
  const a = freshRoom("scroll-a");
  const b = freshRoom("scroll-b");
  await openRoom(page, b);
  await openRoom(page, a);
  const prefix = unique("scroll");
  await flood(page, a, prefix, 80);
  await expect(messageTexts(page).last()).toHaveText(`${prefix} 79`);
  const log = page.locator("#messages");
  await log.evaluate((el) => el.scrollTo(0, 400));
  await afterFrames(page);
  const top = await log.evaluate((el) => el.scrollTop);
  expect(top).toBeGreaterThan(300);

  // b gets as many messages as a: the two logs have the same shape, and each must show its own.
  const other = unique("other");
  await flood(page, b, other, 80);
  await expect(roomLink(page, b).locator(".unread")).toContainText("80");
  await roomLink(page, b).click();
  await expect(page.locator("#room-title")).toHaveText(`#${b}`);
  await expect(messageTexts(page).last()).toHaveText(`${other} 79`);
  await expect(messageTexts(page).first()).toHaveText(`${other} 0`);
  await roomLink(page, a).click();
  await expect(page.locator("#room-title")).toHaveText(`#${a}`);
  await expect(messageTexts(page).last()).toHaveText(`${prefix} 79`);
  await expect.poll(() => log.evaluate((el) => el.scrollTop)).toBe(top);
  // A room left at the bottom comes back at the bottom, with what arrived meanwhile.
  await log.evaluate((el) => el.scrollTo(0, el.scrollHeight));
  await afterFrames(page);
  await roomLink(page, b).click();
  await flood(page, a, `${prefix} more`, 5);
  await expect(roomLink(page, a).locator(".unread")).toContainText("5");
  await roomLink(page, a).click();
  await expect(messageTexts(page).last()).toHaveText(`${prefix} more 4`);
  await expect
    .poll(() => log.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2))
    .toBe(true);
});

test("switching rooms by keyboard alone keeps focus", async ({ page }) => {
  const a = freshRoom("kbd-a");
  const b = freshRoom("kbd-b");
  await openRoom(page, a);
  // Join b by keyboard: focus the join field with Tab, type, Enter.
  let focused = "";
  for (let i = 0; i < 20 && focused !== "room-input"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  }
  expect(focused).toBe("room-input");
  await page.keyboard.type(b);
  await page.keyboard.press("Enter");
  await expect(page.locator("#room-title")).toHaveText(`#${b}`);
  await expect(page.locator("#members li")).toHaveCount(1);

  // Shift+Tab back to the room links and switch with Enter.
  for (let i = 0; i < 10; i++) {
    const room = await page.evaluate(() => document.activeElement?.dataset?.room);
    if (room === a) break;
    await page.keyboard.press("Shift+Tab");
  }
  await page.keyboard.press("Enter");
  await expect(page.locator("#room-title")).toHaveText(`#${a}`);
  // Focus stays on the link that was used.
  expect(await page.evaluate(() => document.activeElement?.dataset?.room)).toBe(a);
  await expect(page).toHaveURL(new RegExp(`/r/${a}$`));

  // Change the name, then leave the room, by keyboard.
  const tabTo = async (id) => {
    for (let i = 0; i < 25; i++) {
      if ((await page.evaluate(() => document.activeElement?.id)) === id) return;
      await page.keyboard.press("Tab");
    }
    throw new Error(`Tab never reached #${id}`);
  };
  await tabTo("name-input");
  const name = unique("Kbd").slice(0, 20);
  await page.keyboard.press("Control+A");
  await page.keyboard.type(name);
  await page.keyboard.press("Enter");
  await expect(page.locator("#members li")).toHaveText([name]);
  await tabTo("leave-room");
  await page.keyboard.press("Enter");
  await expect(roomLink(page, a)).toHaveCount(0);
  await expect(page.locator("#room-title")).toHaveText(`#${b}`);
  // Focus is still somewhere useful (the Leave button of the room now shown), not lost.
  expect(await page.evaluate(() => document.activeElement?.id)).toBe("leave-room");
});

test("at 360 px the sidebar is a drawer", async ({ browser }) => {
  const page = await (await browser.newContext({ viewport: { width: 360, height: 640 } })).newPage();
  const room = freshRoom("drawer");
  await openRoom(page, room);
  const sidebar = page.locator("#sidebar");
  const toggle = page.locator("#rooms-toggle");
  await expect(sidebar).toBeHidden();
  await expect(toggle).toHaveAttribute("aria-expanded", "false");
  await toggle.click();
  await expect(sidebar).toBeVisible();
  await expect(toggle).toHaveAttribute("aria-expanded", "true");
  // Once it has slid in, it lies within the screen.
  await expect.poll(async () => (await sidebar.boundingBox()).x).toBe(0);
  const box = await sidebar.boundingBox();
  expect(box.x + box.width).toBeLessThanOrEqual(360);
  // Joining a room from the drawer closes it and shows the room.
  const other = freshRoom("drawer-b");
  await page.locator("#room-input").fill(other);
  await page.locator("#room-input").press("Enter");
  await expect(page.locator("#room-title")).toHaveText(`#${other}`);
  await expect(sidebar).toBeHidden();
  // Escape closes it and gives focus back to the toggle.
  await toggle.click();
  await expect(sidebar).toBeVisible();
  await page.locator("#room-input").focus();
  await page.keyboard.press("Escape");
  await expect(sidebar).toBeHidden();
  await expect(toggle).toBeFocused();
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
});

test("a name being typed is not reset by messages arriving", async ({ browser }) => {
  const room = freshRoom("typing-name");
  const page = await (await browser.newContext()).newPage();
  const other = await (await browser.newContext()).newPage();
  await openRoom(page, room);
  await openRoom(other, room);
  const input = page.locator("#name-input");
  await input.fill("Half-typed");
  await send(other, "a message arrives meanwhile");
  await expect(messageTexts(page)).toHaveCount(1);
  await expect(input).toHaveValue("Half-typed");
});

test("opening a room with unread messages shows a new line above the first, and starts there", async ({
  browser,
}) => {
  const reader = await (await browser.newContext({ viewport: { width: 800, height: 500 } })).newPage();
  const writer = await (await browser.newContext()).newPage();
  const room = freshRoom("busy");
  await openRoom(writer, room);
  await flood(writer, room, unique("before"), 30);
  await openRoom(reader, room);
  await expect(messageTexts(reader)).toHaveCount(30);
  await reader.locator("#room-input").fill(freshRoom("elsewhere"));
  await reader.locator("#room-input").press("Enter");
  await expect(reader.locator("#messages li.message")).toHaveCount(0);

  // Forty messages while the reader is elsewhere: the first of them gets the line.
  const first = unique("first new");
  await send(writer, first);
  await flood(writer, room, unique("after"), 39);
  await expect(roomLink(reader, room).locator(".unread")).toContainText("40");
  await roomLink(reader, room).click();
  const marked = reader.locator("#messages li[data-new]");
  await expect(marked).toHaveCount(1);
  await expect(marked).toContainText(first);
  await expect(marked).toBeInViewport();
  // Not at the end: the last message is below the view until the reader scrolls down.
  await expect(messageTexts(reader).last()).not.toBeInViewport();
  // Opened again with nothing new: no line, and the end of the log.
  await reader.goBack();
  await roomLink(reader, room).click();
  await expect(reader.locator("#messages li[data-new]")).toHaveCount(0);
});
