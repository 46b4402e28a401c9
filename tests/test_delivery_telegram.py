"""The Telegram worker through the real python-telegram-bot client against the loopback Bot
API stand-in: exactly once in the normal case, 429 honoured, 5xx retried, blocked chats
marked unreachable, Telegram's limits never broken. Virtual time: no test waits for real."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from bot import access
from bot.clock import FixedClock
from bot.config import TelegramConfig
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import build_workers
from bot.delivery.outbox import NewMessage
from bot.delivery.pacing import VirtualPacer
from bot.delivery.telegram import TemporaryFailure
from bot.services import Services
from handlers.telegram.outbound import PtbTransport
from tests.botapi_standin import BotApiStandIn

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

SOURCE = ("broadcast", "7")


def _messages(chats: list[int], source_id: str = "7") -> list[NewMessage]:
    return [
        NewMessage(
            source_kind="broadcast",
            source_id=source_id,
            channel="telegram",
            recipient=f"chat:{chat}:{n}",
            address=str(chat),
            body=f"<b>hei</b> {chat} #{n}".encode(),
            options={"parse_mode": "HTML"},
        )
        for n, chat in enumerate(chats)
    ]


@pytest.fixture
def pacer(clock: FixedClock) -> VirtualPacer:
    return VirtualPacer(clock)


@pytest.fixture
def api_factory(pacer: VirtualPacer) -> Iterator[type[BotApiStandIn]]:
    yield BotApiStandIn


async def _deliver(
    services: Services, api: BotApiStandIn, pacer: VirtualPacer, source: tuple[str, str] = SOURCE
) -> None:
    transport = PtbTransport(TelegramConfig(token=api.token, api_base_url=api.base_url))
    await transport.open()
    try:
        workers = build_workers(services, telegram=transport, mailer=None, pacer=pacer)
        await deliver_until_finished(
            workers, services.outbox, services.clock, source, give_up_after=3600
        )
    finally:
        await transport.close()


async def test_each_chat_gets_its_message_exactly_once(
    services: Services, pacer: VirtualPacer
) -> None:
    chats = list(range(1, 41))
    services.outbox.enqueue(_messages(chats))
    async with BotApiStandIn(clock=pacer.monotonic) as api:
        await _deliver(services, api, pacer)
        for chat in chats:
            assert api.sent_texts(chat) == [f"<b>hei</b> {chat} #{chat - 1}"]
        sent = api.calls_to("sendMessage")
        assert all(c.params.get("parse_mode") == "HTML" for c in sent)
    assert services.outbox.progress(SOURCE).counts == {"sent": 40}


async def test_flood_wait_server_errors_and_blocked_chats(
    services: Services, pacer: VirtualPacer, clock: FixedClock
) -> None:
    services.outbox.enqueue(_messages([1, 2, 3, 4, 5, 6]))
    access.record_chat_user(
        services.db,
        telegram_user_id=5,
        display_name="Blocker",
        username=None,
        private_chat_id=5,
        now=clock.now(),
    )
    async with BotApiStandIn(clock=pacer.monotonic) as api:
        api.fail(429, "Too Many Requests: retry after 7", method="sendMessage", retry_after=7)
        api.fail(500, "Internal Server Error", method="sendMessage", chat_id=3, count=2)
        api.fail(400, "Bad Request: chat not found", method="sendMessage", chat_id=6)
        api.blocked_chats.add(5)
        await _deliver(services, api, pacer)

        calls = api.calls_to("sendMessage", ok_only=False)
        flood = next(c for c in calls if c.status == 429)
        after = [c for c in calls if c.at > flood.at]
        # Nothing at all is sent until the retry_after has passed.
        assert after and min(c.at for c in after) >= flood.at + 7
        for chat in (1, 2, 3, 4):
            assert len(api.sent_texts(chat)) == 1
        assert [c.status for c in calls if int(c.params["chat_id"]) == 3] == [500, 500, 200]

    rows = {r.address: r for r in services.outbox.rows(SOURCE)}
    assert rows["3"].status == "sent" and rows["3"].attempts == 3
    assert rows["5"].status == "failed" and rows["5"].unreachable
    assert "blocked" in (rows["5"].last_error or "")
    assert rows["6"].status == "failed" and rows["6"].unreachable
    assert access.find_chat_user(services.db, 5).blocked_at is not None  # type: ignore[union-attr]


async def test_a_blocked_chat_is_not_tried_again(
    services: Services, pacer: VirtualPacer, clock: FixedClock
) -> None:
    access.record_chat_user(
        services.db,
        telegram_user_id=9,
        display_name="B",
        username=None,
        private_chat_id=9,
        now=clock.now(),
    )
    access.mark_blocked(services.db, 9, clock.now())
    services.outbox.enqueue(_messages([9]))
    async with BotApiStandIn(clock=pacer.monotonic) as api:
        await _deliver(services, api, pacer)
        assert api.calls_to("sendMessage", ok_only=False) == []
    (row,) = services.outbox.rows(SOURCE)
    assert (
        row.status == "cancelled" and row.last_error == "unreachable: blocked the bot on Telegram"
    )


class RecordingTransport:
    """A fake transport that records the (virtual) time of every send; no network, so the
    time a send is recorded is the time the limiter let it go."""

    def __init__(self, pacer: VirtualPacer) -> None:
        self.pacer = pacer
        self.sends: list[tuple[int, float]] = []

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def send(self, chat_id: int, text: str, options: Mapping[str, Any]) -> None:
        self.sends.append((chat_id, self.pacer.monotonic()))


def _most_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_limits_hold_per_chat_per_group_and_overall(
    services: Services, pacer: VirtualPacer
) -> None:
    # 5 messages to one private chat, 25 to one group, 100 to different chats.
    chats = [77] * 5 + [-100123] * 25 + list(range(1000, 1100))
    services.outbox.enqueue(_messages(chats))
    transport = RecordingTransport(pacer)
    workers = build_workers(services, telegram=transport, mailer=None, pacer=pacer)
    await deliver_until_finished(
        workers, services.outbox, services.clock, SOURCE, give_up_after=3600
    )

    assert services.outbox.progress(SOURCE).counts == {"sent": 130}
    everything = sorted(t for _chat, t in transport.sends)
    assert _most_in_window(everything, 1.0) == 30
    group = [t for chat, t in transport.sends if chat == -100123]
    assert _most_in_window(group, 60.0) == 20 and len(group) == 25
    private = [t for chat, t in transport.sends if chat == 77]
    assert all(b - a >= 1 for a, b in itertools.pairwise(private))


async def test_a_group_that_became_a_supergroup_gets_the_message_at_its_new_id(
    services: Services, pacer: VirtualPacer
) -> None:
    services.outbox.enqueue(_messages([-100, 7]))
    async with BotApiStandIn(clock=pacer.monotonic) as api:
        api.migrated_chats[-100] = -1001234567890
        await _deliver(services, api, pacer)
        assert api.sent_texts(-1001234567890) == ["<b>hei</b> -100 #0"]
        assert api.sent_texts(-100) == [] and api.sent_texts(7) == ["<b>hei</b> 7 #1"]
        assert [c.status for c in api.calls_to("sendMessage", ok_only=False)].count(400) == 1
    rows = {r.recipient: r for r in services.outbox.rows(SOURCE)}
    moved = rows["chat:-100:0"]
    assert moved.status == "sent" and moved.address == "-1001234567890"
    assert services.outbox.progress(SOURCE).counts == {"sent": 2}


async def test_a_token_revoked_during_delivery_keeps_the_messages_queued(
    services: Services, pacer: VirtualPacer, clock: FixedClock
) -> None:
    """The token is refused (401) after the transport opened: nothing is lost or marked failed;
    with a valid token again every message goes out once."""
    services.outbox.enqueue(_messages([1, 2, 3]))
    async with BotApiStandIn(clock=pacer.monotonic) as api:
        good = api.token
        transport = PtbTransport(TelegramConfig(token=good, api_base_url=api.base_url))
        await transport.open()
        try:
            api.token = "123456:REVOKED"  # revoked in BotFather while the bot runs
            workers = build_workers(services, telegram=transport, mailer=None, pacer=pacer)
            progress = await deliver_until_finished(
                workers, services.outbox, clock, SOURCE, give_up_after=2
            )
            assert not progress.finished and progress.counts.get("failed") is None
            refused = api.calls_to("sendMessage", ok_only=False)
            assert refused and {c.status for c in refused} == {401}
            rows = services.outbox.rows(SOURCE)
            assert {r.status for r in rows} <= {"pending", "sending"}
            # What the worker records for such a send: a temporary failure naming the token.
            with pytest.raises(TemporaryFailure, match="Telegram refused the bot token"):
                await transport.send(1, "hei", {})
        finally:
            await transport.close()
        api.token = good
        clock.advance(timedelta(hours=1))  # past every backoff
        await _deliver(services, api, pacer)
        for chat in (1, 2, 3):
            assert len(api.sent_texts(chat)) == 1
    assert services.outbox.progress(SOURCE).counts == {"sent": 3}
