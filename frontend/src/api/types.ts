// Names for the API's shapes. Until the arena API lands these follow the written contract;
// afterwards they are aliases of the generated `schema.d.ts` (the OpenAPI schema wins).

export type AgentState = "starting" | "running" | "paused" | "halted" | "stopping" | "stopped";
export type Action = "open_long" | "open_short" | "close" | "hold";
export type DecisionStatus = "pending" | "hold" | "executed" | "rejected" | "failed";

export interface CycleSummary {
  id?: number;
  started_at?: string;
  [key: string]: unknown;
}

export interface AgentOut {
  name: string;
  run_id: string;
  provider: string;
  model: string;
  state: AgentState | string;
  state_reason: string | null;
  exchange: string;
  equity: string | null;
  starting_balance: string;
  total_return: number | null;
  open_positions: number;
  cycles: number;
  last_cycle: CycleSummary | null;
  next_cycle_at: string | null;
  reconciliation: string | null;
  reconciled_at: string | null;
}

export interface LeaderboardRow {
  rank: number;
  agent: string;
  model: string;
  provider: string;
  account_value: string;
  total_return: number | null;
  realized_pnl: string;
  unrealized_pnl: string;
  fees: string;
  win_rate: number | null;
  biggest_win: string | null;
  biggest_loss: string | null;
  sharpe: number | null;
  max_drawdown: number | null;
  trades: number;
  average_hold_seconds: number | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: string;
  model_errors: number;
}

export interface MarketTick {
  symbol: string;
  price: number | null;
  last_update: string | null;
  fresh: boolean;
}

export interface StatusOut {
  environment: string;
  market_source: string;
  simulated_market: boolean;
  notice: string | null;
  symbols: string[];
  market_data: MarketTick[];
  started_at: string;
  uptime_seconds: number;
  exchange?: string;
  reconciliation?: string | null;
  agents: AgentOut[];
}

export interface DecisionOut {
  id: number;
  agent: string;
  cycle_id: string | null;
  created_at: string;
  updated_at: string;
  symbol: string;
  action: Action | string;
  status: DecisionStatus | string;
  status_reason: string | null;
  rejection_rule: string | null;
  price: string | null;
  quantity: string | null;
  notional: string | null;
  leverage: number | null;
  stop_loss: string | null;
  take_profit: string | null;
  invalidation_condition: string | null;
  confidence: number;
  risk_usd: string | null;
  reasoning: string;
  model: string | null;
}

export interface DecisionPage {
  items: DecisionOut[];
  next_before_id: number | null;
}

export interface ToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

export interface MessageOut {
  role: "system" | "user" | "assistant" | "tool" | string;
  content: string;
  tool_calls: ToolCall[];
  tool_call_id: string | null;
  name: string | null;
}

export interface CycleOut {
  id: string;
  agent: string;
  started_at: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
  cost_usd: string;
  error: string | null;
  messages: MessageOut[];
  decisions: DecisionOut[];
}

export interface PositionOut {
  agent: string;
  symbol: string;
  side: "long" | "short" | string;
  quantity: string;
  entry_price: string;
  mark_price: string;
  notional: string;
  unrealized_pnl: string;
  leverage: number;
  margin_type: string;
  margin: string;
  liquidation_price: string | null;
  stop_loss: string | null;
  take_profit: string | null;
  invalidation_condition: string | null;
}

export interface AccountOut {
  agent: string;
  asset: string;
  equity: string;
  wallet_balance: string;
  available_balance: string;
  unrealized_pnl: string;
  margin_used: string;
  open_positions: number;
}

export interface EquityPoint {
  time: string;
  equity: string;
  wallet_balance: string;
  unrealized_pnl: string;
}

export interface AgentHistory {
  agent: string;
  points: EquityPoint[];
  total_points: number;
}

export interface TradeOut {
  agent: string;
  symbol: string;
  side: string;
  opened_at: string;
  closed_at: string;
  quantity: string;
  entry_price: string;
  exit_price: string;
  gross_pnl: string;
  fees: string;
  net_pnl: string;
  hold_seconds: number;
}

export interface ControlOne {
  agent: string;
  changed: boolean;
  state: string;
  reason: string | null;
}

export interface ControlAll {
  changed: boolean;
  agents: ControlOne[];
}

export interface RunOut {
  run_id: string;
  kind: "backtest" | "arena" | string;
  arena_id: string | null;
  name: string;
  model: string;
  started_at: string;
  finished_at: string | null;
  cycles: number;
  total_return: number | null;
  end_equity: string | null;
  model_errors: number;
}

export interface Standing {
  name: string;
  model: string;
  run_id: string;
  total_return: number | null;
  sharpe: number | null;
  max_drawdown: number | null;
  win_rate: number | null;
  fees: string;
  trades: number;
  cost_usd: string;
  end_equity: string;
  model_errors: number;
}

export type StreamKind = "snapshot" | "update" | "heartbeat";

export interface StreamMessage<T> {
  type: StreamKind;
  topic?: string;
  agent?: string | null;
  data?: T;
  missed?: number;
}
