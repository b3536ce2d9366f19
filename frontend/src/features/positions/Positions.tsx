"use client";
import { useMemo } from "react";
import { Badge } from "@/components/ui/controls";
import { Empty, ErrorLine } from "@/components/ui/panel";
import { table, tableWrap, td, tdNum, th, thNum } from "@/components/ui/table";
import { formatDecimal, formatMoney, formatPrice, formatSignedMoney, pnlClass } from "@/lib/format";
import { allPositions, usePositionsStore } from "./store";

export function Positions() {
  const byAgent = usePositionsStore((s) => s.byAgent);
  const loaded = usePositionsStore((s) => s.loaded);
  const error = usePositionsStore((s) => s.error);
  const rows = useMemo(() => allPositions(byAgent), [byAgent]);

  return (
    <div data-testid="panel-positions">
      <ErrorLine message={error} />
      <div className={`${tableWrap} h-[32rem] overflow-y-auto`}>
        <table className={table} data-testid="positions">
          <thead>
            <tr>
              <th className={th}>Agent</th>
              <th className={th}>Symbol</th>
              <th className={th}>Side</th>
              <th className={thNum}>Qty</th>
              <th className={thNum}>Entry</th>
              <th className={thNum}>Mark</th>
              <th className={thNum}>Notional</th>
              <th className={thNum}>Lev</th>
              <th className={thNum}>Unreal. PnL</th>
              <th className={thNum}>Liq.</th>
              <th className={thNum}>Stop</th>
              <th className={thNum}>Target</th>
              <th className={th}>Invalidation</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={`${p.agent}:${p.symbol}`} data-testid="position-row" className="hover:bg-sunken">
                <td className={td}>{p.agent}</td>
                <td className={`${td} font-semibold`}>{p.symbol.replace(/USDT$/, "")}</td>
                <td className={td}>
                  <Badge tone={p.side === "long" ? "up" : "down"}>{p.side}</Badge>
                </td>
                <td className={tdNum}>{formatDecimal(p.quantity, 4)}</td>
                <td className={tdNum}>{formatPrice(p.entry_price)}</td>
                <td className={tdNum}>{formatPrice(p.mark_price)}</td>
                <td className={tdNum}>{formatMoney(p.notional)}</td>
                <td className={tdNum}>{p.leverage}×</td>
                <td className={`${tdNum} font-semibold ${pnlClass(p.unrealized_pnl)}`}>{formatSignedMoney(p.unrealized_pnl)}</td>
                <td className={`${tdNum} text-muted`}>{formatPrice(p.liquidation_price)}</td>
                <td className={`${tdNum} text-down`}>{formatPrice(p.stop_loss)}</td>
                <td className={`${tdNum} text-up`}>{formatPrice(p.take_profit)}</td>
                <td className={`${td} max-w-[18rem] truncate text-muted`} title={p.invalidation_condition ?? undefined}>
                  {p.invalidation_condition ?? "—"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loaded && rows.length === 0 && !error && <Empty>No open positions.</Empty>}
    </div>
  );
}
