// The dashboard's REST calls, one function per endpoint. Requests carry the session's token
// when there is one; a 401 asks the user for it.
import { currentToken, useAuthStore } from "@/lib/auth";
import { apiBase } from "@/lib/origin";
import type {
  AccountOut,
  AgentHistory,
  CycleOut,
  ControlAll,
  ControlOne,
  DecisionPage,
  LeaderboardRow,
  PositionOut,
  RunOut,
  Standing,
  StatusOut,
  TradeOut,
} from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

type Query = Record<string, string | number | boolean | null | undefined>;

function url(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const search = params.toString();
  return `${apiBase()}${path}${search ? `?${search}` : ""}`;
}

async function request<T>(method: "GET" | "POST", path: string, query?: Query): Promise<T> {
  const token = currentToken();
  const response = await fetch(url(path, query), {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    cache: "no-store",
  });
  if (!response.ok) {
    if (response.status === 401) useAuthStore.getState().refused();
    let message = `${response.status} ${response.statusText}`;
    try {
      // The API's errors are {"error": {"code", "message", "details"}}.
      const body = (await response.json()) as { error?: { message?: unknown }; detail?: unknown };
      const detail = body.error?.message ?? body.detail;
      if (typeof detail === "string") message = detail;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message);
  }
  return (await response.json()) as T;
}

export const api = {
  status: () => request<StatusOut>("GET", "/api/status"),
  leaderboard: () => request<LeaderboardRow[]>("GET", "/api/leaderboard"),
  decisions: (query: { agent?: string; limit?: number; before_id?: number } = {}) =>
    request<DecisionPage>("GET", "/api/decisions", query),
  cycle: (id: string) => request<CycleOut>("GET", `/api/cycles/${encodeURIComponent(id)}`),
  positions: () => request<PositionOut[]>("GET", "/api/positions"),
  account: (agent?: string) => request<AccountOut>("GET", "/api/account", { agent }),
  histories: (query: { since?: string; max_points?: number } = {}) =>
    request<AgentHistory[]>("GET", "/api/account/histories", query),
  trades: (query: { agent?: string; limit?: number } = {}) =>
    request<TradeOut[]>("GET", "/api/trades", query),
  runs: () => request<RunOut[]>("GET", "/api/runs"),
  arenaLeaderboard: (runId: string) =>
    request<Standing[]>("GET", "/api/arena/leaderboard", { run_id: runId }),
  backtestHistory: (runId: string, maxPoints = 400) =>
    request<AgentHistory>("GET", `/api/backtests/${encodeURIComponent(runId)}/history`, {
      max_points: maxPoints,
    }),
  control: (agent: string | null, action: ControlAction) => {
    const verb = action === "stop_close" ? "stop" : action;
    const query = action === "stop_close" ? { close_positions: true } : {};
    return agent === null
      ? request<ControlAll>("POST", `/api/agent/${verb}`, query)
      : request<ControlOne>("POST", `/api/agents/${encodeURIComponent(agent)}/${verb}`, query);
  },
};

export type ControlAction = "start" | "stop" | "stop_close" | "kill";
