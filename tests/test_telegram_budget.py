"""Chat replies and deliveries share one Telegram budget (DESIGN.md): with coordbot's limit
at 5 messages/s, a queue of deliveries and a burst of questions together never exceed 5/s
nor one a second to a chat, as the stand-in (enforcing the same limits) counts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.clock import FixedClock
from bot.config import load_config
from bot.delivery.component import DeliveryComponent
from bot.delivery.outbox import NewMessage
from bot.services import Services, build_services
from handlers.telegram.outbound import PtbTransport
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import ScriptedEngine, running_telegram

USER = 5101
RATE = 5


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(flood_limit_per_second=RATE, chat_limit_per_second=1) as standin:
        yield standin


@pytest.fixture
def services(
    api: BotApiStandIn, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> Iterator[Services]:
    monkeypatch.setenv("COORDBOT_TELEGRAM_TOKEN", api.token)
    monkeypatch.setenv("COORDBOT_TELEGRAM_API_BASE_URL", api.base_url)
    monkeypatch.setenv("COORDBOT_TELEGRAM_POLL_TIMEOUT", "1")
    monkeypatch.setenv("COORDBOT_DELIVERY_TELEGRAM_PER_SECOND", str(RATE))
    built = build_services(load_config(), clock)
    built.answers = ScriptedEngine()  # type: ignore[assignment]
    try:
        yield built
    finally:
        built.close()


@pytest.mark.db
async def test_replies_and_deliveries_stay_within_one_budget(
    api: BotApiStandIn, services: Services
) -> None:
    deliveries = [
        NewMessage("broadcast", "budget", "telegram", f"chat:{n}", str(n), f"news {n}".encode())
        for n in (*range(2001, 2009), USER, USER)
    ]
    # Two rows for the asking user's own chat: they and the replies share its 1/s.
    deliveries[-1] = NewMessage("broadcast", "budget-2", "telegram", "u", str(USER), b"more news")
    async with running_telegram(services):
        services.outbox.enqueue(deliveries)
        delivery = DeliveryComponent(
            services, telegram=PtbTransport(services.config.telegram), mailer=None
        )
        for n in range(6):
            api.push_update(message_update(USER, f"question {n}"))
        await delivery.start()
        try:
            await api.wait_until(lambda: len(api.calls_to("sendMessage")) >= 16, timeout=30)
        finally:
            await delivery.stop()
    sent = api.calls_to("sendMessage")
    assert len(sent) == 16
    assert api.flood_violations == 0
    assert len(api.calls_to("sendMessage", ok_only=False)) == 16  # no 429 on the way
