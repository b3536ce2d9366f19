"""The shape of `agent.yaml`: frozen pydantic models that refuse unknown keys.

Defaults here are the shipped defaults: a fully offline paper setup (simulated market, paper
exchange, built-in rules model). `config/agent.yaml` spells the same values out for people.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, TypeVar

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
    """Parameters of the built-in indicator strategy (the offline model).

    `trend` follows the long timeframe's trend when short-term momentum confirms it;
    `mean_reversion` fades short-term extremes (RSI past its thresholds) back toward the mean.
    """

    style: Literal["trend", "mean_reversion"] = "trend"
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


Provider = Literal["rules", "openai", "buy_and_hold"]
"""rules: the built-in indicator model; openai: any OpenAI-compatible API; buy_and_hold: the
baseline that buys every symbol once and holds."""


class AgentConfig(Section):
    provider: Provider = "rules"
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

    def for_buy_and_hold(self, symbols: int) -> RiskConfig:
        """These limits loosened just enough to hold the whole market without stops: one
        position per symbol, each up to its share of equity. The other limits stay as set."""
        return self.model_copy(
            update={
                "require_stop_loss": False,
                "max_open_positions": max(self.max_open_positions, symbols),
                "max_position_share": 1.0,
                "max_total_exposure": max(self.max_total_exposure, 1.0),
            }
        )


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


AgentName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,23}$")]
"""Names a run id (`live-<name>`), a URL segment and a leaderboard row."""

SINGLE_AGENT = "agent"
"""The name of the one agent a config without an `agents` list runs."""


class BinanceKeys(Section):
    api_key: SecretStr = SecretStr("")
    api_secret: SecretStr = SecretStr("")

    @property
    def pair(self) -> tuple[str, str]:
        return self.api_key.get_secret_value(), self.api_secret.get_secret_value()


class ArenaAgentConfig(Section):
    """One agent of a live arena. What it leaves out comes from the `agent` section (provider,
    prompt, rules, llm), `trading.risk`, `trading.paper.starting_balance` and `binance`; `rules`,
    `llm` and `risk` overlay those sections key by key."""

    name: AgentName
    provider: Provider | None = None
    prompt: str | None = Field(default=None, min_length=1)
    max_model_calls: int | None = Field(default=None, ge=1, le=20)
    rules: RulesModelConfig | None = None
    llm: LLMConfig | None = None
    risk: RiskConfig | None = None
    starting_balance: PositiveDecimal | None = None
    # Its own Binance (sub-)account: two agents on one account would trade each other's positions.
    binance: BinanceKeys | None = None


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
    # A live arena: several agents on the same market, each with its own account. Without it,
    # the `agent` section is an arena of one.
    agents: tuple[ArenaAgentConfig, ...] | None = None
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

    @field_validator("agents")
    @classmethod
    def _agents_named_once(
        cls, agents: tuple[ArenaAgentConfig, ...] | None
    ) -> tuple[ArenaAgentConfig, ...] | None:
        if agents is None:
            return None
        if not agents:
            raise ValueError("an arena needs at least one agent (or leave `agents` out)")
        names = [agent.name for agent in agents]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"agent names must not repeat: {', '.join(repeated)}")
        return agents

    @model_validator(mode="after")
    def _consistent(self) -> AppConfig:
        if self.agents is not None:
            self._check_arena(self.agents)
        has_keys = all(spec.config.binance.has_keys for spec in self.arena())
        if self.environment is Environment.PRODUCTION and not has_keys:
            raise ValueError(
                "environment 'production' trades real money and refuses to start without "
                "binance.api_key and binance.api_secret"
            )
        if self.environment is Environment.TESTNET and not has_keys:
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

    def _check_arena(self, agents: tuple[ArenaAgentConfig, ...]) -> None:
        """Refuse what would trade wrongly: an LLM agent without a key or server, and, with real
        orders, two agents sharing one account."""
        for agent in agents:
            resolved = _overlay_agent(self.agent, agent)
            if resolved.provider == "openai":
                AgentConfig.model_validate(resolved.model_dump())
        if self.environment is Environment.PAPER or len(agents) == 1:
            return
        pairs: dict[tuple[str, str], str] = {}
        for agent in agents:
            if agent.binance is None or not all(agent.binance.pair):
                raise ValueError(
                    f"agent {agent.name!r}: with environment '{self.environment.value}' every "
                    "agent of an arena needs its own binance.api_key and binance.api_secret "
                    "(a Binance sub-account each)"
                )
            other = pairs.setdefault(agent.binance.pair, agent.name)
            if other != agent.name:
                raise ValueError(
                    f"agents {other!r} and {agent.name!r} use the same Binance account: they "
                    "would open, close and protect each other's positions; give each its own "
                    "sub-account keys"
                )

    @property
    def is_simulated_market(self) -> bool:
        return self.market.source == "simulated"

    def arena(self) -> list[AgentSpec]:
        """Every agent this config runs, each with the whole config as that agent sees it."""
        if self.agents is None:
            return [AgentSpec(SINGLE_AGENT, LIVE_RUN, self._for_agent(self.agent, None))]
        return [
            AgentSpec(
                entry.name,
                f"{LIVE_RUN}-{entry.name}",
                self._for_agent(_overlay_agent(self.agent, entry), entry),
            )
            for entry in self.agents
        ]

    def _for_agent(self, agent: AgentConfig, entry: ArenaAgentConfig | None) -> AppConfig:
        risk = self.trading.risk
        paper = self.trading.paper
        binance = self.binance
        if entry is not None:
            risk = _overlay(risk, entry.risk)
            if entry.starting_balance is not None:
                paper = paper.model_copy(update={"starting_balance": entry.starting_balance})
            if entry.binance is not None:
                binance = binance.model_copy(update=entry.binance.model_dump())
        if agent.provider == "buy_and_hold":
            risk = risk.for_buy_and_hold(len(self.symbols))
        trading = self.trading.model_copy(update={"risk": risk, "paper": paper})
        return self.model_copy(
            update={"agent": agent, "agents": None, "trading": trading, "binance": binance}
        )

    def secrets(self) -> list[str]:
        """Every non-empty secret value, so that logging can redact them wherever they appear."""
        values = [self.binance.api_key, self.binance.api_secret, self.agent.llm.api_key]
        for entry in self.agents or ():
            if entry.llm is not None:
                values.append(entry.llm.api_key)
            if entry.binance is not None:
                values.extend((entry.binance.api_key, entry.binance.api_secret))
        values.append(self.api.token)
        return list(dict.fromkeys(v.get_secret_value() for v in values if v.get_secret_value()))


LIVE_RUN = "live"
"""Run id of the single live agent; an arena's agents get `live-<name>`."""


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One live agent: its name, the run id scoping its rows, and its resolved config."""

    name: str
    run_id: str
    config: AppConfig


_S = TypeVar("_S", bound=Section)


def _overlay(base: _S, override: Section | None) -> _S:
    """`base` with the keys `override` sets (its defaults do not count), validated again."""
    if override is None:
        return base
    values = {**base.model_dump(), **override.model_dump(exclude_unset=True)}
    return type(base).model_validate(values)


def _overlay_agent(base: AgentConfig, entry: ArenaAgentConfig) -> AgentConfig:
    """The `agent` section as one arena agent sees it (not validated yet: see `_check_arena`)."""
    update: dict[str, object] = {
        "rules": _overlay(base.rules, entry.rules),
        "llm": _overlay(base.llm, entry.llm),
    }
    for key in ("provider", "prompt", "max_model_calls"):
        value = getattr(entry, key)
        if value is not None:
            update[key] = value
    return base.model_copy(update=update)
