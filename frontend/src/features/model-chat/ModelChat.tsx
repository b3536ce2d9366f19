"use client";
import { memo, useMemo } from "react";
import type { CycleOut, DecisionOut, MessageOut } from "@/api/types";
import { Button } from "@/components/ui/controls";
import { Empty } from "@/components/ui/panel";
import { agentColor } from "@/lib/agent-colors";
import { formatDecimal, formatInt, formatMoney, formatPrice, formatTime } from "@/lib/format";
import { groupByCycle, useDecisionsStore, type CycleGroup } from "@/features/decisions/store";
import { ActionBadge, ConfidenceBar, outcomeText, StatusBadge } from "@/features/decisions/badges";
import { useStatusStore } from "@/features/status/store";
import { useModelChatStore } from "./store";

const SHOWN_CYCLES = 40;

export function ModelChat() {
  const byId = useDecisionsStore((s) => s.byId);
  const ids = useDecisionsStore((s) => s.ids);
  const loaded = useDecisionsStore((s) => s.loaded);
  const filter = useModelChatStore((s) => s.agentFilter);
  const setFilter = useModelChatStore((s) => s.setAgentFilter);
  const names = useStatusStore((s) => s.names);
  const agents = useStatusStore((s) => s.agents);
  const colorOf = (name: string) => agentColor(name, names, agents[name]?.provider);
  const groups = useMemo(
    () => groupByCycle(byId, ids).filter((g) => filter === null || g.agent === filter).slice(0, SHOWN_CYCLES),
    [byId, ids, filter],
  );

  return (
    <div data-testid="panel-model-chat">
      <div className="flex flex-wrap items-center gap-1.5 border-b border-line px-3 py-1.5">
        <FilterChip active={filter === null} onClick={() => setFilter(null)}>
          All agents
        </FilterChip>
        {names.map((name) => (
          <FilterChip key={name} active={filter === name} onClick={() => setFilter(name)} color={colorOf(name)}>
            {name}
          </FilterChip>
        ))}
      </div>
      <ol className="scroll-thin h-[32rem] overflow-y-auto [overflow-anchor:auto]" data-testid="model-chat">
        {groups.map((group) => (
          <CycleCard key={`${group.agent}:${group.cycleId ?? group.decisions[0]?.id}`} group={group} color={colorOf(group.agent)} />
        ))}
      </ol>
      {loaded && groups.length === 0 && <Empty>No model output yet.</Empty>}
    </div>
  );
}

function FilterChip({ active, onClick, children, color }: { active: boolean; onClick: () => void; children: React.ReactNode; color?: string }) {
  return (
    <button
      type="button"
      aria-pressed={active}
      onClick={onClick}
      className={`inline-flex h-6 items-center gap-1.5 rounded-full border px-2.5 text-[11px] font-semibold ${
        active ? "border-accent bg-accent/10 text-fg" : "border-line text-muted hover:text-fg"
      }`}
    >
      {color && <span aria-hidden className="inline-block size-2 rounded-full" style={{ background: color }} />}
      {children}
    </button>
  );
}

const CycleCard = memo(function CycleCard({ group, color }: { group: CycleGroup; color: string }) {
  const open = useModelChatStore((s) => (group.cycleId === null ? false : !!s.open[group.cycleId]));
  const toggle = useModelChatStore((s) => s.toggle);
  return (
    <li className="border-b border-line px-3 py-2" data-testid="chat-cycle" data-cycle-id={group.cycleId ?? ""}>
      <div className="mb-1 flex flex-wrap items-center gap-2">
        <span aria-hidden className="inline-block size-2 rounded-full" style={{ background: color }} />
        <span className="font-semibold">{group.agent}</span>
        <span className="text-muted">{group.model}</span>
        <span className="num ml-auto text-muted">{formatTime(group.createdAt, true)}</span>
        {group.cycleId !== null && (
          <Button onClick={() => void toggle(group.cycleId!)} aria-expanded={open} className="h-6 px-2 text-[11px]">
            {open ? "Hide transcript" : "Transcript"}
          </Button>
        )}
      </div>
      <ul className="space-y-1">
        {group.decisions.map((d) => (
          <DecisionLine key={d.id} decision={d} />
        ))}
      </ul>
      {open && group.cycleId !== null && <TranscriptView cycleId={group.cycleId} />}
    </li>
  );
});

