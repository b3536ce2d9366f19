import { fireEvent, render, screen, within } from "@testing-library/react";
import { row } from "@/test/fixtures";
import { Leaderboard } from "./Leaderboard";
import { useLeaderboardStore } from "./store";

describe("the leaderboard panel", () => {
  beforeEach(() => {
    useLeaderboardStore.setState({
      loaded: true,
      rows: [
        row({ agent: "trend", rank: 1, account_value: "10512.5", total_return: 0.05125 }),
        row({ agent: "hodl", rank: 2, provider: "buy_and_hold", account_value: "9980.1", total_return: -0.00199, trades: 3 }),
      ],
    });
  });

  it("lists every agent with its account value and return", () => {
    render(<Leaderboard />);
    const rows = screen.getAllByTestId("leaderboard-row");
    expect(rows.map((r) => r.dataset.agent)).toEqual(["trend", "hodl"]);
    expect(within(rows[0]!).getByText("$10,512.50")).toBeInTheDocument();
    expect(within(rows[0]!).getByText("+5.13%")).toBeInTheDocument();
    expect(within(rows[1]!).getByText("-0.20%")).toBeInTheDocument();
  });

  it("sorts by a column when its header is clicked", () => {
    render(<Leaderboard />);
    fireEvent.click(screen.getByRole("button", { name: /Trades/ }));
    expect(screen.getAllByTestId("leaderboard-row").map((r) => r.dataset.agent)).toEqual(["hodl", "trend"]);
    fireEvent.click(screen.getByRole("button", { name: /Trades/ }));
    expect(screen.getAllByTestId("leaderboard-row").map((r) => r.dataset.agent)).toEqual(["trend", "hodl"]);
  });
});
