// Times reading server frames in headless Chromium three ways, with the module that
// scripts/decode-bench.sh built from bench/decode: serde_json compiled into the WebAssembly,
// the browser's JSON.parse with serde-wasm-bindgen, and JSON.parse with chat_shared::js (what
// the page does). Two inputs: a `joined` frame carrying 100 messages (opening a room) and 20
// `message` frames in one coalesced WebSocket message (a busy room). The ways run in turn, five
// rounds each after a warm-up; prints one JSON object of microseconds per input, per round.
//   node measure-decode.js <dir with chat_decode_bench.js and its .wasm>
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("@playwright/test");
const { launchOptions } = require("./chromium");

const dir = path.resolve(process.argv[2]);
const page = `<!doctype html><meta charset="utf-8"><script type="module">
import init, { read_with_serde_json, read_with_serde_wasm_bindgen, read_as_the_page_does } from "./chat_decode_bench.js";
await init();
const message = (i) => ({ id: i, room: "rust", name: "person " + (i % 5),
  text: "message number " + i + ", with some words in it and a few accents: é ü ñ", ts: 1764000000000 + 1000 * i, cid: "c-" + i });
const joined = JSON.stringify({ type: "joined", room: "rust", epoch: "8f3a9c01", last_id: 100,
  recovered: true, messages: Array.from({ length: 100 }, (_, i) => message(i + 1)),
  members: ["alice", "bob"], you: "alice" });
const burst = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: "message", ...message(i + 1) })).join("\\n");
const ways = { serde_json: read_with_serde_json, serde_wasm_bindgen: read_with_serde_wasm_bindgen,
  page: read_as_the_page_does };
const inputs = { joined_100: [joined, 1, 300], burst_20: [burst, 20, 300] };
const result = {};
for (const [input, [text, frames, rounds]] of Object.entries(inputs)) {
  for (const read of Object.values(ways)) read(text, 30);
  for (let round = 0; round < 5; round++) {
    for (const [way, read] of Object.entries(ways)) {
      const start = performance.now();
      const read_frames = read(text, rounds);
      const us = (1000 * (performance.now() - start)) / rounds;
      if (read_frames !== frames * rounds) throw new Error(way + " read " + read_frames);
      ((result[input] ??= {})[way] ??= []).push(Number(us.toFixed(1)));
    }
  }
}
window.result = result;
</script>`;

const types = { ".js": "text/javascript", ".wasm": "application/wasm" };
const server = http.createServer((req, res) => {
  if (req.url === "/") return res.end(page);
  const file = path.join(dir, path.basename(req.url));
  if (!fs.existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});

(async () => {
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await chromium.launch(launchOptions);
  try {
    const tab = await browser.newPage();
    const errors = [];
    tab.on("pageerror", (err) => errors.push(err.message));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForFunction(() => window.result || null, null, { timeout: 120000 }).catch(() => {
      throw new Error("no result: " + errors.join("; "));
    });
    console.log(JSON.stringify(await tab.evaluate(() => window.result)));
  } finally {
    await browser.close();
    server.close();
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
