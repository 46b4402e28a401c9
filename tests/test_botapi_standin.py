"""The Bot API stand-in speaks enough of the protocol for the real python-telegram-bot client."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import Forbidden, RetryAfter

from tests.botapi_standin import BotApiStandIn, message_update


async def test_real_client_sends_and_sees_faults() -> None:
    async with BotApiStandIn() as api:
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            me = await bot.get_me()
            assert me.username == "coordbot_test_bot"
            sent = await bot.send_message(chat_id=7, text="hei")
            assert sent.text == "hei" and sent.chat_id == 7
            api.fail(429, "Too Many Requests: retry after 3", method="sendMessage", retry_after=3)
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(chat_id=7, text="again")
            retry = caught.value.retry_after
            assert (retry if isinstance(retry, int) else retry.total_seconds()) == 3
            api.blocked_chats.add(8)
            with pytest.raises(Forbidden):
                await bot.send_message(chat_id=8, text="blocked")
            api.push_update(message_update(7, "/start"))
            updates = await bot.get_updates(timeout=1)
            assert [u.message.text for u in updates if u.message] == ["/start"]
        assert api.sent_texts(7) == ["hei"]
        assert [c.status for c in api.calls_to("sendMessage", ok_only=False)] == [200, 429, 403]


async def test_flood_limit_answers_429_and_counts() -> None:
    now = [0.0]
    async with BotApiStandIn(flood_limit_per_second=2, clock=lambda: now[0]) as api:
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            await bot.send_message(chat_id=1, text="1")
            await bot.send_message(chat_id=2, text="2")
            with pytest.raises(RetryAfter):
                await bot.send_message(chat_id=3, text="3")
            now[0] = 1.5
            await bot.send_message(chat_id=3, text="3")
        assert api.flood_violations == 1
