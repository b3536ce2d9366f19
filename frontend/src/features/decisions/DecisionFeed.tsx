"use client";
import { useMemo, useState } from "react";
import { Empty, ErrorLine } from "@/components/ui/panel";
import { table, tableWrap, td, tdNum, th, thNum } from "@/components/ui/table";
import { formatDecimal, formatMoney, formatPrice, formatTime } from "@/lib/format";
import { ActionBadge, ConfidenceBar, outcomeText, StatusBadge } from "./badges";
import { useDecisionsStore } from "./store";

const STATUSES = ["all", "executed", "rejected", "hold", "failed", "pending"] as const;
type StatusFilter = (typeof STATUSES)[number];

export function DecisionFeed({ limit = 150 }: { limit?: number }) {
  const byId = useDecisionsStore((s) => s.byId);
  const ids = useDecisionsStore((s) => s.ids);
  const loaded = useDecisionsStore((s) => s.loaded);
  const error = useDecisionsStore((s) => s.error);
  const [status, setStatus] = useState<StatusFilter>("all");
  const [agent, setAgent] = useState("all");

  const agents = useMemo(() => [...new Set(ids.map((id) => byId[id]?.agent).filter(Boolean))].sort() as string[], [byId, ids]);
  const rows = useMemo(
    () =>
      ids
        .map((id) => byId[id])
        .filter((d) => d !== undefined)
        .filter((d) => (status === "all" || d.status === status) && (agent === "all" || d.agent === agent))
        .slice(0, limit),
    [byId, ids, status, agent, limit],
  );

  return (
    <div data-testid="panel-decisions">
      <div className="flex flex-wrap items-center gap-2 border-b border-line px-3 py-1.5">
        <label className="flex items-center gap-1 text-muted">
          Agent
          <select value={agent} onChange={(e) => setAgent(e.target.value)} className="h-6 rounded border border-line bg-sunken px-1 text-fg">
            <option value="all">all</option>
            {agents.map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-1 text-muted">
          Outcome
          <select
            value={status}
            onChange={(e) => setStatus(e.target.value as StatusFilter)}
            className="h-6 rounded border border-line bg-sunken px-1 text-fg"
          >
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorLine message={error} />
      <div className={`${tableWrap} h-[32rem] overflow-y-auto`}>
        <table className={table} data-testid="decision-feed">
          <thead className="sticky top-0 bg-panel">
            <tr>
              <th className={th}>Time</th>
              <th className={th}>Agent</th>
              <th className={th}>Symbol</th>
              <th className={th}>Action</th>
              <th className={th}>Outcome</th>
              <th className={th}>Why</th>
              <th className={thNum}>Price</th>
              <th className={thNum}>Qty</th>
              <th className={thNum}>Notional</th>
              <th className={thNum}>Lev</th>
              <th className={th}>Conf.</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} data-testid="decision-row" data-decision-id={d.id} data-updated-at={d.updated_at} className="hover:bg-sunken">
                <td className={`${td} num text-muted`}>{formatTime(d.created_at)}</td>
                <td className={td}>{d.agent}</td>
                <td className={`${td} font-semibold`}>{d.symbol.replace(/USDT$/, "")}</td>
                <td className={td}>
                  <ActionBadge action={d.action} />
                </td>
                <td className={td}>
                  <StatusBadge decision={d} />
                </td>
                <td className={`${td} max-w-[22rem] truncate text-muted`} title={outcomeText(d) || d.reasoning}>
                  {outcomeText(d) || d.reasoning}
                </td>
                <td className={tdNum}>{formatPrice(d.price)}</td>
                <td className={tdNum}>{formatDecimal(d.quantity, 4)}</td>
                <td className={tdNum}>{formatMoney(d.notional)}</td>
                <td className={tdNum}>{d.leverage ? `${d.leverage}×` : "—"}</td>
                <td className={td}>
                  <ConfidenceBar value={d.confidence} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loaded && rows.length === 0 && !error && <Empty>No decisions yet: the first cycle is on its way.</Empty>}
    </div>
  );
}
