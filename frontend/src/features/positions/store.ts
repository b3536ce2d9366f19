import { create } from "zustand";
import { api } from "@/api/client";
import type { PositionOut, StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

export interface PositionsState {
  byAgent: Record<string, PositionOut[]>;
  connection: ConnectionState;
  loaded: boolean;
  error: string | null;
  revision: number;
  load: () => Promise<void>;
  apply: (message: StreamMessage<PositionOut[]>) => void;
  setConnection: (connection: ConnectionState) => void;
}

function groupByAgent(rows: PositionOut[]): Record<string, PositionOut[]> {
  const out: Record<string, PositionOut[]> = {};
  for (const row of rows) (out[row.agent] ??= []).push(row);
  return out;
}

export const usePositionsStore = create<PositionsState>((set, get) => ({
  byAgent: {},
  connection: "connecting",
  loaded: false,
  error: null,
  revision: 0,
  load: async () => {
    try {
      const rows = await api.positions();
      set({ byAgent: { ...groupByAgent(rows), ...get().byAgent }, loaded: true, error: null });
    } catch (error) {
      set({ error: (error as Error).message, loaded: true });
    }
  },
  apply: (message) => {
    if (message.type === "heartbeat" || !Array.isArray(message.data)) return;
    // Each message is one agent's full position list: it replaces what that agent had.
    const rows = message.data;
    const agents = message.agent ? [message.agent] : Object.keys(groupByAgent(rows));
    const byAgent = { ...get().byAgent };
    const grouped = groupByAgent(rows);
    for (const agent of agents) byAgent[agent] = grouped[agent] ?? [];
    if (message.agent && rows.length === 0) byAgent[message.agent] = [];
    set({ byAgent, loaded: true, revision: get().revision + 1 });
  },
  setConnection: (connection) => set({ connection }),
}));

/** Every agent's positions in one list, agents in name order (memoize on `byAgent`). */
export function allPositions(byAgent: Record<string, PositionOut[]>): PositionOut[] {
  return Object.keys(byAgent)
    .sort()
    .flatMap((agent) => byAgent[agent] ?? []);
}
