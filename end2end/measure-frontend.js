// Measures what a reader waits for, on the release build in headless Chromium over loopback:
//  - ttfb: the server's time to the first byte of a room page that carries its latest 50
//    messages (navigation timing: responseStart - requestStart);
//  - connect: navigation start to a live socket (the app's `chat:connected` mark);
//  - switch: a click on another room in the sidebar to that room's latest message being in the
//    document and the next frame painted.
// Every load uses a new browser context (nothing cached); the first load of each kind only warms
// up and is not counted.
//   node measure-frontend.js [base-url] [loads]
const { chromium } = require("@playwright/test");
const { launchOptions } = require("./chromium");

const base = (process.argv[2] || "http://127.0.0.1:8080").replace(/\/$/, "");
const loads = Number(process.argv[3] || 15);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(times) {
  times.sort((a, b) => a - b);
  return {
    loads: times.length,
    median_ms: Number(percentile(times, 50).toFixed(1)),
    min_ms: Number(times[0].toFixed(1)),
    p90_ms: Number(percentile(times, 90).toFixed(1)),
    max_ms: Number(times[times.length - 1].toFixed(1)),
  };
}

/** Puts `count` messages into `room` from a raw socket opened in `page`; resolves when the
 * last one is confirmed. */
async function seed(page, room, count) {
  await page.evaluate(
    async ({ room, count }) => {
      const ws = new WebSocket(`ws://${location.host}/ws?room=${room}`);
      await new Promise((resolve) => (ws.onopen = resolve));
      const done = new Promise((resolve) => {
        ws.onmessage = (event) => {
          if (event.data.includes(`"text":"${room} ${count - 1}"`)) resolve();
        };
      });
      for (let i = 0; i < count; i++) {
        ws.send(JSON.stringify({ type: "send", room, text: `${room} ${i}` }));
      }
      await done;
      ws.close();
    },
    { room, count },
  );
}

(async () => {
  const browser = await chromium.launch(launchOptions);
  const stamp = Date.now().toString(36);
  const rooms = [`measure-a-${stamp}`, `measure-b-${stamp}`];
  const seeder = await browser.newPage();
  await seeder.goto(`${base}/`);
  for (const room of rooms) await seed(seeder, room, 60);
  await seeder.close();

  const ttfb = [];
  const connect = [];
  for (let i = 0; i < loads + 1; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/r/${rooms[0]}`);
    await page.waitForFunction(() => performance.getEntriesByName("chat:connected").length > 0, null, {
      timeout: 30_000,
    });
    const [first, open] = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return [nav.responseStart - nav.requestStart, performance.getEntriesByName("chat:connected")[0].startTime];
    });
    const rendered = await page.locator("#messages li.message").count();
    if (rendered < 50) throw new Error(`the page came with ${rendered} messages, not 50`);
    if (i > 0) {
      ttfb.push(first);
      connect.push(open);
    }
    await context.close();
  }

  // One page in both rooms, switching back and forth.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/r/${rooms[1]}`);
  await page.locator('#status[data-state="connected"]').waitFor();
  await page.locator("#members li").first().waitFor();
  await page.locator("#room-input").fill(rooms[0]);
  await page.locator("#room-input").press("Enter");
  await page.locator("#messages li.message").nth(49).waitFor();
  const switches = [];
  for (let i = 0; i < loads + 1; i++) {
    const to = rooms[(i + 1) % 2];
    const ms = await page.evaluate(async (to) => {
      const last = `${to} 59`;
      const link = document.querySelector(`#room-list a[data-room="${to}"]`);
      const shown = () => {
        const texts = document.querySelectorAll("#messages li.message .text");
        return texts.length > 0 && texts[texts.length - 1].textContent === last;
      };
      const start = performance.now();
      link.click();
      await new Promise((resolve) => {
        if (shown()) return resolve();
        const observer = new MutationObserver(() => {
          if (shown()) {
            observer.disconnect();
            resolve();
          }
        });
        observer.observe(document.getElementById("messages"), { childList: true, subtree: true, characterData: true });
      });
      await new Promise((resolve) => requestAnimationFrame(() => resolve()));
      return performance.now() - start;
    }, to);
    if (i > 0) switches.push(ms);
  }
  await browser.close();
  console.log(JSON.stringify({ ttfb: summary(ttfb), connect: summary(connect), switch: summary(switches) }));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
