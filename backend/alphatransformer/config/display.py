"""The one place that turns config into something safe to show: CLI, API and logs all use it."""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from alphatransformer.config.schema import AppConfig

REDACTED = "**********"


def redacted_config(config: AppConfig) -> dict[str, Any]:
    """The effective config as plain data, each secret shown only as set (`REDACTED`) or empty."""
    data = _redact(config)
    data["database"]["url"] = redacted_url(config.database.url)
    return data


def redacted_url(url: str) -> str:
    """A database URL with its password masked."""
    return make_url(url).render_as_string(hide_password=True)


def redacted_yaml(config: AppConfig) -> str:
    return yaml.safe_dump(redacted_config(config), sort_keys=False, allow_unicode=True)


def _redact(model: BaseModel) -> dict[str, Any]:
    data = model.model_dump(mode="json")
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            data[name] = REDACTED if value.get_secret_value() else ""
        elif isinstance(value, BaseModel):
            data[name] = _redact(value)
    return data
