"""One logging setup for the whole process: readable console or JSON lines, secrets redacted.

Redaction happens on the final formatted text (message, arguments and traceback alike), so a
secret that reaches a log call by any route is masked before it is written anywhere.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from alphatransformer.config.display import REDACTED
from alphatransformer.config.schema import LoggingConfig

# Credentials that can show up in URLs, headers or payloads even when we never configured them.
_PATTERNS = (
    re.compile(r"(?i)(signature|api[_-]?key|apikey|secret|token|listenkey)=([^&\s\"']+)"),
    re.compile(
        r"(?i)(X-MBX-APIKEY|Authorization)([\"']?\s*[:=]\s*[\"']?)(Bearer\s+)?([^\s\"',}]+)"
    ),
    re.compile(r"\b(sk-[A-Za-z0-9_-]{8,})"),
)


class Redactor:
    """Masks known secret values and credential-looking patterns in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}={REDACTED}", text)
        text = _PATTERNS[1].sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}{REDACTED}", text
        )
        return _PATTERNS[2].sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt)
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


class JsonLinesFormatter(RedactingFormatter):
    """One JSON object per line: time, level, logger, message, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self._redact(json.dumps(entry, ensure_ascii=False))


def configure_logging(config: LoggingConfig, secrets: Iterable[str] = ()) -> None:
    """Install the process-wide handlers; call once, as early as the config is known."""
    redactor = Redactor(secrets)
    handlers: list[logging.Handler] = []
    if config.format == "json":
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(JsonLinesFormatter(redactor))
        handlers.append(stream)
    else:
        console = RichHandler(
            console=Console(stderr=True),
            show_path=False,
            rich_tracebacks=False,
            markup=False,
            log_time_format="%H:%M:%S",
        )
        console.setFormatter(RedactingFormatter(redactor, "%(name)s: %(message)s"))
        handlers.append(console)
    if config.file is not None:
        _ensure_parent(config.file)
        file_handler = logging.FileHandler(config.file, encoding="utf-8")
        file_handler.setFormatter(JsonLinesFormatter(redactor))
        handlers.append(file_handler)

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(config.level)
    for noisy in ("httpx", "httpcore", "aiosqlite", "websockets", "openai", "alembic.runtime"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def _ensure_parent(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