function DecisionLine({ decision: d }: { decision: DecisionOut }) {
  const outcome = outcomeText(d);
  return (
    <li className="grid grid-cols-[3.5rem_4rem_1fr] items-start gap-x-2 gap-y-0.5 sm:grid-cols-[3.5rem_4rem_5.5rem_6rem_1fr]">
      <span className="font-semibold">{d.symbol.replace(/USDT$/, "")}</span>
      <ActionBadge action={d.action} />
      <span className="hidden sm:inline">{d.status !== "hold" && <StatusBadge decision={d} />}</span>
      <span className="hidden sm:inline">
        <ConfidenceBar value={d.confidence} />
      </span>
      <p className="col-span-3 min-w-0 text-muted sm:col-span-1">
        <span className="sm:hidden">
          {d.status !== "hold" && <StatusBadge decision={d} />} <span className="num">{Math.round(d.confidence * 100)}%</span>{" "}
        </span>
        {d.action !== "hold" && d.quantity && (
          <span className="num text-fg">
            {formatDecimal(d.quantity, 4)} @ {formatPrice(d.price)} · {d.leverage}× · stop {formatPrice(d.stop_loss)} · target{" "}
            {formatPrice(d.take_profit)}{" "}
          </span>
        )}
        {outcome && d.status !== "executed" && d.status !== "hold" && <span className="text-down">{outcome}. </span>}
        <span className="break-words">{d.reasoning}</span>
      </p>
    </li>
  );
}

function TranscriptView({ cycleId }: { cycleId: string }) {
  const transcript = useModelChatStore((s) => s.transcripts[cycleId]);
  if (!transcript || transcript.state === "loading") return <div className="mt-2 h-16 animate-pulse rounded bg-sunken" />;
  if (transcript.state === "error") return <div className="mt-2 text-down">Transcript unavailable: {transcript.message}</div>;
  return <Transcript cycle={transcript.cycle} />;
}

export function Transcript({ cycle }: { cycle: CycleOut }) {
  return (
    <div className="mt-2 rounded border border-line bg-sunken" data-testid="transcript">
      <dl className="flex flex-wrap gap-x-4 gap-y-1 border-b border-line px-2 py-1.5">
        <Stat label="model" value={cycle.model} />
        <Stat label="tokens in" value={formatInt(cycle.input_tokens)} />
        <Stat label="tokens out" value={formatInt(cycle.output_tokens)} />
        <Stat label="cost" value={formatMoney(cycle.cost_usd, 4)} />
        <Stat label="latency" value={`${formatInt(cycle.latency_ms)} ms`} />
        {cycle.error && <Stat label="error" value={cycle.error} tone="text-down" />}
      </dl>
      <ol className="space-y-2 p-2">
        {cycle.messages.map((message, index) => (
          <Message key={index} message={message} />
        ))}
      </ol>
    </div>
  );
}

function Stat({ label, value, tone = "" }: { label: string; value: string; tone?: string }) {
  return (
    <div className="flex gap-1">
      <dt className="text-muted">{label}</dt>
      <dd className={`num ${tone}`}>{value}</dd>
    </div>
  );
}

const ROLE_STYLES: Record<string, string> = {
  system: "text-muted",
  user: "text-accent",
  assistant: "text-up",
  tool: "text-warn",
};

function Message({ message }: { message: MessageOut }) {
  return (
    <li>
      <div className={`text-[10px] font-bold tracking-wider uppercase ${ROLE_STYLES[message.role] ?? "text-muted"}`}>
        {message.role}
        {message.name ? ` · ${message.name}` : ""}
      </div>
      {message.content && (
        <pre className="scroll-thin max-h-72 overflow-auto font-mono text-[11px] leading-snug break-words whitespace-pre-wrap">{message.content}</pre>
      )}
      {message.tool_calls.map((call) => (
        <pre key={call.id} className="mt-1 overflow-x-auto rounded bg-panel px-2 py-1 font-mono text-[11px] whitespace-pre-wrap">
          → {call.name}({JSON.stringify(call.args, null, 1)})
        </pre>
      ))}
    </li>
  );
}
