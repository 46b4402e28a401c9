"""/attendance EVENT (coordinators): the chat service answers and refuses everyone else."""

from __future__ import annotations

from telegram.ext import Application, CommandHandler, filters

from bot.chat import ChatService
from handlers.telegram.commands import command_callback


def register(application: Application, chat: ChatService) -> None:
    """The /attendance command."""
    application.add_handler(
        CommandHandler(
            "attendance",
            command_callback(chat, "attendance"),
            filters=filters.UpdateType.MESSAGE,
        )
    )
