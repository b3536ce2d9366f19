"""The command line as a person uses it: real processes, exit codes, what is printed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from alphatransformer.database.migrate import head_revision

REPO = Path(__file__).resolve().parents[3]


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHA_", "BINANCE_"))}
    environment.update(env or {})
    environment["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "alphatransformer", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_prints_the_effective_config_with_secrets_redacted(tmp_path: Path) -> None:
    result = cli(
        "config",
        "check",
        "--config",
        str(REPO / "config" / "agent.yaml"),
        cwd=tmp_path,
        env={"BINANCE_API_KEY": "abcdEFGH1234secretkey", "ALPHA_API_TOKEN": "tok-0123456789"},
    )
    assert result.returncode == 0, result.stderr
    assert "environment: paper" in result.stdout
    assert "api_key: '**********'" in result.stdout
    assert "abcdEFGH1234secretkey" not in result.stdout + result.stderr
    assert "tok-0123456789" not in result.stdout + result.stderr
    assert "Configuration is valid" in result.stderr


def test_config_check_without_a_file_shows_the_built_in_defaults(tmp_path: Path) -> None:
    result = cli("config", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "source: simulated" in result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("agent:\n  cycle_secs: 5\n", "agent.cycle_secs"),
        ("binance:\n  api_key: ${MISSING_VARIABLE}\n", "MISSING_VARIABLE"),
        ('trading:\n  risk:\n    max_leverage: "ten"\n', "trading.risk.max_leverage"),
        ("agent: [unclosed\n", "invalid YAML at line"),
        ("database:\n  url: 'not a url'\n", "key 'database.url': not a database URL"),
    ],
    ids=["unknown-key", "missing-variable", "wrong-type", "yaml-syntax", "database-url"],
)
def test_broken_config_is_a_clear_error_with_exit_code_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("config", "check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert str(path) in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_db_upgrade_with_an_unparseable_database_url_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text("database:\n  url: 'sqlite+aiosqlite//no-colon.db'\n", encoding="utf-8")
    result = cli("db", "upgrade", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{path}, key 'database.url': not a database URL" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_run_refuses_a_broken_config_before_starting(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("environment: production\n", encoding="utf-8")
    result = cli("run", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert "refuses to start without" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    result = cli("run", "--host", "0.0.0.0", cwd=tmp_path)
    assert result.returncode == 2
    assert "without api.token" in result.stderr


def test_db_upgrade_creates_the_database(tmp_path: Path) -> None:
    result = cli("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Database is at revision {head_revision()}" in result.stdout
    assert (tmp_path / "data" / "alphatransformer.db").is_file()


def test_help_lists_the_verbs(tmp_path: Path) -> None:
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for verb in ("run", "config", "db"):
        assert verb in result.stdout


def test_run_that_cannot_resume_the_paper_account_says_why_and_exits_2(tmp_path: Path) -> None:
    assert cli("db", "upgrade", cwd=tmp_path).returncode == 0
    with sqlite3.connect(tmp_path / "data" / "alphatransformer.db") as database:
        database.execute(
            "INSERT INTO paper_accounts (run_id, state) VALUES ('live', '{\"version\": 2}')"
        )
    result = cli("run", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Cannot start" in result.stderr
    assert "has version 2" in result.stderr
    assert "reset_on_start" in result.stderr
