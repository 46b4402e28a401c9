"""Transport-agnostic chat: the same commands and answers on Telegram and on the console."""

from bot.chat.reply import Attachment, Choice, Reply, Span
from bot.chat.service import ChatService, Sender

__all__ = ["Attachment", "ChatService", "Choice", "Reply", "Sender", "Span"]
