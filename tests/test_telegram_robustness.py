"""Abuse and bad input over Telegram: rate limits, long replies and messages, failures."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from bot import access
from bot.answering.model import Answer
from bot.clock import FixedClock
from bot.services import Services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, message_update
from tests.chat_fakes import USER, ScriptedEngine, exchange, running_telegram, texts, visible

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

pytest_plugins = ("tests.chat_fixtures",)


@pytest.fixture
def tg_env() -> dict[str, str]:
    """Three questions a minute, so the limit is quick to reach."""
    return {"COORDBOT_TELEGRAM_QUESTIONS_PER_MINUTE": "3"}


async def test_rate_limit_covers_commands_and_answers_every_time(
    api: BotApiStandIn,
    bot: TelegramChat,
    engine: ScriptedEngine,
    clock: FixedClock,
) -> None:
    for n in range(3):
        await exchange(api, message_update(USER, f"question {n}"))
    limited = (
        "You are asking faster than I answer (3 questions a minute). "
        "Please wait 60 seconds and ask again."
    )
    assert texts(await exchange(api, message_update(USER, "question 3"))) == [limited]
    # Every message held back is answered (silence looks like a hang), commands included.
    assert texts(await exchange(api, message_update(USER, "question 4"))) == [limited]
    assert texts(await exchange(api, message_update(USER, "/help"))) == [limited]
    assert texts(await exchange(api, message_update(USER, "/subscriptions"))) == [limited]
    assert [q for q, _ in engine.asked] == ["question 0", "question 1", "question 2"]
    # Another user is not affected.
    [other] = texts(await exchange(api, message_update(USER + 1, "question from someone else")))
    assert other == "answer to question from someone else"

    clock.advance(timedelta(seconds=61))
    [again] = texts(await exchange(api, message_update(USER, "question 5")))
    assert again == "answer to question 5"


async def test_long_replies_are_split_under_the_limit_with_the_keyboard_last(
    api: BotApiStandIn, tg_services: Services
) -> None:
    line = "Ola & Kari <ola@example.org> " * 5
    long_text = "\n".join(f"{n}: {line}" for n in range(120)) + "\n" + "x" * 5000

    engine = ScriptedEngine(
        lambda q, lang: Answer("clarify", "en", long_text, suggestions=("Bodø", "Bø"))
    )
    tg_services.answers = engine  # type: ignore[assignment]
    async with running_telegram(tg_services):
        api.push_update(message_update(USER, "everything please"))
        api.push_update(message_update(USER, "/help"))
        # Updates are handled in order: the /help reply comes after every part of the answer.
        await api.wait_until(
            lambda: any("/who" in c.params["text"] for c in api.calls_to("sendMessage"))
        )
    *parts, _help = api.calls_to("sendMessage")
    assert len(parts) >= 4
    shown = [visible(c.params["text"]) for c in parts]
    assert all(len(text.encode("utf-16-le")) // 2 <= 4096 for text in shown)
    assert "".join("".join(shown).split()) == "".join(long_text.split())
    assert [("reply_markup" in c.params) for c in parts] == [False] * (len(parts) - 1) + [True]


async def test_messages_of_any_length_get_an_answer(
    api: BotApiStandIn, bot: TelegramChat, engine: ScriptedEngine
) -> None:
    [too_long] = texts(await exchange(api, message_update(USER, "å" * 4096)))
    assert too_long == "That message is 4096 characters long; please keep a question under 1000."
    [empty_who] = texts(await exchange(api, message_update(USER, "/who    ")))
    assert empty_who.startswith("Tell me who you are looking for")
    [emoji] = texts(await exchange(api, message_update(USER, "🙂")))
    assert emoji == "answer to 🙂"
    assert engine.asked == [("🙂", None)]


async def test_errors_are_logged_with_context_and_the_user_gets_no_traceback(
    api: BotApiStandIn, tg_services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(question: str, lang: str | None) -> Answer:
        raise RuntimeError("index is corrupt")

    tg_services.answers = ScriptedEngine(broken)  # type: ignore[assignment]
    caplog.set_level(logging.ERROR, logger="handlers.telegram.errors")
    async with running_telegram(tg_services):
        update = message_update(USER, "/who data contact Bodø", language_code="nb")
        [sorry] = texts(await exchange(api, update))
        # The bot keeps working after the error.
        [after] = texts(await exchange(api, message_update(USER, "/help")))
    assert sorry == "Beklager, noe gikk galt hos meg. Prøv igjen om litt."
    assert "Traceback" not in sorry and "corrupt" not in sorry
    assert after.startswith("Ask me who to contact")
    [record] = [r for r in caplog.records if r.name == "handlers.telegram.errors"]
    message = record.getMessage()
    assert "/who, 22 characters" in message and f"from user {USER}" in message
    assert record.exc_info is not None and "index is corrupt" in str(record.exc_info[1])
    assert "data contact" not in message  # what the user wrote stays out of the log


async def test_a_429_on_a_reply_is_waited_out(api: BotApiStandIn, bot: TelegramChat) -> None:
    api.fail(429, "Too Many Requests: retry after 1", method="sendMessage", retry_after=1)
    [reply] = texts(await exchange(api, message_update(USER, "/help")))
    assert reply.startswith("Ask me who to contact")
    statuses = [c.status for c in api.calls_to("sendMessage", ok_only=False)]
    assert statuses[-2:] == [429, 200]


async def test_blocked_users_are_recorded_and_the_bot_carries_on(
    api: BotApiStandIn, bot: TelegramChat, tg_services: Services
) -> None:
    await exchange(api, message_update(USER, "/start"))
    api.blocked_chats.add(USER)
    api.push_update(message_update(USER, "/help"))
    # Users are served side by side: another user's reply goes out meanwhile.
    await exchange(api, message_update(USER + 1, "/help"))

    def recorded_blocked() -> bool:
        user = access.find_chat_user(tg_services.db, USER)
        return user is not None and user.blocked_at is not None and not user.reachable

    async with asyncio.timeout(10):
        while not recorded_blocked():
            await asyncio.sleep(0.02)  # the handler records it from a worker thread
    assert 403 in [c.status for c in api.calls_to("sendMessage", ok_only=False)]

    api.blocked_chats.discard(USER)
    await exchange(api, message_update(USER, "/help"))
    user = access.find_chat_user(tg_services.db, USER)
    assert user is not None and user.blocked_at is None

    kicked = {
        "my_chat_member": {
            "chat": {"id": USER, "type": "private", "first_name": "Test"},
            "from": {"id": USER, "is_bot": False, "first_name": "Test"},
            "date": 1,
            "old_chat_member": {
                "status": "member",
                "user": {"id": 4242, "is_bot": True, "first_name": "coordbot"},
            },
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 4242, "is_bot": True, "first_name": "coordbot"},
            },
        }
    }
    api.push_update(kicked)
    await exchange(api, message_update(USER + 1, "/help"))
    user = access.find_chat_user(tg_services.db, USER)
    assert user is not None and user.blocked_at is not None
