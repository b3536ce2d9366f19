import { describe, expect, it } from "vitest";
import { formatDuration, formatMoney, formatPct, formatSignedMoney, roundDecimal, signOf } from "./format";

describe("money is rounded on its digits, never through floats", () => {
  it("rounds half away from zero", () => {
    expect(roundDecimal("1.005", 2)).toBe("1.01");
    expect(roundDecimal("-1.005", 2)).toBe("-1.01");
    expect(roundDecimal("0.0049", 2)).toBe("0.00");
    expect(roundDecimal("-0.004", 2)).toBe("0.00");
    expect(roundDecimal("999.995", 2)).toBe("1000.00");
  });
  it("keeps more digits than a double holds", () => {
    expect(roundDecimal("12345678901234567.891", 2)).toBe("12345678901234567.89");
  });
  it("formats dollars with grouping and sign", () => {
    expect(formatMoney("10012.3456")).toBe("$10,012.35");
    expect(formatMoney("-5.1")).toBe("-$5.10");
    expect(formatMoney(null)).toBe("—");
    expect(formatSignedMoney("12.5")).toBe("+$12.50");
    expect(formatSignedMoney("0")).toBe("$0.00");
  });
});

describe("other display formats", () => {
  it("shows ratios as signed percentages", () => {
    expect(formatPct(0.0523)).toBe("+5.23%");
    expect(formatPct(-0.1)).toBe("-10.00%");
    expect(formatPct(null)).toBe("—");
  });
  it("shows durations compactly", () => {
    expect(formatDuration(12)).toBe("12s");
    expect(formatDuration(250)).toBe("4m 10s");
    expect(formatDuration(7500)).toBe("2h 05m");
  });
  it("reads the sign of a decimal string", () => {
    expect(signOf("-0.00")).toBe(0);
    expect(signOf("-3.2")).toBe(-1);
    expect(signOf("0.01")).toBe(1);
  });
});
