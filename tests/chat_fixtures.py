"""Fixtures for the chat tests (load with `pytest_plugins = ("tests.chat_fixtures",)`):
the Bot API stand-in, services wired to it, a scripted engine and the running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.clock import FixedClock
from bot.config import load_config
from bot.services import Services, build_services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn
from tests.chat_fakes import COORDINATOR, ScriptedEngine, running_telegram


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    """The Bot API stand-in on a free loopback port. Whatever the bot sent that Telegram would
    have refused (bad HTML, too long, bad buttons) fails the test."""
    async with BotApiStandIn() as standin:
        yield standin
    refused = [(c.method, c.params) for c in standin.refusals]
    assert refused == [], f"Telegram would have refused: {refused}"


@pytest.fixture
def tg_env() -> dict[str, str]:
    """Extra COORDBOT_* settings for `tg_services`; a test module may override this fixture."""
    return {}


@pytest.fixture
def tg_services(
    api: BotApiStandIn,
    tg_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
) -> Iterator[Services]:
    """Services configured to talk to the stand-in, with one coordinator."""
    monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", api.token)
    monkeypatch.setenv("COORDBOT_TELEGRAM_API_BASE_URL", api.base_url)
    monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
    monkeypatch.setenv("COORDBOT_TELEGRAM_POLL_TIMEOUT", "1")
    for name, value in tg_env.items():
        monkeypatch.setenv(name, value)
    services = build_services(load_config(), clock)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def engine(tg_services: Services) -> ScriptedEngine:
    """A scripted engine in place of the real one."""
    scripted = ScriptedEngine()
    tg_services.answers = scripted  # type: ignore[assignment]
    return scripted


@pytest.fixture
async def bot(tg_services: Services, engine: ScriptedEngine) -> AsyncIterator[TelegramChat]:
    """The Telegram component running against the stand-in with the scripted engine."""
    async with running_telegram(tg_services) as component:
        yield component
