import { create } from "zustand";
import { api, ApiError, type ControlAction } from "@/api/client";
import { useAuthStore } from "@/lib/auth";

export const ACTION_LABELS: Record<ControlAction, string> = {
  start: "Start",
  stop: "Stop",
  stop_close: "Stop & close",
  kill: "Kill",
};

export const ACTION_EXPLAINED: Record<ControlAction, string> = {
  start: "Resume decision cycles.",
  stop: "Stop after the cycle in progress; positions and their protective orders stay.",
  stop_close: "Stop after the cycle in progress and close every position at market.",
  kill: "Halt now: refuse new entries, stop cycling and close every position.",
};

export interface PendingControl {
  agent: string | null; // null: every agent
  action: ControlAction;
}

export interface ControlOutcome {
  ok: boolean;
  text: string;
}

export interface ControlState {
  pending: PendingControl | null;
  busy: boolean;
  outcome: ControlOutcome | null;
  request: (agent: string | null, action: ControlAction) => void;
  cancel: () => void;
  confirm: () => Promise<void>;
}

function describe(result: Awaited<ReturnType<typeof api.control>>): string {
  if ("agents" in result) {
    return result.agents.map((a) => `${a.agent}: ${a.state}${a.changed ? "" : " (unchanged)"}`).join(" · ");
  }
  return `${result.agent}: ${result.state}${result.changed ? "" : " (unchanged)"}${result.reason ? ` — ${result.reason}` : ""}`;
}

export const useControlStore = create<ControlState>((set, get) => ({
  pending: null,
  busy: false,
  outcome: null,
  request: (agent, action) => set({ pending: { agent, action }, outcome: null }),
  cancel: () => set({ pending: null }),
  confirm: async () => {
    const pending = get().pending;
    if (!pending || get().busy) return;
    if (!useAuthStore.getState().token) {
      // Keep the request; it is sent once a token is entered and the user confirms again.
      useAuthStore.getState().ask();
      return;
    }
    set({ busy: true });
    try {
      const result = await api.control(pending.agent, pending.action);
      set({ pending: null, busy: false, outcome: { ok: true, text: describe(result) } });
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 401;
      set({
        pending: refused ? pending : null,
        busy: false,
        outcome: { ok: false, text: refused ? "Refused: the token was not accepted." : (error as Error).message },
      });
    }
  },
}));
