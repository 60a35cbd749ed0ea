// Accessibility: no axe-core violations on the room page, light and dark, with the sidebar as a
// column, as a closed drawer and as an open drawer. Also takes the README's screenshot.
const { test, expect } = require("@playwright/test");
const AxeBuilder = require("@axe-core/playwright").default;
const path = require("node:path");
const {
  repo,
  unique,
  freshRoom,
  openRoom,
  send,
  messageTexts,
  submitName,
  typeUntilSeen,
} = require("./helpers");

/** Axe's findings, as short readable lines (empty when there are none). */
async function violations(page) {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.map(
    (v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`,
  );
}

for (const colorScheme of ["light", "dark"]) {
  test(`the room page has no accessibility violations (${colorScheme})`, async ({ browser }) => {
    const context = await browser.newContext({ colorScheme, viewport: { width: 1000, height: 700 } });
    const page = await context.newPage();
    const other = await (await browser.newContext({ colorScheme })).newPage();
    const room = freshRoom("a11y");
    const second = freshRoom("a11y-other");
    await openRoom(other, second);
    await openRoom(other, room);
    await openRoom(page, second);
    await openRoom(page, room);
    // Every kind of line: own and others' messages, a group, a notice-free log, an unread badge,
    // presence and typing.
    await send(page, "Morning! Standup in five?");
    await send(other, "Yes, joining now.");
    await send(other, "Bringing the release notes.");
    await typeUntilSeen(page, other);
    await other.locator(`#room-list a[data-room="${second}"]`).click();
    await send(other, "Over here too.");
    await expect(page.locator(`#room-list a[data-room="${second}"] .unread`)).toBeVisible();
    await expect(messageTexts(page)).toHaveCount(3);

    expect(await violations(page)).toEqual([]);
    // Phone width: the sidebar is a drawer, closed and then open.
    await page.setViewportSize({ width: 360, height: 640 });
    expect(await violations(page)).toEqual([]);
    await page.locator("#rooms-toggle").click();
    await expect(page.locator("#sidebar")).toBeVisible();
    expect(await violations(page)).toEqual([]);
    await context.close();
  });
}

test("screenshot: two people in a room, several rooms in the sidebar", async ({ browser }) => {
  const options = { viewport: { width: 1000, height: 600 }, colorScheme: "light" };
  const alice = await (await browser.newContext(options)).newPage();
  const bob = await (await browser.newContext(options)).newPage();
  const suffix = unique("").slice(-4);
  const room = `design-${suffix}`;
  await openRoom(bob, room);
  for (const extra of ["lobby", `ops-${suffix}`, `random-${suffix}`]) {
    await alice.goto(extra === "lobby" ? "/" : `/r/${extra}`);
    await expect(alice.locator("#members li").first()).toBeVisible();
  }
  await openRoom(alice, room);
  for (const [page, name] of [
    [alice, `Alice ${suffix}`],
    [bob, `Bob ${suffix}`],
  ]) {
    await submitName(page, name);
    await expect(page.locator("#name-hint")).toBeEmpty();
  }
  await send(alice, "Hi Bob! Did the deploy go out?");
  await send(alice, "The dashboard still shows the old build.");
  await send(bob, "Yes, ten minutes ago. All green here.");
  await send(bob, "Try a hard reload <Ctrl+Shift+R>.");
  await send(alice, "There it is. Thanks!");
  await expect(messageTexts(alice)).toHaveCount(5);
  await typeUntilSeen(bob, alice, "lunch?");
  await expect(alice.locator("#typing")).toContainText("typing");
  await alice.screenshot({ path: path.join(repo, "docs", "screenshot.png") });
});
