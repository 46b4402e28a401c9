"""Rate limits for sending: exact sliding windows, combined as Telegram's limits need them.

Telegram counts messages in windows (N a second), so a token bucket with a burst allowance
would break the limit; the limiter keeps the last N sends instead. A send is counted from the
moment it starts until its answer has come back, and then at the time of that answer: the
server saw it at some moment in between, so counting it at the later end can never let two
sends reach the server closer together than the window, however late one of them left
(a garbage collection or a busy loop between "may send" and the bytes on the wire).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

Sleep = Callable[[float], Awaitable[None]]


class SlidingWindow:
    """At most `limit` events in any `window` seconds, events in flight included."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a sliding window needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.in_flight = 0
        self._times: deque[float] = deque(maxlen=limit)

    @classmethod
    def per_second(cls, rate: float, margin: float = 0.0) -> SlidingWindow:
        """`rate` events a second (fractional rates: one event every 1/rate seconds)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        if rate >= 1:
            return cls(math.floor(rate), 1.0 + margin)
        return cls(1, 1.0 / rate + margin)

    def wait_time(self, now: float) -> float | None:
        """Seconds until one more event may start (0: now; None: not until one in flight
        ends)."""
        free = self.limit - self.in_flight
        if free <= 0:
            return None
        if len(self._times) < free:
            return 0.0
        # The free-th most recent event must have left the window. Measured as the receiving
        # side measures (now - then >= window), so float rounding never lets one through
        # early; the floor keeps a waiter's clock moving.
        elapsed = now - self._times[len(self._times) - free]
        return 0.0 if elapsed >= self.window else max(self.window - elapsed, 1e-6)

    def begin(self) -> None:
        """An event starts (it counts as happening until it ends)."""
        self.in_flight += 1

    def end(self, now: float) -> None:
        """An event that began has ended at `now`; it counts at that time from now on."""
        self.in_flight -= 1
        self._times.append(now)

    def record(self, now: float) -> None:
        """Count an instant event at `now`."""
        self._times.append(now)

    def idle_since(self, now: float) -> bool:
        """True when nothing is in flight or inside the window (safe to forget)."""
        return not self.in_flight and (not self._times or self._times[-1] + self.window <= now)


class TelegramRateLimiter:
    """Telegram's limits: N messages a second overall, one a second per private chat, M a
    minute per group (negative chat ids), and a global pause after a 429 retry_after.

    `async with limiter.slot(chat_id, sleep):` waits for the chat's own limit (that chat's
    sends one after another, so a group waiting out its per-minute limit holds nothing others
    could use), then for the next evenly spaced slot (booked ahead, so many senders cost one
    wake-up each), then for room in the overall window; the send inside the block counts
    until it returns.
    """

    def __init__(
        self,
        monotonic: Callable[[], float],
        *,
        per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_group_per_minute: int = 20,
        margin: float = 0.02,
    ) -> None:
        self._monotonic = monotonic
        self._global = SlidingWindow.per_second(per_second, margin)
        # Even spacing, not bursts: bursts queue on the way and arrive unevenly.
        self._spacing = self._global.window / self._global.limit
        self._next_slot = 0.0
        self._per_chat_rate = per_chat_per_second
        self._per_group = per_group_per_minute
        self._margin = margin
        self._chats: dict[int, SlidingWindow] = {}
        self._chat_turns: dict[int, asyncio.Lock] = {}
        self._ended = asyncio.Event()
        self._paused_until = 0.0
        self._started = 0

    def _chat_window(self, chat_id: int) -> SlidingWindow:
        window = self._chats.get(chat_id)
        if window is None:
            if chat_id < 0:
                window = SlidingWindow(self._per_group, 60.0 + self._margin)
            else:
                window = SlidingWindow.per_second(self._per_chat_rate, self._margin)
            self._chats[chat_id] = window
        return window

    async def _wait(self, window: SlidingWindow, sleep: Sleep) -> None:
        """Until `window` has room now (and no 429 pause is on)."""
        while True:
            now = self._monotonic()
            wait = window.wait_time(now)
            if wait is None:
                self._ended.clear()
                await self._ended.wait()
            elif wait > 0 or now < self._paused_until:
                await sleep(max(wait, self._paused_until - now))
            else:
                return

    @asynccontextmanager
    async def slot(self, chat_id: int, sleep: Sleep) -> AsyncIterator[None]:
        """Wait until a message to `chat_id` may go out; the block is the send."""
        turn = self._chat_turns.setdefault(chat_id, asyncio.Lock())
        async with turn:
            chat = self._chat_window(chat_id)
            await self._wait(chat, sleep)
            now = self._monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._spacing
            if slot > now:
                await sleep(slot - now)
            await self._wait(self._global, sleep)
            await self._wait(chat, sleep)  # a pause may have come meanwhile
            self._global.begin()
            chat.begin()
        try:
            yield
        finally:
            ended = self._monotonic()
            self._global.end(ended)
            chat.end(ended)
            self._ended.set()
            self._started += 1
            if self._started % 1000 == 0:
                self._forget_idle(ended)

    def pause(self, seconds: float) -> None:
        """Hold every send for `seconds` (Telegram answered 429 with retry_after)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat_id in [c for c, w in self._chats.items() if w.idle_since(now)]:
            turn = self._chat_turns.get(chat_id)
            if turn is None or not turn.locked():
                del self._chats[chat_id]
                self._chat_turns.pop(chat_id, None)
