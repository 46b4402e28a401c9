"""Coordinators and everyone else; a directory open only to known users; chat links."""

from __future__ import annotations

import pytest

from bot import access
from bot.services import Services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import COORDINATOR, USER, ScriptedEngine, exchange, texts

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)


@pytest.fixture
def tg_env() -> dict[str, str]:
    """The directory answers known users only."""
    return {"COORDBOT_BOT_DIRECTORY_ACCESS": "known"}


async def test_coordinator_commands_refuse_others_and_change_nothing(
    api: BotApiStandIn, bot: TelegramChat, tg_services: Services
) -> None:
    await exchange(api, message_update(USER, "/start"))
    for command in ("/approve 2001", "/link 2001 vesa-heikki-jantti", "/users", "/revoke 2001"):
        [refusal] = texts(await exchange(api, message_update(USER, command)))
        name = command.split()[0]
        assert refusal == f"{name} is for coordinators only. Nothing was changed."
    user = access.find_chat_user(tg_services.db, USER)
    assert user is not None and not user.approved and user.person_key is None


async def test_known_only_directory_and_the_approval_flow(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine, tg_services: Services
) -> None:
    [start] = texts(await exchange(api, message_update(USER, "/start")))
    assert "your user id is 2001" in start
    [refused] = texts(await exchange(api, message_update(USER, "who is Bodø's data contact?")))
    assert refused.startswith("The directory answers known users only.")
    [refused_command] = texts(await exchange(api, message_update(USER, "/events")))
    assert refused_command == refused
    assert engine.asked == []
    # Account commands still work for unknown users.
    [lang] = texts(await exchange(api, message_update(USER, "/lang nb")))
    assert lang == "Jeg svarer på norsk."

    [missing] = texts(await exchange(api, message_update(COORDINATOR, "/approve 999")))
    assert missing.startswith("No user 999 has talked to the bot")
    [usage] = texts(await exchange(api, message_update(COORDINATOR, "/approve someone")))
    assert usage.startswith("Usage: /approve USER_ID")
    [approved] = texts(await exchange(api, message_update(COORDINATOR, "/approve 2001")))
    assert approved == "Test (2001) may now ask the directory."
    [answer] = texts(await exchange(api, message_update(USER, "hvem er datakontakt i Bodø?")))
    assert answer == "answer to hvem er datakontakt i Bodø?"

    [revoked] = texts(await exchange(api, message_update(COORDINATOR, "/revoke 2001")))
    assert revoked == "Test (2001) is no longer approved."
    [refused_again] = texts(await exchange(api, message_update(USER, "/next")))
    assert refused_again.startswith("Katalogen svarer bare kjente brukere.")
    # Coordinators are always known.
    await exchange(api, message_update(COORDINATOR, "/next"))
    assert engine.asked[-1] == ("what is next?", None)


async def test_link_makes_a_user_known_and_reachable_for_delivery(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine, tg_services: Services
) -> None:
    await exchange(api, message_update(USER, "/start"))
    [unknown] = texts(await exchange(api, message_update(COORDINATOR, "/link 2001 vesa")))
    assert unknown.splitlines()[0] == "No person “vesa” in the registry."
    assert "/link 2001 vesa-heikki-jantti  (Vesa Heikki Jäntti)" in unknown
    [linked] = texts(
        await exchange(api, message_update(COORDINATOR, "/link 2001 Vesa Heikki Jantti"))
    )
    assert linked == "Test (2001) is now linked to Vesa Heikki Jäntti (vesa-heikki-jantti)."
    reachable = access.find_chat_user_for_person(tg_services.db, "vesa-heikki-jantti")
    assert reachable is not None and reachable.chat_id == USER and reachable.reachable

    await exchange(api, message_update(USER, "/who data contact Bodø"))
    assert engine.asked == [("who is data contact Bodø", None)]

    [users] = texts(await exchange(api, message_update(COORDINATOR, "/users")))
    assert "• Test (2001): not approved, → Vesa Heikki Jäntti" in users
    assert "• Test (1000): coordinator, not approved" in users
    [unlinked] = texts(await exchange(api, message_update(COORDINATOR, "/unlink 2001")))
    assert unlinked == "Test (2001) is no longer linked to anyone."
    assert access.find_chat_user_for_person(tg_services.db, "vesa-heikki-jantti") is None


async def test_a_user_met_only_in_a_group_has_no_private_chat(
    api: BotApiStandIn, bot: TelegramChat, tg_services: Services
) -> None:
    await exchange(api, message_update(USER, "/help", chat_id=-77, chat_type="group"))
    user = access.find_chat_user(tg_services.db, USER)
    assert user is not None and user.chat_id is None and not user.reachable
    await exchange(api, message_update(USER, "/help"))
    user = access.find_chat_user(tg_services.db, USER)
    assert user is not None and user.chat_id == USER
