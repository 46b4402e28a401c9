"""/broadcast for coordinators: a preview with Send and Cancel buttons, then a progress
message that updates while the outbox delivers, ending in the report."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import access
from bot.chat import ChatService
from bot.chat.delivery_commands import (
    Draft,
    cancel_broadcast,
    confirm_broadcast,
    draft_broadcast,
    progress_text,
    report_text,
)
from bot.delivery.broadcast import source_of
from bot.i18n import Lang, gettext
from handlers.telegram.common import reply_to, sender_of

log = logging.getLogger(__name__)

CALLBACK = "bc:"
PROGRESS_EVERY = 2.0  # seconds between edits of the progress message (edits count as sends)
TEXT_LIMIT = 4096


def command_args(text: str) -> str:
    """Everything after the command word, line breaks kept."""
    parts = text.split(maxsplit=1)
    if len(parts) < 2:
        return ""
    return text[text.index(parts[1], len(parts[0])) :]


def _fit(text: str) -> str:
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def register(application: Application, chat: ChatService) -> None:
    """The /broadcast command and its buttons."""
    services = chat.services

    async def on_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None or sender.user_id is None:
            return
        refusal = chat.limit(sender)
        if refusal is not None:
            await reply_to(update, context, refusal, chat)
            return
        user_id, args = sender.user_id, command_args(message.text or "")

        def work() -> tuple[Lang, Draft]:
            ctx = chat.context(sender)
            return ctx.lang, draft_broadcast(services, user_id, args, ctx.lang)

        lang, draft = await asyncio.to_thread(work)
        markup = None
        if draft.broadcast_id is not None:
            send, cancel = gettext(lang, "Send"), gettext(lang, "Cancel")
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            send, callback_data=f"{CALLBACK}send:{draft.broadcast_id}"
                        ),
                        InlineKeyboardButton(
                            cancel, callback_data=f"{CALLBACK}cancel:{draft.broadcast_id}"
                        ),
                    ]
                ]
            )
        await message.reply_text(_fit(draft.text), reply_markup=markup)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, sender = update.callback_query, sender_of(update)
        if query is None or sender is None or sender.user_id is None or query.data is None:
            return
        refusal = chat.limit(sender)
        if refusal is not None:
            await query.answer(refusal.plain_text()[:200], show_alert=True)
            return
        action, _sep, ident = query.data.removeprefix(CALLBACK).partition(":")
        if not ident.isdigit():
            await query.answer()
            return
        broadcast_id, user_id = int(ident), sender.user_id
        if not access.is_coordinator(services.config, user_id):
            # Someone else in the group pressed a coordinator's button: tell them privately
            # (an alert only they see) and leave the preview as it is.
            lang = await asyncio.to_thread(lambda: chat.context(sender).lang)
            only = gettext(lang, "Only the programme's coordinators can do that.")
            await query.answer(only, show_alert=True)
            return

        def work() -> tuple[Lang, str, int]:
            ctx = chat.context(sender)
            act = confirm_broadcast if action == "send" else cancel_broadcast
            reply = act(services, user_id, broadcast_id, ctx.lang)
            total = services.outbox.progress(source_of(broadcast_id)).total
            return ctx.lang, reply, total

        lang, reply, total = await asyncio.to_thread(work)
        await query.answer()
        with contextlib.suppress(BadRequest):  # "message is not modified"
            await query.edit_message_text(_fit(reply))
        queued = action == "send" and total
        if queued and query.message is not None:
            context.application.create_task(
                follow_progress(
                    chat,
                    context.bot,
                    query.message.chat.id,
                    query.message.message_id,
                    broadcast_id,
                    lang,
                ),
                update=update,
            )

    application.add_handler(
        CommandHandler("broadcast", on_broadcast, filters=filters.UpdateType.MESSAGE)
    )
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{CALLBACK}"))


async def follow_progress(
    chat: ChatService, bot: Bot, chat_id: int, message_id: int, broadcast_id: int, lang: str
) -> None:
    """Edit the message as rows are delivered; end with the report (what is still queued
    after the broadcast retry window is reported as such and left to the workers)."""
    services = chat.services
    changed = services.outbox.progress_listener()
    loop = asyncio.get_running_loop()
    give_up = loop.time() + services.config.delivery.broadcast_retry_seconds
    shown = ""
    while True:
        changed.clear()
        progress = await asyncio.to_thread(services.outbox.progress, source_of(broadcast_id))
        if progress.finished or loop.time() >= give_up:
            break
        line = progress_text(broadcast_id, progress, lang)
        if line != shown:
            shown = line
            await _edit(bot, chat_id, message_id, line)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), max(0.0, give_up - loop.time()))
        await asyncio.sleep(PROGRESS_EVERY if not progress.finished else 0)
    report, _ = await asyncio.to_thread(report_text, services, broadcast_id)
    await _edit(bot, chat_id, message_id, report)


async def _edit(bot: Bot, chat_id: int, message_id: int, text: str) -> None:
    try:
        await bot.edit_message_text(_fit(text), chat_id=chat_id, message_id=message_id)
    except TelegramError as exc:  # progress is a courtesy; the report is in the database
        log.info("could not update broadcast progress in chat %s: %s", chat_id, exc)
