"""The shape of `agent.yaml`: frozen pydantic models that refuse unknown keys.

Defaults here are the shipped defaults: a fully offline paper setup (simulated market, paper
exchange, built-in rules model). `config/agent.yaml` spells the same values out for people.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from alphatransformer.market.types import Interval

Symbol = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,20}USDT$")]
Share = Annotated[float, Field(gt=0, le=1)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
Rate = Annotated[Decimal, Field(ge=0, lt=Decimal("0.1"))]


class Section(BaseModel):
    """Base of every config section: immutable, and an unknown key is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(StrEnum):
    """Where orders go: the in-process paper exchange, Binance's testnet, or real money."""

    PAPER = "paper"
    TESTNET = "testnet"
    PRODUCTION = "production"


class BinanceEndpoints(Section):
    rest_url: str
    ws_url: str


class BinanceConfig(Section):
    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")
    recv_window_ms: int = Field(default=5000, ge=1, le=60000)
    testnet: BinanceEndpoints = BinanceEndpoints(
        rest_url="https://testnet.binancefuture.com", ws_url="wss://fstream.binancefuture.com"
    )
    production: BinanceEndpoints = BinanceEndpoints(
        rest_url="https://fapi.binance.com", ws_url="wss://fstream.binance.com"
    )

    @property
    def has_keys(self) -> bool:
        return bool(self.api_key.get_secret_value() and self.api_secret.get_secret_value())


class SimulatedMarketConfig(Section):
    """A seeded synthetic market: trending regimes, clustered volatility, fat tails."""

    seed: int = 42
    tick_seconds: float = Field(default=1.0, gt=0, le=60)
    start_prices: dict[Symbol, PositiveDecimal] = Field(
        default_factory=lambda: {
            "BTCUSDT": Decimal("95000"),
            "ETHUSDT": Decimal("3400"),
            "SOLUSDT": Decimal("190"),
            "BNBUSDT": Decimal("650"),
            "XRPUSDT": Decimal("2.2"),
            "DOGEUSDT": Decimal("0.32"),
        }
    )
    annual_volatility: float = Field(default=0.6, gt=0, le=5)


class MarketConfig(Section):
    # simulated: offline synthetic prices; binance: live USDⓈ-M data (no key needed).
    source: Literal["simulated", "binance"] = "simulated"
    short_interval: Interval = Interval.M3
    long_interval: Interval = Interval.H4
    history_candles: int = Field(default=120, ge=60, le=1500)
    cache_size: int = Field(default=500, ge=100, le=10000)
    max_staleness_seconds: float = Field(default=30.0, gt=0)
    simulated: SimulatedMarketConfig = SimulatedMarketConfig()

    @model_validator(mode="after")
    def _long_is_longer(self) -> MarketConfig:
        if self.long_interval.ms <= self.short_interval.ms:
            raise ValueError("long_interval must be longer than short_interval")
        if self.cache_size < self.history_candles:
            raise ValueError("cache_size must be at least history_candles")
        return self


class RulesModelConfig(Section):
    """Parameters of the built-in indicator strategy (the offline model)."""

    ema_fast: int = Field(default=20, ge=2)
    ema_slow: int = Field(default=50, ge=3)
    rsi_period: int = Field(default=14, ge=2)
    rsi_overbought: float = Field(default=70, gt=50, lt=100)
    rsi_oversold: float = Field(default=30, gt=0, lt=50)
    atr_period: int = Field(default=14, ge=2)
    stop_atr_multiple: float = Field(default=2.0, gt=0)
    take_profit_atr_multiple: float = Field(default=4.0, gt=0)
    risk_per_trade: Share = 0.01
    leverage: int = Field(default=3, ge=1, le=125)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> RulesModelConfig:
        if self.ema_fast >= self.ema_slow:
            raise ValueError("ema_fast must be smaller than ema_slow")
        return self


