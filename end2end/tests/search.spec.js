// Search (issue 25): the server-rendered search page finds a message by a word and a prefix,
// marks the matching words, and its result opens the room at the message, older pages loaded
// until it is there, highlighted; by keyboard, at 360 px, accessible.
const { test, expect } = require("@playwright/test");
const { unique, freshRoom, openRoom, flood, send, checkPage } = require("./helpers");

test("a search finds an old message and its result opens the room there", async ({ browser }) => {
  const room = freshRoom("search");
  // One word of letters and digits: what the index calls a word.
  const word = unique("needle").replace(/-/g, "");
  const writer = await (await browser.newContext()).newPage();
  await openRoom(writer, room);
  await send(writer, `the ${word} is **here** <b>not bold</b>`);
  await flood(writer, room, unique("hay"), 120);

  const reader = await (
    await browser.newContext({ viewport: { width: 360, height: 740 } })
  ).newPage();
  await openRoom(reader, "lobby");
  // From the chat to the search page by keyboard: the sidebar's link.
  await reader.locator("#rooms-toggle").click();
  const link = reader.getByRole("link", { name: "Search messages" });
  await link.focus();
  await reader.keyboard.press("Enter");
  await expect(reader).toHaveURL(/\/search$/);
  await expect(reader.getByLabel(/Words, a start of a word/)).toBeFocused();
  await reader.keyboard.type(`${word.slice(0, 10)}*`);
  await reader.keyboard.press("Enter");

  const results = reader.locator("ol.results li");
  await expect(results).toHaveCount(1);
  await expect(results.locator("mark")).toHaveText(word);
  // The text as shown: no Markdown markers, and markup as text.
  await expect(results.locator("p").nth(1)).toHaveText(`the ${word} is here <b>not bold</b>`);
  await expect(results.locator("b")).toHaveCount(0);
  await checkPage(reader);

  await results.getByRole("link", { name: `#${room}` }).click();
  await expect(reader.locator("#room-title")).toHaveText(`#${room}`);
  const found = reader.locator("#messages li:target");
  await expect(found).toContainText(word);
  await expect(found).toBeInViewport();

  // Nothing found says so.
  await reader.goto(`/search?q=${unique("nothing").replace(/-/g, "")}`);
  await expect(reader.getByRole("status")).toHaveText("No message matches.");
});
