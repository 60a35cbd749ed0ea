// How every script here launches Chromium: Debian's build (never a downloaded one), with the
// flags this sandboxed, offline machine needs.
const { execSync } = require("node:child_process");

function executablePath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execSync("command -v chromium", { shell: "/bin/sh" }).toString().trim();
  } catch {
    return "/usr/bin/chromium";
  }
}

const launchOptions = {
  executablePath: executablePath(),
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
};

module.exports = { launchOptions };
