// What a person using the chat page relies on, checked in a real Chromium against the release
// bundle.
const { test, expect } = require("@playwright/test");
const {
  afterFrames,
  unique,
  freshRoom,
  openChat,
  openRoom,
  flood,
  send,
  messageTexts,
  watchErrors,
} = require("./helpers");

test("two pages exchange messages both ways", async ({ browser }) => {
  const alice = await (await browser.newContext()).newPage();
  const bob = await (await browser.newContext()).newPage();
  const room = freshRoom("pair");
  await openRoom(alice, room);
  await openRoom(bob, room);

  // A fresh room has no history, so plain texts are unambiguous.
  const hello = "Hi Bob! Did the deploy go out?";
  await send(alice, hello);
  await expect(messageTexts(bob).last()).toHaveText(hello);
  await expect(messageTexts(alice).last()).toHaveText(hello);

  const reply = "Yes, ten minutes ago. All green.";
  await send(bob, reply);
  await expect(messageTexts(alice).last()).toHaveText(reply);
  await expect(messageTexts(bob).last()).toHaveText(reply);

  // Each message shows the local time it was accepted.
  await expect(alice.locator("#messages li.message time").last()).toHaveText(/^\d\d:\d\d$/);

  await send(alice, "Great. Lunch at noon? <my treat>");
  await expect(messageTexts(bob).last()).toHaveText("Great. Lunch at noon? <my treat>");
  await expect(messageTexts(bob)).toHaveCount(3);
});

test("the input clears after sending and blank input sends nothing", async ({ browser }) => {
  const sender = await (await browser.newContext()).newPage();
  const watcher = await (await browser.newContext()).newPage();
  const room = freshRoom("clears");
  await openRoom(sender, room);
  await openRoom(watcher, room);
  const input = sender.locator("#composer-input");

  const text = unique("clears");
  await send(sender, text);
  await expect(messageTexts(watcher).last()).toHaveText(text);
  await expect(input).toHaveValue("");

  await send(sender, "    ");
  await input.press("Enter");
  await sender.locator("#composer-input").fill("");
  await sender.locator(".composer button[type=submit]").click();
  const marker = unique("after blanks");
  await send(sender, marker);
  // The marker is the very next message: nothing blank went out before it.
  await expect(messageTexts(watcher).last()).toHaveText(marker);
  await expect(messageTexts(watcher)).toHaveCount(2);
});

test("text that looks like HTML is shown literally and runs nothing", async ({ browser }) => {
  const sender = await (await browser.newContext()).newPage();
  const reader = await (await browser.newContext()).newPage();
  const room = freshRoom("markup");
  await openRoom(sender, room);
  await openRoom(reader, room);

  const attack = `<img src=x onerror="window.__pwned=1"> <b>bold</b> <script>window.__pwned=2</script>`;
  await send(sender, attack);
  await expect(messageTexts(reader).last()).toHaveText(attack);
  for (const page of [sender, reader]) {
    await expect(page.locator("#messages img, #messages b, #messages script")).toHaveCount(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  }
});

test("scroll pinning follows the reader", async ({ browser }) => {
  const reader = await (await browser.newContext({ viewport: { width: 800, height: 420 } })).newPage();
  const sender = await (await browser.newContext()).newPage();
  const room = freshRoom("pinning");
  await openRoom(reader, room);
  await openRoom(sender, room);
  const log = reader.locator("#messages");
  const atBottom = () =>
    log.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2);
  const scrollTop = () => log.evaluate((el) => el.scrollTop);

  // Enough lines to overflow the log; a reader at the bottom follows along.
  const prefix = unique("line");
  for (let i = 0; i < 30; i++) await send(sender, `${prefix} ${i}`);
  await expect(messageTexts(reader).last()).toHaveText(`${prefix} 29`);
  await expect.poll(atBottom).toBe(true);
  expect(await log.evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);

  // A reader who scrolled up to read older lines is never moved.
  await log.evaluate((el) => el.scrollTo(0, 0));
  await expect.poll(scrollTop).toBe(0);
  await afterFrames(reader); // a follow still on its way has run
  expect(await scrollTop()).toBe(0);
  for (let i = 30; i < 35; i++) await send(sender, `${prefix} ${i}`);
  await expect(messageTexts(reader).last()).toHaveText(`${prefix} 34`);
  await afterFrames(reader);
  expect(await scrollTop()).toBe(0);
  expect(await atBottom()).toBe(false);
  const jump = reader.locator("#new-messages");
  await expect(jump).toHaveText("5 new messages ↓");

  // The button takes them back down, and from there new lines follow again.
  await jump.click();
  await expect.poll(atBottom).toBe(true);
  await expect(jump).toHaveCount(0);
  await send(sender, `${prefix} 35`);
  await expect(messageTexts(reader).last()).toHaveText(`${prefix} 35`);
  await expect.poll(atBottom).toBe(true);
  await expect(messageTexts(reader).last()).toBeInViewport();
});

