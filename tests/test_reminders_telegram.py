"""A deadline reminder arrives over Telegram when the clock reaches its time; the data
contact presses its button, and the next reminder leaves their municipality out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import access
from bot.clock import FixedClock
from bot.delivery.component import DeliveryComponent
from bot.registry.marks import done_marks
from bot.services import Services
from handlers.telegram.outbound import PtbTransport
from handlers.telegram.transport import TelegramChat
from schedules.fire import current_plan
from schedules.scheduler import ReminderScheduler
from tests.botapi_standin import BotApiStandIn, callback_update, message_update
from tests.chat_fakes import COORDINATOR, USER, exchange, texts

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)

OSLO = ZoneInfo("Europe/Oslo")
RANDI = 4001  # Molde's data contact; her e-mail address is defective, so Telegram only
GEIR = 4002  # Asker's data contact


@pytest.fixture
async def running(tg_services: Services) -> AsyncIterator[ReminderScheduler]:
    for user_id, person in ((RANDI, "randi-myhre"), (GEIR, "geir-graff")):
        access.record_chat_user(
            tg_services.db,
            telegram_user_id=user_id,
            display_name=person,
            username=None,
            private_chat_id=user_id,
            now=tg_services.clock.now(),
        )
        access.link_person(tg_services.db, user_id, person, by=COORDINATOR)
    delivery = DeliveryComponent(
        tg_services, telegram=PtbTransport(tg_services.config.telegram), mailer=None
    )
    scheduler = ReminderScheduler(tg_services)
    await delivery.start()
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
        await delivery.stop()


async def test_deadline_reminder_arrives_and_the_button_marks_it_done(
    api: BotApiStandIn,
    bot: TelegramChat,
    running: ReminderScheduler,
    tg_services: Services,
    clock: FixedClock,
) -> None:
    assert api.calls_to("sendMessage") == []  # 15 January: nothing due yet
    clock.set(datetime(2020, 1, 17, 8, 0, tzinfo=OSLO))
    await running.fire_due()  # what the job at 17 January 08:00 does
    calls = await api.wait_for_calls("sendMessage", 2)
    by_chat = {int(c.params["chat_id"]): c for c in calls}
    reminder = by_chat[RANDI]
    # Randi Myhre reads bokmål (her registry language).
    assert reminder.params["text"].startswith("<b>⏰ Påminnelse (14 dager før)</b>")
    assert (
        "2020-01-31 [deadline] Frist: alle relevante KPI-data samlet inn" in reminder.params["text"]
    )
    assert "Ikke meldt ferdig ennå: Molde" in reminder.params["text"]
    [[button]] = reminder.params["reply_markup"]["inline_keyboard"]
    assert button == {"text": "✅ Molde: ferdig", "callback_data": "rdone:data-deadline:molde"}

    # Someone else pressing Molde's button changes nothing; Randi's press marks it.
    api.push_update(callback_update(USER, "rdone:data-deadline:molde"))
    await api.wait_for_calls("sendMessage", 3)
    assert ("data-deadline", "molde") not in done_marks(tg_services.db)
    api.push_update(callback_update(RANDI, "rdone:data-deadline:molde", message_id=9))
    thanks = (await api.wait_for_calls("sendMessage", 4))[-1]
    assert thanks.params["text"].startswith("Molde has met Deadline: all KPI data collected")
    assert ("data-deadline", "molde") in done_marks(tg_services.db)
    assert api.calls_to("editMessageReplyMarkup")

    # Three days before: Asker's contact is reminded again, Molde's is not.
    clock.set(datetime(2020, 1, 28, 8, 0, tzinfo=OSLO))
    await running.fire_due()
    latest = (await api.wait_for_calls("sendMessage", 5))[-1]
    assert int(latest.params["chat_id"]) == GEIR
    assert "(3 dager før)" in latest.params["text"]
    assert [c for c in api.calls_to("sendMessage") if int(c.params["chat_id"]) == RANDI][
        -1
    ] is thanks


async def test_done_typed_in_telegram_marks_only_ones_own_municipality(
    api: BotApiStandIn,
    bot: TelegramChat,
    running: ReminderScheduler,
    tg_services: Services,
    clock: FixedClock,
) -> None:
    """/done DEADLINE MUNICIPALITY typed in the chat: refused for someone else's municipality,
    recorded for one's own (and by a coordinator for any), and the next reminder leaves the
    municipality out."""

    async def say(user: int, text: str) -> str:
        [reply] = texts(await exchange(api, message_update(user, text)))
        return reply

    assert (await say(GEIR, "/done data-deadline Molde")) == (
        "Only Molde's own contacts or a coordinator can mark this."
    )
    assert done_marks(tg_services.db) == set()
    assert (await say(RANDI, "/done")).startswith("Usage: /done DEADLINE MUNICIPALITY")
    assert (await say(RANDI, "/done network-meeting Molde")) == (
        "network-meeting is not a deadline"
    )
    assert (await say(RANDI, "/done data-deadline Molde")) == (
        "Molde has met Deadline: all KPI data collected: no more reminders for it. Thank you!"
    )
    assert (await say(RANDI, "/done data-deadline molde")) == (
        "Molde was already marked as having met Deadline: all KPI data collected."
    )
    assert (await say(COORDINATOR, "/done data-deadline Asker")).startswith("Asker has met")
    assert done_marks(tg_services.db) == {("data-deadline", "molde"), ("data-deadline", "asker")}

    # The next reminders leave both municipalities out.
    plan = [r for r in current_plan(tg_services, clock.now()) if r.event.key == "data-deadline"]
    targets = {t.municipality for t in plan[0].targets}
    assert "bodo" in targets and not {"molde", "asker"} & targets
