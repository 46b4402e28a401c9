"""/dashboard over the Telegram stack (Bot API stand-in over HTTP): a coordinator gets a
one-time login link in a private chat; a group and anyone else get none."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bot.dashboard import auth
from bot.services import Services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, texts

pytest_plugins = ("tests.chat_fixtures",)


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


async def test_dashboard_command_sends_a_link_to_coordinators_only(
    api: BotApiStandIn, bot: TelegramChat, tg_services: Services
) -> None:

    [call] = await exchange(api, message_update(COORDINATOR, "/dashboard", language_code="nb"))
    [text] = texts([call])
    assert text.startswith("Innloggingslenken din til koordinatorenes oversikt")
    # Telegram must not fetch the URL for a preview (it would see the login page only, but
    # the link is nobody else's business).
    options = call.params["link_preview_options"]
    assert (json.loads(options) if isinstance(options, str) else options) == {"is_disabled": True}
    match = re.search(r"/dashboard/login\?token=([A-Za-z0-9_-]+)", text)
    assert match
    session = auth.redeem_link(
        tg_services.db, tg_services.config, match.group(1), datetime.now(UTC)
    )
    assert session is not None
    view = auth.find_session(tg_services.db, tg_services.config, session, datetime.now(UTC))
    assert view is not None and view.holder == f"telegram:{COORDINATOR}" and view.lang == "nb"

    [refused] = texts(await exchange(api, message_update(USER, "/dashboard")))
    assert "token=" not in refused and "coordinators" in refused
    [group] = texts(
        await exchange(
            api, message_update(COORDINATOR, "/dashboard", chat_id=-100, chat_type="group")
        )
    )
    assert "token=" not in group and "private chat" in group
