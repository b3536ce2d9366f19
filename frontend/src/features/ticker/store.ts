import { create } from "zustand";
import type { MarketTick, StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

export interface MarketState {
  ticks: Record<string, MarketTick>;
  /** Previous price per symbol, to show the direction of the last move. */
  previous: Record<string, number | null>;
  connection: ConnectionState;
  seed: (ticks: MarketTick[]) => void;
  apply: (message: StreamMessage<MarketTick[]>) => void;
  setConnection: (connection: ConnectionState) => void;
}

export const useMarketStore = create<MarketState>((set, get) => ({
  ticks: {},
  previous: {},
  connection: "connecting",
  seed: (ticks) => {
    const current = get().ticks;
    const next = { ...current };
    for (const tick of ticks) if (!current[tick.symbol]) next[tick.symbol] = tick;
    set({ ticks: next });
  },
  apply: (message) => {
    if (message.type === "heartbeat" || !Array.isArray(message.data)) return;
    const { ticks, previous } = get();
    const nextTicks = { ...ticks };
    const nextPrevious = { ...previous };
    for (const tick of message.data) {
      const old = ticks[tick.symbol];
      if (old && old.price !== tick.price) nextPrevious[tick.symbol] = old.price;
      nextTicks[tick.symbol] = tick;
    }
    set({ ticks: nextTicks, previous: nextPrevious });
  },
  setConnection: (connection) => set({ connection }),
}));
