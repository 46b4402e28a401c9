"""/who, /when, /next, /events, /calendar, free-text questions and presses of answer buttons.

Free text is a question in private chats; in groups only when it mentions the bot.
"""

from __future__ import annotations

import asyncio

from telegram import MessageEntity, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bot.chat import ChatService
from handlers.telegram.commands import register_group
from handlers.telegram.common import reply_to, send_reply, sender_of
from handlers.telegram.render import CALLBACK_PREFIX

NEW_TEXT = filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND


def register(application: Application, chat: ChatService) -> None:
    """Directory commands, questions and answer buttons."""
    register_group(application, chat, "directory")

    async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None:
            return
        reply = await asyncio.to_thread(chat.question, sender, message.text or "")
        await reply_to(update, context, reply, chat)

    async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None:
            return
        handle = f"@{context.bot.username}".casefold()
        mentions = message.parse_entities([MessageEntity.MENTION])
        if not any(text.casefold() == handle for text in mentions.values()):
            return
        question = message.text or ""
        for text in mentions.values():
            if text.casefold() == handle:
                question = question.replace(text, " ")
        reply = await asyncio.to_thread(chat.question, sender, question)
        await reply_to(update, context, reply, chat)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, sender = update.callback_query, sender_of(update)
        if query is None or sender is None:
            return
        await query.answer()
        choice = (query.data or "").removeprefix(CALLBACK_PREFIX)
        reply = await asyncio.to_thread(chat.choose, sender, choice)
        target = query.message.chat.id if query.message else sender.user_id
        if target is not None:
            await send_reply(context.bot, target, reply, chat=chat)

    application.add_handler(MessageHandler(NEW_TEXT & filters.ChatType.PRIVATE, on_private_text))
    application.add_handler(MessageHandler(NEW_TEXT & filters.ChatType.GROUPS, on_group_text))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{CALLBACK_PREFIX}"))
