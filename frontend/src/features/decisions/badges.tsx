import type { DecisionOut } from "@/api/types";
import { Badge, type BadgeTone } from "@/components/ui/controls";

const ACTION_TONES: Record<string, BadgeTone> = { open_long: "up", open_short: "down", close: "accent", hold: "muted" };
const ACTION_TEXT: Record<string, string> = { open_long: "Long", open_short: "Short", close: "Close", hold: "Hold" };
const STATUS_TONES: Record<string, BadgeTone> = {
  executed: "up",
  rejected: "down",
  failed: "warn",
  hold: "muted",
  pending: "accent",
};

export function ActionBadge({ action }: { action: string }) {
  return <Badge tone={ACTION_TONES[action] ?? "muted"}>{ACTION_TEXT[action] ?? action}</Badge>;
}

export function StatusBadge({ decision }: { decision: Pick<DecisionOut, "status" | "status_reason" | "rejection_rule"> }) {
  return (
    <Badge tone={STATUS_TONES[decision.status] ?? "muted"} title={decision.status_reason ?? undefined}>
      {decision.status}
    </Badge>
  );
}

/** The outcome in words: the rule and the numbers of a rejection, the error of a failure. */
export function outcomeText(decision: DecisionOut): string {
  if (decision.status === "rejected") {
    return [decision.rejection_rule, decision.status_reason].filter(Boolean).join(": ");
  }
  return decision.status_reason ?? "";
}

export function ConfidenceBar({ value }: { value: number }) {
  const pct = Math.max(0, Math.min(1, value)) * 100;
  return (
    <span className="inline-flex items-center gap-1.5" title={`confidence ${pct.toFixed(0)}%`}>
      <span className="relative inline-block h-1.5 w-12 overflow-hidden rounded bg-sunken">
        <span className="absolute inset-y-0 left-0 bg-accent" style={{ width: `${pct}%` }} />
      </span>
      <span className="num w-8 text-right">{pct.toFixed(0)}%</span>
    </span>
  );
}
