// Completing names after "@" (issue 25): a signed-in writer types "@" and the start of a name,
// and the composer offers the room's people whose names start so; arrows choose, Enter or Tab
// takes the name (nothing is sent), Escape closes the list, a click takes a name too. The
// mention reaches the person named: the message is highlighted on their page. At 360 px,
// accessible with the list open. A guest, whose mentions reach no account, is offered none.
const { test, expect } = require("@playwright/test");
const { unique, privateServer, fillCredentials, checkPage } = require("./helpers");

const server = privateServer(8098, "accounts");
const BASE = server.base;

test("names are completed after @ by keyboard and pointer", async ({ browser }) => {
  const writer = await (
    await browser.newContext({ viewport: { width: 360, height: 740 } })
  ).newPage();
  await writer.goto(server.link);
  await fillCredentials(writer, unique("writer"), "correct horse battery");
  await writer.waitForURL(`${BASE}/`);
  await writer.goto(`${BASE}/admin`);
  const invitation = await writer.getByLabel("Link").inputValue();

  // Two people whose names start alike are in the lobby.
  const tag = unique("").slice(1).replace(/-/g, "");
  const [zara, zadie] = [`zara${tag}`, `zadie${tag}`];
  const pages = {};
  for (const name of [zara, zadie]) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(invitation);
    await fillCredentials(page, name, "battery staple horse");
    await page.waitForURL(`${BASE}/`);
    await expect(page.locator("#status")).toHaveAttribute("data-state", "connected");
    pages[name] = page;
  }

  await writer.goto(`${BASE}/`);
  await expect(writer.locator("#status")).toHaveAttribute("data-state", "connected");
  for (const name of [zara, zadie]) {
    await expect(writer.locator("#members")).toContainText(name);
  }
  const input = writer.locator("#composer-input");
  const list = writer.getByRole("listbox", { name: "People to mention" });
  const options = list.getByRole("option");
  const sent = writer.locator("#messages li.message");
  const before = await sent.count();

  // Keyboard: "@za" offers both, the first chosen; ArrowDown chooses the second; Enter takes it.
  await input.focus();
  await writer.keyboard.type("hi @ZA");
  await expect(list).toBeVisible();
  // The people here are listed as the sidebar lists them, by name.
  await expect(options).toHaveText([zadie, zara]);
  await expect(input).toHaveAttribute("aria-expanded", "true");
  await expect(options.nth(0)).toHaveAttribute("aria-selected", "true");
  await checkPage(writer);
  await writer.keyboard.press("ArrowDown");
  await expect(options.nth(1)).toHaveAttribute("aria-selected", "true");
  await expect(input).toHaveAttribute("aria-activedescendant", await options.nth(1).getAttribute("id"));
  await writer.keyboard.press("Enter");
  await expect(input).toHaveValue(`hi @${zara} `);
  await expect(list).toBeHidden();
  await expect(input).toHaveAttribute("aria-expanded", "false");
  expect(await sent.count()).toBe(before);

  // Tab takes a name as well; Escape closes the list and leaves the text as it was.
  await writer.keyboard.type("and @zad");
  await expect(options).toHaveText([zadie]);
  await writer.keyboard.press("Tab");
  await expect(input).toHaveValue(`hi @${zara} and @${zadie} `);
  await expect(input).toBeFocused();
  await writer.keyboard.type("@z");
  await expect(list).toBeVisible();
  await writer.keyboard.press("Escape");
  await expect(list).toBeHidden();
  await expect(input).toHaveValue(`hi @${zara} and @${zadie} @z`);

  // Pointer: a click on a name takes it (each name is offered once however often it is typed).
  await writer.keyboard.press("Backspace");
  await writer.keyboard.type("za");
  await list.getByRole("option", { name: zara }).click();
  await expect(input).toHaveValue(`hi @${zara} and @${zadie} @${zara} `);
  await expect(input).toBeFocused();

  // Sent, the message mentions both: highlighted on their pages.
  await writer.keyboard.type("welcome");
  await writer.keyboard.press("Enter");
  await expect(sent).toHaveCount(before + 1);
  for (const name of [zara, zadie]) {
    await expect(
      pages[name].locator("#messages li.message").filter({ hasText: "welcome" }),
    ).toHaveAttribute("data-mention", "");
  }
});

test("a guest's composer offers no names: guests mention no accounts", async ({ page }) => {
  await page.goto("/");
  await expect(page.locator("#status")).toHaveAttribute("data-state", "connected");
  const input = page.locator("#composer-input");
  await input.focus();
  await page.keyboard.type("hi @");
  await expect(input).toHaveValue("hi @");
  await expect(page.locator("#mention-list")).toBeHidden();
  // A plain text box, not a combobox, for assistive technology, also once left.
  await input.blur();
  await expect(input).not.toHaveAttribute("role", "combobox");
  await expect(input).not.toHaveAttribute("aria-expanded", /.*/);
});
