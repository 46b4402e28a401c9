"""Rate limits on a fake clock: never more than allowed in any window, and no slower than that."""

from __future__ import annotations

import asyncio
import itertools

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


async def _send(
    limiter: TelegramRateLimiter, time: FakeTime, chat: int, took: float = 0.0
) -> float:
    """One send through the limiter, taking `took` seconds; returns when it started."""
    async with limiter.slot(chat, time.sleep):
        started = time.now
        time.now += took
    return started


async def test_global_limit_is_reached_but_never_broken() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    sent = [await _send(limiter, time, chat) for chat in range(1, 301)]
    assert _max_in_window(sent, 1.0) == 30
    # 300 messages at 30/s, evenly spaced: one every 1/30 s.
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert all(abs(gap - 1 / 30) < 1e-4 for gap in gaps)


async def test_one_message_a_second_per_private_chat_and_twenty_a_minute_per_group() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    private = [await _send(limiter, time, 7) for _ in range(5)]
    assert private == [0.0, 1.0, 2.0, 3.0, 4.0]

    time.now = 100.0
    group = [await _send(limiter, time, -1001) for _ in range(45)]
    assert _max_in_window(group, 60.0) == 20
    assert group[20] - group[0] >= 60.0 and group[40] - group[20] >= 60.0


async def test_retry_after_pauses_every_chat() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=30, margin=0.0)
    await _send(limiter, time, 1)
    limiter.pause(3)
    assert await _send(limiter, time, 2) == 3.0


async def test_a_safety_margin_widens_the_window() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=2, margin=0.05)
    starts = [await _send(limiter, time, chat) for chat in range(1, 4)]
    assert abs(starts[2] - 1.05) < 1e-9


async def test_a_send_counts_from_its_answer_so_slow_sends_cannot_bunch_up() -> None:
    # Each send takes 0.4 s to be answered: the server may have seen it at any moment in
    # between, so the next window starts from the answer.
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=2, margin=0.0)
    first, second = [await _send(limiter, time, c, took=0.4) for c in (1, 2)]
    third = await _send(limiter, time, 3)
    assert first == 0.0 and second == 0.5
    assert third >= 0.4 + 1.0  # one second after the first send was answered


async def test_sends_in_flight_count_against_the_limit() -> None:
    time = FakeTime()
    limiter = TelegramRateLimiter(time.monotonic, per_second=3, margin=0.0)
    order: list[str] = []

    async def slow(chat: int) -> None:
        async with limiter.slot(chat, time.sleep):
            order.append(f"start {chat}")
            await asyncio.sleep(0.01)  # answers take real time: all three are in flight
            order.append(f"end {chat}")

    await asyncio.gather(*(slow(c) for c in (1, 2, 3, 4)))
    # The fourth may only start once one of the three in flight has ended.
    assert order.index("start 4") > min(order.index(f"end {c}") for c in (1, 2, 3))
