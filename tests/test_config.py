"""Loading a TOML config file: the example file is the defaults, a file's values are used by
the commands, the environment overrides them, and a bad file is a clear error (exit 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent


def test_the_example_file_holds_exactly_the_defaults() -> None:
    assert load_config(REPO / "config.example.toml", env={}) == Config()


@pytest.mark.db
def test_a_config_file_is_read_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The database of this test (SQLite or PostgreSQL) named in the file, not the environment.
    url = os.environ.pop("COORDBOT_BOT_DATABASE_URL")
    monkeypatch.delenv("COORDBOT_BOT_DATABASE_URL", raising=False)
    path = tmp_path / "coordbot.toml"
    path.write_text(
        f"""
[bot]
database_url = "{url}"
default_language = "nb"
timezone = "Europe/Oslo"

[telegram]
coordinators = [1000, 1001]
questions_per_minute = 7

[email]
smtp_host = "smtp.example.org"
smtp_port = 465
security = "tls"
timeout = 12.5

[delivery]
telegram_per_second = 10.0
""",
        encoding="utf-8",
    )
    config = load_config(path, env={})
    assert config.bot.database_url == url and config.bot.default_language == "nb"
    assert config.telegram.coordinators == (1000, 1001)
    assert config.telegram.questions_per_minute == 7
    assert (config.email.smtp_host, config.email.smtp_port, config.email.security) == (
        "smtp.example.org",
        465,
        "tls",
    )
    assert config.email.timeout == 12.5 and config.delivery.telegram_per_second == 10.0
    assert config.email.max_retries == Config().email.max_retries  # not in the file: default

    overridden = load_config(
        path, env={"COORDBOT_EMAIL_SMTP_PORT": "2525", "COORDBOT_BOT_DEFAULT_LANGUAGE": "en"}
    )
    assert overridden.email.smtp_port == 2525 and overridden.bot.default_language == "en"
    assert overridden.email.smtp_host == "smtp.example.org"

    # The command line reads the file given with --config, and with COORDBOT_CONFIG.
    assert main(["--config", str(path), "ask", "--json", "hvem er datakontakt i Bodø?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "Vesa Heikki Jäntti" in answer["text"] and answer["lang"] == "nb"
    monkeypatch.setenv("COORDBOT_CONFIG", str(path))
    assert load_config().telegram.questions_per_minute == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[bot\n", "is not valid TOML"),
        ("[robot]\nx = 1\n", "unknown config section(s): robot"),
        ("[bot]\ndatabase = 'x'\n", "[bot]: unknown key(s): database"),
        ("bot = 3\n", "[bot] must be a table"),
        ("[email]\nsecurity = 'ssl'\n", "email.security must be starttls, tls or none"),
        ("[email]\nsmtp_port = 'many'\n", "smtp_port"),
    ],
)
def test_a_bad_file_is_a_clear_error_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert message in str(caught.value)
    assert main(["--config", str(path), "events"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("coordbot: ") and message in err and "Traceback" not in err


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.toml"
    assert main(["--config", str(missing), "events"]) == 2
    assert f"config file not found: {missing}" in capsys.readouterr().err
