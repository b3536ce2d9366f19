"""What a paper account is made of when it is kept between runs, and the versioned JSON document
that holds its small part.

The state splits by how it grows. Orders and income records pile up for as long as the account
trades and change one at a time, so a store keeps them as rows and a save adds or replaces only
those that changed. Everything else (positions, per-symbol settings and filters, the order id
counter, the funding clock, the last candle seen per symbol) stays small whatever the account's
age, and is rewritten whole as one document on every save: amounts as exact decimal strings,
read back through a schema that refuses anything unexpected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alphatransformer.market.types import Kline
from alphatransformer.trading.models import OrderUpdate
from alphatransformer.trading.paper.ledger import IncomeRecord
from alphatransformer.trading.paper.positions import OpenPosition, PositionTerms
from alphatransformer.trading.paper.symbols import SymbolSpec

DOCUMENT_VERSION = 1


class PaperStateError(ValueError):
    """A stored paper account that cannot be resumed: corrupted, or written by a newer release."""


@dataclass(frozen=True, slots=True)
class AccountCore:
    """The part of a paper account that a save rewrites whole.

    `funding_checked_ms` is None until the exchange first follows the market.
    """

    next_order_id: int
    funding_checked_ms: int | None
    specs: Mapping[str, SymbolSpec]
    terms: Mapping[str, PositionTerms]
    positions: Mapping[str, OpenPosition]
    last_klines: Mapping[str, Kline]


@dataclass(frozen=True, slots=True)
class PaperState:
    """A paper account as a store holds it.

    Loaded, it is the whole account: the latest update of every order, oldest order first,
    and the whole income ledger. Saved, `orders` and `income` are only those changed or booked
    since the previous save.
    """

    core: AccountCore
    orders: Sequence[OrderUpdate]
    income: Sequence[IncomeRecord]


class PaperStateStore(Protocol):
    """Where one paper account is kept between runs."""

    async def load(self) -> PaperState | None:
        """The account as last saved, or None when none was; raises `PaperStateError`."""
        ...

    async def save(self, state: PaperState) -> None:
        """Rewrite the core and add or replace the given orders and income records, atomically;
        saving the same state again changes nothing."""
        ...

    async def clear(self) -> None:
        """Forget the account, so that the next run starts a new one."""
        ...


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    version: Literal[1]
    next_order_id: int = Field(ge=1)
    funding_checked_ms: int | None
    specs: dict[str, SymbolSpec]
    terms: dict[str, PositionTerms]
    positions: dict[str, OpenPosition]
    last_klines: dict[str, Kline]

    @model_validator(mode="after")
    def _consistent(self) -> _Document:
        filed = [
            *((key, spec.filters.symbol) for key, spec in self.specs.items()),
            *((key, position.symbol) for key, position in self.positions.items()),
            *((key, kline.symbol) for key, kline in self.last_klines.items()),
        ]
        misfiled = sorted({key for key, symbol in filed if key != symbol})
        if misfiled:
            raise ValueError(f"entries filed under another symbol: {', '.join(misfiled)}")
        if any(position.quantity == 0 for position in self.positions.values()):
            raise ValueError("a position of zero quantity")
        return self


def encode_core(core: AccountCore) -> str:
    return _Document(
        version=DOCUMENT_VERSION,
        next_order_id=core.next_order_id,
        funding_checked_ms=core.funding_checked_ms,
        specs=dict(core.specs),
        terms=dict(core.terms),
        positions=dict(core.positions),
        last_klines=dict(core.last_klines),
    ).model_dump_json()


def decode_core(text: str) -> AccountCore:
    """Read a document written by `encode_core`; raise `PaperStateError` saying what is wrong."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise PaperStateError(f"the document is not JSON ({error})") from None
    version = raw.get("version") if isinstance(raw, dict) else None
    if version != DOCUMENT_VERSION:
        raise PaperStateError(
            f"the document has version {version!r}; this release reads version {DOCUMENT_VERSION}"
        )
    try:
        document = _Document.model_validate(raw)
    except ValidationError as error:
        raise PaperStateError(f"the document is invalid: {_problems(error)}") from None
    return AccountCore(
        next_order_id=document.next_order_id,
        funding_checked_ms=document.funding_checked_ms,
        specs=document.specs,
        terms=document.terms,
        positions=document.positions,
        last_klines=document.last_klines,
    )


def _problems(error: ValidationError) -> str:
    """Pydantic's findings on one line, each at its place (`positions.BTCUSDT.quantity`)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        if problem["loc"]
        else problem["msg"]
        for problem in error.errors(include_url=False)
    )
