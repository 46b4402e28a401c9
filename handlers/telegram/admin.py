"""Coordinator commands (/users, /approve, /revoke, /link, /unlink); the chat service refuses
everyone else."""

from __future__ import annotations

from telegram.ext import Application

from bot.chat import ChatService
from handlers.telegram.commands import register_group


def register(application: Application, chat: ChatService) -> None:
    """The coordinator commands."""
    register_group(application, chat, "admin")
