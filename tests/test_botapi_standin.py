"""The Bot API stand-in speaks enough of the protocol for the real python-telegram-bot client."""

from __future__ import annotations

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter

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


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<b>bold", "Can't find end tag"),
        ("a <x>tag</x>", 'Unsupported start tag "x"'),
        ("1 < 2", "Unexpected character '<'"),
        ("fish & chips", "Character '&' must be escaped"),
        ("non&nbsp;breaking", 'Unsupported HTML entity "&nbsp;"'),
        ("<b>a</i>", "Unexpected end tag"),
        ("&#xD800;", "Invalid character entity"),
    ],
)
async def test_html_telegram_cannot_parse_is_refused(text: str, error: str) -> None:
    async with BotApiStandIn() as api:
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            # python-telegram-bot shows Telegram's description with only its first letter upper.
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as caught:
                await bot.send_message(chat_id=7, text=text, parse_mode="HTML")
            assert error.lower() in str(caught.value).lower()
            # The same text without parse_mode is plain text, and fine.
            await bot.send_message(chat_id=7, text=text)
        assert api.sent_texts(7) == [text] and len(api.refusals) == 1


async def test_length_is_counted_in_utf16_units_after_parsing() -> None:
    async with BotApiStandIn() as api:
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            # 2,048 emoji are 4,096 UTF-16 units: the most Telegram takes.
            await bot.send_message(chat_id=7, text="🎉" * 2048)
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(chat_id=7, text="🎉" * 2048 + "x")
            # Tags and entities do not count; what they stand for does.
            await bot.send_message(
                chat_id=7, text="<b>" + "&amp;" * 4096 + "</b>", parse_mode="HTML"
            )
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(chat_id=7, text="&amp;" * 4097, parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
                await bot.send_message(chat_id=7, text="<b> </b>", parse_mode="HTML")
            with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
                await bot.send_document(chat_id=7, document=b"x", caption="c" * 1025)
        assert len(api.sent_texts(7)) == 2 and len(api.refusals) == 4


async def test_callback_data_over_64_bytes_is_refused() -> None:
    async with BotApiStandIn() as api:
        bot = Bot(api.token, base_url=api.base_url)
        async with bot:
            fits = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="ø" * 32)]])
            await bot.send_message(chat_id=7, text="choose", reply_markup=fits)
            too_long = InlineKeyboardMarkup(
                [[InlineKeyboardButton("no", callback_data="ø" * 32 + "x")]]
            )
            with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
                await bot.send_message(chat_id=7, text="choose", reply_markup=too_long)
        assert api.sent_texts(7) == ["choose"]
