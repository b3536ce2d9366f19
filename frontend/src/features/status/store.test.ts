import { agent, status, stubFetch } from "@/test/fixtures";
import { agentList, useStatusStore } from "./store";

describe("the status store (fed by /ws/status)", () => {
  it("loads the global status with its agents in server order", async () => {
    stubFetch({ "/api/status": status() });
    await useStatusStore.getState().load();
    const state = useStatusStore.getState();
    expect(state.names).toEqual(["trend", "hodl"]);
    expect(state.status?.simulated_market).toBe(true);
  });

  it("updates one agent on each message and counts the revisions", () => {
    const { apply } = useStatusStore.getState();
    apply({ type: "snapshot", agent: "trend", data: agent() });
    apply({ type: "update", agent: "trend", data: agent({ state: "paused", state_reason: "stopped by the operator" }) });
    apply({ type: "heartbeat" });
    const state = useStatusStore.getState();
    expect(state.agents.trend?.state).toBe("paused");
    expect(state.revision).toBe(2);
    expect(agentList(state.agents, state.names).map((a) => a.name)).toEqual(["trend"]);
  });
});
