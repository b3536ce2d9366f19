"""Logging redacts secrets wherever they appear: message, arguments, exceptions, either format."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from alphatransformer.config.schema import LoggingConfig
from alphatransformer.utils.log_setup import Redactor, configure_logging

SECRET = "s3cr3t-binance-key-9f8e7d"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_known_secret_values_are_masked() -> None:
    redact = Redactor([SECRET])
    assert redact(f"key is {SECRET}!") == "key is **********!"


@pytest.mark.parametrize(
    ("line", "leak"),
    [
        ("GET /fapi/v1/order?symbol=BTCUSDT&signature=abc123def456", "abc123def456"),
        ("headers={'X-MBX-APIKEY': 'vmPUZE6mv9SD5VNHk4HlWFsOr'}", "vmPUZE6mv9SD5VNHk4HlWFsOr"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9.payload"),
        ("openai said: invalid key sk-proj-AbCdEf0123456789xyz", "sk-proj-AbCdEf0123456789xyz"),
        (
            "listenKey=pqia91ma19a5s61cv6a81va65sdf19v8a65a1",
            "pqia91ma19a5s61cv6a81va65sdf19v8a65a1",
        ),
    ],
)
def test_credentials_we_never_configured_are_masked_by_pattern(line: str, leak: str) -> None:
    redacted = Redactor()(line)
    assert leak not in redacted
    assert "**********" in redacted


def test_json_log_file_never_holds_the_secret(tmp_path: Path, restore_logging: None) -> None:
    log_file = tmp_path / "logs" / "agent.jsonl"
    configure_logging(LoggingConfig(format="json", file=log_file), secrets=[SECRET])
    logger = logging.getLogger("alphatransformer.test")
    logger.info("connecting with key %s", SECRET)
    try:
        raise RuntimeError(f"exchange said bad key {SECRET}")
    except RuntimeError:
        logger.exception("request failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert SECRET not in log_file.read_text(encoding="utf-8")
    entries = [json.loads(line) for line in lines]
    assert entries[0]["message"] == "connecting with key **********"
    assert entries[0]["level"] == "INFO"
    assert "RuntimeError: exchange said bad key **********" in entries[1]["exception"]


def test_console_output_never_holds_the_secret(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(LoggingConfig(format="console"), secrets=[SECRET])
    logging.getLogger("alphatransformer.test").warning("key=%s", SECRET)
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "key=**********" in err
