import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { stubFetch } from "@/test/fixtures";
import { Backtests } from "./Backtests";

// Canvas charts do not draw in jsdom: the chart is replaced by a list of its series.
vi.mock("@/components/ui/line-chart", () => ({
  LineChart: ({ series }: { series: { id: string; points: unknown[] }[] }) => (
    <ul data-testid="chart">
      {series.map((s) => (
        <li key={s.id}>{`${s.id}: ${s.points.length} points`}</li>
      ))}
    </ul>
  ),
}));

const RUN = {
  run_id: "arena-1-trend",
  kind: "arena",
  created_at: "2026-12-01T00:00:00Z",
  arena_id: "arena-1",
  name: "trend",
  model: "rules-v1",
  started_at: "2026-12-01T00:00:00Z",
  finished_at: "2026-12-01T01:00:00Z",
  cycles: 120,
  total_return: 0.031,
  end_equity: "10310.00",
  model_errors: 0,
};
const STANDING = {
  name: "trend",
  model: "rules-v1",
  run_id: "arena-1-trend",
  total_return: 0.031,
  sharpe: 1.4,
  max_drawdown: 0.012,
  win_rate: 0.6,
  fees: "12.40",
  trades: 10,
  cost_usd: "0",
  end_equity: "10310.00",
  cycles: 120,
  model_errors: 0,
  never_decided: false,
};
const HISTORY = {
  agent: "trend",
  total_points: 2,
  points: [
    { time: "2026-12-01T00:00:00Z", equity: "10000", wallet_balance: "10000", unrealized_pnl: "0" },
    { time: "2026-12-01T01:00:00Z", equity: "10310", wallet_balance: "10310", unrealized_pnl: "0" },
  ],
};

describe("backtests and arenas", () => {
  it("lists the runs and opens one's standings and equity comparison", async () => {
    const calls = stubFetch({
      "/api/runs": [RUN],
      "/api/arena/leaderboard": [STANDING],
      "/api/backtests/arena-1-trend/history": HISTORY,
    });
    render(<Backtests />);
    await waitFor(() => expect(screen.getAllByTestId("run-row")).toHaveLength(1));
    fireEvent.click(screen.getByRole("button", { name: "trend" }));
    await waitFor(() => expect(screen.getByText("trend: 2 points")).toBeInTheDocument());
    expect(screen.getAllByText("+3.10%").length).toBeGreaterThan(0);
    const leaderboardCall = calls.find((c) => c.url.pathname === "/api/arena/leaderboard");
    expect(leaderboardCall?.url.searchParams.getAll("run_id")).toEqual(["arena-1"]);
  });

  it("says what to do when the server lists no runs", async () => {
    stubFetch({});
    render(<Backtests />);
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("open one by its id"));
  });
});
