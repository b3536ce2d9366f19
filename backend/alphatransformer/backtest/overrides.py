"""Command-line flags applied over `agent.yaml` for a backtest, validated like the file itself.

Each changed section is validated on its own (an unknown value is a `ConfigError` naming the
key, so the CLI exits with status 2), and the whole config is not re-validated: its one
cross-section rule, start prices for the simulated market, does not apply to a replay, which
may trade any symbol that has history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from alphatransformer.config import AppConfig, ConfigError
from alphatransformer.config.schema import Symbol

_SYMBOLS = TypeAdapter(tuple[Symbol, ...])
FLAGS = "command-line flags"


def with_overrides(
    config: AppConfig,
    *,
    symbols: Sequence[str] = (),
    sections: Mapping[str, Mapping[str, Any]] | None = None,
) -> AppConfig:
    """`config` with `symbols` (when given) and each section's changed keys; a None value in
    `sections` means the flag was not given and the config's value stays."""
    update: dict[str, Any] = {}
    if symbols:
        update["symbols"] = _checked_symbols(symbols)
    for name, changes in (sections or {}).items():
        given = _given(changes)
        if given:
            update[name] = _section(getattr(config, name), given, name)
    return config.model_copy(update=update)


def _checked_symbols(symbols: Sequence[str]) -> tuple[str, ...]:
    if len(set(symbols)) != len(symbols):
        raise ConfigError(f"symbols must not repeat (from the {FLAGS})", key="symbols")
    try:
        return _SYMBOLS.validate_python(tuple(symbols))
    except ValidationError as error:
        raise ConfigError(f"{_first_problem(error)} (from the {FLAGS})", key="symbols") from None


def _given(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes with unset flags (None) dropped, nested sections included."""
    given: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, Mapping):
            value = _given(value)
        if value not in (None, {}):
            given[key] = value
    return given


def _section(current: BaseModel, changes: dict[str, Any], name: str) -> BaseModel:
    try:
        return type(current).model_validate(_merged(current.model_dump(), changes))
    except ValidationError as error:
        where = ".".join(str(part) for part in error.errors()[0]["loc"])
        raise ConfigError(
            f"{_first_problem(error)} (from the {FLAGS})", key=f"{name}.{where}".rstrip(".")
        ) from None


def _merged(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        nested = merged.get(key)
        merged[key] = (
            _merged(nested, value)
            if isinstance(value, Mapping) and isinstance(nested, dict)
            else value
        )
    return merged


def _first_problem(error: ValidationError) -> str:
    return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
