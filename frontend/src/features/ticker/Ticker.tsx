"use client";
import { memo } from "react";
import { useShallow } from "zustand/react/shallow";
import { formatPrice } from "@/lib/format";
import { useStatusStore } from "@/features/status/store";
import { useMarketStore } from "./store";

export function Ticker() {
  const symbols = useStatusStore((s) => s.status?.symbols);
  const simulated = useStatusStore((s) => s.status?.simulated_market ?? false);
  const notice = useStatusStore((s) => s.status?.notice ?? null);
  const known = useMarketStore(useShallow((s) => Object.keys(s.ticks)));
  const list = symbols && symbols.length > 0 ? symbols : known;
  return (
    <div data-testid="ticker" className="flex h-9 min-w-0 items-center gap-3 overflow-hidden border-b border-line bg-panel px-3">
      {simulated && (
        <span
          data-testid="simulated-badge"
          title={notice ?? "Simulated market: prices are synthetic"}
          className="shrink-0 rounded bg-amber-400 px-1.5 py-0.5 text-[10px] font-extrabold tracking-widest text-black uppercase"
        >
          Simulated
        </span>
      )}
      <ul className="scroll-thin flex min-w-0 flex-1 gap-4 overflow-x-auto">
        {list.map((symbol) => (
          <TickerItem key={symbol} symbol={symbol} />
        ))}
      </ul>
    </div>
  );
}

const TickerItem = memo(function TickerItem({ symbol }: { symbol: string }) {
  const tick = useMarketStore((s) => s.ticks[symbol]);
  const previous = useMarketStore((s) => s.previous[symbol]);
  const direction =
    tick?.price === null || tick?.price === undefined || previous === null || previous === undefined
      ? 0
      : Math.sign(tick.price - previous);
  return (
    <li className="flex shrink-0 items-baseline gap-1.5" data-testid="ticker-item" data-symbol={symbol}>
      <span className="text-[11px] font-bold">{symbol.replace(/USDT$/, "")}</span>
      <span className={`num inline-block min-w-[5.5rem] ${direction > 0 ? "text-up" : direction < 0 ? "text-down" : ""}`}>
        ${formatPrice(tick?.price ?? null)}
      </span>
      {tick && !tick.fresh && <span className="text-[10px] font-bold text-warn uppercase">stale</span>}
    </li>
  );
});
