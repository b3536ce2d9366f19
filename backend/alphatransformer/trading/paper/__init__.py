"""The paper exchange: Binance USDⓈ-M one-way mode simulated in process, for paper trading now and
backtests later. Fills, fees, margin, liquidation, funding and stop-loss / take-profit triggers
follow Binance's published rules, so the order manager cannot tell it from the real venue."""
