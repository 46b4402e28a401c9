"""Time for the delivery workers: a monotonic reading and a sleep, real or virtual.

Workers and rate limiters wait through a `Pacer`, so tests run them on virtual time: a
`VirtualPacer` sleep moves a FixedClock forward at once instead of waiting.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Protocol

from bot.clock import FixedClock


class Pacer(Protocol):
    """A monotonic clock and a way to wait on it."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock."""
        ...


class RealPacer:
    """Wall time: time.monotonic and asyncio.sleep."""

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """asyncio.sleep."""
        await asyncio.sleep(max(seconds, 0.0))


class VirtualPacer:
    """Virtual time for tests: sleeping moves the FixedClock (and this monotonic) forward at
    once, then yields to the loop. Concurrent sleepers each move it, so a sleeper may wake
    later than asked, never earlier: limits checked against it still hold."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self._now = 0.0
        self.slept = 0.0

    def monotonic(self) -> float:
        """Virtual seconds since creation."""
        return self._now

    async def sleep(self, seconds: float) -> None:
        """Advance virtual time by `seconds`, then let other tasks run."""
        if seconds > 0:
            self._now += seconds
            self.slept += seconds
            self.clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)
