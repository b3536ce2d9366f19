"""Column types that keep money exact and time zone-aware on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine

TEXT_CHARS = 64
"""Width of an `ExactDecimal` on SQLite, where it is the number written out."""
INTEGER_DIGITS = 20
"""Digits before the point that NUMERIC(38, 18), an `ExactDecimal` elsewhere, can hold."""


def fits_exact_decimal(value: Decimal) -> bool:
    """Whether `value` fits an `ExactDecimal` column on every backend: finite, below 10^20 in
    magnitude and at most `TEXT_CHARS` written out (1e308 and 1e-300 do not)."""
    return (
        value.is_finite()
        and value.adjusted() < INTEGER_DIGITS
        and len(format(value, "f")) <= TEXT_CHARS
    )


class ExactDecimal(TypeDecorator[Decimal]):
    """A `Decimal` stored without loss: text on SQLite, NUMERIC on other databases.

    A value that does not fit (see `fits_exact_decimal`) is refused, not cut or overflowed:
    SQLite would keep a 309-digit text in a 64-character column, PostgreSQL would fail.
    """

    impl = String(TEXT_CHARS)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(TEXT_CHARS))
        return dialect.type_descriptor(Numeric(INTEGER_DIGITS + 18, 18))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal takes Decimal values, not {type(value).__name__}")
        if not fits_exact_decimal(value):
            raise ValueError(f"ExactDecimal refuses {value}: not a finite number that fits")
        return format(value, "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime; SQLite's naive text is read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
