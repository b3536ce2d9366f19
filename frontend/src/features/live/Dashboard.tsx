"use client";
import { useState } from "react";
import { Boundary } from "@/components/ui/boundary";
import { Tabs } from "@/components/ui/tabs";
import { ControlPanel } from "@/features/control/ControlPanel";
import { TokenDialog } from "@/features/control/TokenDialog";
import { DecisionFeed } from "@/features/decisions/DecisionFeed";
import { EquityChart } from "@/features/equity-chart/EquityChart";
import { Leaderboard } from "@/features/leaderboard/Leaderboard";
import { ModelChat } from "@/features/model-chat/ModelChat";
import { Positions } from "@/features/positions/Positions";
import { StatusPanel } from "@/features/status/StatusPanel";
import { Ticker } from "@/features/ticker/Ticker";
import { Trades } from "@/features/trades/Trades";
import { LiveConnections } from "./LiveConnections";

const TABS = [
  { id: "chat", label: "Model chat" },
  { id: "positions", label: "Positions" },
  { id: "trades", label: "Completed trades" },
  { id: "decisions", label: "Decisions" },
] as const;
type Tab = (typeof TABS)[number]["id"];

export function Dashboard() {
  const [tab, setTab] = useState<Tab>("chat");
  return (
    <>
      <LiveConnections />
      <Boundary name="ticker"><Ticker /></Boundary>
      <main className="mx-auto grid max-w-[1600px] gap-3 p-2 sm:p-3 xl:grid-cols-[minmax(0,1fr)_24rem]">
        <div className="grid min-w-0 content-start gap-3">
          <Boundary name="account value"><EquityChart /></Boundary>
          <Boundary name="leaderboard"><Leaderboard /></Boundary>
          <Tabs tabs={TABS} active={tab} onChange={setTab}>
            <Boundary name={tab}>
              {tab === "chat" && <ModelChat />}
              {tab === "positions" && <Positions />}
              {tab === "trades" && <Trades />}
              {tab === "decisions" && <DecisionFeed />}
            </Boundary>
          </Tabs>
        </div>
        <aside className="grid min-w-0 content-start gap-3">
          <Boundary name="control"><ControlPanel /></Boundary>
          <Boundary name="status"><StatusPanel /></Boundary>
        </aside>
      </main>
      <TokenDialog />
    </>
  );
}
