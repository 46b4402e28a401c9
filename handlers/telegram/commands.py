"""One callback shape for every command: parse the update, ask the chat service, reply."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot.chat import ChatService
from bot.chat.commands import Group, commands_in, parse_command
from handlers.telegram.common import reply_to, sender_of

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def command_callback(chat: ChatService, name: str) -> Callback:
    """The handler of /`name`: everything after the command is its argument text."""

    async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, sender = update.effective_message, sender_of(update)
        if message is None or sender is None:
            return
        parsed = parse_command(message.text or "")
        # Database and engine work in a worker thread: the loop keeps serving meanwhile.
        reply = await asyncio.to_thread(chat.command, sender, name, parsed.args if parsed else "")
        await reply_to(update, context, reply, chat)

    return on_command


def register_group(application: Application, chat: ChatService, group: Group) -> None:
    """A CommandHandler for each command of `group` (new messages only: edits are not
    re-answered)."""
    for spec in commands_in(group):
        application.add_handler(
            CommandHandler(
                spec.name,
                command_callback(chat, spec.name),
                filters=filters.UpdateType.MESSAGE,
            )
        )
