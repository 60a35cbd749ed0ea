const { chromium } = require("@playwright/test");
const { launchOptions } = require("/work/main/end2end/chromium");
(async () => {
  const browser = await chromium.launch(launchOptions);
  const page = await (await browser.newContext({ viewport: { width: +process.argv[2], height: +process.argv[3] } })).newPage();
  await page.goto("http://127.0.0.1:8080/r/" + (process.argv[4] || "lobby"));
  await page.waitForTimeout(1500);
  console.log(JSON.stringify(await page.evaluate(() => [".app",".topbar","#sidebar","#room",".room-header","#messages",".log-area","#typing",".composer"].map(s => { const r = document.querySelector(s).getBoundingClientRect(); return [s, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]; }))));
  await page.screenshot({ path: "/tmp/shot.png" });
  await browser.close();
})();