test("a burst of 100 messages without pauses keeps a reader at the bottom pinned", async ({
  browser,
}) => {
  const reader = await (await browser.newContext({ viewport: { width: 800, height: 420 } })).newPage();
  const sender = await (await browser.newContext()).newPage();
  const room = freshRoom("burst");
  await openRoom(reader, room);
  await openChat(sender);
  const log = reader.locator("#messages");
  const atBottom = () =>
    log.evaluate((el) => el.scrollTop + el.clientHeight >= el.scrollHeight - 2);
  for (const round of [1, 2, 3]) {
    const prefix = unique(`burst${round}`);
    await flood(sender, room, prefix, 100);
    await expect(messageTexts(reader).last()).toHaveText(`${prefix} 99`);
    await expect.poll(atBottom).toBe(true);
    await expect(reader.locator("#new-messages")).toHaveCount(0);
  }
  await expect(messageTexts(reader)).toHaveCount(300);
  await expect(messageTexts(reader).last()).toBeInViewport();
});

test("an over-long message shows the server's error to its sender only", async ({ browser }) => {
  const sender = await (await browser.newContext()).newPage();
  const other = await (await browser.newContext()).newPage();
  const room = freshRoom("long");
  await openRoom(sender, room);
  await openRoom(other, room);
  const input = sender.locator("#composer-input");
  await expect(input).toHaveAttribute("maxlength", "2000");

  // The input stops at 2000 characters; get past it the way a modified client would.
  await input.evaluate((el) => el.removeAttribute("maxlength"));
  const long = "a".repeat(2001);
  await send(sender, long);
  await expect(sender.locator("#composer-error")).toContainText("2001 characters");
  await expect(sender.locator("#composer-error")).toContainText("limit is 2000");
  // Nothing is lost: the refused text comes back into the input.
  await expect(input).toHaveValue(long);

  await expect(other.locator("#composer-error")).toBeEmpty();

  // The error goes away with the next accepted message, the first either page shows.
  await send(sender, "short enough");
  await expect(messageTexts(other)).toHaveText(["short enough"]);
  await expect(messageTexts(sender)).toHaveText(["short enough"]);
  await expect(sender.locator("#composer-error")).toBeEmpty();
});

test("the input shows a hint near the limit", async ({ page }) => {
  await openChat(page);
  const input = page.locator("#composer-input");
  await input.fill("a".repeat(1850));
  await expect(page.locator("#composer-hint")).toHaveText("150 characters left");
  await input.fill("short");
  await expect(page.locator("#composer-hint")).toBeEmpty();
});

test("a normal session logs no console errors", async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  const errors = watchErrors(page);
  const room = freshRoom("quiet");
  await openRoom(page, room);
  const other = await (await browser.newContext()).newPage();
  const otherErrors = watchErrors(other);
  await openRoom(other, room);
  await send(page, unique("quiet"));
  await send(other, unique("also quiet"));
  await expect(messageTexts(page)).toHaveCount(2);
  await expect(messageTexts(other)).toHaveCount(2);
  // A reload takes over the server-rendered page (hydration) and resumes: still no errors,
  // and each message once.
  await page.reload();
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(page.locator("#members li").first()).toBeVisible();
  await expect(messageTexts(page)).toHaveCount(2);
  expect(errors).toEqual([]);
  expect(otherErrors).toEqual([]);
});

test("works by keyboard alone", async ({ page }) => {
  await openChat(page);
  let focused = "";
  for (let i = 0; i < 20 && focused !== "composer-input"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
  }
  expect(focused).toBe("composer-input");
  const text = unique("typed");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
  await expect(messageTexts(page).last()).toHaveText(text);
});

test("fits a 360 px wide phone screen", async ({ browser }) => {
  const page = await (await browser.newContext({ viewport: { width: 360, height: 640 } })).newPage();
  await openRoom(page, freshRoom("phone"));
  await send(page, "a-very-long-word-without-any-spaces-".repeat(8));
  await expect(messageTexts(page)).toHaveCount(1);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);
  for (const selector of ["#composer-input", ".composer button[type=submit]", "#status"]) {
    const box = await page.locator(selector).boundingBox();
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(360);
    expect(box.y + box.height).toBeLessThanOrEqual(640);
  }
});

test("a long-running tab keeps at most 500 messages", async ({ page }) => {
  const room = freshRoom("bulk");
  await openRoom(page, room);
  const prefix = unique("bulk");
  // Another client floods 520 messages through its own socket.
  await flood(page, room, prefix, 520);
  await expect(messageTexts(page).last()).toHaveText(`${prefix} 519`);
  await expect(page.locator("#messages li.message")).toHaveCount(500);
  await expect(messageTexts(page).first()).toHaveText(`${prefix} 20`);
  // The older ones are a scroll away, not gone.
  await expect(page.locator("#room-beginning")).toHaveCount(0);
});

test("follows the system's light or dark colour scheme", async ({ browser }) => {
  const background = async (colorScheme) => {
    const page = await (await browser.newContext({ colorScheme })).newPage();
    await openChat(page);
    return page.evaluate(() => getComputedStyle(document.querySelector(".app")).backgroundColor);
  };
  const light = await background("light");
  const dark = await background("dark");
  expect(light).toBe("rgb(255, 255, 255)");
  expect(dark).not.toBe(light);
});
