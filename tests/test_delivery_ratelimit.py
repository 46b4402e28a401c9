"""Rate limits on a fake clock: never more than allowed in any window, and no slower than that."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.ratelimit import SlidingWindow, TelegramRateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def _max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@settings(max_examples=50, deadline=None)
@given(
    limit=st.integers(1, 40),
    gaps=st.lists(st.floats(0, 0.3, allow_nan=False), min_size=1, max_size=200),
)
def test_sliding_window_never_allows_more_than_the_limit(limit: int, gaps: list[float]) -> None:
    window = SlidingWindow(limit, 1.0)
    now, accepted = 0.0, []
    for gap in gaps:
        now += gap
        while (wait := window.wait_time(now)) > 0:
            now += wait
        window.record(now)
        accepted.append(now)
    assert _max_in_window(accepted, 1.0) <= limit


async def test_global_limit_is_reached_but_never_broken() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    sent: list[float] = []
    for chat in range(1, 301):
        await limiter.acquire(chat, time.sleep)
        sent.append(time.now)
    assert _max_in_window(sent, 1.0) == 30
    # 300 messages at 30/s: the first 30 at once, then 30 more each second.
    assert abs(sent[-1] - 9.0) < 1e-3


async def test_one_message_a_second_per_private_chat_and_twenty_a_minute_per_group() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    private: list[float] = []
    for _ in range(5):
        await limiter.acquire(7, time.sleep)
        private.append(time.now)
    assert private == [0.0, 1.0, 2.0, 3.0, 4.0]

    time.now = 100.0
    group: list[float] = []
    for _ in range(45):
        await limiter.acquire(-1001, time.sleep)
        group.append(time.now)
    assert _max_in_window(group, 60.0) == 20
    assert group[19] == 100.0 and group[20] == 160.0 and group[40] == 220.0


async def test_retry_after_pauses_every_chat() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    await limiter.acquire(1, time.sleep)
    limiter.pause(3)
    await limiter.acquire(2, time.sleep)
    assert time.now == 3.0


async def test_a_safety_margin_widens_the_window() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=2, margin=0.05)
    for chat in range(1, 4):
        await limiter.acquire(chat, time.sleep)
    assert time.now == 1.05
