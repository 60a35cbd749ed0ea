// Accounts mode in the browser: the owner sets the server up with the link it logs, invites a
// second person (another browser), they chat, delete, make a private room and a direct
// conversation, and a ban takes the second person's access away while their page is open.
// Every account page is reached and filled with the keyboard, checked with axe, and fits 360 px.
const { test, expect } = require("@playwright/test");
const {
  unique,
  send,
  messageTexts,
  openChat,
  privateServer,
  checkPage,
  fillCredentials,
} = require("./helpers");

const server = privateServer(8093, "accounts");
const BASE = server.base;

test("set up, invite someone, chat, and ban them", async ({ browser }) => {
  const small = { viewport: { width: 360, height: 740 } };
  const owner = await (await browser.newContext(small)).newPage();
  // Before set-up every page says so.
  const early = await owner.goto(BASE);
  expect(early.status()).toBe(503);
  await expect(owner.getByRole("heading", { name: "This chat is not set up yet" })).toBeVisible();

  await owner.goto(server.link);
  await expect(owner.getByRole("heading", { name: "Set up this chat" })).toBeVisible();
  await checkPage(owner);
  const ownerName = unique("owner");
  await fillCredentials(owner, ownerName, "correct horse battery");
  await owner.waitForURL(`${BASE}/`);
  await expect(owner.locator("#messages")).toBeVisible();

  // The administrators' page: the invitation link to share.
  await owner.goto(`${BASE}/admin`);
  await expect(owner.getByRole("heading", { name: "Administration" })).toBeVisible();
  await checkPage(owner);
  const invitation = await owner.getByLabel("Link").inputValue();
  expect(invitation).toContain("/join/");

  // A second person, in another browser, joins with it.
  const member = await (await browser.newContext(small)).newPage();
  await member.goto(invitation);
  await expect(member.getByRole("heading", { name: "Join this chat" })).toBeVisible();
  await checkPage(member);
  const memberName = unique("member");
  await fillCredentials(member, memberName, "battery staple horse");
  await member.waitForURL(`${BASE}/`);
  await expect(member.locator("#status")).toHaveAttribute("data-state", "connected");

  // They chat, under their accounts' names.
  await openChat(owner, BASE);
  await expect(owner.locator("#members li").filter({ hasText: memberName })).toHaveCount(1);
  const text = unique("hello from the owner");
  await send(owner, text);
  await expect(messageTexts(member).filter({ hasText: text })).toHaveCount(1);

  // Their own settings page.
  await member.goto(`${BASE}/account`);
  await expect(member.getByRole("heading", { name: "Your account" })).toBeVisible();
  await checkPage(member);
  await expect(member.getByLabel("The name others see")).toHaveValue(memberName);
  await member.goto(BASE);

  // The sidebar says who is signed in, instead of the guest's name form.
  await expect(member.locator("#account-name")).toHaveText(memberName);
  await expect(member.locator("#name-form")).toBeHidden();

  // The member deletes their own message, by keyboard, after the browser's confirmation; it
  // goes from the owner's page too.
  const oops = unique("oops");
  await send(member, oops);
  await expect(messageTexts(owner).filter({ hasText: oops })).toHaveCount(1);
  member.once("dialog", (dialog) => dialog.accept());
  const line = member.locator("#messages li.message").filter({ hasText: oops });
  await line.getByRole("button", { name: "Message actions" }).focus();
  await member.keyboard.press("Enter");
  const menu = member.locator("#message-menu");
  await menu.getByRole("button", { name: "Delete" }).focus();
  await member.keyboard.press("Enter");
  await expect(messageTexts(owner).filter({ hasText: oops })).toHaveCount(0);
  await expect(messageTexts(member).filter({ hasText: oops })).toHaveCount(0);
  // Someone else's message offers a member no Delete.
  await member
    .locator("#messages li.message")
    .filter({ hasText: text })
    .getByRole("button", { name: "Message actions" })
    .click();
  await expect(menu).toBeVisible();
  await expect(menu.getByRole("button", { name: "Delete" })).toBeHidden();
  await expect(menu.getByRole("button", { name: "Reply" })).toBeVisible();
  await member.keyboard.press("Escape");
  await expect(menu).toBeHidden();

  // A private room, made by the owner with the member in it.
  await owner.goto(`${BASE}/rooms/new`);
  await checkPage(owner);
  await owner.getByLabel("Name", { exact: true }).fill("Plans");
  await owner.getByLabel(/Members besides you/).fill(memberName);
  await owner.getByRole("button", { name: "Create the room" }).click();
  await owner.waitForURL(/\/r\/_[0-9a-f]+$/);
  const privateUrl = owner.url();
  await expect(owner.locator("#room-title")).toHaveText("Plans");
  await expect(owner.locator("#status")).toHaveAttribute("data-state", "connected");
  await checkPage(owner);
  const secret = unique("the plan");
  await send(owner, secret);
  // The member finds it in the room list, and reads it.
  await member.goto(`${BASE}/rooms`);
  await checkPage(member);
  await member.getByRole("link", { name: "Plans" }).click();
  await expect(messageTexts(member).filter({ hasText: secret })).toHaveCount(1);

  // A direct conversation, opened from the owner's name on the room list.
  await member.goto(`${BASE}/rooms`);
  await member.getByRole("button", { name: `Message ${ownerName}` }).click();
  await member.waitForURL(/\/r\/_dm-\d+-\d+$/);
  await expect(member.locator("#room-title")).toHaveText(ownerName);
  await expect(member.locator("#status")).toHaveAttribute("data-state", "connected");
  const psst = unique("psst");
  await send(member, psst);
  await owner.goto(`${BASE}/rooms`);
  await owner.getByRole("link", { name: memberName }).click();
  await expect(owner.locator("#room-title")).toHaveText(memberName);
  await expect(messageTexts(owner).filter({ hasText: psst })).toHaveCount(1);

  // The ban: the member's open page goes to the sign-in form by itself, and that is all they
  // get.
  await member.goto(privateUrl);
  await expect(member.locator("#status")).toHaveAttribute("data-state", "connected");
  await owner.goto(`${BASE}/admin`);
  await owner.getByRole("button", { name: `Ban ${memberName}`, exact: true }).click();
  await expect(owner.getByRole("row", { name: new RegExp(`${memberName} banned`) })).toBeVisible();
  await expect(owner.getByRole("cell", { name: "ban", exact: true }).first()).toBeVisible();
  await member.waitForURL(/\/signin/);
  await checkPage(member);
  await fillCredentials(member, memberName, "battery staple horse");
  await expect(member.getByRole("alert")).toHaveText(
    "That name and password do not match an account.",
  );
});
