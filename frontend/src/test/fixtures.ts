// Payloads shaped like the API's (contract and OpenAPI schema), for store and panel tests.
import type { AccountOut, AgentOut, CycleOut, DecisionOut, LeaderboardRow, PositionOut, StatusOut } from "@/api/types";

export function agent(overrides: Partial<AgentOut> = {}): AgentOut {
  return {
    name: "trend",
    run_id: "live-trend",
    provider: "rules",
    model: "rules-v1",
    state: "running",
    state_reason: null,
    exchange: "paper",
    equity: "10012.35",
    starting_balance: "10000",
    total_return: 0.001235,
    open_positions: 1,
    cycles: 12,
    missed_cycles: 0,
    last_cycle: null,
    next_cycle_at: "2026-12-05T15:00:15Z",
    reconciliation: "at start: 0 orders settled",
    reconciled_at: "2026-12-05T14:00:00Z",
    ...overrides,
  };
}

let nextId = 1;
export function decision(overrides: Partial<DecisionOut> = {}): DecisionOut {
  const id = overrides.id ?? nextId++;
  return {
    id,
    agent: "trend",
    cycle_id: "live-trend-1",
    created_at: "2026-12-05T15:00:00Z",
    updated_at: "2026-12-05T15:00:00Z",
    symbol: "BTCUSDT",
    action: "hold",
    status: "hold",
    status_reason: null,
    rejection_rule: null,
    price: "95012.3",
    quantity: null,
    notional: null,
    leverage: null,
    stop_loss: null,
    take_profit: null,
    invalidation_condition: null,
    confidence: 0.6,
    risk_usd: null,
    reasoning: "EMA20 above EMA50 on 4h but RSI is flat: wait.",
    model: "rules-v1",
    ...overrides,
  };
}

export function position(overrides: Partial<PositionOut> = {}): PositionOut {
  return {
    agent: "trend",
    symbol: "BTCUSDT",
    side: "long",
    quantity: "0.037",
    entry_price: "94037.90",
    mark_price: "94190.6",
    notional: "3485.0522",
    unrealized_pnl: "5.64990000",
    leverage: 3,
    margin_type: "CROSSED",
    margin: "1161.68",
    liquidation_price: "62349.80",
    stop_loss: "92000",
    take_profit: "98000",
    invalidation_condition: "4h close below EMA50",
    ...overrides,
  };
}

export function account(overrides: Partial<AccountOut> = {}): AccountOut {
  return {
    agent: "trend",
    asset: "USDT",
    equity: "10012.35",
    wallet_balance: "10006.70",
    available_balance: "8800.00",
    unrealized_pnl: "5.65",
    margin_used: "1161.68",
    open_positions: 1,
    ...overrides,
  };
}

export function row(overrides: Partial<LeaderboardRow> = {}): LeaderboardRow {
  return {
    rank: 1,
    agent: "trend",
    model: "rules-v1",
    provider: "rules",
    account_value: "10012.35",
    total_return: 0.001235,
    realized_pnl: "6.70",
    unrealized_pnl: "5.65",
    fees: "1.74",
    win_rate: 0.5,
    biggest_win: "10.00",
    biggest_loss: "-3.30",
    sharpe: 1.2,
    max_drawdown: 0.004,
    trades: 2,
    average_hold_seconds: 360,
    input_tokens: 1200,
    output_tokens: 300,
    cost_usd: "0",
    model_errors: 0,
    ...overrides,
  };
}

export function status(overrides: Partial<StatusOut> = {}): StatusOut {
  return {
    state: "running",
    state_reason: null,
    exchange: "paper",
    provider: "rules",
    model: "rules-v1",
    cycle_seconds: 2,
    cycles: 12,
    missed_cycles: 0,
    last_cycle: null,
    next_cycle_at: null,
    reconciliation: null,
    reconciled_at: null,
    environment: "paper",
    market_source: "simulated",
    simulated_market: true,
    notice: "SIMULATED MARKET: prices are synthetic, not Binance's",
    symbols: ["BTCUSDT", "ETHUSDT"],
    market_data: [
      { symbol: "BTCUSDT", price: 95012.3, last_update: "2026-12-05T15:00:00Z", fresh: true },
      { symbol: "ETHUSDT", price: 3401.5, last_update: "2026-12-05T15:00:00Z", fresh: false },
    ],
    started_at: "2026-12-05T14:00:00Z",
    uptime_seconds: 3600,
    agents: [agent(), agent({ name: "hodl", run_id: "live-hodl", provider: "buy_and_hold", model: "buy-and-hold" })],
    ...overrides,
  };
}

export function cycle(overrides: Partial<CycleOut> = {}): CycleOut {
  return {
    id: "live-trend-1",
    agent: "trend",
    started_at: "2026-12-05T15:00:00Z",
    model: "rules-v1",
    prompt_hash: null,
    input_tokens: 1834,
    output_tokens: 212,
    latency_ms: 840,
    cost_usd: "0.0012",
    error: null,
    messages: [
      { role: "system", content: "You trade perpetuals.", tool_calls: [], tool_call_id: null, name: null },
      { role: "user", content: "BTCUSDT price 95012.3 ...", tool_calls: [], tool_call_id: null, name: null },
      {
        role: "assistant",
        content: "",
        tool_calls: [{ id: "c1", name: "get_indicators", args: { symbol: "BTCUSDT" } }],
        tool_call_id: null,
        name: null,
      },
      { role: "tool", content: '{"rsi14": 51.2}', tool_calls: [], tool_call_id: "c1", name: "get_indicators" },
      { role: "assistant", content: "Holding BTC.", tool_calls: [], tool_call_id: null, name: null },
    ],
    decisions: [],
    ...overrides,
  };
}

/** A fetch stub answering by path: `routes["/api/leaderboard"] = body` (or a function). */
export function stubFetch(routes: Record<string, unknown | ((url: URL, init?: RequestInit) => Response)>) {
  const calls: { url: URL; init?: RequestInit }[] = [];
  const fetchStub = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
    // openapi-fetch hands over a Request; plain calls a string and an init.
    const request = typeof input === "object" && "url" in input ? input : null;
    const url = new URL(request ? request.url : String(input), "http://dashboard.test");
    const headers: Record<string, string> = {};
    new Headers(request ? request.headers : init?.headers).forEach((value, key) => {
      headers[key === "authorization" ? "Authorization" : key] = value;
    });
    calls.push({ url, init: { method: request?.method ?? init?.method ?? "GET", headers } });
    const route = routes[url.pathname];
    if (route === undefined) {
      return new Response(JSON.stringify({ error: { code: "not_found", message: "Not Found" } }), { status: 404 });
    }
    if (typeof route === "function") return (route as (u: URL, i?: RequestInit) => Response)(url, init);
    return new Response(JSON.stringify(route), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  vi.stubGlobal("fetch", fetchStub);
  return calls;
}
