"""What every Telegram handler shares: who sent an update, and sending a Reply back."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import Bot, InputFile, LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, RetryAfter
from telegram.ext import CallbackContext

from bot import access
from bot.chat import ChatService, Reply, Sender
from handlers.telegram.render import keyboard, render_messages

log = logging.getLogger(__name__)

# A reply waits out at most this many 429s, each at most MAX_RETRY_WAIT seconds; beyond that
# the error handler tells the user something went wrong rather than hold the update forever.
MAX_REPLY_RETRIES = 2
MAX_RETRY_WAIT = 30.0

T = TypeVar("T")


def sender_of(update: Update) -> Sender | None:
    """The sender of an update, or None for updates without a user (channel posts)."""
    user = update.effective_user
    if user is None or user.is_bot:
        return None
    chat = update.effective_chat
    return Sender(
        user_id=user.id,
        chat_id=chat.id if chat else None,
        display_name=user.full_name,
        username=user.username,
        language_code=user.language_code,
        private=chat is None or chat.type == ChatType.PRIVATE,
    )


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Run one Bot API call, waiting out a short 429 (retry_after) up to MAX_REPLY_RETRIES."""
    for attempt in range(MAX_REPLY_RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            if attempt == MAX_REPLY_RETRIES or wait > MAX_RETRY_WAIT:
                raise
            log.warning("Telegram flood limit: waiting %.0f s before retrying a reply", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


async def send_reply(
    bot: Bot,
    chat_id: int,
    reply: Reply,
    *,
    reply_to: int | None = None,
    chat: ChatService | None = None,
) -> list[Message]:
    """Send a Reply as HTML messages (and its document); a user who blocked the bot is
    recorded as such instead of raising."""
    if reply.empty:
        return []
    messages = render_messages(reply)
    markup = keyboard(reply)
    if markup is not None and not messages:
        messages = ["…"]
    reply_parameters = (
        ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
    )
    sent: list[Message] = []
    try:
        if reply.attachment is not None:
            attachment = reply.attachment
            document = InputFile(attachment.data, filename=attachment.filename)
            send_document = partial(
                bot.send_document,
                chat_id,
                document,
                caption=attachment.caption,
                reply_parameters=reply_parameters,
            )
            sent.append(await with_retry(send_document))
        for index, text in enumerate(messages):
            send_message = partial(
                bot.send_message,
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if index == len(messages) - 1 else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=reply_parameters if index == 0 else None,
            )
            sent.append(await with_retry(send_message))
    except Forbidden as exc:
        log.info("chat %s cannot be reached (%s); recorded as blocked", chat_id, exc.message)
        if chat is not None and chat_id > 0:
            now = chat.services.clock.now()
            await asyncio.to_thread(access.mark_blocked, chat.services.db, chat_id, now)
    return sent


# Rate-limit answers waiting for their chat's send slot (one a second), per chat: past this
# many a flood's further answers are dropped rather than queued for minutes.
MAX_PENDING_LIMIT_ANSWERS = 5
_PENDING_KEY = "coordbot_pending_limit_answers"


async def reply_to(
    update: Update, context: CallbackContext[Any, Any, Any, Any], reply: Reply, chat: ChatService
) -> None:
    """Answer an update; a rate-limit answer goes out in the background (it waits for the
    chat's send slot, and must not hold up other users' updates meanwhile)."""
    if reply.kind != "rate_limited":
        await answer(update, context.bot, reply, chat)
        return
    target = update.effective_chat
    if target is None:
        return
    pending: Counter[int] = context.bot_data.setdefault(_PENDING_KEY, Counter())
    if pending[target.id] >= MAX_PENDING_LIMIT_ANSWERS:
        log.debug("rate limit: chat %s already has answers waiting; not queuing another", target.id)
        return
    pending[target.id] += 1

    async def send() -> None:
        try:
            await answer(update, context.bot, reply, chat)
        finally:
            pending[target.id] -= 1

    context.application.create_task(send(), update=update)


async def answer(update: Update, bot: Bot, reply: Reply, chat: ChatService) -> None:
    """Send `reply` to the chat an update came from (quoting the message in groups)."""
    target = update.effective_chat
    if target is None:
        return
    message = update.effective_message
    quote = message.message_id if message and target.type != ChatType.PRIVATE else None
    await send_reply(bot, target.id, reply, reply_to=quote, chat=chat)
