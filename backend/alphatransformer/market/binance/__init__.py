"""Binance USDⓈ-M futures: the typed wire format, the HTTP transport and market data over REST.

`errors` turns Binance's `{code, msg}` answers into exception types, `http` is the one transport
(weights, `Retry-After`, retries), `schemas` parses the wire format into our types, and `rest`
is the market-data client built on them. The trading adapter reuses `errors` and `http`.
"""
