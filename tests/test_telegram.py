"""Every Telegram command through the real python-telegram-bot stack and the Bot API stand-in."""

from __future__ import annotations

import pytest

from bot.answering.model import Answer
from bot.chat import ChatService
from bot.services import Services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, callback_update, message_update
from tests.chat_fakes import (
    COORDINATOR,
    USER,
    ScriptedEngine,
    exchange,
    running_telegram,
    texts,
    visible,
)

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

# The fixtures api, tg_env, tg_services, engine and bot.
pytest_plugins = ("tests.chat_fixtures",)


async def test_start_greets_in_the_users_language_and_publishes_menus(
    api: BotApiStandIn, bot: TelegramChat
) -> None:
    [nb] = texts(await exchange(api, message_update(USER, "/start", language_code="nb")))
    assert nb.startswith("Hei Test! Jeg er coordbot")
    assert "/who" in nb and "/calendar" in nb and "/approve" not in nb
    [en] = texts(await exchange(api, message_update(USER + 1, "/start", language_code="de")))
    assert en.startswith("Hello Test! I am coordbot")

    menus = {
        c.params.get("language_code"): c.params["commands"] for c in api.calls_to("setMyCommands")
    }
    assert set(menus) == {None, "nb", "nn"}
    names = [c["command"] for c in menus[None]]
    assert names == [
        "start",
        "help",
        "lang",
        "who",
        "when",
        "next",
        "events",
        "calendar",
        "subscribe",
        "unsubscribe",
        "subscriptions",
        "done",
    ]
    assert "hvem er kontakt" in menus["nb"][3]["description"]


async def test_help_is_html_and_coordinators_see_their_commands(
    api: BotApiStandIn, bot: TelegramChat
) -> None:
    [user_call] = await exchange(api, message_update(USER, "/help"))
    assert user_call.params["parse_mode"] == "HTML"
    assert "<code>/who</code>" in user_call.params["text"]
    assert "/approve" not in user_call.params["text"]
    [coordinator] = texts(await exchange(api, message_update(COORDINATOR, "/help")))
    assert "Coordinator commands:" in coordinator and "/link USER_ID PERSON" in coordinator


