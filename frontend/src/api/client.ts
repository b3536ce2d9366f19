// The dashboard's REST calls, typed by the generated schema through openapi-fetch. Requests
// carry the session's token when there is one; a 401 asks the user for it.
import createClient, { type Middleware } from "openapi-fetch";
import { currentToken, useAuthStore } from "@/lib/auth";
import { apiBase } from "@/lib/origin";
import type { paths } from "./schema";
import type { ControlAll, ControlOne } from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = currentToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) useAuthStore.getState().refused();
    return response;
  },
};

function client() {
  // Built per call: tests stub the global fetch, and openapi-fetch binds it at creation.
  const instance = createClient<paths>({ baseUrl: apiBase() || globalThis.location?.origin, fetch: (r) => globalThis.fetch(r) });
  instance.use(auth);
  return instance;
}

/** The API's errors are {"error": {"code", "message", "details"}}. */
function messageOf(error: unknown, response: Response): string {
  const body = error as { error?: { message?: unknown }; detail?: unknown } | undefined;
  const message = body?.error?.message ?? body?.detail;
  return typeof message === "string" ? message : `${response.status} ${response.statusText}`;
}

async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || data === undefined) throw new ApiError(response.status, messageOf(error, response));
  return data;
}

export type ControlAction = "start" | "stop" | "stop_close" | "kill";

export const api = {
  status: () => unwrap(client().GET("/api/status")),
  leaderboard: () => unwrap(client().GET("/api/leaderboard")),
  decisions: (query: { agent?: string; limit?: number; before_id?: number } = {}) =>
    unwrap(client().GET("/api/decisions", { params: { query } })),
  cycle: (id: string) => unwrap(client().GET("/api/cycles/{cycle_id}", { params: { path: { cycle_id: id } } })),
  positions: () => unwrap(client().GET("/api/positions")),
  histories: (query: { since?: string; max_points?: number } = {}) =>
    unwrap(client().GET("/api/account/histories", { params: { query } })),
  trades: (query: { agent?: string; limit?: number } = {}) => unwrap(client().GET("/api/trades", { params: { query } })),
  arenaLeaderboard: (runIds: string[]) =>
    unwrap(client().GET("/api/arena/leaderboard", { params: { query: { run_id: runIds } } })),
  runs: () => unwrap(client().GET("/api/runs")),
  backtestHistory: (runId: string, maxPoints = 400) =>
    unwrap(
      client().GET("/api/backtests/{run_id}/history", {
        params: { path: { run_id: runId }, query: { max_points: maxPoints } },
      }),
    ),
  control: (agent: string | null, action: ControlAction): Promise<ControlOne | ControlAll> => {
    const closing = action === "stop_close";
    const c = client();
    if (agent === null) {
      if (action === "start") return unwrap(c.POST("/api/agent/start"));
      if (action === "kill") return unwrap(c.POST("/api/agent/kill"));
      return unwrap(c.POST("/api/agent/stop", { params: { query: { close_positions: closing } } }));
    }
    const path = { name: agent };
    if (action === "start") return unwrap(c.POST("/api/agents/{name}/start", { params: { path } }));
    if (action === "kill") return unwrap(c.POST("/api/agents/{name}/kill", { params: { path } }));
    return unwrap(c.POST("/api/agents/{name}/stop", { params: { path, query: { close_positions: closing } } }));
  },
};
