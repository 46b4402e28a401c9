"""Helpers for the chat tests: a scripted answer engine, and a running Telegram component
against the Bot API stand-in."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bot.answering.model import Answer
from bot.chat import ChatService
from bot.services import Services
from handlers.telegram.transport import TelegramChat
from tests.botapi_standin import BotApiStandIn, RecordedCall

COORDINATOR = 1000
USER = 2001

_TAG = re.compile(r"</?(?:b|i|code)>")


class ScriptedEngine:
    """Stands in for the answer engine: records each question, answers with `script`."""

    def __init__(self, script: Callable[[str, str | None], Answer] | None = None) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self._script = script or (
            lambda q, lang: Answer(status="answer", lang=lang or "en", text=f"answer to {q}")
        )

    def ask(self, question: str, lang: str | None = None) -> Answer:
        """Record the question and answer from the script."""
        self.asked.append((question, lang))
        return self._script(question, lang)


def visible(message_html: str) -> str:
    """What a Telegram user sees of an HTML message (tags gone, entities decoded)."""
    return html.unescape(_TAG.sub("", message_html))


@asynccontextmanager
async def running_telegram(
    services: Services, chat: ChatService | None = None
) -> AsyncIterator[TelegramChat]:
    """The Telegram component started against the configured (stand-in) Bot API."""
    component = TelegramChat(services, chat or ChatService(services))
    await component.start()
    try:
        yield component
    finally:
        await component.stop()


async def exchange(
    api: BotApiStandIn,
    update: dict[str, Any],
    replies: int = 1,
    method: str = "sendMessage",
    timeout: float = 10.0,
) -> list[RecordedCall]:
    """Queue `update` and wait for `replies` new successful calls of `method`."""
    before = len(api.calls_to(method))
    api.push_update(update)
    calls = await api.wait_for_calls(method, before + replies, timeout)
    return calls[before:]


def texts(calls: list[RecordedCall]) -> list[str]:
    """The visible text of sendMessage calls."""
    return [visible(str(c.params.get("text", ""))) for c in calls]
