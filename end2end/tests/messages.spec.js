// What people do to messages already sent (issue 24): format, edit, reply, react, delete, each
// seen by the other person live and after a reload; with the keyboard alone and on a 360 px
// screen; accessible.
const { test, expect } = require("@playwright/test");
const {
  unique,
  freshRoom,
  openRoom,
  flood,
  send,
  submitName,
  messageTexts,
  checkPage,
  watchErrors,
} = require("./helpers");

/** A page in `room` under `name` (held by its token, so its messages can be edited). */
async function person(browser, room, name, options = {}) {
  const page = await (await browser.newContext(options)).newPage();
  await openRoom(page, room);
  await submitName(page, name);
  await expect(page.locator("#members")).toContainText(name);
  return page;
}

/** The log line of the message whose own text (not a quote of it) contains `text`. */
function line(page, text) {
  return page
    .locator("#messages li.message")
    .filter({ has: page.locator(".text", { hasText: text }) });
}

/** Opens the menu of the message whose text contains `text`, with the keyboard. */
async function openMenu(page, text) {
  const more = line(page, text).getByRole("button", { name: "Message actions" });
  await more.focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("#message-menu")).toBeVisible();
}

test("two people format, edit, reply, react and delete, live and after a reload", async ({
  browser,
}) => {
  const room = freshRoom("actions");
  const alice = await person(browser, room, unique("alice").slice(0, 20));
  const bob = await person(browser, room, unique("bob").slice(0, 20));
  const errors = [...watchErrors(alice), ...watchErrors(bob)];

  // Formatting: strong, code, a link; and markup stays text.
  const first = unique("plan");
  await send(alice, `${first} **bold** \`code\` https://example.org/x <b>not bold</b>`);
  const formatted = line(bob, first);
  await expect(formatted.locator("[data-md~=s]")).toHaveText("bold");
  await expect(formatted.locator("[data-md~=c]")).toHaveText("code");
  const link = formatted.locator("a[href]");
  await expect(link).toHaveAttribute("href", "https://example.org/x");
  await expect(link).toHaveAttribute("rel", "noopener noreferrer");
  await expect(formatted.locator("b")).toHaveCount(0);

  // Up in the empty composer edits one's last message; the other side sees it change in place.
  const input = alice.locator("#composer-input");
  await input.focus();
  await alice.keyboard.press("ArrowUp");
  await expect(input).toHaveValue(new RegExp(`^${first}`));
  await expect(alice.locator("#composer-hint")).toContainText("Editing your message");
  await input.fill(`${first} **bold** fixed`);
  await input.press("Enter");
  // (Lines are found by the message's own words, `first`; its text as shown has no markers.)
  const edited = first;
  await expect(line(bob, edited)).toHaveClass(/edited/);
  await expect(line(bob, edited).locator(".text")).toHaveText(`${first} bold fixed`);
  await expect(line(bob, edited).locator("[data-md~=s]")).toHaveText("bold");
  await expect(messageTexts(bob)).toHaveCount(1);

  // Escape leaves an edit without changing anything.
  await input.focus();
  await alice.keyboard.press("ArrowUp");
  await alice.keyboard.press("Escape");
  await expect(input).toHaveValue("");
  await expect(alice.locator("#composer-hint")).not.toContainText("Editing");

  // Bob answers it: the reply quotes it, and its link leads to it.
  await openMenu(bob, edited);
  await bob.locator("#message-menu").getByRole("button", { name: "Reply" }).click();
  await expect(bob.locator("#composer-hint")).toContainText("Replying to");
  const answer = unique("answer");
  await send(bob, answer);
  const quote = line(alice, answer).locator(".quote");
  await expect(quote).toContainText(edited);

  // Bob reacts from the menu; Alice adds hers from the reactions, which open the same menu.
  await openMenu(bob, edited);
  await bob.locator("#message-menu").getByRole("button", { name: /React with 👍/ }).click();
  const reactions = line(alice, edited).locator(".reactions");
  await expect(reactions).toHaveText("👍 1");
  await reactions.click();
  const thumbs = alice.locator("#message-menu").getByRole("button", { name: /React with 👍/ });
  await expect(thumbs).toHaveAttribute("aria-pressed", "false");
  await thumbs.click();
  await expect(line(bob, edited).locator(".reactions")).toHaveText("👍 2");
  await expect(reactions).toHaveAttribute("aria-label", /^👍 2; reactions by 👍 .+, .+/);
  // Given already: the menu says so, and choosing it again would take it back.
  await reactions.click();
  await expect(thumbs).toHaveAttribute("aria-pressed", "true");
  await alice.keyboard.press("Escape");

  // After a reload, all of it is as it was left.
  await bob.reload();
  await expect(bob.locator("#status")).toHaveAttribute("data-state", "connected");
  await expect(line(bob, edited)).toHaveClass(/edited/);
  await expect(line(bob, edited).locator(".reactions")).toHaveText("👍 2");
  await expect(line(bob, answer).locator(".quote")).toContainText(edited);
  await expect(line(bob, edited).locator("[data-md~=s]")).toHaveText("bold");

  // Alice deletes her message: gone for Bob, and his reply's quote says so.
  await openMenu(alice, edited);
  alice.once("dialog", (dialog) => dialog.accept());
  await alice.locator("#message-menu").getByRole("button", { name: "Delete" }).click();
  await expect(messageTexts(bob).filter({ hasText: edited })).toHaveCount(0);
  await expect(line(bob, answer).locator(".quote")).toContainText("(message deleted)");
  await bob.reload();
  await expect(line(bob, answer).locator(".quote")).toContainText("(message deleted)");
  await expect(messageTexts(bob).filter({ hasText: edited })).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("the menu is accessible, and works on a 360 px screen", async ({ browser }) => {
  const room = freshRoom("menu360");
  // A guest: reactions need no name (and the name field is in the drawer at this width).
  const narrow = await (await browser.newContext({ viewport: { width: 360, height: 640 } })).newPage();
  await openRoom(narrow, room);
  const text = unique("small");
  await send(narrow, text);
  // No hover on a touch screen: the control is there to tap.
  const more = line(narrow, text).getByRole("button", { name: "Message actions" });
  await expect(more).toHaveCSS("opacity", "1");
  await more.click();
  const menu = narrow.locator("#message-menu");
  await expect(menu).toBeVisible();
  const box = await menu.boundingBox();
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(360);
  await checkPage(narrow);
  // Any emoji can be typed into the search; Enter gives it.
  await menu.locator("#menu-search").fill("🦀");
  await menu.locator("#menu-search").press("Enter");
  await expect(menu).toBeHidden();
  await expect(line(narrow, text).locator(".reactions")).toHaveText("🦀 1");
  await checkPage(narrow);
  // Escape closes the menu, and the focus is back on the control that opened it.
  await more.focus();
  await narrow.keyboard.press("Enter");
  await expect(menu).toBeVisible();
  await narrow.keyboard.press("Escape");
  await expect(menu).toBeHidden();
  await expect(more).toBeFocused();
});

test("a reply's quote leads to its original, loading older messages first", async ({
  browser,
}) => {
  const room = freshRoom("jump");
  const alice = await person(browser, room, unique("alice").slice(0, 20));
  const original = unique("original");
  await send(alice, original);
  await flood(alice, room, unique("filler"), 120);
  await expect(messageTexts(alice)).toHaveCount(121);
  await openMenu(alice, original);
  await alice.locator("#message-menu").getByRole("button", { name: "Reply" }).click();
  const answer = unique("answer");
  await send(alice, answer);
  // A newcomer has the latest page only: the original is not loaded.
  const carol = await (await browser.newContext()).newPage();
  await openRoom(carol, room);
  await expect(line(carol, answer)).toBeVisible();
  await expect(line(carol, original)).toHaveCount(0);
  await line(carol, answer).locator(".quote").click();
  await expect(line(carol, original)).toBeInViewport();
  await expect(carol).toHaveURL(/#m\d+$/);
  await expect(carol.locator("#messages li:target")).toContainText(original);
});
