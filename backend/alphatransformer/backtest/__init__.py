"""Backtests and the arena: history replayed through the same agent, gate and order manager as
live trading, on a simulated clock, with reports and a leaderboard."""
