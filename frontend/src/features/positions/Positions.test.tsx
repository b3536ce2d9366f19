import { render, screen } from "@testing-library/react";
import { position } from "@/test/fixtures";
import { Positions } from "./Positions";
import { usePositionsStore } from "./store";

describe("the positions panel", () => {
  it("shows each position with its exit plan and unrealized PnL", () => {
    usePositionsStore.getState().apply({ type: "snapshot", agent: "trend", data: [position({ unrealized_pnl: "-12.3456" })] });
    render(<Positions />);
    expect(screen.getAllByTestId("position-row")).toHaveLength(1);
    expect(screen.getByText("-$12.35")).toHaveClass("text-down");
    expect(screen.getByText("92,000.00")).toBeInTheDocument(); // stop
    expect(screen.getByText("98,000.00")).toBeInTheDocument(); // target
    expect(screen.getByText("4h close below EMA50")).toBeInTheDocument();
  });

  it("says so when nothing is open", () => {
    usePositionsStore.setState({ loaded: true });
    render(<Positions />);
    expect(screen.getByText("No open positions.")).toBeInTheDocument();
  });
});
