"""/subscribe, /unsubscribe and /subscriptions: who gets which audience's messages where."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.chat import ChatService
from bot.chat.delivery_commands import change_subscription, subscription_overview
from handlers.telegram.broadcast import command_args
from handlers.telegram.commands import Callback
from handlers.telegram.common import reply_to, sender_of


def register(application: Application, chat: ChatService) -> None:
    """The subscription commands."""
    services = chat.services

    def command(subscribe: bool | None) -> Callback:
        async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            message, sender = update.effective_message, sender_of(update)
            if message is None or sender is None or sender.user_id is None:
                return
            refusal = chat.limit(sender)
            if refusal is not None:
                await reply_to(update, context, refusal, chat)
                return
            user_id = sender.user_id
            args = command_args(message.text or "")

            def work() -> str:
                ctx = chat.context(sender)
                if subscribe is None or (subscribe and not args.strip()):
                    return subscription_overview(services, user_id, ctx.lang)
                return change_subscription(
                    services, user_id, args, subscribe=subscribe, lang=ctx.lang
                )

            # Database work in a worker thread: the loop keeps serving meanwhile.
            await message.reply_text(await asyncio.to_thread(work))

        return on_command

    for name, subscribe in (("subscribe", True), ("unsubscribe", False), ("subscriptions", None)):
        application.add_handler(
            CommandHandler(name, command(subscribe), filters=filters.UpdateType.MESSAGE)
        )
