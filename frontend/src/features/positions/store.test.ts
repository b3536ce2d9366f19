import { position, stubFetch } from "@/test/fixtures";
import { allPositions, usePositionsStore } from "./store";

describe("the positions store (fed by /ws/positions)", () => {
  it("replaces one agent's positions with each message, leaving other agents alone", () => {
    const { apply } = usePositionsStore.getState();
    apply({ type: "snapshot", agent: "trend", data: [position(), position({ symbol: "ETHUSDT" })] });
    apply({ type: "snapshot", agent: "hodl", data: [position({ agent: "hodl" })] });
    apply({ type: "update", agent: "trend", data: [position({ symbol: "SOLUSDT", side: "short" })] });
    const rows = allPositions(usePositionsStore.getState().byAgent);
    expect(rows.map((p) => `${p.agent}:${p.symbol}`)).toEqual(["hodl:BTCUSDT", "trend:SOLUSDT"]);
  });

  it("clears an agent's list when it closes everything", () => {
    const { apply } = usePositionsStore.getState();
    apply({ type: "update", agent: "trend", data: [position()] });
    apply({ type: "update", agent: "trend", data: [] });
    expect(usePositionsStore.getState().byAgent.trend).toEqual([]);
  });

  it("loads every agent's positions over REST", async () => {
    stubFetch({ "/api/positions": [position(), position({ agent: "hodl" })] });
    await usePositionsStore.getState().load();
    expect(Object.keys(usePositionsStore.getState().byAgent).sort()).toEqual(["hodl", "trend"]);
  });
});
