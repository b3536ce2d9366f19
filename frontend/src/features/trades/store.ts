import { create } from "zustand";
import { api } from "@/api/client";
import type { TradeOut } from "@/api/types";

export interface TradesState {
  trades: TradeOut[];
  loaded: boolean;
  error: string | null;
  load: () => Promise<void>;
}

export const useTradesStore = create<TradesState>((set) => ({
  trades: [],
  loaded: false,
  error: null,
  load: async () => {
    try {
      set({ trades: await api.trades({ limit: 100 }), loaded: true, error: null });
    } catch (error) {
      set({ error: (error as Error).message, loaded: true });
    }
  },
}));
