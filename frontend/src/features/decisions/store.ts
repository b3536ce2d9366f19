import { create } from "zustand";
import { api } from "@/api/client";
import type { DecisionOut, StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

/** How many decisions the browser keeps; older ones are a REST page away. */
export const KEPT = 400;

export interface DecisionsState {
  byId: Record<number, DecisionOut>;
  /** Ids, newest first. */
  ids: number[];
  connection: ConnectionState;
  loaded: boolean;
  error: string | null;
  /** performance.now() of the last stream update that changed something (for the benchmark). */
  lastUpdateAt: number;
  load: () => Promise<void>;
  apply: (message: StreamMessage<DecisionOut[]>) => void;
  upsert: (rows: DecisionOut[]) => void;
  setConnection: (connection: ConnectionState) => void;
}

export const useDecisionsStore = create<DecisionsState>((set, get) => ({
  byId: {},
  ids: [],
  connection: "connecting",
  loaded: false,
  error: null,
  lastUpdateAt: 0,
  load: async () => {
    try {
      const page = await api.decisions({ limit: 200 });
      get().upsert(page.items);
      set({ loaded: true, error: null });
    } catch (error) {
      set({ error: (error as Error).message, loaded: true });
    }
  },
  apply: (message) => {
    if (message.type === "heartbeat" || !Array.isArray(message.data)) return;
    get().upsert(message.data);
    // This client fell behind and the server skipped updates: fill the gap from history.
    if (message.missed) void get().load();
    set({ lastUpdateAt: typeof performance !== "undefined" ? performance.now() : Date.now() });
  },
  upsert: (rows) => {
    if (rows.length === 0) return;
    const byId = { ...get().byId };
    for (const row of rows) byId[row.id] = row;
    const ids = Object.keys(byId)
      .map(Number)
      .sort((a, b) => b - a);
    for (const dropped of ids.splice(KEPT)) delete byId[dropped];
    set({ byId, ids });
  },
  setConnection: (connection) => set({ connection }),
}));

export interface CycleGroup {
  cycleId: string | null;
  agent: string;
  model: string | null;
  createdAt: string;
  decisions: DecisionOut[];
}

/** Decisions grouped by cycle, newest cycle first, symbols in a stable order. */
export function groupByCycle(byId: Record<number, DecisionOut>, ids: number[]): CycleGroup[] {
  const groups = new Map<string, CycleGroup>();
  for (const id of ids) {
    const row = byId[id];
    if (!row) continue;
    const key = row.cycle_id === null ? `d${row.id}` : `${row.agent}:${row.cycle_id}`;
    let group = groups.get(key);
    if (!group) {
      group = { cycleId: row.cycle_id, agent: row.agent, model: row.model, createdAt: row.created_at, decisions: [] };
      groups.set(key, group);
    }
    group.decisions.push(row);
  }
  for (const group of groups.values()) group.decisions.sort((a, b) => a.symbol.localeCompare(b.symbol));
  return [...groups.values()];
}
