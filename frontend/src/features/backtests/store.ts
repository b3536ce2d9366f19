import { create } from "zustand";
import { api, ApiError } from "@/api/client";
import type { AgentHistory, RunOut, Standing } from "@/api/types";

export interface BacktestsState {
  runs: RunOut[];
  loaded: boolean;
  error: string | null;
  selected: string | null;
  standings: Standing[];
  histories: AgentHistory[];
  detailError: string | null;
  loadingDetail: boolean;
  loadRuns: () => Promise<void>;
  select: (runId: string) => Promise<void>;
}

/** The id that names a run's arena: its arena id when it was one entrant of several. */
export function arenaKey(run: RunOut): string {
  return run.arena_id ?? run.run_id;
}

export const useBacktestsStore = create<BacktestsState>((set, get) => ({
  runs: [],
  loaded: false,
  error: null,
  selected: null,
  standings: [],
  histories: [],
  detailError: null,
  loadingDetail: false,
  loadRuns: async () => {
    try {
      set({ runs: await api.runs(), loaded: true, error: null });
    } catch (error) {
      const missing = error instanceof ApiError && error.status === 404;
      set({
        error: missing ? "This server does not list runs (/api/runs); open one by its id below." : (error as Error).message,
        loaded: true,
      });
    }
  },
  select: async (runId) => {
    set({ selected: runId, loadingDetail: true, detailError: null, standings: [], histories: [] });
    try {
      const standings = await api.arenaLeaderboard([runId]);
      const histories = await Promise.all(standings.map((s) => api.backtestHistory(s.run_id)));
      if (get().selected !== runId) return;
      set({ standings, histories, loadingDetail: false });
    } catch (error) {
      if (get().selected !== runId) return;
      set({ detailError: (error as Error).message, loadingDetail: false });
    }
  },
}));
