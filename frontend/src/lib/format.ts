// Display formatting. Money arrives as exact decimal strings and is only ever rounded for display
// here, with integer (BigInt) arithmetic on the digits: never through binary floats.

const DECIMAL = /^([+-])?(\d+)(?:\.(\d+))?$/;

/** Rounds a decimal string half away from zero to `places` digits, keeping it a string. */
export function roundDecimal(value: string, places: number): string | null {
  const match = DECIMAL.exec(value.trim());
  if (!match) return null;
  const [, sign = "", whole = "0", fraction = ""] = match;
  const padded = (fraction + "0".repeat(places + 1)).slice(0, places + 1);
  let scaled = BigInt(whole + padded.slice(0, places));
  if (Number(padded.slice(places)) >= 5) scaled += 1n;
  const digits = scaled.toString().padStart(places + 1, "0");
  const intPart = digits.slice(0, digits.length - places);
  const fracPart = places > 0 ? digits.slice(digits.length - places) : "";
  const isZero = /^0*$/.test(intPart + fracPart);
  return `${sign === "-" && !isZero ? "-" : ""}${intPart}${places > 0 ? "." + fracPart : ""}`;
}

function group(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** "10012.3456" -> "$10,012.35"; "-5.1" -> "-$5.10"; null -> "—". */
export function formatMoney(value: string | null | undefined, places = 2): string {
  if (value === null || value === undefined) return "—";
  const rounded = roundDecimal(value, places);
  if (rounded === null) return value;
  const negative = rounded.startsWith("-");
  const [intPart = "0", fracPart] = (negative ? rounded.slice(1) : rounded).split(".");
  return `${negative ? "-" : ""}$${group(intPart)}${fracPart ? "." + fracPart : ""}`;
}

/** Like formatMoney with an explicit "+" for gains: for PnL columns. */
export function formatSignedMoney(value: string | null | undefined, places = 2): string {
  const text = formatMoney(value, places);
  return text.startsWith("$") && !/^\$0(\.0*)?$/.test(text) ? `+${text}` : text;
}

/** A decimal string with digit grouping and `places` digits (quantities, prices). */
export function formatDecimal(value: string | null | undefined, places = 4): string {
  if (value === null || value === undefined) return "—";
  const rounded = roundDecimal(value, places);
  if (rounded === null) return value;
  const negative = rounded.startsWith("-");
  const [intPart = "0", fracPart] = (negative ? rounded.slice(1) : rounded).split(".");
  return `${negative ? "-" : ""}${group(intPart)}${fracPart ? "." + fracPart : ""}`;
}

/** Picks display digits for a price from its size: BTC 95,012.3; DOGE 0.32115. */
export function formatPrice(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const text = typeof value === "number" ? String(value) : value;
  const magnitude = Math.abs(Number(text));
  const places = magnitude >= 1000 ? 2 : magnitude >= 10 ? 3 : magnitude >= 1 ? 4 : 5;
  return formatDecimal(typeof value === "number" ? value.toFixed(places + 2) : text, places);
}

/** A ratio (0.0523) as a signed percentage ("+5.23%"). */
export function formatPct(ratio: number | null | undefined, places = 2, signed = true): string {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return "—";
  const pct = (ratio * 100).toFixed(places);
  const isZero = Number(pct) === 0;
  return `${signed && ratio > 0 && !isZero ? "+" : ""}${isZero ? (0).toFixed(places) : pct}%`;
}

export function formatNumber(value: number | null | undefined, places = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return value.toLocaleString("en-US", {
    minimumFractionDigits: places,
    maximumFractionDigits: places,
  });
}

export function formatInt(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  return Math.round(value).toLocaleString("en-US");
}

/** Seconds as "3d 4h", "2h 05m", "4m 10s", "12s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** "14:03:07" in UTC, or "Dec 05 14:03" when `withDate`. */
export function formatTime(iso: string | null | undefined, withDate = false): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const time = date.toISOString().slice(11, 19);
  if (!withDate) return time;
  const month = date.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  return `${month} ${String(date.getUTCDate()).padStart(2, "0")} ${time.slice(0, 5)}`;
}

/** Sign of a decimal string, for colouring PnL without arithmetic: -1, 0 or 1. */
export function signOf(value: string | number | null | undefined): -1 | 0 | 1 {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value > 0 ? 1 : value < 0 ? -1 : 0;
  const text = value.trim();
  if (/^-?0*(\.0*)?$/.test(text.replace(/^\+/, ""))) return 0;
  return text.startsWith("-") ? -1 : 1;
}

export function pnlClass(value: string | number | null | undefined): string {
  const sign = signOf(value);
  return sign > 0 ? "text-up" : sign < 0 ? "text-down" : "text-muted";
}
