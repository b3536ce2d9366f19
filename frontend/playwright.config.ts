import { defineConfig, devices } from "@playwright/test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Browser tests against a real `alphatransformer run`: three agents on the simulated market
// and the paper exchange (e2e/arena.yaml), a throwaway database, a fixed token. Debian's
// Chromium drives them: Playwright downloads no browser.
export const PORT = 8765;
export const TOKEN = process.env.ALPHA_API_TOKEN ?? "e2e-token-0123456789";
process.env.ALPHA_API_TOKEN = TOKEN;
// Set once in the main process; workers inherit it instead of making their own.
process.env.ALPHA_E2E_DIR ??= mkdtempSync(join(tmpdir(), "alphatransformer-e2e-"));

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    screenshot: "only-on-failure",
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"], viewport: { width: 1440, height: 1000 } } }],
  webServer: {
    command: `uv run alphatransformer run --config frontend/e2e/arena.yaml --port ${PORT}`,
    cwd: "..",
    url: `http://127.0.0.1:${PORT}/healthz`,
    timeout: 180_000,
    reuseExistingServer: !process.env.CI,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      ALPHA_API_TOKEN: TOKEN,
      ALPHA_DATABASE_URL: `sqlite+aiosqlite:///${process.env.ALPHA_E2E_DIR}/arena.db`,
    },
  },
});
