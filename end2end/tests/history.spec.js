// History as a reader sees it: older pages by scrolling up, and the recent messages in the
// server's first HTML (readable with JavaScript off).
const { test, expect } = require("@playwright/test");
const {
  afterFrames,
  unique,
  freshRoom,
  openChat,
  openRoom,
  flood,
  messageTexts,
  watchErrors,
} = require("./helpers");

/** Fills a fresh room with `count` stored messages and returns the room and their prefix. */
async function seededRoom(browser, name, count) {
  const room = freshRoom(name);
  const prefix = unique("seed");
  const seeder = await (await browser.newContext()).newPage();
  await openRoom(seeder, room);
  await flood(seeder, room, prefix, count);
  await expect(messageTexts(seeder).last()).toHaveText(`${prefix} ${count - 1}`);
  await seeder.context().close();
  return { room, prefix };
}

test("scrolling up loads older pages without a jump, down to the beginning", async ({ browser }) => {
  const { room, prefix } = await seededRoom(browser, "scrollback", 180);
  const page = await (await browser.newContext({ viewport: { width: 900, height: 600 } })).newPage();
  await openRoom(page, room);
  // The room opens on its latest page.
  await expect(messageTexts(page)).toHaveCount(50);
  await expect(messageTexts(page).last()).toHaveText(`${prefix} 179`);
  await expect(page.locator("#room-beginning")).toHaveCount(0);

  const log = page.locator("#messages");
  for (let round = 0; round < 10; round++) {
    if ((await page.locator("#room-beginning").count()) > 0) break;
    const before = await messageTexts(page).count();
    const first = page.locator("#messages li.message").first();
    const firstId = await first.getAttribute("data-id");
    const top = async () =>
      // Its text, which is what the reader reads (its name line and the day separator above it
      // move to the older messages that now come first).
      page.locator(`#messages li.message[data-id="${firstId}"] .text`).evaluate((el) => {
        const log = document.getElementById("messages");
        return el.getBoundingClientRect().top - log.getBoundingClientRect().top;
      });
    // Where that message will be on screen once the log is scrolled to the top (measured
    // before, since the older page may arrive within a millisecond of the scroll).
    const y0 = (await top()) + (await log.evaluate((el) => el.scrollTop));
    await log.evaluate((el) => el.scrollTo(0, 0));
    await expect.poll(() => messageTexts(page).count()).toBeGreaterThan(before);
    // Once the view has settled, the message that was on top is still where it was.
    await afterFrames(page);
    expect(Math.abs((await top()) - y0)).toBeLessThanOrEqual(3);
  }
  await expect(page.locator("#room-beginning")).toHaveText(`This is the beginning of #${room}.`);
  const texts = await messageTexts(page).allTextContents();
  expect(texts).toEqual(Array.from({ length: 180 }, (_, i) => `${prefix} ${i}`));
});

test("the server's HTML shows the recent messages, with JavaScript off", async ({ browser }) => {
  const { room, prefix } = await seededRoom(browser, "ssr", 60);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`/r/${room}`);
  await expect(page.locator("#room-title")).toHaveText(`#${room}`);
  await expect(messageTexts(page)).toHaveCount(50);
  await expect(messageTexts(page).first()).toHaveText(`${prefix} 10`);
  await expect(messageTexts(page).last()).toHaveText(`${prefix} 59`);
  await expect(page.locator("noscript")).toHaveCount(1);
  await context.close();

  // With JavaScript the page takes over the same HTML: no duplicate, no error, and it is live.
  const live = await (await browser.newContext()).newPage();
  const errors = watchErrors(live);
  const html = await (await live.request.get(`/r/${room}`)).text();
  expect(html).toContain(`${prefix} 59`);
  await openRoom(live, room);
  await expect(messageTexts(live)).toHaveCount(50);
  const ids = await live.locator("#messages li.message").evaluateAll((els) =>
    els.map((el) => Number(el.dataset.id)),
  );
  expect(new Set(ids).size).toBe(50);
  expect(errors).toEqual([]);
});

// (How fast the page answers is measured by scripts/frontend-report.sh, not asserted here.)
test("an invalid room name is refused, and the lobby page carries its data", async ({ request }) => {
  const response = await request.get("/r/Not%20A%20Room");
  expect(response.status()).toBe(404);
  expect(await response.text()).toContain("lobby");
  const lobby = await request.get("/");
  expect(lobby.status()).toBe(200);
  expect(await lobby.text()).toContain('id="chat-initial"');
});

test("the server renders times in the reader's zone once it knows it, so hydration changes none", async ({
  browser,
}) => {
  const { room } = await seededRoom(browser, "zone", 3);
  const context = await browser.newContext({ timezoneId: "Asia/Kolkata" }); // UTC+05:30
  const page = await context.newPage();
  await openRoom(page, room);
  const shown = await page.locator("#messages li.message time").allTextContents();
  const expected = await page.evaluate(() =>
    [...document.querySelectorAll("#messages li.message time")].map((el) => {
      const d = new Date(el.getAttribute("datetime"));
      return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
    }),
  );
  expect(shown).toEqual(expected);
  // The next page from the server (this browser's cookie says +05:30) has the same times.
  const html = await (await context.request.get(`/r/${room}`)).text();
  const rendered = [...html.matchAll(/<time[^>]*>(\d\d:\d\d)<\/time>/g)].map((m) => m[1]);
  expect(rendered).toEqual(shown);
  await context.close();
});
