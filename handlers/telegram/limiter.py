"""One Telegram rate budget for the whole process: python-telegram-bot's Application (chat
replies, edits, documents) sends through the same TelegramRateLimiter as the delivery workers
(reminders, broadcasts), so both together stay within 30 messages/s, one a second per chat
and 20 a minute per group."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from bot.delivery.ratelimit import TelegramRateLimiter
from handlers.telegram.outbound import retry_after_seconds

# Bot API methods that put a message in a chat (Telegram's limits count these).
LIMITED_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendsticker",
        "sendlocation",
        "sendcontact",
        "sendpoll",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)


class SharedRateLimiter(BaseRateLimiter[None]):
    """A BaseRateLimiter over coordbot's TelegramRateLimiter (shared with delivery)."""

    def __init__(self, limiter: TelegramRateLimiter) -> None:
        self.limiter = limiter

    async def initialize(self) -> None:
        """Nothing to set up: the limiter lives as long as the process's services."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Run one Bot API call, in a send slot of its chat when it sends a message."""
        chat_id = data.get("chat_id")
        if endpoint.lower() not in LIMITED_METHODS or not _is_int(chat_id):
            return await callback(*args, **kwargs)
        async with self.limiter.slot(int(str(chat_id)), asyncio.sleep):
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                # Telegram says the whole bot is over its limit: deliveries pause too.
                self.limiter.pause(retry_after_seconds(exc.retry_after))
                raise


def _is_int(value: object) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit())


class PerUserUpdates(BaseUpdateProcessor):
    """Updates of different users are handled side by side (one chat waiting for its send
    slot holds up nobody else); each user's own updates one after another, in order.

    PTB's own bound is taken before an update is looked at, so a user with many updates
    queued would hold every place; the bound here is taken in the user's turn instead.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(_UNBOUNDED)
        self._places = asyncio.Semaphore(max_concurrent_updates)
        self._turns: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the user's turn, then for a free place, then handle the update."""
        user = getattr(update, "effective_user", None)
        if user is None:
            async with self._places:
                await coroutine
            return
        turn = self._turns.setdefault(user.id, asyncio.Lock())
        self._waiting[user.id] += 1
        try:
            async with turn, self._places:
                await coroutine
        finally:
            self._waiting[user.id] -= 1
            if not self._waiting[user.id]:
                # Bounded memory: only users with work in hand keep a lock.
                del self._waiting[user.id]
                self._turns.pop(user.id, None)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


# PTB's semaphore must never be the one that waits (see PerUserUpdates).
_UNBOUNDED = 1 << 30
