// Engine event -> DOM update, measured in a real browser (run by hand):
//
//   cd frontend && npm ci && cd .. && node benchmarks/dashboard_latency.mjs [--seconds 40] [--url URL]
//
// Starts `alphatransformer run` with the e2e arena (three agents cycling every 2 s on the paper
// exchange; or uses --url), opens the dashboard in Debian's Chromium on the decision feed, and
// for every decision row that appears takes `now - decision.updated_at`: from the engine's last
// write of the decision (the stream event is published right after it, at the end of the
// cycle) through the WebSocket, the store and React to the row in the DOM. Same machine, same
// clock. Prints event_to_dom_p50_ms=<x> (target < 100).
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(ROOT, "frontend", "package.json"));
const { chromium } = require("@playwright/test");

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : fallback;
};
const seconds = Number(option("seconds", "40"));
const port = 8766;
let url = option("url", null);
let server = null;

async function waitForHealth(base, deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the server at ${base} did not come up`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

try {
  if (!url) {
    const dir = mkdtempSync(join(tmpdir(), "alphatransformer-bench-"));
    url = `http://127.0.0.1:${port}`;
    server = spawn("uv", ["run", "alphatransformer", "run", "--config", "frontend/e2e/arena.yaml", "--port", String(port)], {
      cwd: ROOT,
      stdio: "ignore",
      env: { ...process.env, ALPHA_API_TOKEN: "bench-token-0123456789", ALPHA_DATABASE_URL: `sqlite+aiosqlite:///${dir}/arena.db` },
    });
  }
  await waitForHealth(url, Date.now() + 180_000);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  await page.goto(url);
  await page.getByRole("tab", { name: "Decisions" }).click();
  await page.waitForSelector('[data-stream="decisions"][data-state="open"]');
  await page.waitForSelector('[data-testid="decision-row"]');
  await page.evaluate(() => {
    const samples = [];
    window.__latency = samples;
    const seen = new Set([...document.querySelectorAll('[data-testid="decision-row"]')].map((r) => r.dataset.decisionId));
    new MutationObserver(() => {
      const now = Date.now();
      for (const row of document.querySelectorAll('[data-testid="decision-row"]')) {
        const id = row.dataset.decisionId;
        if (seen.has(id)) continue;
        seen.add(id);
        samples.push(now - Date.parse(row.dataset.updatedAt));
      }
    }).observe(document.querySelector('[data-testid="decision-feed"] tbody'), { childList: true });
  });
  await page.waitForTimeout(seconds * 1000);
  const samples = (await page.evaluate(() => window.__latency)).sort((a, b) => a - b);
  await browser.close();
  if (samples.length === 0) throw new Error("no decision arrived while measuring");
  console.log(`samples=${samples.length} over ${seconds}s`);
  console.log(`event_to_dom_p95_ms=${percentile(samples, 95).toFixed(0)}`);
  console.log(`event_to_dom_max_ms=${samples.at(-1).toFixed(0)}`);
  console.log(`event_to_dom_p50_ms=${percentile(samples, 50).toFixed(0)}`);
} finally {
  server?.kill("SIGINT");
}
