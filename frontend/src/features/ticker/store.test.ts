import { useMarketStore } from "./store";

describe("the market store (fed by /ws/market)", () => {
  it("keeps the latest price per symbol and the one before it", () => {
    const { apply } = useMarketStore.getState();
    apply({ type: "update", agent: null, data: [{ symbol: "BTCUSDT", price: 95000, last_update: "t1", fresh: true }] });
    apply({ type: "update", agent: null, data: [{ symbol: "BTCUSDT", price: 95010.5, last_update: "t2", fresh: true }] });
    const state = useMarketStore.getState();
    expect(state.ticks.BTCUSDT?.price).toBe(95010.5);
    expect(state.previous.BTCUSDT).toBe(95000);
  });
});
