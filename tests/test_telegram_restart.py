"""The real answer engine over Telegram, and a restart against the same database and server."""

from __future__ import annotations

import asyncio

import pytest

from bot import access
from bot.app import build_components, serve
from bot.config import load_config
from bot.services import Services, build_services
from tests.botapi_standin import BotApiStandIn, callback_update, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, running_telegram, texts

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)


async def test_bodo_data_contact_is_answered_by_the_real_engine(
    api: BotApiStandIn, tg_services: Services
) -> None:
    async with running_telegram(tg_services):
        [answer] = texts(await exchange(api, message_update(USER, "who is Bodø's data contact?")))
        assert "Vesa Heikki Jäntti" in answer
        [hvem] = texts(
            await exchange(api, message_update(USER, "/who datakontakt i Bodø", language_code="nb"))
        )
        assert "Vesa Heikki Jäntti" in hvem


async def test_a_near_miss_is_clarified_with_a_button_that_answers(
    api: BotApiStandIn, tg_services: Services
) -> None:
    async with running_telegram(tg_services):
        [clarify] = await exchange(
            api, message_update(USER, "who is the data contact in Kristiansand?")
        )
        buttons = [row[0] for row in clarify.params["reply_markup"]["inline_keyboard"]]
        [kristiansund] = [b for b in buttons if "Kristiansund" in b["text"]]
        [answer] = texts(await exchange(api, callback_update(USER, kristiansund["callback_data"])))
    holders = tg_services.registry.snapshot().holders("data_contact", municipality="kristiansund")
    assert holders and all(person.name in answer for person in holders)


async def _serve_once(services: Services, api: BotApiStandIn, updates: list[dict]) -> list[str]:
    """Run `coordbot run`'s components until every update got its one reply, then stop."""
    stop = asyncio.Event()
    running = asyncio.create_task(serve(build_components(services, interactive=False), stop))
    replies = []
    for update in updates:
        replies += texts(await exchange(api, update))
    stop.set()
    await running
    return replies


async def test_restart_keeps_state_and_handles_every_update_exactly_once(
    api: BotApiStandIn, tg_services: Services
) -> None:
    first = await _serve_once(
        tg_services,
        api,
        [
            message_update(USER, "/lang nb"),
            message_update(USER, "/start"),
            message_update(COORDINATOR, "/link 2001 vesa-heikki-jantti"),
        ],
    )
    assert first[0] == "Jeg svarer på norsk." and first[2].startswith("Test (2001) is now linked")
    tg_services.close()

    # While the bot is down a question arrives; it must be answered once after the restart.
    while_down = message_update(USER, "/help", language_code="en")
    api.push_update(while_down)
    services = build_services(load_config(), tg_services.clock)
    try:
        stop = asyncio.Event()
        running = asyncio.create_task(serve(build_components(services, interactive=False), stop))
        await api.wait_for_calls("sendMessage", 4)
        [after] = texts(await exchange(api, message_update(USER, "/events")))
        stop.set()
        await running
        user = access.find_chat_user(services.db, USER)
    finally:
        services.close()
    sent = texts(api.calls_to("sendMessage"))
    assert len(sent) == 5  # three before the restart, two after: nothing handled twice
    assert sent[3].startswith("Spør meg")  # the language choice survived the restart
    assert after.startswith("Kommende:")
    assert user is not None and user.person_key == "vesa-heikki-jantti" and user.language == "nb"
