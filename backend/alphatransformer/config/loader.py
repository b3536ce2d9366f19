"""Load `agent.yaml`: read, parse, substitute variables, validate; every failure a `ConfigError`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from alphatransformer.config.errors import ConfigError
from alphatransformer.config.schema import AppConfig
from alphatransformer.config.substitution import substitute

DEFAULT_CONFIG_PATH = Path("config/agent.yaml")


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    dotenv_path: Path | None = Path(".env"),
) -> AppConfig:
    """Load and validate the config file.

    With no `path`, `config/agent.yaml` is used if it exists, else the built-in defaults (the
    same values the shipped file holds). Variables come from the process environment, which
    wins over a `.env` file when one exists.
    """
    variables = _variables(env, dotenv_path)
    if path is None and not DEFAULT_CONFIG_PATH.is_file():
        return _validate({}, None)
    config_path = path or DEFAULT_CONFIG_PATH
    raw = _parse(_read(config_path), config_path)
    try:
        data = substitute(raw, variables)
    except ConfigError as error:
        raise ConfigError(error.reason, path=config_path, key=error.key) from None
    return _validate(data, config_path)


def _variables(env: Mapping[str, str] | None, dotenv_path: Path | None) -> dict[str, str]:
    variables: dict[str, str] = {}
    if dotenv_path is not None and dotenv_path.is_file():
        values = dotenv_values(dotenv_path)
        variables.update({k: v for k, v in values.items() if v is not None})
    variables.update(os.environ if env is None else env)
    return variables


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the file ({error})", path=path) from None


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"invalid YAML{where}: {problem}", path=path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"the top level must be a mapping of keys, not {type(data).__name__}", path=path
        )
    return data


def _validate(data: dict[str, Any], path: Path | None) -> AppConfig:
    try:
        config = AppConfig.model_validate(data)
    except ValidationError as error:
        problems = [(_key(e["loc"]), _describe(e)) for e in error.errors()]
        if len(problems) == 1:
            key, message = problems[0]
            raise ConfigError(message, path=path, key=key or None) from None
        listed = "; ".join(f"{key}: {message}" if key else message for key, message in problems)
        raise ConfigError(f"{len(problems)} problems: {listed}", path=path) from None
    _check_database_url(config.database.url, path)
    return config


def _check_database_url(url: str, path: Path | None) -> None:
    """Refuse a database URL that SQLAlchemy cannot open asynchronously, here rather than as a
    traceback when the engine is made. The URL is not echoed: it may hold a password."""
    key = "database.url"
    try:
        dialect = make_url(url).get_dialect()
    except NoSuchModuleError as error:  # an ArgumentError too, so caught first
        raise ConfigError(f"unknown database backend ({error})", path=path, key=key) from None
    except ArgumentError:
        raise ConfigError(
            "not a database URL (expected e.g. sqlite+aiosqlite:///data/alphatransformer.db)",
            path=path,
            key=key,
        ) from None
    if not dialect.is_async:
        raise ConfigError(
            f"the driver {dialect.driver!r} is not async; name an async one, "
            "e.g. sqlite+aiosqlite:// or postgresql+asyncpg://",
            path=path,
            key=key,
        )


def _key(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


_SECRET_WORDS = ("key", "secret", "token", "password")


def _describe(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check its spelling and its section)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    if kind.startswith("value_error") or kind == "assertion_error":
        return message.removeprefix("Value error, ")
    key = _key(error["loc"]).lower()
    if "input" in error and not any(word in key for word in _SECRET_WORDS):
        message += f", got {_shown(error['input'])}"
    return message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
