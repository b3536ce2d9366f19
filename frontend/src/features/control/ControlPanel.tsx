"use client";
import { useMemo } from "react";
import type { ControlAction } from "@/api/client";
import { Button } from "@/components/ui/controls";
import { Dialog } from "@/components/ui/dialog";
import { Panel } from "@/components/ui/panel";
import { useAuthStore } from "@/lib/auth";
import { agentList, useStatusStore } from "@/features/status/store";
import { StateBadge } from "@/features/status/StatusPanel";
import { ACTION_EXPLAINED, ACTION_LABELS, useControlStore } from "./store";

const ACTIONS: readonly { action: ControlAction; tone: "neutral" | "primary" | "warn" | "danger" }[] = [
  { action: "start", tone: "primary" },
  { action: "stop", tone: "neutral" },
  { action: "stop_close", tone: "warn" },
  { action: "kill", tone: "danger" },
];

function ControlButtons({ agent }: { agent: string | null }) {
  const request = useControlStore((s) => s.request);
  const busy = useControlStore((s) => s.busy);
  return (
    <div className="flex flex-wrap gap-1">
      {ACTIONS.map(({ action, tone }) => (
        <Button
          key={action}
          tone={tone}
          disabled={busy}
          data-testid={`control-${action}-${agent ?? "all"}`}
          onClick={() => request(agent, action)}
        >
          {ACTION_LABELS[action]}
        </Button>
      ))}
    </div>
  );
}

export function ControlPanel() {
  const agentState = useStatusStore((s) => s.agents);
  const names = useStatusStore((s) => s.names);
  const agents = useMemo(() => agentList(agentState, names), [agentState, names]);
  const outcome = useControlStore((s) => s.outcome);
  const token = useAuthStore((s) => s.token);
  const ask = useAuthStore((s) => s.ask);
  const forget = useAuthStore((s) => s.forget);

  return (
    <Panel
      title="Control"
      testId="panel-control"
      actions={
        token ? (
          <Button onClick={forget} title="Forget the token for this tab">
            Token set · forget
          </Button>
        ) : (
          <Button tone="primary" onClick={ask}>
            Enter token
          </Button>
        )
      }
    >
      <ul className="divide-y divide-line/60">
        <li className="flex flex-wrap items-center justify-between gap-2 px-3 py-2">
          <span className="font-semibold">All agents</span>
          <ControlButtons agent={null} />
        </li>
        {agents.map((agent) => (
          <li key={agent.name} className="flex flex-wrap items-center justify-between gap-2 px-3 py-2" data-testid="control-agent" data-agent={agent.name}>
            <span className="flex items-center gap-2">
              <span className="font-semibold">{agent.name}</span>
              <StateBadge agent={agent} />
            </span>
            <ControlButtons agent={agent.name} />
          </li>
        ))}
      </ul>
      <div
        role="status"
        data-testid="control-outcome"
        className={`min-h-8 border-t border-line px-3 py-1.5 ${outcome ? (outcome.ok ? "text-up" : "text-down") : "text-muted"}`}
      >
        {outcome?.text ?? (token ? "Ready." : "Control needs the API token.")}
      </div>
      <ConfirmDialog />
    </Panel>
  );
}

function ConfirmDialog() {
  const pending = useControlStore((s) => s.pending);
  const busy = useControlStore((s) => s.busy);
  const confirm = useControlStore((s) => s.confirm);
  const cancel = useControlStore((s) => s.cancel);
  const asking = useAuthStore((s) => s.asking);
  const label = pending ? ACTION_LABELS[pending.action] : "";
  const target = pending?.agent ?? "every agent";
  return (
    <Dialog open={!!pending && !asking} title={`${label}: ${target}?`} onClose={cancel} testId="confirm-dialog">
      {pending && (
        <>
          <p className="mb-4 text-muted">{ACTION_EXPLAINED[pending.action]}</p>
          <div className="flex justify-end gap-2">
            <Button onClick={cancel}>Cancel</Button>
            <Button
              tone={pending.action === "kill" ? "danger" : pending.action === "start" ? "primary" : "warn"}
              disabled={busy}
              data-testid="confirm-action"
              onClick={() => void confirm()}
            >
              {label}
            </Button>
          </div>
        </>
      )}
    </Dialog>
  );
}
