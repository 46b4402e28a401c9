"""`coordbot run` as a whole: which chat it picks, start failures, and SIGTERM in a subprocess."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from bot.app import StartupError, build_components, chat_transport, serve
from bot.chat.service import LastSeenFlush
from bot.config import load_config
from bot.services import Services, build_services
from handlers.console import ConsoleChat
from handlers.telegram.transport import TelegramChat, file_base_url
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import USER, exchange, texts
from tests.coordbot_process import start_coordbot, stop_with_sigterm

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def test_the_chat_is_telegram_with_a_token_console_on_a_terminal_else_none(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert chat_transport(services, interactive=False) == []
    assert "No Telegram token and no terminal: running without chat" in caplog.text
    # The last-seen flush comes first, so it stops after the chat: after the last message.
    [flush, console] = chat_transport(services, interactive=True, output=io.StringIO())
    assert isinstance(console, ConsoleChat) and isinstance(flush, LastSeenFlush)

    monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", "123:abc")
    with_token = build_services(load_config(), services.clock)
    try:
        components = build_components(with_token, interactive=True)
        assert [c.name for c in components][-1:] == ["telegram"]
        assert any(isinstance(c, TelegramChat) for c in components)
    finally:
        with_token.close()


def test_file_base_url_of_a_self_hosted_server() -> None:
    assert file_base_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("https://api.telegram.org/bot/") == "https://api.telegram.org/file/bot"


async def test_an_unreachable_bot_api_is_a_clear_startup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with BotApiStandIn() as api:
        base_url = api.base_url  # a port that is closed once the stand-in stops
    monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", api.token)
    monkeypatch.setenv("COORDBOT_TELEGRAM_API_BASE_URL", base_url)
    services = build_services(load_config())
    try:
        with pytest.raises(StartupError, match="telegram did not start"):
            await serve(build_components(services, interactive=False), asyncio.Event())
    finally:
        services.close()


async def test_a_wrong_token_is_a_clear_startup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async with BotApiStandIn() as api:
        monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", "999:WRONG")
        monkeypatch.setenv("COORDBOT_TELEGRAM_API_BASE_URL", api.base_url)
        services = build_services(load_config())
        try:
            with pytest.raises(StartupError):
                await serve(build_components(services, interactive=False), asyncio.Event())
        finally:
            services.close()


async def _stderr_until(process: asyncio.subprocess.Process, needle: str) -> str:
    assert process.stderr is not None
    seen = ""
    while needle not in seen:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        if not line:
            break
        seen += line.decode()
    return seen


async def test_coordbot_run_answers_over_http_and_stops_cleanly_on_sigterm() -> None:
    async with BotApiStandIn() as api:
        env = dict(os.environ)
        env.update(
            COORDBOT_TELEGRAM_TOKEN=api.token,
            COORDBOT_TELEGRAM_API_BASE_URL=api.base_url,
            COORDBOT_TELEGRAM_POLL_TIMEOUT="2",
        )
        process = await start_coordbot("run", env=env)
        try:
            [answer] = texts(
                await exchange(api, message_update(USER, "who is Bodø's data contact?"), timeout=60)
            )
            assert "Vesa Heikki Jäntti" in answer
            # One more update in flight when the signal comes: it is answered before the exit.
            api.push_update(message_update(USER, "/help"))
            await api.wait_for_calls("sendMessage", 2)
        finally:
            code, log = await stop_with_sigterm(process, 10)
    assert code == 0, log
    assert "Traceback" not in log
    assert len(api.sent_texts(USER)) == 2


async def test_without_token_or_terminal_it_says_so_and_still_stops_on_sigterm() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COORDBOT_TELEGRAM_TOKEN"}
    process = await start_coordbot("run", env=env)
    try:
        seen = await _stderr_until(process, "running without chat")
        assert "No Telegram token and no terminal" in seen
    finally:
        code, _log = await stop_with_sigterm(process, 10)
    assert code == 0
