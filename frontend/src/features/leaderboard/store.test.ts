import { row, stubFetch } from "@/test/fixtures";
import { compareDecimal, sortRows, useLeaderboardStore } from "./store";

describe("leaderboard sorting", () => {
  it("compares money strings exactly, sign first", () => {
    expect(compareDecimal("10012.35", "9999.99")).toBeGreaterThan(0);
    expect(compareDecimal("-5", "-10")).toBeGreaterThan(0);
    expect(compareDecimal("0.10", "0.1")).toBe(0);
    expect(compareDecimal("100000000000000000.01", "100000000000000000.02")).toBeLessThan(0);
  });

  it("sorts by account value, either way, with missing values last", () => {
    const rows = [
      row({ agent: "a", rank: 1, account_value: "10500", sharpe: null }),
      row({ agent: "b", rank: 2, account_value: "9900.5", sharpe: 0.4 }),
      row({ agent: "c", rank: 3, account_value: "10000", sharpe: 1.1 }),
    ];
    expect(sortRows(rows, "account_value", "desc").map((r) => r.agent)).toEqual(["a", "c", "b"]);
    expect(sortRows(rows, "account_value", "asc").map((r) => r.agent)).toEqual(["b", "c", "a"]);
    expect(sortRows(rows, "sharpe", "desc").map((r) => r.agent)).toEqual(["c", "b", "a"]);
    expect(sortRows(rows, "sharpe", "asc").map((r) => r.agent)).toEqual(["b", "c", "a"]);
  });

  it("toggles the direction when the same column is chosen again", () => {
    const { sortBy } = useLeaderboardStore.getState();
    sortBy("total_return");
    expect(useLeaderboardStore.getState()).toMatchObject({ sortKey: "total_return", sortDir: "desc" });
    sortBy("total_return");
    expect(useLeaderboardStore.getState().sortDir).toBe("asc");
  });

  it("loads the ranking over REST", async () => {
    stubFetch({ "/api/leaderboard": [row(), row({ agent: "hodl", rank: 2 })] });
    await useLeaderboardStore.getState().load();
    expect(useLeaderboardStore.getState().rows.map((r) => r.agent)).toEqual(["trend", "hodl"]);
  });
});
