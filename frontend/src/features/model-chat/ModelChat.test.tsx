import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { cycle, decision, stubFetch } from "@/test/fixtures";
import { useDecisionsStore } from "@/features/decisions/store";
import { ModelChat } from "./ModelChat";

describe("model chat", () => {
  beforeEach(() => {
    useDecisionsStore.setState({ loaded: true });
    useDecisionsStore.getState().upsert([
      decision({ id: 1, cycle_id: "live-trend-1", symbol: "BTCUSDT", action: "open_long", status: "executed", quantity: "0.05", leverage: 3, confidence: 0.72, reasoning: "Trend up, RSI 58." }),
      decision({ id: 2, cycle_id: "live-trend-1", symbol: "ETHUSDT", reasoning: "No edge." }),
    ]);
  });

  it("shows a cycle's per-symbol decisions with reasoning and confidence", () => {
    render(<ModelChat />);
    expect(screen.getAllByTestId("chat-cycle")).toHaveLength(1);
    expect(screen.getByText("Trend up, RSI 58.")).toBeInTheDocument();
    expect(screen.getByText("No edge.")).toBeInTheDocument();
    expect(screen.getAllByText("72%").length).toBeGreaterThan(0);
  });

  it("expands to the full transcript: prompt, tool calls, answer, tokens, cost, latency", async () => {
    const calls = stubFetch({ "/api/cycles/live-trend-1": cycle() });
    render(<ModelChat />);
    fireEvent.click(screen.getByRole("button", { name: "Transcript" }));
    await waitFor(() => expect(screen.getByTestId("transcript")).toBeInTheDocument());
    expect(calls[0]?.url.pathname).toBe("/api/cycles/live-trend-1");
    expect(screen.getByText("You trade perpetuals.")).toBeInTheDocument();
    expect(screen.getByText(/get_indicators\(/)).toBeInTheDocument();
    expect(screen.getByText("Holding BTC.")).toBeInTheDocument();
    expect(screen.getByText("1,834")).toBeInTheDocument();
    expect(screen.getByText("$0.0012")).toBeInTheDocument();
    expect(screen.getByText("840 ms")).toBeInTheDocument();
  });
});
