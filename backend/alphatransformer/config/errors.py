"""The one error type for configuration problems."""

from __future__ import annotations

from pathlib import Path


class ConfigError(Exception):
    """A configuration problem, told in one paragraph that names the file and the key.

    The CLI prints it as is and exits with status 2; it is never shown as a traceback.
    """

    def __init__(self, message: str, *, path: Path | None = None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.reason = message
        where = f"{path}" if path is not None else "configuration"
        if key:
            where += f", key '{key}'"
        super().__init__(f"{where}: {message}")
