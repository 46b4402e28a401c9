"""The last resort: unknown commands, edits, stickers and photos, stale buttons, and errors.

Registered after every other handler, so these only see what nothing else took.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.chat import ChatService
from bot.chat.commands import parse_command
from handlers.telegram.common import answer, reply_to, sender_of

log = logging.getLogger(__name__)


def register(application: Application, chat: ChatService) -> None:
    """Fallback handlers and the error handler."""

    async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None:
            return
        parsed = parse_command(message.text or "")
        if parsed is None:
            return
        addressed = (
            parsed.target is not None
            and parsed.target.casefold() == (context.bot.username or "").casefold()
        )
        # In a group an unaddressed /command may be meant for another bot: stay quiet.
        if not sender.private and not addressed:
            return
        reply = await asyncio.to_thread(chat.command, sender, parsed.name, parsed.args)
        await reply_to(update, context, reply, chat)

    async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender = sender_of(update)
        if sender is not None and sender.private:
            reply = await asyncio.to_thread(chat.notice, sender, "edited")
            await answer(update, context.bot, reply, chat)

    async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        sender = sender_of(update)
        if sender is not None:
            reply = await asyncio.to_thread(chat.notice, sender, "non_text")
            await answer(update, context.bot, reply, chat)

    async def on_stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, sender = update.callback_query, sender_of(update)
        if query is None or sender is None:
            return
        reply = await asyncio.to_thread(chat.notice, sender, "button_expired")
        await query.answer(reply.plain_text())

    async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            log.error("error outside an update: %r", context.error, exc_info=context.error)
            return
        log.error(
            "error handling update %s (%s) from user %s in chat %s",
            update.update_id,
            _describe(update),
            update.effective_user.id if update.effective_user else None,
            update.effective_chat.id if update.effective_chat else None,
            exc_info=context.error,
        )
        sender = sender_of(update)
        if sender is None or update.effective_chat is None:
            return
        try:
            reply = await asyncio.to_thread(chat.notice, sender, "error")
            await answer(update, context.bot, reply, chat)
        except Exception:
            log.exception("could not tell chat %s about the error", update.effective_chat.id)

    application.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, on_unknown_command)
    )
    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edited))
    application.add_handler(
        MessageHandler(
            filters.UpdateType.MESSAGE & ~filters.TEXT & filters.ChatType.PRIVATE, on_non_text
        )
    )
    application.add_handler(CallbackQueryHandler(on_stale_button))
    application.add_error_handler(on_error)


def _describe(update: Update) -> str:
    """What the update was, without logging what the user wrote."""
    if update.callback_query is not None:
        return "button press"
    message = update.effective_message
    if message is None:
        return "no message"
    if message.text:
        parsed = parse_command(message.text)
        kind = f"/{parsed.name}" if parsed else "text"
        return f"{kind}, {len(message.text)} characters"
    return "non-text message"
