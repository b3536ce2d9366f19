import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { agent, stubFetch } from "@/test/fixtures";
import { useAuthStore } from "@/lib/auth";
import { useStatusStore } from "@/features/status/store";
import { ControlPanel } from "./ControlPanel";
import { TokenDialog } from "./TokenDialog";

function setup() {
  useStatusStore.setState({ agents: { trend: agent() }, names: ["trend"] });
  render(
    <>
      <ControlPanel />
      <TokenDialog />
    </>,
  );
}

describe("the control panel", () => {
  it("asks for confirmation, then sends the command with the session's token", async () => {
    useAuthStore.getState().setToken("s3cret");
    const calls = stubFetch({ "/api/agents/trend/stop": { agent: "trend", changed: true, state: "paused", reason: null } });
    setup();
    fireEvent.click(screen.getByTestId("control-stop_close-trend"));
    expect(calls).toHaveLength(0); // nothing sent before confirming
    fireEvent.click(screen.getByTestId("confirm-action"));
    await waitFor(() => expect(screen.getByTestId("control-outcome")).toHaveTextContent("trend: paused"));
    expect(calls[0]?.url.searchParams.get("close_positions")).toBe("true");
    expect(calls[0]?.init?.method).toBe("POST");
    expect((calls[0]?.init?.headers as Record<string, string>).Authorization).toBe("Bearer s3cret");
  });

  it("asks for the token once and keeps it in sessionStorage only", async () => {
    stubFetch({ "/api/agent/start": { changed: true, agents: [{ agent: "trend", changed: true, state: "running", reason: null }] } });
    setup();
    fireEvent.click(screen.getByTestId("control-start-all"));
    fireEvent.click(screen.getByTestId("confirm-action"));
    fireEvent.change(screen.getByTestId("token-input"), { target: { value: "s3cret" } });
    fireEvent.click(screen.getByTestId("token-save"));
    expect(window.sessionStorage.getItem("alphatransformer.token")).toBe("s3cret");
    expect(window.localStorage.length).toBe(0);
    fireEvent.click(screen.getByTestId("confirm-action"));
    await waitFor(() => expect(screen.getByTestId("control-outcome")).toHaveTextContent("trend: running"));
  });

  it("reports a refused token", async () => {
    useAuthStore.getState().setToken("wrong");
    stubFetch({
      "/api/agents/trend/kill": () =>
        new Response(JSON.stringify({ error: { code: "unauthorized", message: "a valid bearer token is required" } }), { status: 401 }),
    });
    setup();
    fireEvent.click(screen.getByTestId("control-kill-trend"));
    fireEvent.click(screen.getByTestId("confirm-action"));
    await waitFor(() => expect(screen.getByTestId("control-outcome")).toHaveTextContent("Refused"));
    expect(useAuthStore.getState().needed).toBe(true);
  });
});
