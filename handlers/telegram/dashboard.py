"""/dashboard: a coordinator gets a one-time login link for the web dashboard."""

from __future__ import annotations

import asyncio

from telegram import LinkPreviewOptions, Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.chat import ChatService
from bot.dashboard.chat import dashboard_link_text
from handlers.telegram.common import sender_of


def register(application: Application, chat: ChatService) -> None:
    """The /dashboard command."""
    services = chat.services

    async def on_dashboard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None or sender.user_id is None:
            return
        ctx = chat.context(sender)
        reply = await asyncio.to_thread(
            dashboard_link_text, services, sender.user_id, private=sender.private, lang=ctx.lang
        )
        # No link preview: Telegram's servers would fetch the login URL.
        await message.reply_text(reply, link_preview_options=LinkPreviewOptions(is_disabled=True))

    application.add_handler(
        CommandHandler("dashboard", on_dashboard, filters=filters.UpdateType.MESSAGE)
    )
