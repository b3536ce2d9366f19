import { create } from "zustand";
import { api } from "@/api/client";
import type { AccountOut, AgentHistory, StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

export type Range = "all" | "72h" | "24h";
export type Unit = "usd" | "pct";

/** One point of an equity curve: unix seconds and the server's exact decimal string. */
export interface CurvePoint {
  time: number;
  equity: string;
}

export const RANGE_SECONDS: Record<Range, number | null> = { all: null, "72h": 72 * 3600, "24h": 24 * 3600 };
const MAX_POINTS = 600;
const KEPT_POINTS = 5000;

export interface AccountState {
  accounts: Record<string, AccountOut>;
  curves: Record<string, CurvePoint[]>;
  range: Range;
  unit: Unit;
  connection: ConnectionState;
  loaded: boolean;
  error: string | null;
  load: (range?: Range) => Promise<void>;
  setUnit: (unit: Unit) => void;
  apply: (message: StreamMessage<AccountOut>, now?: number) => void;
  setConnection: (connection: ConnectionState) => void;
}

function toCurve(history: AgentHistory): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const point of history.points) {
    const time = Math.floor(Date.parse(point.time) / 1000);
    if (Number.isNaN(time)) continue;
    const last = points.at(-1);
    // lightweight-charts needs strictly increasing times: keep the later of two in one second
    if (last && time <= last.time) points[points.length - 1] = { time: last.time, equity: point.equity };
    else points.push({ time, equity: point.equity });
  }
  return points;
}

/** Appends a live point; a point in the same second as the last replaces it. */
export function appendPoint(curve: CurvePoint[] | undefined, point: CurvePoint): CurvePoint[] {
  const current = curve ?? [];
  const last = current.at(-1);
  if (last && point.time <= last.time) {
    if (last.equity === point.equity) return current;
    return [...current.slice(0, -1), { time: last.time, equity: point.equity }];
  }
  const next = [...current, point];
  return next.length > KEPT_POINTS ? next.slice(next.length - KEPT_POINTS) : next;
}

export const useAccountStore = create<AccountState>((set, get) => ({
  accounts: {},
  curves: {},
  range: "all",
  unit: "usd",
  connection: "connecting",
  loaded: false,
  error: null,
  load: async (range) => {
    const chosen = range ?? get().range;
    const seconds = RANGE_SECONDS[chosen];
    set({ range: chosen });
    try {
      const since = seconds === null ? undefined : new Date(Date.now() - seconds * 1000).toISOString();
      const histories = await api.histories({ since, max_points: MAX_POINTS });
      if (get().range !== chosen) return; // a newer choice is loading
      const curves: Record<string, CurvePoint[]> = {};
      for (const history of histories) curves[history.agent] = toCurve(history);
      set({ curves, loaded: true, error: null });
    } catch (error) {
      set({ error: (error as Error).message, loaded: true });
    }
  },
  setUnit: (unit) => set({ unit }),
  apply: (message, now = Date.now()) => {
    const account = message.data;
    if (message.type === "heartbeat" || !account || typeof account !== "object") return;
    const agent = message.agent ?? account.agent;
    const { accounts, curves } = get();
    set({
      accounts: { ...accounts, [agent]: account },
      curves: { ...curves, [agent]: appendPoint(curves[agent], { time: Math.floor(now / 1000), equity: account.equity }) },
    });
  },
  setConnection: (connection) => set({ connection }),
}));
