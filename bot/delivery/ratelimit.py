"""Rate limits for sending: exact sliding windows, combined as Telegram's limits need them.

A token bucket with a burst allowance lets more than N through in some one-second window;
Telegram counts in windows, so the limiter keeps the times of the last N sends and lets the
next one go only once the oldest of them has left the window.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable


class SlidingWindow:
    """At most `limit` events in any `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a sliding window needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque(maxlen=limit)

    @classmethod
    def per_second(cls, rate: float, margin: float = 0.0) -> SlidingWindow:
        """`rate` events a second (fractional rates: one event every 1/rate seconds)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            return cls(math.floor(rate), 1.0 + margin)
        return cls(1, 1.0 / rate + margin)

    def wait_time(self, now: float) -> float:
        """Seconds until one more event is allowed (0: now)."""
        if len(self._times) < self.limit:
            return 0.0
        # Measured as the receiving side measures (now - oldest >= window), so float rounding
        # never lets one through early; the floor keeps a waiter's clock moving.
        elapsed = now - self._times[0]
        return 0.0 if elapsed >= self.window else max(self.window - elapsed, 1e-6)

    def record(self, now: float) -> None:
        """Count an event at `now`."""
        self._times.append(now)

    def idle_since(self, now: float) -> bool:
        """True when no event is inside the window any more (safe to forget)."""
        return not self._times or self._times[-1] + self.window <= now


class TelegramRateLimiter:
    """Telegram's limits: N messages a second overall, one a second per private chat, M a
    minute per group (negative chat ids), and a global pause after a 429 retry_after."""

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        margin: float = 0.05,
    ) -> None:
        self._monotonic = monotonic
        # The margin keeps us under the limit when requests arrive at Telegram a little
        # closer together than they left us.
        self._global = SlidingWindow.per_second(per_second, margin)
        self._per_chat_rate = per_chat_per_second
        self._per_group = per_group_per_minute
        self._margin = margin
        self._chats: dict[int, SlidingWindow] = {}
        self._paused_until = 0.0
        self._acquired = 0

    def _chat_window(self, chat_id: int) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if chat_id < 0:
                window = SlidingWindow(self._per_group, 60.0 + self._margin)
            else:
                window = SlidingWindow.per_second(self._per_chat_rate, self._margin)
            self._chats[chat_id] = window
        return window

    def reserve(self, chat_id: int) -> float:
        """Take a slot for `chat_id` now and return 0, or return the seconds to wait."""
        now = self._monotonic()
        chat = self._chat_window(chat_id)
        wait = max(self._paused_until - now, self._global.wait_time(now), chat.wait_time(now))
        if wait > 0:
            return wait
        self._global.record(now)
        chat.record(now)
        self._acquired += 1
        if self._acquired % 1000 == 0:
            self._forget_idle(now)
        return 0.0

    async def acquire(self, chat_id: int, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait (through `sleep`) until a message to `chat_id` may go out, and take the slot."""
        while (wait := self.reserve(chat_id)) > 0:
            await sleep(wait)

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram answered 429 with retry_after)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, w in self._chats.items() if w.idle_since(now)]:
            del self._chats[chat_id]