class LLMConfig(Section):
    """Any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, Qwen, OpenRouter, Ollama, vLLM)."""

    model: str = "gpt-4o-mini"
    base_url: str | None = None
    api_key: SecretStr = SecretStr("")
    temperature: float = Field(default=0.2, ge=0, le=2)
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=1, ge=0, le=10)
    # USD per million tokens, for the cost recorded with every decision; 0 records no cost.
    # Set them to the provider's list prices of `model` (they change too often to ship a table).
    input_price_per_mtok: Annotated[Decimal, Field(ge=0)] = Decimal(0)
    output_price_per_mtok: Annotated[Decimal, Field(ge=0)] = Decimal(0)

    @field_validator("base_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value


class AgentConfig(Section):
    provider: Literal["rules", "openai"] = "rules"
    cycle_seconds: float = Field(default=15.0, gt=0)
    # Above timeout x (retries + 1) x max_model_calls, so the model's own limits fire first and
    # the cycle keeps its usage and transcript.
    decision_timeout_seconds: float = Field(default=300.0, gt=0)
    # A built-in prompt template set (`default`) or a directory holding system.md, user.md and
    # symbol.md with the same placeholders.
    prompt: str = Field(default="default", min_length=1)
    # Model calls per cycle: the first answer, tool rounds and one schema retry share them.
    max_model_calls: int = Field(default=4, ge=1, le=20)
    rules: RulesModelConfig = RulesModelConfig()
    llm: LLMConfig = LLMConfig()

    @model_validator(mode="after")
    def _llm_needs_key_or_url(self) -> AgentConfig:
        if (
            self.provider == "openai"
            and not self.llm.api_key.get_secret_value()
            and self.llm.base_url is None
        ):
            raise ValueError(
                "provider 'openai' needs agent.llm.api_key, or agent.llm.base_url for a "
                "local server that takes no key"
            )
        return self


class PaperExchangeConfig(Section):
    """The paper account. `alphatransformer run` keeps it in the database and resumes it at the
    next start (the starting balance only funds a new one); backtests always start afresh."""

    starting_balance: PositiveDecimal = Decimal("10000")
    taker_fee: Rate = Decimal("0.0005")
    maker_fee: Rate = Decimal("0.0002")
    slippage_bps: Annotated[Decimal, Field(ge=0, le=500)] = Decimal("2")
    # Discard the kept account at start and open a new one with the starting balance.
    reset_on_start: bool = False


class RiskConfig(Section):
    """Limits the risk gate enforces on every proposed action, whatever the model says."""

    max_leverage: int = Field(default=10, ge=1, le=125)
    min_confidence: float = Field(default=0.55, ge=0, le=1)
    max_position_share: Share = 0.3
    max_total_exposure: float = Field(default=1.5, gt=0, le=20)
    max_open_positions: int = Field(default=3, ge=1)
    require_stop_loss: bool = True
    max_stop_distance: Share = 0.1
    daily_loss_limit: Share = 0.05
    # At the daily loss limit: refuse new entries (close_only), or also close every position.
    daily_loss_action: Literal["close_only", "flatten"] = "close_only"
    kill_switch: bool = False


class TradingConfig(Section):
    paper: PaperExchangeConfig = PaperExchangeConfig()
    risk: RiskConfig = RiskConfig()


class DatabaseConfig(Section):
    url: str = "sqlite+aiosqlite:///data/alphatransformer.db"
    echo: bool = False


class ApiConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    token: SecretStr = SecretStr("")
    cors_origins: tuple[str, ...] = ()


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["console", "json"] = "console"
    file: Path | None = None


class AppConfig(Section):
    """The whole of `agent.yaml`."""

    environment: Environment = Environment.PAPER
    symbols: tuple[Symbol, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    market: MarketConfig = MarketConfig()
    agent: AgentConfig = AgentConfig()
    trading: TradingConfig = TradingConfig()
    binance: BinanceConfig = BinanceConfig()
    database: DatabaseConfig = DatabaseConfig()
    api: ApiConfig = ApiConfig()
    logging: LoggingConfig = LoggingConfig()

    @field_validator("symbols")
    @classmethod
    def _symbols_unique(cls, symbols: tuple[str, ...]) -> tuple[str, ...]:
        if not symbols:
            raise ValueError("at least one symbol is needed")
        if len(set(symbols)) != len(symbols):
            raise ValueError("symbols must not repeat")
        return symbols

    @model_validator(mode="after")
    def _consistent(self) -> AppConfig:
        if self.environment is Environment.PRODUCTION and not self.binance.has_keys:
            raise ValueError(
                "environment 'production' trades real money and refuses to start without "
                "binance.api_key and binance.api_secret"
            )
        if self.environment is Environment.TESTNET and not self.binance.has_keys:
            raise ValueError(
                "environment 'testnet' places orders on Binance's testnet and needs "
                "binance.api_key and binance.api_secret (testnet keys)"
            )
        if self.environment is not Environment.PAPER and self.is_simulated_market:
            raise ValueError(
                f"environment '{self.environment.value}' sends real orders and needs a live "
                "market source, not market.source 'simulated'"
            )
        if self.is_simulated_market:
            missing = [s for s in self.symbols if s not in self.market.simulated.start_prices]
            if missing:
                raise ValueError(
                    "the simulated market needs market.simulated.start_prices for "
                    + ", ".join(missing)
                )
        return self

    @property
    def is_simulated_market(self) -> bool:
        return self.market.source == "simulated"

    def secrets(self) -> list[str]:
        """Every non-empty secret value, so that logging can redact them wherever they appear."""
        values = [
            self.binance.api_key,
            self.binance.api_secret,
            self.agent.llm.api_key,
            self.api.token,
        ]
        return [v.get_secret_value() for v in values if v.get_secret_value()]
