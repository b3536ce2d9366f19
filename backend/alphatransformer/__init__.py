"""AlphaTransformer: an LLM trading agent for Binance USDⓈ-M perpetuals."""
