import { create } from "zustand";
import { api } from "@/api/client";
import type { AgentOut, StatusOut, StreamMessage } from "@/api/types";
import type { ConnectionState } from "@/lib/stream";

export interface StatusState {
  status: StatusOut | null;
  /** Agents by name, kept live by /ws/status. */
  agents: Record<string, AgentOut>;
  /** Agent names in the order the server lists them (stable: no reordering on updates). */
  names: string[];
  connection: ConnectionState;
  error: string | null;
  /** Bumped on every agent update, so other panels can refresh their REST views. */
  revision: number;
  load: () => Promise<void>;
  apply: (message: StreamMessage<AgentOut>) => void;
  setConnection: (connection: ConnectionState) => void;
}

export const useStatusStore = create<StatusState>((set, get) => ({
  status: null,
  agents: {},
  names: [],
  connection: "connecting",
  error: null,
  revision: 0,
  load: async () => {
    try {
      const status = await api.status();
      const agents: Record<string, AgentOut> = {};
      for (const agent of status.agents ?? []) agents[agent.name] = agent;
      set({ status, agents, names: (status.agents ?? []).map((a) => a.name), error: null });
    } catch (error) {
      set({ error: (error as Error).message });
    }
  },
  apply: (message) => {
    const agent = message.data;
    if (message.type === "heartbeat" || !agent || typeof agent !== "object") return;
    const { agents, names, revision } = get();
    set({
      agents: { ...agents, [agent.name]: agent },
      names: names.includes(agent.name) ? names : [...names, agent.name],
      revision: revision + 1,
    });
  },
  setConnection: (connection) => set({ connection }),
}));

/** The agents in server order (memoize on both arguments). */
export function agentList(agents: Record<string, AgentOut>, names: string[]): AgentOut[] {
  return names.map((name) => agents[name]).filter((a): a is AgentOut => !!a);
}
