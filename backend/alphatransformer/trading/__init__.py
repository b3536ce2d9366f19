"""Trading: the exchange interface and its adapters, the risk gate and the order manager."""
