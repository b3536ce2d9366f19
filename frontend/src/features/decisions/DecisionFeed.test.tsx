import { act, fireEvent, render, screen } from "@testing-library/react";
import { decision } from "@/test/fixtures";
import { DecisionFeed } from "./DecisionFeed";
import { useDecisionsStore } from "./store";

describe("the decision feed", () => {
  it("shows each outcome, a rejection with its rule and numbers", () => {
    useDecisionsStore.setState({ loaded: true });
    useDecisionsStore.getState().upsert([
      decision({ id: 1, action: "open_long", status: "executed", quantity: "0.05", notional: "4750.6", leverage: 3 }),
      decision({
        id: 2,
        action: "open_short",
        status: "rejected",
        rejection_rule: "max_leverage",
        status_reason: "leverage 25 exceeds the limit of 10",
      }),
      decision({ id: 3, status: "failed", status_reason: "exchange timeout" }),
      decision({ id: 4 }),
    ]);
    render(<DecisionFeed />);
    expect(screen.getAllByTestId("decision-row")).toHaveLength(4);
    expect(screen.getByText("max_leverage: leverage 25 exceeds the limit of 10")).toBeInTheDocument();
    expect(screen.getByText("exchange timeout")).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("Outcome"), { target: { value: "rejected" } });
    expect(screen.getAllByTestId("decision-row")).toHaveLength(1);
  });

  it("shows a streamed decision without a reload", () => {
    useDecisionsStore.setState({ loaded: true });
    render(<DecisionFeed />);
    expect(screen.queryAllByTestId("decision-row")).toHaveLength(0);
    act(() => useDecisionsStore.getState().apply({ type: "update", agent: "trend", data: [decision({ id: 9 })] }));
    expect(screen.getAllByTestId("decision-row")).toHaveLength(1);
  });
});
