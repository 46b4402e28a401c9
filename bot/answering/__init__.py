"""The answer engine: a question in English or Norwegian -> an Answer from the registry."""

from bot.answering.model import Answer, ContactView, EventView

__all__ = ["Answer", "ContactView", "EventView"]
