"""/start, /help, /lang, and noticing when a user blocks or unblocks the bot."""

from __future__ import annotations

import asyncio

from telegram import ChatMember, Update
from telegram.constants import ChatType
from telegram.ext import Application, ChatMemberHandler, ContextTypes

from bot import access
from bot.chat import ChatService
from handlers.telegram.commands import register_group


def register(application: Application, chat: ChatService) -> None:
    """Account commands and the my_chat_member watcher."""
    register_group(application, chat, "account")

    async def on_my_chat_member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None or change.chat.type != ChatType.PRIVATE:
            return
        blocked = change.new_chat_member.status == ChatMember.BANNED
        when = chat.services.clock.now() if blocked else None
        await asyncio.to_thread(access.mark_blocked, chat.services.db, change.from_user.id, when)

    application.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
