"""/broadcast over Telegram (preview, Send/Cancel, a progress message that ends in the
report) and /subscribe, /unsubscribe, /subscriptions, through the real Telegram stack against
the Bot API stand-in, with the delivery component sending from the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot import access
from bot.delivery.component import DeliveryComponent
from bot.services import Services
from bot.subscriptions import Subscriptions
from handlers.telegram import broadcast as broadcast_handlers
from handlers.telegram.outbound import PtbTransport
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, RecordedCall, callback_update, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, texts

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)

MEMBER_CHAT = 3001  # linked to Gro Sæten, the network representative of Rana


@pytest.fixture
async def delivery(
    tg_services: Services, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[DeliveryComponent]:
    monkeypatch.setattr(broadcast_handlers, "PROGRESS_EVERY", 0.0)
    component = DeliveryComponent(
        tg_services, telegram=PtbTransport(tg_services.config.telegram), mailer=None
    )
    await component.start()
    try:
        yield component
    finally:
        await component.stop()


def _link(services: Services, user_id: int, person: str | None) -> None:
    access.record_chat_user(
        services.db,
        telegram_user_id=user_id,
        display_name=f"user {user_id}",
        username=None,
        private_chat_id=user_id,
        now=services.clock.now(),
    )
    if person:
        access.link_person(services.db, user_id, person, by=COORDINATOR)


async def _edited_until(api: BotApiStandIn, needle: str) -> RecordedCall:
    """Wait for an editMessageText whose text contains `needle`."""
    count = 1
    while True:
        calls = await api.wait_for_calls("editMessageText", count, timeout=15)
        for call in calls:
            if needle in str(call.params.get("text", "")):
                return call
        count = len(calls) + 1


async def test_coordinator_broadcast_preview_send_progress_and_report(
    api: BotApiStandIn, bot: TelegramChat, delivery: DeliveryComponent, tg_services: Services
) -> None:
    _link(tg_services, MEMBER_CHAT, "gro-saeten")
    [preview] = await exchange(
        api,
        message_update(
            COORDINATOR, "/broadcast network telegram\nMøtet flyttes til <b>10:00</b> & lunsj"
        ),
    )
    text = str(preview.params["text"])
    assert text.startswith("Broadcast to Network of Excellence on telegram: 1 message;")
    assert "Møtet flyttes til <b>10:00</b> & lunsj" in text  # shown as typed (plain text)
    buttons = preview.params["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["bc:send:1", "bc:cancel:1"]

    api.push_update(callback_update(COORDINATOR, "bc:send:1", message_id=42))
    _preview, delivered = await api.wait_for_calls("sendMessage", 2)  # then the broadcast
    assert int(delivered.params["chat_id"]) == MEMBER_CHAT
    assert "Møtet flyttes til &lt;b&gt;10:00&lt;/b&gt; &amp; lunsj" in delivered.params["text"]
    assert delivered.params["parse_mode"] == "HTML"

    report = await _edited_until(api, "Broadcast #1 to network")
    assert int(report.params["message_id"]) == 42
    assert "1 sent, 0 failed" in report.params["text"]
    assert "unreachable on telegram (not linked to a Telegram chat): " in report.params["text"]
    # The network's representatives without a linked chat are named, not left out silently.
    assert "Lars Bjerke" in report.params["text"]
    # Pressing Send again sends nothing more.
    api.push_update(callback_update(COORDINATOR, "bc:send:1", message_id=42))
    await _edited_until(api, "already sent or cancelled")
    assert (
        len([c for c in api.calls_to("sendMessage") if int(c.params["chat_id"]) == MEMBER_CHAT])
        == 1
    )


async def test_cancel_and_refusals(
    api: BotApiStandIn, bot: TelegramChat, delivery: DeliveryComponent, tg_services: Services
) -> None:
    _link(tg_services, MEMBER_CHAT, "gro-saeten")
    [refused] = texts(await exchange(api, message_update(USER, "/broadcast network hello")))
    assert refused == "Only the programme's coordinators can do that."
    [usage] = texts(await exchange(api, message_update(COORDINATOR, "/broadcast nowhere hello")))
    assert usage.startswith("Usage: /broadcast AUDIENCE")
    [empty] = texts(await exchange(api, message_update(COORDINATOR, "/broadcast network")))
    assert empty == "Not sent: the message text is empty"

    await exchange(api, message_update(COORDINATOR, "/broadcast steering group Agenda kommer"))
    # Someone else pressing Send gets a private alert; the preview stays as it is.
    api.push_update(callback_update(USER, "bc:send:1", message_id=7))  # not a coordinator

    def alerts() -> list[str]:
        return [
            c.params.get("text", "")
            for c in api.calls_to("answerCallbackQuery")
            if c.params.get("show_alert") in (True, "true", "True")
        ]

    await api.wait_until(lambda: bool(alerts()))
    assert alerts() == ["Only the programme's coordinators can do that."]
    assert api.calls_to("editMessageText") == []
    api.push_update(callback_update(COORDINATOR, "bc:cancel:1", message_id=7))
    await _edited_until(api, "Broadcast cancelled; nothing was sent.")
    assert tg_services.outbox.progress(("broadcast", "1")).total == 0


async def test_subscribe_unsubscribe_and_overview(
    api: BotApiStandIn, bot: TelegramChat, tg_services: Services
) -> None:
    [hint] = texts(await exchange(api, message_update(USER, "/subscriptions")))
    assert hint.startswith("You have made no choices")
    [sub] = texts(await exchange(api, message_update(USER, "/subscribe nettverket")))
    assert sub == "You now get Network of Excellence messages on telegram."
    [no_mail] = texts(await exchange(api, message_update(USER, "/subscribe network email")))
    assert no_mail.startswith("E-mail goes to registry people only")
    [unknown] = texts(await exchange(api, message_update(USER, "/unsubscribe Kristiansand")))
    assert unknown.startswith("There is no audience called 'Kristiansand'")
    subscriptions = Subscriptions(tg_services.db, tg_services.clock, tg_services.config)
    assert subscriptions.opted_in("network", "telegram") == {f"chat:{USER}"}

    access.link_person(tg_services.db, USER, "gro-saeten", by=COORDINATOR)
    [off] = texts(await exchange(api, message_update(USER, "/unsubscribe network email")))
    assert off == "You no longer get Network of Excellence messages on email."
    assert subscriptions.opted_out("network", "email") == {"gro-saeten"}
    [overview] = texts(await exchange(api, message_update(USER, "/subscriptions")))
    assert overview == "Your choices:\n- Network of Excellence (email): off"
