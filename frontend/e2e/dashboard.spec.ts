import { expect, test, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";

const TOKEN = process.env.ALPHA_API_TOKEN ?? "e2e-token-0123456789";
const AGENTS = ["trend", "reversion", "hodl"]; // e2e/arena.yaml
const SHOTS = "e2e-artifacts/panels";

// Any uncaught error in the page fails the test that caused it.
const pageErrors = new WeakMap<Page, Error[]>();
test.beforeEach(({ page }) => {
  const errors: Error[] = [];
  pageErrors.set(page, errors);
  page.on("pageerror", (error) => errors.push(error));
});
test.afterEach(({ page }) => {
  expect(pageErrors.get(page)?.map((e) => `${e.message}\n${e.stack ?? ""}`) ?? []).toEqual([]);
});

async function openDashboard(page: Page) {
  await page.goto("/");
  await expect(page.getByTestId("leaderboard-row")).toHaveCount(AGENTS.length);
  await expect(page.locator('[data-stream="decisions"]')).toHaveAttribute("data-state", "open");
}

async function enterToken(page: Page, token: string) {
  await page.getByRole("button", { name: "Enter token" }).click();
  await page.getByTestId("token-input").fill(token);
  await page.getByTestId("token-save").click();
}

async function control(page: Page, agent: string, action: "start" | "stop" | "stop_close" | "kill") {
  await page.getByTestId(`control-${action}-${agent}`).click();
  await page.getByTestId("confirm-action").click();
}

test("the page loads and the leaderboard lists the configured agents", async ({ page }) => {
  await openDashboard(page);
  const agents = await page.getByTestId("leaderboard-row").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-agent")));
  expect(agents.sort()).toEqual([...AGENTS].sort());
  await expect(page.getByTestId("simulated-badge")).toBeVisible();
  await expect(page.getByTestId("equity-chart").locator("canvas").first()).toBeVisible();
});

test("no secret is in the bundle", async ({ page }) => {
  const scripts: string[] = [];
  page.on("response", async (response) => {
    if (response.url().endsWith(".js")) scripts.push(await response.text());
  });
  await openDashboard(page);
  expect(scripts.length).toBeGreaterThan(0);
  for (const script of scripts) expect(script).not.toContain(TOKEN);
});

test("a new decision appears in the decision feed without a reload", async ({ page }) => {
  await openDashboard(page);
  await page.getByRole("tab", { name: "Decisions" }).click();
  const newest = () => page.getByTestId("decision-row").first().getAttribute("data-decision-id").then(Number);
  await expect(page.getByTestId("decision-row").first()).toBeVisible();
  const before = await newest();
  const navigations: string[] = [];
  page.on("framenavigated", (frame) => navigations.push(frame.url()));
  await expect.poll(newest, { timeout: 20_000 }).toBeGreaterThan(before);
  expect(navigations).toEqual([]);
});

test("the model chat expands a cycle to its full transcript", async ({ page }) => {
  await openDashboard(page);
  await page.getByTestId("chat-cycle").first().getByRole("button", { name: "Transcript" }).click();
  const transcript = page.getByTestId("transcript").first();
  await expect(transcript).toBeVisible();
  await expect(transcript).toContainText("tokens in");
  await expect(transcript).toContainText("latency");
});

test("stop and start are refused without the token", async ({ page, request }) => {
  expect((await request.post("/api/agents/trend/stop")).status()).toBe(401);
  expect((await request.post("/api/agent/stop", { headers: { Authorization: "Bearer wrong" } })).status()).toBe(401);
  await openDashboard(page);
  await page.getByTestId("control-stop-trend").click();
  await page.getByTestId("confirm-action").click();
  await expect(page.getByTestId("token-dialog")).toBeVisible(); // no token yet: it is asked for
  await page.getByTestId("token-input").fill("not-the-token");
  await page.getByTestId("token-save").click();
  await page.getByTestId("confirm-action").click();
  await expect(page.getByTestId("control-outcome")).toContainText("Refused");
  await expect(page.locator('[data-testid="status-agent"][data-agent="trend"]')).toContainText("running");
});

test("stop and start work with the token", async ({ page }) => {
  await openDashboard(page);
  await enterToken(page, TOKEN);
  const trend = page.locator('[data-testid="control-agent"][data-agent="trend"]');
  await control(page, "trend", "stop");
  await expect(page.getByTestId("control-outcome")).toContainText("trend:");
  await expect(trend).not.toContainText("running"); // the state arrives over /ws/status
  await control(page, "trend", "start");
  await expect(trend).toContainText("running");
  // The token lives in this tab's session only.
  expect(await page.evaluate(() => sessionStorage.getItem("alphatransformer.token"))).toBe(TOKEN);
  expect(await page.evaluate(() => localStorage.getItem("alphatransformer.token"))).toBeNull();
});

test("live updates do not move the layout", async ({ page }) => {
  // Feeds scroll new items in inside their own fixed-height box; the panels themselves stay put.
  await openDashboard(page);
  await page.waitForTimeout(1500); // history and snapshots settled
  const boxes = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('[data-testid^="panel-"], [data-testid="ticker"], header, [role="tablist"]')].map((el) => {
        const r = el.getBoundingClientRect();
        return `${el.getAttribute("data-testid") ?? el.tagName} ${r.x},${r.y},${r.width},${r.height}`;
      }),
    );
  const before = await boxes();
  await page.waitForTimeout(6000); // three cycles of every agent, prices every second
  expect(await boxes()).toEqual(before);
});

test("phone width has no horizontal scroll", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await openDashboard(page);
  for (const tab of ["Model chat", "Positions", "Completed trades", "Decisions"]) {
    await page.getByRole("tab", { name: tab }).click();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `page width with the ${tab} tab`).toBeLessThanOrEqual(390);
  }
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/phone-full.png`, fullPage: true });
});

test("a screenshot of every panel, in both themes", async ({ page }) => {
  mkdirSync(SHOTS, { recursive: true });
  await openDashboard(page);
  await page.waitForTimeout(3000); // a few cycles on the chart
  for (const theme of ["dark", "light"] as const) {
    const current = (await page.evaluate(() => document.documentElement.classList.contains("dark"))) ? "dark" : "light";
    if (current !== theme) await page.getByTestId("theme-toggle").click();
    await page.screenshot({ path: `${SHOTS}/dashboard-${theme}.png`, fullPage: true });
    for (const panel of ["ticker", "panel-equity", "panel-leaderboard", "panel-control", "panel-status"]) {
      await page.getByTestId(panel).screenshot({ path: `${SHOTS}/${panel}-${theme}.png` });
    }
    for (const [tab, panel] of [
      ["Model chat", "panel-model-chat"],
      ["Positions", "panel-positions"],
      ["Completed trades", "panel-trades"],
      ["Decisions", "panel-decisions"],
    ] as const) {
      await page.getByRole("tab", { name: tab }).click();
      await page.getByTestId(panel).screenshot({ path: `${SHOTS}/${panel}-${theme}.png` });
    }
    await page.getByRole("tab", { name: "Model chat" }).click();
  }
  await page.goto("/backtests/");
  await expect(page.getByTestId("panel-runs")).toBeVisible();
  await page.getByTestId("panel-runs").screenshot({ path: `${SHOTS}/panel-runs.png` });
});
