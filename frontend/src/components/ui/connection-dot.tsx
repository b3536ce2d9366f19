import type { ConnectionState } from "@/lib/stream";

const COLORS: Record<ConnectionState, string> = {
  open: "bg-up",
  connecting: "bg-warn",
  reconnecting: "bg-warn animate-pulse",
  unauthorized: "bg-down",
  closed: "bg-muted",
};

export function ConnectionDot({ state, label }: { state: ConnectionState; label?: string }) {
  return (
    <span className="inline-flex items-center gap-1.5" title={`${label ?? "stream"}: ${state}`}>
      <span aria-hidden className={`inline-block size-2 rounded-full ${COLORS[state]}`} />
      {label && <span className="text-muted">{label}</span>}
      <span className="sr-only">{state}</span>
    </span>
  );
}
