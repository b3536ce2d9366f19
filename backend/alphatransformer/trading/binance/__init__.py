"""The Binance USDⓈ-M adapter: the `Exchange` interface over Binance's signed REST API and its
user data stream.

`rest` holds the signed endpoints (with their weights, as data), `streams` the listen key and
the private WebSocket, `schemas` turns the wire format into our types, `orders` follows each
order by our client id (its fills, fees and realized PnL), `errors` says which trading error a
Binance error is, and `exchange` puts them together as `BinanceExchange`.
"""
