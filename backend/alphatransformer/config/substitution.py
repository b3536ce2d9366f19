"""`${VAR}` and `${VAR:-default}` substitution in config values, shell style.

Substitution runs on parsed YAML scalars, never on the raw text, so a variable's value can not
change the document's structure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from alphatransformer.config.errors import ConfigError

_PATTERN = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_BROKEN = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})")


def substitute(value: Any, env: Mapping[str, str], key: str = "") -> Any:
    """Return `value` with every variable reference in its strings replaced from `env`.

    `${VAR}` must be set; `${VAR:-default}` falls back when VAR is unset or empty; `$$` is a
    literal dollar sign. Raises `ConfigError` naming the key and the variable.
    """
    if isinstance(value, dict):
        return {k: substitute(v, env, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, env, f"{key}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):
        return _substitute_string(value, env, key)
    return value


def _substitute_string(text: str, env: Mapping[str, str], key: str) -> str:
    if _BROKEN.search(text):
        raise ConfigError(
            f"malformed variable reference in {text!r}; write ${{NAME}} or ${{NAME:-default}}",
            key=key,
        )

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name")
        default = match.group("default")
        found = env.get(name, "")
        if found:
            return found
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set (set it, put it in .env, or write "
            f"${{{name}:-default}})",
            key=key,
        )

    return _PATTERN.sub(replace, text)
