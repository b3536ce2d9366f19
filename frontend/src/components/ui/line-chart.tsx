"use client";
import {
  ColorType,
  createChart,
  CrosshairMode,
  LineSeries,
  LineStyle,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
} from "lightweight-charts";
import { useEffect, useRef } from "react";
import { cssColor, useThemeStore } from "@/lib/theme";

export interface ChartPoint {
  time: number; // unix seconds, strictly increasing
  value: number;
}

export interface ChartSeries {
  id: string;
  color: string;
  dashed?: boolean;
  points: ChartPoint[];
}

interface Drawn {
  series: ISeriesApi<"Line">;
  points: ChartPoint[];
  color: string;
  dashed: boolean;
}

function themeOptions() {
  return {
    layout: {
      background: { type: ColorType.Solid, color: "transparent" },
      textColor: cssColor("--c-muted", "#8b95a5"),
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      fontSize: 11,
      attributionLogo: false,
    },
    grid: {
      vertLines: { color: cssColor("--c-line", "#232a35") },
      horzLines: { color: cssColor("--c-line", "#232a35") },
    },
    rightPriceScale: { borderColor: cssColor("--c-line", "#232a35") },
    timeScale: { borderColor: cssColor("--c-line", "#232a35"), timeVisible: true, secondsVisible: false },
  };
}

function toData(points: ChartPoint[]) {
  return points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value }));
}

/**
 * A multi-line time chart on TradingView's lightweight-charts. Live appends go through
 * `series.update` (one point), anything else through `setData`; the container's height is
 * fixed, so updates never move the page.
 */
export function LineChart({
  series,
  height,
  formatValue,
  testId,
}: {
  series: ChartSeries[];
  height: number;
  formatValue: (value: number) => string;
  testId?: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const drawn = useRef(new Map<string, Drawn>());
  const theme = useThemeStore((s) => s.theme);
  const formatRef = useRef(formatValue);

  useEffect(() => {
    formatRef.current = formatValue;
  }, [formatValue]);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const drawnSeries = drawn.current;
    const instance = createChart(element, {
      autoSize: true,
      crosshair: { mode: CrosshairMode.Magnet },
      localization: { priceFormatter: (value: number) => formatRef.current(value) },
      handleScroll: { vertTouchDrag: false },
      ...themeOptions(),
    });
    chart.current = instance;
    return () => {
      drawnSeries.clear();
      instance.remove();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    chart.current?.applyOptions(themeOptions());
  }, [theme]);

  useEffect(() => {
    chart.current?.applyOptions({ localization: { priceFormatter: (value: number) => formatValue(value) } });
  }, [formatValue]);

  useEffect(() => {
    const instance = chart.current;
    if (!instance) return;
    const seen = new Set<string>();
    let reshaped = false;
    for (const spec of series) {
      seen.add(spec.id);
      let entry = drawn.current.get(spec.id);
      if (!entry) {
        const line = instance.addSeries(LineSeries, {
          color: spec.color,
          lineWidth: 2,
          lineStyle: spec.dashed ? LineStyle.Dashed : LineStyle.Solid,
          priceLineVisible: false,
          lastValueVisible: true,
          title: spec.id,
        });
        entry = { series: line, points: [], color: spec.color, dashed: !!spec.dashed };
        drawn.current.set(spec.id, entry);
      }
      const before = entry.points;
      const after = spec.points;
      if (before === after) continue;
      const appended =
        before.length > 0 &&
        after.length >= before.length &&
        after.length <= before.length + 1 &&
        after[0]?.time === before[0]?.time &&
        (after.length === before.length || after[before.length - 1]?.time === before.at(-1)?.time);
      const last = after.at(-1);
      let updated = false;
      if (appended && last) {
        try {
          entry.series.update({ time: last.time as UTCTimestamp, value: last.value });
          updated = true;
        } catch {
          // out of order for the chart: redraw the whole line instead
        }
      }
      if (!updated) {
        entry.series.setData(toData(after));
        reshaped = true;
      }
      entry.points = after;
    }
    for (const [id, entry] of drawn.current) {
      if (!seen.has(id)) {
        instance.removeSeries(entry.series);
        drawn.current.delete(id);
        reshaped = true;
      }
    }
    if (reshaped) instance.timeScale().fitContent();
  }, [series]);

  return <div ref={container} data-testid={testId} style={{ height }} className="w-full" />;
}
