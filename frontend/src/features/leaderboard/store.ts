import { create } from "zustand";
import { api } from "@/api/client";
import type { LeaderboardRow } from "@/api/types";

export type SortKey = Exclude<keyof LeaderboardRow, "provider">;
export type SortDir = "asc" | "desc";

export interface LeaderboardState {
  rows: LeaderboardRow[];
  sortKey: SortKey;
  sortDir: SortDir;
  loaded: boolean;
  error: string | null;
  load: () => Promise<void>;
  sortBy: (key: SortKey) => void;
}

export const useLeaderboardStore = create<LeaderboardState>((set, get) => ({
  rows: [],
  sortKey: "rank",
  sortDir: "asc",
  loaded: false,
  error: null,
  load: async () => {
    try {
      set({ rows: await api.leaderboard(), loaded: true, error: null });
    } catch (error) {
      set({ error: (error as Error).message, loaded: true });
    }
  },
  sortBy: (key) => {
    const { sortKey, sortDir } = get();
    if (key === sortKey) set({ sortDir: sortDir === "asc" ? "desc" : "asc" });
    else set({ sortKey: key, sortDir: key === "rank" || key === "agent" || key === "model" ? "asc" : "desc" });
  },
}));

/** Compares decimal strings exactly (sign, then digits), so money columns sort without floats. */
export function compareDecimal(a: string, b: string): number {
  const parse = (v: string) => {
    const negative = v.trim().startsWith("-");
    const [whole = "0", fraction = ""] = v.trim().replace(/^[+-]/, "").split(".");
    return { negative, whole: whole.replace(/^0+(?=\d)/, ""), fraction: fraction.replace(/0+$/, "") };
  };
  const x = parse(a);
  const y = parse(b);
  const zero = (p: typeof x) => /^0*$/.test(p.whole + p.fraction);
  const sx = zero(x) ? 0 : x.negative ? -1 : 1;
  const sy = zero(y) ? 0 : y.negative ? -1 : 1;
  if (sx !== sy) return sx - sy;
  let magnitude =
    x.whole.length !== y.whole.length ? x.whole.length - y.whole.length : x.whole.localeCompare(y.whole);
  if (magnitude === 0) {
    const width = Math.max(x.fraction.length, y.fraction.length);
    magnitude = x.fraction.padEnd(width, "0").localeCompare(y.fraction.padEnd(width, "0"));
  }
  return sx < 0 ? -magnitude : magnitude;
}

function compareValues(a: unknown, b: unknown): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") {
    return /^[+-]?\d+(\.\d+)?$/.test(a) && /^[+-]?\d+(\.\d+)?$/.test(b) ? compareDecimal(a, b) : a.localeCompare(b);
  }
  return 0;
}

/** The rows sorted by a column; missing values always last. */
export function sortRows(rows: LeaderboardRow[], key: SortKey, dir: SortDir): LeaderboardRow[] {
  return [...rows].sort((a, b) => {
    const av = a[key];
    const bv = b[key];
    if (av === null || av === undefined || bv === null || bv === undefined) return compareValues(av, bv);
    const order = compareValues(av, bv);
    return (dir === "asc" ? order : -order) || a.rank - b.rank;
  });
}
