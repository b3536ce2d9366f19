"use client";
import { useMemo } from "react";
import type { AgentOut } from "@/api/types";
import { Badge, type BadgeTone } from "@/components/ui/controls";
import { ConnectionDot } from "@/components/ui/connection-dot";
import { ErrorLine, Panel } from "@/components/ui/panel";
import { formatDuration, formatTime } from "@/lib/format";
import { useDecisionsStore } from "@/features/decisions/store";
import { useAccountStore } from "@/features/equity-chart/store";
import { usePositionsStore } from "@/features/positions/store";
import { useMarketStore } from "@/features/ticker/store";
import { agentList, useStatusStore } from "./store";

export const STATE_TONES: Record<string, BadgeTone> = {
  running: "up",
  starting: "accent",
  paused: "warn",
  stopping: "warn",
  stopped: "muted",
  halted: "down",
};

export function StateBadge({ agent }: { agent: Pick<AgentOut, "state" | "state_reason"> }) {
  return (
    <Badge tone={STATE_TONES[agent.state] ?? "muted"} title={agent.state_reason ?? undefined}>
      {agent.state}
    </Badge>
  );
}

export function StreamStates() {
  const status = useStatusStore((s) => s.connection);
  const market = useMarketStore((s) => s.connection);
  const decisions = useDecisionsStore((s) => s.connection);
  const positions = usePositionsStore((s) => s.connection);
  const account = useAccountStore((s) => s.connection);
  const all = { status, market, decisions, positions, account };
  return (
    <ul className="flex flex-wrap gap-x-3 gap-y-1" data-testid="stream-states">
      {Object.entries(all).map(([name, state]) => (
        <li key={name} data-stream={name} data-state={state}>
          <ConnectionDot state={state} label={name} />
        </li>
      ))}
    </ul>
  );
}

export function StatusPanel() {
  const status = useStatusStore((s) => s.status);
  const error = useStatusStore((s) => s.error);
  const agentState = useStatusStore((s) => s.agents);
  const names = useStatusStore((s) => s.names);
  const agents = useMemo(() => agentList(agentState, names), [agentState, names]);
  const ticks = useMarketStore((s) => s.ticks);
  const symbols = status?.symbols ?? Object.keys(ticks);

  return (
    <Panel title="System" testId="panel-status">
      <ErrorLine message={error} />
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 px-3 py-2">
        <dt className="text-muted">Environment</dt>
        <dd>
          <Badge tone={status?.environment === "production" ? "down" : status?.environment === "testnet" ? "warn" : "accent"}>
            {status?.environment ?? "…"}
          </Badge>
        </dd>
        <dt className="text-muted">Market</dt>
        <dd className="flex flex-wrap items-center gap-1.5">
          <span>{status?.market_source ?? "…"}</span>
          {status?.simulated_market && <Badge tone="warn">simulated</Badge>}
        </dd>
        <dt className="text-muted">Data</dt>
        <dd className="flex flex-wrap gap-x-2">
          {symbols.map((symbol) => {
            const tick = ticks[symbol];
            return (
              <span key={symbol} className={tick?.fresh === false ? "text-warn" : ""} title={tick?.last_update ?? undefined}>
                {symbol.replace(/USDT$/, "")} {tick ? (tick.fresh ? "fresh" : "stale") : "…"}
              </span>
            );
          })}
        </dd>
        <dt className="text-muted">Uptime</dt>
        <dd className="num">{formatDuration(status?.uptime_seconds)}</dd>
        <dt className="text-muted">Streams</dt>
        <dd>
          <StreamStates />
        </dd>
      </dl>
      <ul className="divide-y divide-line/60 border-t border-line">
        {agents.map((agent) => (
          <li
            key={agent.name}
            className="grid min-w-0 grid-cols-[minmax(0,1fr)_auto] gap-x-2 px-3 py-1.5"
            data-testid="status-agent"
            data-agent={agent.name}
          >
            <div className="flex min-w-0 items-center gap-2">
              <span className="font-semibold">{agent.name}</span>
              <StateBadge agent={agent} />
              <span className="truncate text-[11px] text-muted" title={agent.model}>
                {agent.model}
              </span>
            </div>
            <div className="num text-right text-muted">
              {agent.cycles} cycles{agent.missed_cycles > 0 ? ` · ${agent.missed_cycles} missed` : ""}
            </div>
            <div
              className={`col-span-2 truncate text-[11px] ${agent.last_cycle?.error ? "text-down" : "text-muted"}`}
              title={agent.last_cycle?.error ?? agent.last_cycle?.outcome}
              data-testid="model-health"
            >
              model {agent.last_cycle?.error ? `error: ${agent.last_cycle.error}` : agent.last_cycle ? `ok · ${agent.last_cycle.outcome}` : "waiting for the first cycle"}
            </div>
            <div className="col-span-2 truncate text-[11px] text-muted" title={agent.reconciliation ?? undefined}>
              {agent.state_reason ? <span className="text-warn">{agent.state_reason} · </span> : null}
              {agent.exchange} · reconciled {agent.reconciled_at ? formatTime(agent.reconciled_at) : "—"}
              {agent.reconciliation ? ` (${agent.reconciliation})` : ""} · next cycle {formatTime(agent.next_cycle_at)}
            </div>
          </li>
        ))}
      </ul>
    </Panel>
  );
}
