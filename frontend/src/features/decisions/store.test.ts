import { decision, stubFetch } from "@/test/fixtures";
import { groupByCycle, KEPT, useDecisionsStore } from "./store";

describe("the decisions store (fed by /ws/decisions)", () => {
  it("shows a new cycle's decisions newest first", () => {
    const { apply } = useDecisionsStore.getState();
    apply({ type: "snapshot", topic: "decisions", agent: "trend", data: [decision({ id: 1 }), decision({ id: 2 })] });
    apply({ type: "update", topic: "decisions", agent: "trend", data: [decision({ id: 3, cycle_id: "live-trend-2" })] });
    expect(useDecisionsStore.getState().ids).toEqual([3, 2, 1]);
  });

  it("replaces a decision whose status changed instead of listing it twice", () => {
    const { apply } = useDecisionsStore.getState();
    apply({ type: "update", agent: "trend", data: [decision({ id: 7, status: "pending", action: "open_long" })] });
    apply({ type: "update", agent: "trend", data: [decision({ id: 7, status: "executed", action: "open_long" })] });
    const state = useDecisionsStore.getState();
    expect(state.ids).toEqual([7]);
    expect(state.byId[7]?.status).toBe("executed");
  });

  it("ignores heartbeats and keeps at most the newest KEPT decisions", () => {
    const { apply } = useDecisionsStore.getState();
    apply({ type: "heartbeat" });
    expect(useDecisionsStore.getState().ids).toEqual([]);
    const rows = Array.from({ length: KEPT + 10 }, (_, i) => decision({ id: i + 1 }));
    apply({ type: "update", agent: "trend", data: rows });
    const { ids, byId } = useDecisionsStore.getState();
    expect(ids).toHaveLength(KEPT);
    expect(ids[0]).toBe(KEPT + 10);
    expect(byId[1]).toBeUndefined();
  });

  it("fills a gap from history when the server says updates were missed", async () => {
    const calls = stubFetch({ "/api/decisions": { items: [decision({ id: 5 })], next_before_id: null } });
    useDecisionsStore.getState().apply({ type: "update", agent: "trend", data: [decision({ id: 9 })], missed: 2 });
    await vi.waitFor(() => expect(useDecisionsStore.getState().ids).toEqual([9, 5]));
    expect(calls).toHaveLength(1);
  });

  it("loads history over REST", async () => {
    const calls = stubFetch({ "/api/decisions": { items: [decision({ id: 40 })], next_before_id: null } });
    await useDecisionsStore.getState().load();
    expect(calls[0]?.url.searchParams.get("limit")).toBe("200");
    expect(useDecisionsStore.getState().ids).toEqual([40]);
  });
});

describe("model chat groups decisions by cycle", () => {
  it("puts each agent's cycle in one card, symbols in order, newest cycle first", () => {
    const rows = [
      decision({ id: 1, cycle_id: "c1", symbol: "ETHUSDT" }),
      decision({ id: 2, cycle_id: "c1", symbol: "BTCUSDT" }),
      decision({ id: 3, cycle_id: "c2", agent: "hodl" }),
    ];
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    const groups = groupByCycle(byId, [3, 2, 1]);
    expect(groups.map((g) => [g.agent, g.cycleId])).toEqual([
      ["hodl", "c2"],
      ["trend", "c1"],
    ]);
    expect(groups[1]?.decisions.map((d) => d.symbol)).toEqual(["BTCUSDT", "ETHUSDT"]);
  });
});
