"""Market data: candle types, the validated K-line cache and the sources that feed it."""
