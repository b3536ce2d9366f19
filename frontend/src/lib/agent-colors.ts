// One colour per agent, fixed by its place in the server's list, so a line, a leaderboard row
// and a chat card of the same agent always match. The buy-and-hold baseline is grey.
const PALETTE = ["#3b82f6", "#f97316", "#a855f7", "#10b981", "#ef4444", "#eab308", "#06b6d4", "#ec4899"];
export const BASELINE_COLOR = "#8b95a5";

export function agentColor(name: string, names: readonly string[], provider?: string | null): string {
  if (provider === "buy_and_hold") return BASELINE_COLOR;
  const index = names.indexOf(name);
  if (index >= 0) return PALETTE[index % PALETTE.length] ?? PALETTE[0]!;
  let hash = 0;
  for (const char of name ?? "") hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] ?? PALETTE[0]!;
}
