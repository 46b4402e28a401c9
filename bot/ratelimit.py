"""A per-user limit on questions: at most N in any sliding minute, on the injected clock."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.clock import Clock

WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Decision:
    """Whether one question may be answered now.

    `notify` is True on the first refusal of a burst only, so a flood of messages gets one
    "slow down" reply rather than one per message.
    """

    allowed: bool
    retry_after_seconds: int = 0
    notify: bool = False


class RateLimiter:
    """Sliding-window limiter keyed by user; `limit_per_minute` <= 0 means no limit."""

    def __init__(self, limit_per_minute: int, clock: Clock, *, max_keys: int = 10_000) -> None:
        self.limit = limit_per_minute
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[str, deque[datetime]] = {}
        self._refused: set[str] = set()
        # Handlers call in from worker threads (the loop is kept free of chat work).
        self._lock = threading.Lock()

    def check(self, key: str) -> Decision:
        """Count one question for `key` if it is within the limit."""
        if self.limit <= 0:
            return Decision(True)
        with self._lock:
            return self._check(key)

    def _check(self, key: str) -> Decision:
        now = self._clock.now()
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= WINDOW:
            hits.popleft()
        if len(hits) < self.limit:
            hits.append(now)
            self._refused.discard(key)
            self._forget_idle(now)
            return Decision(True)
        wait = (hits[0] + WINDOW - now).total_seconds()
        first = key not in self._refused
        self._refused.add(key)
        return Decision(False, max(1, math.ceil(wait)), notify=first)

    def _forget_idle(self, now: datetime) -> None:
        # Bounded memory: when many users have asked, drop those idle for a whole window.
        if len(self._hits) <= self._max_keys:
            return
        for key in [k for k, hits in self._hits.items() if not hits or now - hits[-1] >= WINDOW]:
            del self._hits[key]
            self._refused.discard(key)
