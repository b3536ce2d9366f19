"use client";
import { useMemo, type ReactNode } from "react";
import type { LeaderboardRow } from "@/api/types";
import { Empty, ErrorLine, Panel } from "@/components/ui/panel";
import { table, tableWrap, td, tdNum, th, thNum } from "@/components/ui/table";
import { agentColor } from "@/lib/agent-colors";
import {
  formatDuration,
  formatInt,
  formatMoney,
  formatNumber,
  formatPct,
  formatSignedMoney,
  pnlClass,
} from "@/lib/format";
import { useStatusStore } from "@/features/status/store";
import { sortRows, useLeaderboardStore, type SortKey } from "./store";

interface Column {
  key: SortKey;
  label: string;
  numeric: boolean;
  render: (row: LeaderboardRow) => ReactNode;
}

export const COLUMNS: readonly Column[] = [
  { key: "rank", label: "#", numeric: true, render: (r) => r.rank },
  { key: "agent", label: "Agent", numeric: false, render: (r) => r.agent },
  { key: "model", label: "Model", numeric: false, render: (r) => <span className="text-muted">{r.model}</span> },
  { key: "account_value", label: "Acct value", numeric: true, render: (r) => formatMoney(r.account_value) },
  {
    key: "total_return",
    label: "Return",
    numeric: true,
    render: (r) => <span className={pnlClass(r.total_return)}>{formatPct(r.total_return)}</span>,
  },
  {
    key: "realized_pnl",
    label: "Realized",
    numeric: true,
    render: (r) => <span className={pnlClass(r.realized_pnl)}>{formatSignedMoney(r.realized_pnl)}</span>,
  },
  {
    key: "unrealized_pnl",
    label: "Unrealized",
    numeric: true,
    render: (r) => <span className={pnlClass(r.unrealized_pnl)}>{formatSignedMoney(r.unrealized_pnl)}</span>,
  },
  { key: "fees", label: "Fees", numeric: true, render: (r) => formatMoney(r.fees) },
  { key: "win_rate", label: "Win rate", numeric: true, render: (r) => formatPct(r.win_rate, 1, false) },
  { key: "biggest_win", label: "Best", numeric: true, render: (r) => formatSignedMoney(r.biggest_win) },
  { key: "biggest_loss", label: "Worst", numeric: true, render: (r) => formatSignedMoney(r.biggest_loss) },
  { key: "sharpe", label: "Sharpe", numeric: true, render: (r) => formatNumber(r.sharpe) },
  { key: "max_drawdown", label: "Max DD", numeric: true, render: (r) => formatPct(r.max_drawdown, 2, false) },
  { key: "trades", label: "Trades", numeric: true, render: (r) => r.trades },
  { key: "average_hold_seconds", label: "Avg hold", numeric: true, render: (r) => formatDuration(r.average_hold_seconds) },
  { key: "input_tokens", label: "Tok in", numeric: true, render: (r) => formatInt(r.input_tokens) },
  { key: "output_tokens", label: "Tok out", numeric: true, render: (r) => formatInt(r.output_tokens) },
  { key: "cost_usd", label: "Cost", numeric: true, render: (r) => formatMoney(r.cost_usd, 4) },
  {
    key: "model_errors",
    label: "Errors",
    numeric: true,
    render: (r) => <span className={r.model_errors > 0 ? "text-warn" : "text-muted"}>{r.model_errors}</span>,
  },
];

export function Leaderboard() {
  const rows = useLeaderboardStore((s) => s.rows);
  const sortKey = useLeaderboardStore((s) => s.sortKey);
  const sortDir = useLeaderboardStore((s) => s.sortDir);
  const sortBy = useLeaderboardStore((s) => s.sortBy);
  const loaded = useLeaderboardStore((s) => s.loaded);
  const error = useLeaderboardStore((s) => s.error);
  const names = useStatusStore((s) => s.names);
  const sorted = useMemo(() => sortRows(rows, sortKey, sortDir), [rows, sortKey, sortDir]);

  return (
    <Panel title="Leaderboard" testId="panel-leaderboard">
      <ErrorLine message={error} />
      <div className={tableWrap}>
        <table className={table} data-testid="leaderboard">
          <thead>
            <tr>
              {COLUMNS.map((column) => (
                <th
                  key={column.key}
                  className={column.numeric ? thNum : th}
                  aria-sort={sortKey === column.key ? (sortDir === "asc" ? "ascending" : "descending") : "none"}
                >
                  <button type="button" onClick={() => sortBy(column.key)} className="uppercase hover:text-fg">
                    {column.label}
                    <span aria-hidden className="inline-block w-2.5">
                      {sortKey === column.key ? (sortDir === "asc" ? "▲" : "▼") : ""}
                    </span>
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sorted.map((row) => (
              <tr key={row.agent} data-testid="leaderboard-row" data-agent={row.agent} className="hover:bg-sunken">
                {COLUMNS.map((column) => (
                  <td key={column.key} className={column.numeric ? tdNum : td}>
                    {column.key === "agent" ? (
                      <span className="inline-flex items-center gap-1.5 font-semibold">
                        <span
                          aria-hidden
                          className="inline-block size-2 rounded-full"
                          style={{ background: agentColor(row.agent, names, row.provider) }}
                        />
                        {row.agent}
                      </span>
                    ) : (
                      column.render(row)
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loaded && rows.length === 0 && !error && <Empty>No agents yet.</Empty>}
      {!loaded && <div className="h-24" aria-busy />}
    </Panel>
  );
}
