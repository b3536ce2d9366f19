// Opens one reconnecting client per stream, each feeding its own store, and refreshes the
// REST-only views (leaderboard, trades) when a stream says something they show has changed:
// events, not polling.
import { useAuthStore } from "@/lib/auth";
import { openStream, type StreamHandle } from "@/lib/stream";
import { useDecisionsStore } from "@/features/decisions/store";
import { useAccountStore } from "@/features/equity-chart/store";
import { useLeaderboardStore } from "@/features/leaderboard/store";
import { usePositionsStore } from "@/features/positions/store";
import { useStatusStore } from "@/features/status/store";
import { useMarketStore } from "@/features/ticker/store";
import { useTradesStore } from "@/features/trades/store";
import type { StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

interface StreamSpec {
  path: string;
  apply: (message: StreamMessage<never>) => void;
  setConnection: (state: ConnectionState) => void;
}

export const STREAMS: readonly StreamSpec[] = [
  { path: "/ws/status", apply: (m) => useStatusStore.getState().apply(m), setConnection: (s) => useStatusStore.getState().setConnection(s) },
  { path: "/ws/market", apply: (m) => useMarketStore.getState().apply(m), setConnection: (s) => useMarketStore.getState().setConnection(s) },
  { path: "/ws/decisions", apply: (m) => useDecisionsStore.getState().apply(m), setConnection: (s) => useDecisionsStore.getState().setConnection(s) },
  { path: "/ws/positions", apply: (m) => usePositionsStore.getState().apply(m), setConnection: (s) => usePositionsStore.getState().setConnection(s) },
  { path: "/ws/account", apply: (m) => useAccountStore.getState().apply(m), setConnection: (s) => useAccountStore.getState().setConnection(s) },
];

function debounce(fn: () => void, ms: number): { call: () => void; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return {
    call: () => {
      if (timer !== null) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        fn();
      }, ms);
    },
    cancel: () => {
      if (timer !== null) clearTimeout(timer);
    },
  };
}

/** Every REST view: at start, and again once a token is entered (it may have been refused). */
function loadAll() {
  void useStatusStore
    .getState()
    .load()
    .then(() => useMarketStore.getState().seed(useStatusStore.getState().status?.market_data ?? []));
  void useLeaderboardStore.getState().load();
  void useDecisionsStore.getState().load();
  void usePositionsStore.getState().load();
  void useAccountStore.getState().load();
  void useTradesStore.getState().load();
}

/** Loads history over REST, opens the streams; returns the function that closes it all. */
export function startLive(WebSocketImpl?: typeof WebSocket): () => void {
  loadAll();

  const handles: StreamHandle[] = STREAMS.map((spec) =>
    openStream<never>({
      path: spec.path,
      onMessage: spec.apply,
      onState: spec.setConnection,
      token: () => useAuthStore.getState().token,
      onUnauthorized: () => useAuthStore.getState().refused(),
      WebSocketImpl,
    }),
  );

  const leaderboard = debounce(() => void useLeaderboardStore.getState().load(), 400);
  const trades = debounce(() => void useTradesStore.getState().load(), 400);
  const unsubscribers = [
    useStatusStore.subscribe((state, previous) => {
      if (state.revision !== previous.revision) leaderboard.call();
    }),
    usePositionsStore.subscribe((state, previous) => {
      if (state.revision !== previous.revision) trades.call();
    }),
    useAccountStore.subscribe((state, previous) => {
      if (state.accounts !== previous.accounts) leaderboard.call();
    }),
    // A new token: reconnect every stream with it, and reload what may have been refused.
    useAuthStore.subscribe((state, previous) => {
      if (state.token === previous.token) return;
      if (!state.token) return;
      for (const handle of handles) handle.reconnect();
      loadAll();
    }),
  ];

  return () => {
    for (const handle of handles) handle.close();
    for (const unsubscribe of unsubscribers) unsubscribe();
    leaderboard.cancel();
    trades.cancel();
  };
}
