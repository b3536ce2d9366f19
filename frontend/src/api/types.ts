// Names for the API's shapes, as the dashboard uses them.
import type { components } from "./schema";

export type AgentState = "starting" | "running" | "paused" | "halted" | "stopping" | "stopped";
export type Action = "open_long" | "open_short" | "close" | "hold";
export type DecisionStatus = "pending" | "hold" | "executed" | "rejected" | "failed";

type Schemas = components["schemas"];

// Generated from the server's OpenAPI schema (`npm run gen:api`): a backend change that breaks
// the dashboard fails `tsc`.
export type CycleSummary = Schemas["CycleSummary"];
export type AgentOut = Schemas["AgentOut"];
export type LeaderboardRow = Schemas["LeaderboardRow"];
export type MarketTick = Schemas["SymbolData"];
export type StatusOut = Schemas["StatusResponse"];
export type DecisionOut = Schemas["DecisionOut"];
export type DecisionPage = Schemas["DecisionPage"];
export type ToolCall = Schemas["ToolCallOut"];
export type MessageOut = Schemas["ChatMessage"];
export type CycleOut = Schemas["CycleDetail"];
export type PositionOut = Schemas["PositionOut"];
export type AccountOut = Schemas["AccountOut"];
export type EquityPoint = Schemas["EquityPoint"];
export type AgentHistory = Schemas["AccountHistory"];
export type TradeOut = Schemas["TradeOut"];
export type ControlOne = Schemas["ControlResult"];
export type ControlAll = Schemas["ArenaControlResult"];
export type Standing = Schemas["Standing"];

export type RunOut = Schemas["RunOut"];

export type StreamKind = "snapshot" | "update" | "heartbeat";

export interface StreamMessage<T> {
  type: StreamKind;
  topic?: string;
  agent?: string | null;
  data?: T;
  missed?: number;
}
