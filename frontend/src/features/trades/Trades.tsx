"use client";
import { Badge } from "@/components/ui/controls";
import { Empty, ErrorLine } from "@/components/ui/panel";
import { table, tableWrap, td, tdNum, th, thNum } from "@/components/ui/table";
import { formatDecimal, formatDuration, formatMoney, formatPrice, formatSignedMoney, formatTime, pnlClass } from "@/lib/format";
import { useTradesStore } from "./store";

export function Trades() {
  const trades = useTradesStore((s) => s.trades);
  const loaded = useTradesStore((s) => s.loaded);
  const error = useTradesStore((s) => s.error);
  return (
    <div data-testid="panel-trades">
      <ErrorLine message={error} />
      <div className={`${tableWrap} h-[32rem] overflow-y-auto`}>
        <table className={table} data-testid="trades">
          <thead className="sticky top-0 bg-panel">
            <tr>
              <th className={th}>Closed</th>
              <th className={th}>Agent</th>
              <th className={th}>Symbol</th>
              <th className={th}>Side</th>
              <th className={thNum}>Qty</th>
              <th className={thNum}>Entry</th>
              <th className={thNum}>Exit</th>
              <th className={thNum}>Hold</th>
              <th className={thNum}>Fees</th>
              <th className={thNum}>Net PnL</th>
            </tr>
          </thead>
          <tbody>
            {trades.map((t, index) => (
              <tr key={`${t.agent}:${t.symbol}:${t.closed_at}:${index}`} data-testid="trade-row" className="hover:bg-sunken">
                <td className={`${td} num text-muted`}>{formatTime(t.closed_at, true)}</td>
                <td className={td}>{t.agent}</td>
                <td className={`${td} font-semibold`}>{t.symbol.replace(/USDT$/, "")}</td>
                <td className={td}>
                  <Badge tone={t.side === "long" ? "up" : "down"}>{t.side}</Badge>
                </td>
                <td className={tdNum}>{formatDecimal(t.quantity, 4)}</td>
                <td className={tdNum}>{formatPrice(t.entry_price)}</td>
                <td className={tdNum}>{formatPrice(t.exit_price)}</td>
                <td className={tdNum}>{formatDuration(t.hold_seconds)}</td>
                <td className={tdNum}>{formatMoney(t.fees)}</td>
                <td className={`${tdNum} font-semibold ${pnlClass(t.net_pnl)}`}>{formatSignedMoney(t.net_pnl)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {loaded && trades.length === 0 && !error && <Empty>No completed trades yet.</Empty>}
    </div>
  );
}
