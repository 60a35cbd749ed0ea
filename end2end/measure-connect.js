// Measures how long a first visit takes to get a live chat: from navigation start to the
// moment the app's socket is open (the app sets the `chat:connected` performance mark then).
// Every load uses a new browser context, so nothing is cached between loads.
//   node measure-connect.js [url] [loads]
const { chromium } = require("@playwright/test");
const { launchOptions } = require("./chromium");

const url = process.argv[2] || "http://127.0.0.1:8080/";
const loads = Number(process.argv[3] || 15);

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

(async () => {
  const browser = await chromium.launch(launchOptions);
  const times = [];
  for (let i = 0; i < loads + 1; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => performance.getEntriesByName("chat:connected").length > 0, null, {
      timeout: 30_000,
    });
    const ms = await page.evaluate(() => performance.getEntriesByName("chat:connected")[0].startTime);
    // The first load warms the server and the browser process; it is not counted.
    if (i > 0) times.push(ms);
    await context.close();
  }
  await browser.close();
  times.sort((a, b) => a - b);
  const result = {
    url,
    loads: times.length,
    median_ms: Math.round(percentile(times, 50)),
    min_ms: Math.round(times[0]),
    p90_ms: Math.round(percentile(times, 90)),
    max_ms: Math.round(times[times.length - 1]),
  };
  console.log(JSON.stringify(result));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
