"""The loop every delivery worker shares: claim due rows, hand them to the channel, record
outcomes, and sleep until woken (new rows), the next row is due, or it is told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from bot.clock import Clock
from bot.delivery.outbox import Claimed, Outbox, Outcome, Source
from bot.delivery.pacing import Pacer

log = logging.getLogger(__name__)

# Rows to cancel instead of sending, with the reason (e.g. the recipient unsubscribed).
Screen = Callable[[Sequence[Claimed]], Mapping[int, str]]
# Claimed rows and those of them the screen holds back.
Screened = tuple[list[Claimed], Mapping[int, str]]
T = TypeVar("T")


def no_screen(_rows: Sequence[Claimed]) -> Mapping[int, str]:
    """A screen that lets every row through."""
    return {}


async def wait_first(*waits: Awaitable[object]) -> None:
    """Wait until the first of `waits` finishes; cancel the others."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class ChannelWorker:
    """Base of the Telegram and e-mail workers; subclasses implement `dispatch`.

    `source` limits the worker to one broadcast (the `coordbot broadcast` command);
    `poll_seconds` is how often an idle worker looks for rows another process queued.
    """

    channel = ""

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        pacer: Pacer,
        *,
        screen: Screen = no_screen,
        source: Source | None = None,
        poll_seconds: float | None = None,
        batch_size: int = 16,
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.pacer = pacer
        self.screen = screen
        self.source = source
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        # Claim only when this many places are free (or nothing is in flight): one claim
        # transaction per batch rather than one per message.
        self.min_claim = 1
        self.sent = 0
        self._wake = outbox.listener()

    async def in_db_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run database work off the event loop (a worker thread)."""
        return await asyncio.to_thread(function, *args)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        while not stop.is_set():
            self._wake.clear()
            capacity = self.capacity()
            can_claim = capacity > 0 and (capacity >= self.min_claim or not self.busy())
            if can_claim:
                # Claim and screen in one trip to a worker thread: each trip costs a thread
                # switch, which on a busy machine is most of the time a batch takes.
                rows, refused = await self.in_db_thread(
                    self._claim_and_screen, min(capacity, self.batch_size)
                )
                if rows:
                    await self._dispatch_screened(rows, refused)
                    continue
            await self._idle(stop, can_claim)
        await self.drain()

    def _claim_and_screen(self, limit: int) -> Screened:
        rows = self.outbox.claim(self.channel, limit, self.source)
        return rows, (self.screen(rows) if rows else {})

    async def _dispatch_screened(self, rows: list[Claimed], refused: Mapping[int, str]) -> None:
        if refused:
            outcomes = [Outcome(r.id, "cancelled", refused[r.id]) for r in rows if r.id in refused]
            await self.in_db_thread(self.outbox.record, outcomes)
            self.outbox.settled(outcomes)
            rows = [r for r in rows if r.id not in refused]
        if rows:
            await self.dispatch(rows)

    async def _idle(self, stop: asyncio.Event, can_take_more: bool) -> None:
        waits: list[Awaitable[object]] = [stop.wait(), self._wake.wait()]
        if self.busy():
            waits.append(self.wait_for_slot())
        if can_take_more:
            due = await self.in_db_thread(self.outbox.next_due, self.channel, self.source)
            if due is not None:
                delay = (due - self.clock.now()).total_seconds()
                waits.append(self.pacer.sleep(max(delay, 0.0)))
            if self.poll_seconds:
                # Rows queued by another process (the CLI) wake nobody here: look now and then.
                waits.append(asyncio.sleep(self.poll_seconds))
        await wait_first(*waits)

    # --- for subclasses ------------------------------------------------------------------

    def capacity(self) -> int:
        """How many more rows this worker can take now."""
        return self.batch_size

    def busy(self) -> bool:
        """True while sends are in flight."""
        return False

    async def wait_for_slot(self) -> None:
        """Wait until capacity frees up (only called while busy)."""
        await asyncio.Event().wait()

    async def dispatch(self, rows: list[Claimed]) -> None:
        """Send the claimed rows (or start sending them) and settle their outcomes."""
        raise NotImplementedError

    async def drain(self) -> None:
        """Finish or give back in-flight rows before the worker returns."""
