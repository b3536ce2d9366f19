import { create } from "zustand";
import { api } from "@/api/client";
import type { CycleOut } from "@/api/types";

export type Transcript =
  | { state: "loading" }
  | { state: "loaded"; cycle: CycleOut }
  | { state: "error"; message: string };

export interface ModelChatState {
  transcripts: Record<string, Transcript>;
  open: Record<string, boolean>;
  agentFilter: string | null;
  toggle: (cycleId: string) => Promise<void>;
  setAgentFilter: (agent: string | null) => void;
}

export const useModelChatStore = create<ModelChatState>((set, get) => ({
  transcripts: {},
  open: {},
  agentFilter: null,
  toggle: async (cycleId) => {
    const isOpen = !get().open[cycleId];
    set({ open: { ...get().open, [cycleId]: isOpen } });
    const known = get().transcripts[cycleId];
    if (!isOpen || (known && known.state !== "error")) return;
    set({ transcripts: { ...get().transcripts, [cycleId]: { state: "loading" } } });
    try {
      const cycle = await api.cycle(cycleId);
      set({ transcripts: { ...get().transcripts, [cycleId]: { state: "loaded", cycle } } });
    } catch (error) {
      set({ transcripts: { ...get().transcripts, [cycleId]: { state: "error", message: (error as Error).message } } });
    }
  },
  setAgentFilter: (agentFilter) => set({ agentFilter }),
}));
