"""AlphaTransformer: an LLM trading agent for Binance USDⓈ-M perpetuals."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alphatransformer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
