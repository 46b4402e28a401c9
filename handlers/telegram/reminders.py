"""The "done" button of a deadline reminder, and /done DEADLINE MUNICIPALITY."""

from __future__ import annotations

import asyncio
import contextlib

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.chat import ChatService
from bot.chat.delivery_commands import done_command, mark_deadline_done
from handlers.telegram.broadcast import command_args
from handlers.telegram.common import reply_to, sender_of
from schedules.fire import DONE_CALLBACK


def register(application: Application, chat: ChatService) -> None:
    """/done and the reminder's button."""
    services = chat.services

    async def on_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None or sender.user_id is None:
            return
        refusal = chat.limit(sender)
        if refusal is not None:
            await reply_to(update, context, refusal, chat)
            return
        user_id, args = sender.user_id, command_args(message.text or "")

        def work() -> str:
            return done_command(services, user_id, args, chat.context(sender).lang)

        await message.reply_text(await asyncio.to_thread(work))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, sender = update.callback_query, sender_of(update)
        if query is None or sender is None or sender.user_id is None or query.data is None:
            return
        refusal = chat.limit(sender)
        if refusal is not None:
            await query.answer(refusal.plain_text()[:200], show_alert=True)
            return
        event, _sep, place = query.data.removeprefix(DONE_CALLBACK).partition(":")
        user_id = sender.user_id

        def work() -> tuple[str, bool]:
            lang = chat.context(sender).lang
            return mark_deadline_done(services, user_id, event, place, lang)

        reply, marked = await asyncio.to_thread(work)
        await query.answer(reply[:200])
        if query.message is not None:
            if marked:
                with contextlib.suppress(BadRequest):  # the reminder keeps its text only
                    await query.edit_message_reply_markup(reply_markup=None)
            await context.bot.send_message(query.message.chat.id, reply)

    application.add_handler(CommandHandler("done", on_done, filters=filters.UpdateType.MESSAGE))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{DONE_CALLBACK}"))
