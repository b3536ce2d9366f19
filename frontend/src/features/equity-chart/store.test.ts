import { account, stubFetch } from "@/test/fixtures";
import { appendPoint, useAccountStore } from "./store";
import { toChartPoints } from "./EquityChart";

describe("the account store (fed by /ws/account)", () => {
  it("appends each account update to that agent's curve, keeping the exact string", () => {
    const { apply } = useAccountStore.getState();
    apply({ type: "update", agent: "trend", data: account({ equity: "10000.00" }) }, 1_000_000);
    apply({ type: "update", agent: "trend", data: account({ equity: "10012.345678" }) }, 1_005_000);
    const state = useAccountStore.getState();
    expect(state.curves.trend).toEqual([
      { time: 1000, equity: "10000.00" },
      { time: 1005, equity: "10012.345678" },
    ]);
    expect(state.accounts.trend?.equity).toBe("10012.345678");
  });

  it("replaces a point within the same second (the chart needs increasing times)", () => {
    const curve = appendPoint([{ time: 10, equity: "1" }], { time: 10, equity: "2" });
    expect(curve).toEqual([{ time: 10, equity: "2" }]);
  });

  it("loads every agent's curve for the chosen range in one call", async () => {
    const calls = stubFetch({
      "/api/account/histories": [
        {
          agent: "trend",
          total_points: 2,
          points: [
            { time: "2026-12-05T14:00:00Z", equity: "10000", wallet_balance: "10000", unrealized_pnl: "0" },
            { time: "2026-12-05T15:00:00Z", equity: "10050.5", wallet_balance: "10000", unrealized_pnl: "50.5" },
          ],
        },
      ],
    });
    await useAccountStore.getState().load("24h");
    expect(calls[0]?.url.searchParams.get("since")).toBeTruthy();
    expect(calls[0]?.url.searchParams.get("max_points")).toBe("600");
    const state = useAccountStore.getState();
    expect(state.range).toBe("24h");
    expect(state.curves.trend?.map((p) => p.equity)).toEqual(["10000", "10050.5"]);
  });
});

describe("the chart's picture of a curve", () => {
  it("plots dollars, or the return on the starting balance in percent", () => {
    const curve = [
      { time: 1, equity: "10000" },
      { time: 2, equity: "10250" },
    ];
    expect(toChartPoints(curve, "usd", "10000", null).map((p) => p.value)).toEqual([10000, 10250]);
    expect(toChartPoints(curve, "pct", "10000", null).map((p) => p.value)).toEqual([0, 2.5]);
  });
});
