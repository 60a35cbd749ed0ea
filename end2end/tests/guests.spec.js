// Open mode in the browser: guests chat without accounts, and an administrator (set up with the
// link the server logs) bans a guest's name from /admin; the guest's page loses the connection,
// and coming back under that name is refused with the reason. The administrators' page is
// reached by keyboard, axe-clean, and fits 360 px.
const { test, expect } = require("@playwright/test");
const {
  unique,
  send,
  messageTexts,
  openChat,
  submitName,
  privateServer,
  checkPage,
  fillCredentials,
} = require("./helpers");

const server = privateServer(8094, "open");
const BASE = server.base;

test("an administrator bans a guest's name in open mode", async ({ browser }) => {
  const small = { viewport: { width: 360, height: 740 } };
  // A guest chats without any account, under a name they pick.
  const guest = await (await browser.newContext()).newPage();
  await openChat(guest, BASE);
  const name = unique("troll");
  await submitName(guest, name);
  const hello = unique("hello");
  await send(guest, hello);
  await expect(messageTexts(guest).filter({ hasText: hello })).toHaveCount(1);

  // The owner sets up the administrator account and opens /admin.
  const owner = await (await browser.newContext(small)).newPage();
  await owner.goto(server.link);
  await fillCredentials(owner, unique("owner"), "correct horse battery");
  await owner.waitForURL(`${BASE}/`);
  await owner.goto(`${BASE}/admin`);
  await expect(owner.getByRole("heading", { name: "Guests" })).toBeVisible();
  await checkPage(owner);

  // The ban, by keyboard: the name, for an hour.
  await owner.getByLabel("Ban", { exact: true }).selectOption("name");
  await owner.getByLabel("Name or address").focus();
  await owner.keyboard.type(name);
  await owner.keyboard.press("Tab");
  await expect(owner.getByLabel("For")).toBeFocused();
  await owner.keyboard.press("Tab");
  await owner.keyboard.press("Enter");
  await expect(owner.getByRole("cell", { name, exact: true })).toBeVisible();
  await checkPage(owner);

  // The guest's page loses its connection, says why, and its name is refused when it comes
  // back.
  await expect(guest.locator("#messages")).toContainText("banned");
  await expect(guest.locator("#name-error")).toContainText("banned");
});