async def test_who_and_when_pass_the_query_to_the_engine(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    [usage] = texts(await exchange(api, message_update(USER, "/who")))
    assert "Tell me who you are looking for" in usage
    assert engine.asked == []
    replies = []
    for update in (
        message_update(USER, "/who data contact Bodø"),
        message_update(USER, "/when styringsgruppemøtet", language_code="nb"),
        message_update(USER, "/who is the programme leader?"),
    ):
        [call] = await exchange(api, update)
        assert int(call.params["chat_id"]) == USER
        replies.append(visible(call.params["text"]))
    # What the user reads is the engine's answer to the question the command made.
    assert replies == [
        "answer to who is data contact Bodø",
        "answer to når er styringsgruppemøtet",
        "answer to who is the programme leader?",
    ]
    assert [q for q, _ in engine.asked] == [
        "who is data contact Bodø",
        "når er styringsgruppemøtet",
        "who is the programme leader?",
    ]


async def test_next_asks_the_engine_what_is_next(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    [en] = texts(await exchange(api, message_update(USER, "/next")))
    [nb] = texts(await exchange(api, message_update(USER, "/next", language_code="nb")))
    assert engine.asked == [("what is next?", None), ("hva skjer nå?", None)]
    assert (en, nb) == ("answer to what is next?", "answer to hva skjer nå?")


async def test_who_when_and_next_answer_from_the_registry(
    api: BotApiStandIn, tg_services: Services
) -> None:
    """The same commands with the real answer engine: the reply names what the registry says."""
    async with running_telegram(tg_services):
        [who] = texts(await exchange(api, message_update(USER, "/who data contact Bodø")))
        assert "Vesa Heikki Jäntti" in who and "vesa.heikki.jantti@bodo.kommune.no" in who
        [when] = texts(
            await exchange(
                api, message_update(USER, "/when styringsgruppemøtet", language_code="nb")
            )
        )
        assert "24. april 2020" in when and "Ålesund" in when
        [upcoming] = texts(await exchange(api, message_update(USER, "/next")))
        assert "31 January 2020" in upcoming and "Deadline: all KPI data collected" in upcoming


async def test_free_text_in_private_is_a_question_and_everything_is_escaped(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    [call] = await exchange(api, message_update(USER, "is <b>Ola</b> & Kari here?"))
    assert engine.asked == [("is <b>Ola</b> & Kari here?", None)]
    assert "&lt;b&gt;Ola&lt;/b&gt; &amp; Kari" in call.params["text"]
    assert visible(call.params["text"]) == "answer to is <b>Ola</b> & Kari here?"

    evil = message_update(USER + 5, "/start")
    evil["message"]["from"]["first_name"] = "<i>Mallory</i> & co"
    [greeting] = await exchange(api, evil)
    assert greeting.params["text"].startswith("Hello &lt;i&gt;Mallory&lt;/i&gt; &amp; co!")


async def test_events_lists_upcoming_items_from_the_registry(
    api: BotApiStandIn, bot: TelegramChat
) -> None:
    [upcoming] = texts(await exchange(api, message_update(USER, "/events")))
    lines = upcoming.splitlines()
    assert lines[0] == "Coming up:"
    assert "2020-01-31 [deadline] Deadline: all KPI data collected" in lines[1]
    assert "Stavanger Declaration" not in upcoming
    assert "earlier items: /events all" in upcoming
    [everything] = texts(
        await exchange(api, message_update(USER, "/events all", language_code="nb"))
    )
    assert everything.startswith("Møter, frister og milepæler:")
    assert "Stavangerdeklarasjonen" in everything


async def test_calendar_sends_the_ics_and_the_subscription_links(
    api: BotApiStandIn, bot: TelegramChat
) -> None:
    before = len(api.calls_to("sendDocument"))
    [links] = texts(await exchange(api, message_update(USER, "/calendar")))
    [document] = api.calls_to("sendDocument")[before:]
    [ics] = document.files.values()
    assert ics.startswith(b"BEGIN:VCALENDAR") and b"BEGIN:VEVENT" in ics
    assert "webcal://" in links and "/calendar/programme.ics" in links
    assert document.params["caption"].startswith("The programme calendar (.ics)")


async def test_lang_is_stored_and_passed_to_the_engine(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine, tg_services: Services
) -> None:
    [usage] = texts(await exchange(api, message_update(USER, "/lang klingon")))
    assert "/lang en, /lang nb (bokmål) or /lang nn (nynorsk)" in usage
    [done] = texts(await exchange(api, message_update(USER, "/lang nb")))
    assert done == "Jeg svarer på norsk."
    await exchange(api, message_update(USER, "hvem er datakontakt i Bodø?"))
    assert engine.asked[-1] == ("hvem er datakontakt i Bodø?", "nb")
    [help_text] = texts(await exchange(api, message_update(USER, "/help", language_code="en")))
    assert help_text.startswith("Spør meg")
    [done] = texts(await exchange(api, message_update(USER, "/lang nynorsk")))
    assert done == "Eg svarar på nynorsk."
    await exchange(api, message_update(USER, "kven er datakontakt i Bodø?"))
    assert engine.asked[-1] == ("kven er datakontakt i Bodø?", "nn")
    [help_text] = texts(await exchange(api, message_update(USER, "/help", language_code="en")))
    assert help_text.startswith("Spør meg kven du skal kontakte")


async def test_clarify_offers_buttons_and_a_press_asks_that(
    api: BotApiStandIn, tg_services: Services
) -> None:
    long_name = "Kristiansund kommune, Nordmøre og Romsdal, Møre og Romsdal fylke, Norge"

    def script(question: str, lang: str | None) -> Answer:
        if question == "who is the data contact in Kristiansxnd?":
            return Answer(
                "clarify",
                "en",
                "Did you mean Kristiansand or Kristiansund?",
                suggestions=("Kristiansand <Agder>", long_name),
            )
        return Answer("answer", "en", f"answer to {question}")

    engine = ScriptedEngine(script)
    tg_services.answers = engine  # type: ignore[assignment]
    async with running_telegram(tg_services):
        [clarify] = await exchange(
            api, message_update(USER, "who is the data contact in Kristiansxnd?")
        )
        rows = clarify.params["reply_markup"]["inline_keyboard"]
        assert [row[0]["text"] for row in rows] == ["Kristiansand <Agder>", long_name[:59] + "…"]
        data = [row[0]["callback_data"] for row in rows]
        assert all(len(d.encode()) <= 64 and d.startswith("q:") for d in data)

        [pressed] = texts(await exchange(api, callback_update(USER, data[1])))
        assert pressed == f"answer to {long_name}"
        assert engine.asked[-1] == (long_name, None)
        assert api.calls_to("answerCallbackQuery")

        # A button from before a restart (a fresh chat service) is expired, not a crash.
    async with running_telegram(tg_services, ChatService(tg_services)):
        [expired] = texts(await exchange(api, callback_update(USER, data[0])))
        assert expired == "This button has expired. Please ask again."
        answered = len(api.calls_to("answerCallbackQuery"))
        api.push_update(callback_update(USER, "something-else"))
        await api.wait_for_calls("answerCallbackQuery", answered + 1)
        assert (
            api.calls_to("answerCallbackQuery")[-1]
            .params["text"]
            .startswith("This button has expired")
        )


async def test_unknown_commands_and_groups(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    [unknown] = texts(await exchange(api, message_update(USER, "/frobnicate now")))
    assert unknown == "I do not know the command /frobnicate. /help lists what I can do."

    group = -500
    # Not for us: an unaddressed unknown command, a command for another bot, plain chatter.
    api.push_update(message_update(USER, "/frobnicate", chat_id=group, chat_type="group"))
    api.push_update(message_update(USER, "/who@other_bot x", chat_id=group, chat_type="group"))
    api.push_update(
        message_update(USER, "who is Bodø's data contact?", chat_id=group, chat_type="group")
    )
    [addressed] = texts(
        await exchange(
            api,
            message_update(USER, "/frobnicate@coordbot_test_bot", chat_id=group, chat_type="group"),
        )
    )
    assert "/frobnicate" in addressed
    assert engine.asked == []

    mention = message_update(
        USER, "@coordbot_test_bot who is Bodø's data contact?", chat_id=group, chat_type="group"
    )
    mention["message"]["entities"] = [{"type": "mention", "offset": 0, "length": 18}]
    [answered] = await exchange(api, mention)
    assert engine.asked == [("who is Bodø's data contact?", None)]
    assert answered.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]
    [command] = texts(
        await exchange(
            api,
            message_update(USER, "/who@coordbot_test_bot Bodø", chat_id=group, chat_type="group"),
        )
    )
    assert command == "answer to who is Bodø"
    assert len(api.sent_texts(group)) == 3


async def test_stickers_photos_and_edits_get_a_sensible_reply(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    [sticker_reply] = texts(await exchange(api, message_update(USER, extra={"sticker": sticker})))
    assert sticker_reply.startswith("I can only read text.")
    photo = [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]
    [photo_reply] = texts(
        await exchange(api, message_update(USER, extra={"photo": photo}, language_code="nb"))
    )
    assert photo_reply.startswith("Jeg kan bare lese tekst.")
    [edit_reply] = texts(await exchange(api, message_update(USER, "/who Bodø", edited=True)))
    assert edit_reply.startswith("I answer new messages only")
    assert engine.asked == []
    # In a group, a photo is none of the bot's business.
    api.push_update(message_update(USER, extra={"photo": photo}, chat_id=-9, chat_type="group"))
    await exchange(api, message_update(USER, "/help"))
    assert api.sent_texts(-9) == []


async def test_a_long_answer_is_split_into_messages_telegram_takes(
    api: BotApiStandIn, tg_services: Services
) -> None:
    """An answer of 6,000 emoji and escaped signs (12,000+ UTF-16 units once parsed): the
    stand-in refuses any message over 4,096 units or with HTML it cannot parse, so every
    piece arriving means every piece fits."""
    long_text = " ".join(["🎉" * 50 + " <&> " + "å" * 20] * 80)
    engine = ScriptedEngine(lambda q, lang: Answer("answer", "en", long_text))
    tg_services.answers = engine  # type: ignore[assignment]
    async with running_telegram(tg_services):
        before = len(api.calls_to("sendMessage"))
        api.push_update(message_update(USER, "tell me everything"))
        await api.wait_until(
            lambda: (
                "".join(texts(api.calls_to("sendMessage")[before:])).count("🎉") == 4000
                or bool(api.refusals)
            )
        )
        pieces = texts(api.calls_to("sendMessage")[before:])
    assert api.refusals == []
    assert len(pieces) >= 3
    assert " ".join(p.strip() for p in pieces).split() == long_text.split()
