"use client";
import { useCallback, useEffect, useMemo, useState } from "react";
import { Badge, Button } from "@/components/ui/controls";
import { LineChart, type ChartSeries } from "@/components/ui/line-chart";
import { Empty, ErrorLine, Panel } from "@/components/ui/panel";
import { table, tableWrap, td, tdNum, th, thNum } from "@/components/ui/table";
import { agentColor } from "@/lib/agent-colors";
import { useAuthStore } from "@/lib/auth";
import { formatMoney, formatNumber, formatPct, formatTime, pnlClass } from "@/lib/format";
import { arenaKey, useBacktestsStore } from "./store";

export function Backtests() {
  const runs = useBacktestsStore((s) => s.runs);
  const loaded = useBacktestsStore((s) => s.loaded);
  const error = useBacktestsStore((s) => s.error);
  const selected = useBacktestsStore((s) => s.selected);
  const loadRuns = useBacktestsStore((s) => s.loadRuns);
  const select = useBacktestsStore((s) => s.select);
  const token = useAuthStore((s) => s.token);
  useEffect(() => {
    void loadRuns(); // again once a token is entered: it may have been refused without one
  }, [loadRuns, token]);

  return (
    <div className="grid gap-3">
      <Panel title="Runs" testId="panel-runs">
        <ErrorLine message={error} />
        <div className={`${tableWrap} max-h-[24rem] overflow-y-auto`}>
          <table className={table} data-testid="runs">
            <thead className="sticky top-0 bg-panel">
              <tr>
                <th className={th}>Kind</th>
                <th className={th}>Name</th>
                <th className={th}>Model</th>
                <th className={th}>Started</th>
                <th className={th}>Finished</th>
                <th className={thNum}>Cycles</th>
                <th className={thNum}>Return</th>
                <th className={thNum}>End equity</th>
                <th className={thNum}>Errors</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr
                  key={run.run_id}
                  data-testid="run-row"
                  onClick={() => void select(arenaKey(run))}
                  className={`cursor-pointer hover:bg-sunken ${selected === arenaKey(run) ? "bg-accent/10" : ""}`}
                >
                  <td className={td}>
                    <Badge tone={run.kind === "arena" ? "accent" : "muted"}>{run.kind}</Badge>
                  </td>
                  <td className={`${td} font-semibold`}>
                    <button type="button" className="hover:underline" onClick={() => void select(arenaKey(run))}>
                      {run.name}
                    </button>
                  </td>
                  <td className={`${td} text-muted`}>{run.model}</td>
                  <td className={`${td} num`}>{formatTime(run.started_at, true)}</td>
                  <td className={`${td} num`}>{run.finished_at ? formatTime(run.finished_at, true) : "running"}</td>
                  <td className={tdNum}>{run.cycles}</td>
                  <td className={`${tdNum} ${pnlClass(run.total_return)}`}>{formatPct(run.total_return)}</td>
                  <td className={tdNum}>{formatMoney(run.end_equity)}</td>
                  <td className={tdNum}>{run.model_errors}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {loaded && runs.length === 0 && !error && (
          <Empty>
            No runs yet. Make one with <code>uv run alphatransformer backtest --start … --end …</code>.
          </Empty>
        )}
      </Panel>
      <OpenRun />
      {selected && <RunDetail />}
    </div>
  );
}

function OpenRun() {
  const select = useBacktestsStore((s) => s.select);
  const [runId, setRunId] = useState("");
  return (
    <form
      className="flex flex-wrap items-center gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        if (runId.trim()) void select(runId.trim());
      }}
    >
      <label htmlFor="run-id" className="text-muted">
        Run or arena id
      </label>
      <input
        id="run-id"
        value={runId}
        onChange={(e) => setRunId(e.target.value)}
        placeholder="backtest-20261205T120000"
        className="h-7 w-72 max-w-full rounded border border-line bg-panel px-2 font-mono text-fg"
      />
      <Button type="submit">Open</Button>
    </form>
  );
}

function RunDetail() {
  const standings = useBacktestsStore((s) => s.standings);
  const histories = useBacktestsStore((s) => s.histories);
  const loading = useBacktestsStore((s) => s.loadingDetail);
  const error = useBacktestsStore((s) => s.detailError);
  const names = useMemo(() => standings.map((s) => s.name), [standings]);
  const series: ChartSeries[] = useMemo(
    () =>
      histories.map((history, index) => {
        const name = standings[index]?.name ?? history.agent;
        const points: { time: number; value: number }[] = [];
        for (const point of history.points) {
          const time = Math.floor(Date.parse(point.time) / 1000);
          if (points.length > 0 && time <= points.at(-1)!.time) continue;
          points.push({ time, value: Number(point.equity) });
        }
        return {
          id: name,
          color: agentColor(name, names, /buy.?and.?hold|hodl/i.test(name) ? "buy_and_hold" : null),
          dashed: /buy.?and.?hold|hodl/i.test(name),
          points,
        };
      }),
    [histories, standings, names],
  );
  const format = useCallback((value: number) => `$${Math.round(value).toLocaleString("en-US")}`, []);

  return (
    <div className="grid gap-3 lg:grid-cols-5">
      <Panel title="Equity comparison" className="lg:col-span-3" testId="panel-run-equity">
        <ErrorLine message={error} />
        <div className="px-1 pt-1">
          <LineChart series={series} height={300} formatValue={format} />
        </div>
      </Panel>
      <Panel title="Standings" className="lg:col-span-2" testId="panel-run-standings">
        <div className={tableWrap}>
          <table className={table}>
            <thead>
              <tr>
                <th className={th}>Name</th>
                <th className={thNum}>Return</th>
                <th className={thNum}>Sharpe</th>
                <th className={thNum}>Max DD</th>
                <th className={thNum}>Win</th>
                <th className={thNum}>Trades</th>
                <th className={thNum}>Fees</th>
                <th className={thNum}>Cost</th>
                <th className={thNum}>End equity</th>
                <th className={thNum}>Errors</th>
              </tr>
            </thead>
            <tbody>
              {standings.map((s) => (
                <tr key={s.run_id} className="hover:bg-sunken">
                  <td className={`${td} font-semibold`}>
                    <span className="inline-flex items-center gap-1.5">
                      <span aria-hidden className="inline-block size-2 rounded-full" style={{ background: series.find((x) => x.id === s.name)?.color }} />
                      {s.name}
                    </span>
                    <div className="text-[11px] font-normal text-muted">{s.model ?? ""}</div>
                  </td>
                  <td className={`${tdNum} ${pnlClass(s.total_return)}`}>{formatPct(s.total_return)}</td>
                  <td className={tdNum}>{formatNumber(s.sharpe)}</td>
                  <td className={tdNum}>{formatPct(s.max_drawdown, 2, false)}</td>
                  <td className={tdNum}>{formatPct(s.win_rate, 1, false)}</td>
                  <td className={tdNum}>{s.trades}</td>
                  <td className={tdNum}>{formatMoney(s.fees)}</td>
                  <td className={tdNum}>{formatMoney(s.cost_usd, 4)}</td>
                  <td className={tdNum}>{formatMoney(s.end_equity)}</td>
                  <td className={`${tdNum} ${s.model_errors > 0 ? "text-warn" : "text-muted"}`}>{s.model_errors}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {loading && <div className="h-16 animate-pulse" aria-busy />}
      </Panel>
    </div>
  );
}
