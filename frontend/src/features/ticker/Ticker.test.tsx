import { act, render, screen } from "@testing-library/react";
import { status } from "@/test/fixtures";
import { useStatusStore } from "@/features/status/store";
import { Ticker } from "./Ticker";
import { useMarketStore } from "./store";

describe("the price ticker", () => {
  it("says SIMULATED plainly when the market is, and moves with the stream", () => {
    useStatusStore.setState({ status: status() });
    useMarketStore.getState().seed(status().market_data);
    render(<Ticker />);
    expect(screen.getByTestId("simulated-badge")).toHaveTextContent("Simulated");
    expect(screen.getByText("$95,012.30")).toBeInTheDocument();
    expect(screen.getByText("stale")).toBeInTheDocument(); // ETH's data is not fresh
    act(() =>
      useMarketStore.getState().apply({ type: "update", agent: null, data: [{ symbol: "BTCUSDT", price: 95100, last_update: "t", fresh: true }] }),
    );
    expect(screen.getByText("$95,100.00")).toHaveClass("text-up");
  });

  it("shows no badge for a live market", () => {
    useStatusStore.setState({ status: status({ simulated_market: false, market_source: "binance", notice: null }) });
    render(<Ticker />);
    expect(screen.queryByTestId("simulated-badge")).toBeNull();
  });
});
