// Playwright drives Debian's Chromium (never a downloaded browser). `cargo leptos end-to-end`
// starts the release server on 127.0.0.1:8080 at the same moment as this command, so the global
// setup waits for it to answer first.
const { defineConfig } = require("@playwright/test");
const { launchOptions } = require("./chromium");

module.exports = defineConfig({
  testDir: "./tests",
  globalSetup: require.resolve("./global-setup.js"),
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: {
    browserName: "chromium",
    baseURL: process.env.BASE_URL || "http://127.0.0.1:8080",
    launchOptions,
  },
});
