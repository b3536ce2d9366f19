"use client";
import { useCallback, useMemo } from "react";
import { LineChart, type ChartSeries } from "@/components/ui/line-chart";
import { Panel } from "@/components/ui/panel";
import { Segmented } from "@/components/ui/controls";
import { agentColor } from "@/lib/agent-colors";
import { formatMoney, formatPct, pnlClass } from "@/lib/format";
import { useStatusStore } from "@/features/status/store";
import { useAccountStore, type CurvePoint, type Range, type Unit } from "./store";

const RANGES = [
  { value: "all", label: "All" },
  { value: "72h", label: "72H" },
  { value: "24h", label: "24H" },
] as const;
const UNITS = [
  { value: "usd", label: "$" },
  { value: "pct", label: "%" },
] as const;

/** Plotting needs numbers: the conversion happens here, for the picture only. */
export function toChartPoints(curve: CurvePoint[], unit: Unit, startingBalance: string | undefined, from: number | null) {
  const start = startingBalance ? Number(startingBalance) : NaN;
  const points = [];
  for (const point of curve) {
    if (from !== null && point.time < from) continue;
    const equity = Number(point.equity);
    const value = unit === "usd" ? equity : ((equity - start) / start) * 100;
    if (Number.isFinite(value)) points.push({ time: point.time, value });
  }
  return points;
}

export function EquityChart({ height = 340 }: { height?: number }) {
  const curves = useAccountStore((s) => s.curves);
  const accounts = useAccountStore((s) => s.accounts);
  const range = useAccountStore((s) => s.range);
  const unit = useAccountStore((s) => s.unit);
  const load = useAccountStore((s) => s.load);
  const setUnit = useAccountStore((s) => s.setUnit);
  const agents = useStatusStore((s) => s.agents);
  const names = useStatusStore((s) => s.names);

  const series: ChartSeries[] = useMemo(() => {
    const ids = [...new Set([...names, ...Object.keys(curves)])];
    return ids
      .filter((id) => (curves[id]?.length ?? 0) > 0)
      .map((id) => {
        const agent = agents[id];
        return {
          id,
          color: agentColor(id, names, agent?.provider),
          dashed: agent?.provider === "buy_and_hold",
          points: toChartPoints(curves[id] ?? [], unit, agent?.starting_balance, null),
        };
      });
  }, [curves, agents, names, unit]);

  const formatValue = useCallback(
    (value: number) => (unit === "usd" ? `$${Math.round(value).toLocaleString("en-US")}` : `${value.toFixed(2)}%`),
    [unit],
  );

  return (
    <Panel
      testId="panel-equity"
      title="Total account value"
      actions={
        <>
          <Segmented label="Range" value={range} options={RANGES} onChange={(r: Range) => void load(r)} />
          <Segmented label="Unit" value={unit} options={UNITS} onChange={setUnit} />
        </>
      }
    >
      <div className="px-1 pt-1">
        <LineChart series={series} height={height} formatValue={formatValue} testId="equity-chart" />
      </div>
      <ul className="flex min-h-9 flex-wrap gap-x-4 gap-y-1 border-t border-line px-3 py-2" aria-label="Legend">
        {names.map((name) => {
          const agent = agents[name];
          const equity = accounts[name]?.equity ?? agent?.equity ?? null;
          return (
            <li key={name} className="flex min-w-0 items-center gap-1.5">
              <span
                aria-hidden
                className="inline-block h-0.5 w-4"
                style={{
                  background: agentColor(name, names, agent?.provider),
                  opacity: agent?.provider === "buy_and_hold" ? 0.8 : 1,
                }}
              />
              <span className="truncate font-medium">{name}</span>
              {agent?.provider === "buy_and_hold" && <span className="text-muted">(baseline)</span>}
              <span className="num">{formatMoney(equity)}</span>
              <span className={`num ${pnlClass(agent?.total_return ?? null)}`}>{formatPct(agent?.total_return)}</span>
            </li>
          );
        })}
      </ul>
    </Panel>
  );
}
