"""Operator paper cuts: --version, help text everywhere, one-line config errors naming the
key, misspelt COORDBOT_* variables, a taken port, feed listings at / and /calendar/, the
broadcast exit status, the console never rate-limited, private files."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import stat
from pathlib import Path

import aiohttp
import pytest

from bot.chat import ChatService, Sender
from bot.cli import build_parser, main
from bot.clock import FixedClock
from bot.config import ConfigError, env_warnings, load_config
from bot.files import config_file_warning
from bot.ratelimit import RateLimiter
from bot.services import Services, build_services
from bot.web import CalendarServer
from tests.coordbot_process import start_coordbot, stop_with_sigterm


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == "coordbot 0.1.0"


def _parsers(parser: argparse.ArgumentParser, path: str = "coordbot"):  # type: ignore[no-untyped-def]
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"{path} {name} has no help line"
                yield from _parsers(sub, f"{path} {name}")


def test_every_command_and_option_has_help_text() -> None:
    missing = []
    for path, parser in _parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction | argparse._HelpAction):
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("COORDBOT_BOT_TIMEZONE", "Europe/Olso", "bot.timezone"),
        ("COORDBOT_BOT_LOG_LEVEL", "LOUD", "bot.log_level"),
        ("COORDBOT_EMAIL_SMTP_PORT", "submission", "COORDBOT_EMAIL_SMTP_PORT"),
    ],
)
def test_a_bad_config_value_is_one_line_naming_the_key(
    variable: str, value: str, key: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv(variable, value)
    assert main(["events"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key in err and "Traceback" not in err


def test_a_misspelt_variable_gets_the_nearest_setting() -> None:
    warnings = env_warnings({"COORDBOT_EMAIL_SMTP_HSOT": "x", "COORDBOT_BOT_NOW": "2020-01-01"})
    assert warnings == [
        "unknown setting COORDBOT_EMAIL_SMTP_HSOT is ignored; "
        "did you mean COORDBOT_EMAIL_SMTP_HOST?"
    ]


@pytest.mark.db
async def test_a_taken_port_names_the_setting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = {
            **os.environ,
            "COORDBOT_CALENDAR_LISTEN": f"127.0.0.1:{port}",
            "COORDBOT_EMAIL_SMTP_HSOT": "typo",
        }
        process = await start_coordbot("run", env=env)
        try:
            await asyncio.wait_for(process.wait(), 60)  # it ends by itself
        finally:
            code, log = await stop_with_sigterm(process, 10)
    assert code == 1, log
    assert "Traceback" not in log
    assert "address is already in use" in log and "COORDBOT_CALENDAR_LISTEN" in log
    assert "did you mean COORDBOT_EMAIL_SMTP_HOST?" in log


@pytest.mark.db
async def test_the_root_and_calendar_pages_list_the_feeds(services: Services) -> None:
    server = CalendarServer(services)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            for path in ("/", "/calendar/"):
                async with http.get(f"http://127.0.0.1:{server.port}{path}") as response:
                    assert response.status == 200
                    page = await response.text()
                    assert "programme.ics" in page and "municipality-bodo.ics" in page
    finally:
        await server.stop()


@pytest.mark.db
def test_broadcast_exits_3_when_nothing_could_be_sent(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    # No SMTP server configured: every e-mail is held, none sent, none left to retry.
    code = main(["broadcast", "--audience", "network", "--channel", "email", "--text", "Hei"])
    out, err = capsys.readouterr()
    assert code == 3, out + err
    assert "email messages held: email.smtp_host and email.from_address not set" in err
    assert "nothing could be sent" in err
    assert "held on email" in out


@pytest.mark.db
def test_the_console_is_never_rate_limited(services: Services, clock: FixedClock) -> None:
    chat = ChatService(services, limiter=RateLimiter(1, clock))
    console = Sender(user_id=None, chat_id=None, display_name="operator", console=True)
    kinds = {chat.message(console, "/help").kind for _ in range(5)}
    assert "rate_limited" not in kinds
    stranger = Sender(user_id=42, chat_id=42, display_name="x")
    assert [chat.message(stranger, "/help").kind for _ in range(3)][1:] == ["rate_limited"] * 2


def test_database_is_private_and_a_readable_config_with_secrets_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    old = os.umask(0o022)  # the usual umask, under which files come out 0644
    try:
        database = tmp_path / "private" / "coordbot.sqlite3"
        monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", f"sqlite:///{database}")
        built = build_services(load_config(), clock)
        built.close()
        for path in database.parent.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path

        config = tmp_path / "coordbot.toml"
        config.write_text('[email]\nsmtp_host = "smtp.example.org"\npassword = "hunter2"\n')
        config.chmod(0o644)
        warning = config_file_warning(config)
        assert warning is not None and "email.password" in warning and "0644" in warning
        config.chmod(0o600)
        assert config_file_warning(config) is None
        plain = tmp_path / "plain.toml"
        plain.write_text('[bot]\ntimezone = "Europe/Oslo"\n')
        plain.chmod(0o644)
        assert config_file_warning(plain) is None
    finally:
        os.umask(old)


def test_a_short_feed_token_is_one_line() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(env={"COORDBOT_CALENDAR_FEED_TOKEN": "short"})
    assert "\n" not in str(error.value)
