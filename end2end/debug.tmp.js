const { chromium } = require("@playwright/test");
const { launchOptions } = require("/work/main/end2end/chromium");
(async () => {
  const browser = await chromium.launch(launchOptions);
  const reader = await (await browser.newContext({ viewport: { width: 800, height: 420 } })).newPage();
  reader.on("console", (m) => console.log("console:", m.type(), m.text().slice(0, 300)));
  const room = "dbg" + Date.now();
  await reader.goto("http://127.0.0.1:8080/r/" + room);
  await reader.waitForTimeout(1500);
  await reader.evaluate(() => {
    const el = document.getElementById("messages");
    window.__log = [];
    el.addEventListener("scroll", () => window.__log.push(["scroll", el.scrollTop, el.scrollHeight, el.clientHeight]));
    const obs = new MutationObserver(() => window.__log.push(["mut", el.scrollTop, el.scrollHeight]));
    obs.observe(el, { childList: true, subtree: true });
    const raf = () => { window.__log.push(["raf", el.scrollTop, el.scrollHeight]); if (window.__log.length < 400) requestAnimationFrame(raf); };
  });
  await reader.evaluate(async (room) => {
    const ws = new WebSocket(`ws://${location.host}/ws?room=${room}`);
    await new Promise((r) => (ws.onopen = r));
    for (let i = 0; i < 100; i++) ws.send(JSON.stringify({ type: "send", room, text: `x ${i}` }));
  }, room);
  await reader.waitForTimeout(2000);
  console.log(JSON.stringify(await reader.evaluate(() => [".app","#sidebar","#room",".room-header","#messages",".log-area","#typing",".composer"].map(s => { const r = document.querySelector(s).getBoundingClientRect(); return [s, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]; }))));
  await reader.screenshot({ path: "/tmp/shot.png" });
  console.log(JSON.stringify(await reader.evaluate(() => window.__log.slice(0, 80))));
  console.log(await reader.evaluate(() => { const el = document.getElementById("messages"); return [el.scrollTop, el.scrollHeight, el.clientHeight]; }));
  await browser.close();
})();
