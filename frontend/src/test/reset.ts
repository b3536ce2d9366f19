// Puts every store back to its first state between tests (stores are module singletons).
import { useAuthStore } from "@/lib/auth";
import { useBacktestsStore } from "@/features/backtests/store";
import { useControlStore } from "@/features/control/store";
import { useDecisionsStore } from "@/features/decisions/store";
import { useAccountStore } from "@/features/equity-chart/store";
import { useLeaderboardStore } from "@/features/leaderboard/store";
import { useModelChatStore } from "@/features/model-chat/store";
import { usePositionsStore } from "@/features/positions/store";
import { useStatusStore } from "@/features/status/store";
import { useMarketStore } from "@/features/ticker/store";
import { useTradesStore } from "@/features/trades/store";

const stores = [
  useAuthStore,
  useBacktestsStore,
  useControlStore,
  useDecisionsStore,
  useAccountStore,
  useLeaderboardStore,
  useModelChatStore,
  usePositionsStore,
  useStatusStore,
  useMarketStore,
  useTradesStore,
] as const;
const initial = stores.map((store) => store.getState());

export function resetStores() {
  stores.forEach((store, index) => (store as { setState: (s: unknown, replace: true) => void }).setState(initial[index], true));
}
