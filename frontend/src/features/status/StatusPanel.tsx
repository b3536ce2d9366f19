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
      <div className="border-t border-line">
        <table className="w-full text-left">
          <thead>
            <tr className="text-[10px] tracking-wider text-muted uppercase">
              <th className="px-3 py-1 font-semibold">Agent</th>
              <th className="px-2 py-1 font-semibold">State</th>
              <th className="px-2 py-1 font-semibold">Exchange · recon.</th>
              <th className="px-3 py-1 text-right font-semibold">Cycles</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((agent) => (
              <tr key={agent.name} className="border-t border-line/60" data-testid="status-agent" data-agent={agent.name}>
                <td className="px-3 py-1">
                  <div className="font-semibold">{agent.name}</div>
                  <div className="max-w-[10rem] truncate text-[11px] text-muted" title={agent.model}>
                    {agent.model}
                  </div>
                </td>
                <td className="px-2 py-1">
                  <StateBadge agent={agent} />
                  {agent.state_reason && (
                    <div className="max-w-[10rem] truncate text-[11px] text-muted" title={agent.state_reason}>
                      {agent.state_reason}
                    </div>
                  )}
                </td>
                <td className="px-2 py-1">
                  <div>{agent.exchange}</div>
                  <div className="text-[11px] text-muted" title={agent.reconciled_at ?? undefined}>
                    {agent.reconciliation ?? "—"}
                    {agent.reconciled_at ? ` · ${formatTime(agent.reconciled_at)}` : ""}
                  </div>
                </td>
                <td className="num px-3 py-1 text-right">
                  {agent.cycles}
                  <div className="text-[11px] text-muted">next {formatTime(agent.next_cycle_at)}</div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}
