"""The Telegram adapter: handler groups composed in one place, and the polling component."""

from __future__ import annotations

from telegram.ext import Application

from bot.chat import ChatService
from handlers.telegram import (
    account,
    admin,
    broadcast,
    dashboard,
    directory,
    errors,
    reminders,
    subscriptions,
)


def register_all(application: Application, chat: ChatService) -> None:
    """Every handler group, in order; the fallbacks in `errors` must stay last."""
    account.register(application, chat)
    directory.register(application, chat)
    admin.register(application, chat)
    broadcast.register(application, chat)
    subscriptions.register(application, chat)
    reminders.register(application, chat)
    dashboard.register(application, chat)
    # A new handler group registers here, one line, before the fallbacks.
    errors.register(application, chat)
