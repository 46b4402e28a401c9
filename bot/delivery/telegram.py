"""Telegram delivery: the transport seam and the worker that sends outbox rows through it
within Telegram's rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any, Protocol

from bot.clock import Clock
from bot.delivery.models import TELEGRAM
from bot.delivery.outbox import Claimed, Outbox, Outcome
from bot.delivery.pacing import Pacer
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.worker import ChannelWorker, Screen, no_screen

log = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0


class SendError(Exception):
    """A send that did not go through; the subclass says what to do about it."""


class RetryLater(SendError):
    """Flood control: wait `seconds` before sending anything again."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"flood control: retry after {seconds:g} s")
        self.seconds = seconds


class TemporaryFailure(SendError):
    """Network error, timeout or server error: try again later."""


class PermanentFailure(SendError):
    """Will not work if tried again; `unreachable` when the chat is gone or blocked the bot."""

    def __init__(self, reason: str, *, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.unreachable = unreachable


class ChatMoved(SendError):
    """A group became a supergroup with a new id; send there instead."""

    def __init__(self, new_chat_id: int) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class TelegramTransport(Protocol):
    """Sends one message to a chat; raises a SendError subclass when it does not go through."""

    async def open(self) -> None:
        """Prepare (connect, check the token)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def send(self, chat_id: int, text: str, options: Mapping[str, Any]) -> None:
        """Send `text`; `options` may carry parse_mode and reply_markup (Bot API JSON)."""
        ...


class TelegramWorker(ChannelWorker):
    """Sends Telegram rows, up to `concurrency` at once, each after the limiter allows it.

    Rows are claimed ahead in batches (up to four times `concurrency` held at once), so one
    claim transaction serves many sends; a held row waits for a free place, then for its slot.
    """

    channel = TELEGRAM

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        pacer: Pacer,
        transport: TelegramTransport,
        limiter: TelegramRateLimiter,
        *,
        concurrency: int = 16,
        screen: Screen = no_screen,
        source: tuple[str, str] | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        super().__init__(
            outbox,
            clock,
            pacer,
            screen=screen,
            source=source,
            poll_seconds=poll_seconds,
            batch_size=2 * concurrency,
        )
        self.transport = transport
        self.limiter = limiter
        self.concurrency = concurrency
        self.held = 4 * concurrency
        self.min_claim = concurrency
        self._places = asyncio.Semaphore(concurrency)
        self._inflight: dict[asyncio.Task[None], Claimed] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._slot = asyncio.Event()
        self._outcomes: list[Outcome] = []
        self._flushing: asyncio.Task[None] | None = None

    def capacity(self) -> int:
        """How many more rows this worker can hold."""
        return self.held - len(self._inflight)

    def busy(self) -> bool:
        """True while sends are in flight."""
        return bool(self._inflight)

    async def wait_for_slot(self) -> None:
        """Wait until one send in flight finishes."""
        self._slot.clear()
        await self._slot.wait()

    async def dispatch(self, rows: list[Claimed]) -> None:
        """Start one task per row."""
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._inflight[task] = row
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._sending.discard(task)
        self._slot.set()

    async def _deliver(self, row: Claimed) -> None:
        chat_id = int(row.address)
        async with self._places, self.limiter.slot(chat_id, self.pacer.sleep):
            current = asyncio.current_task()
            assert current is not None
            self._sending.add(current)
            outcome = await self._send(row, chat_id)
        if outcome.kind == "sent":
            self.sent += 1
        self._outcomes.append(outcome)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        # Outcomes that arrive while one batch is being written go into the next: one
        # transaction per batch keeps up with 30+ messages a second. A crash before the write
        # leaves these rows in `sending`; they are the ones that may go out twice.
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            try:
                await self.outbox.settle_async(batch)
            except Exception:
                log.exception(
                    "recording %d outcome(s) failed; the lease brings them back", len(batch)
                )

    async def _send(self, row: Claimed, chat_id: int) -> Outcome:
        try:
            await self.transport.send(chat_id, row.body.decode("utf-8"), row.options)
        except RetryLater as exc:
            self.limiter.pause(exc.seconds)
            return Outcome(row.id, "retry", str(exc), delay=exc.seconds, counts=False)
        except ChatMoved as exc:
            return Outcome(row.id, "retry", str(exc), delay=0.0, new_address=str(exc.new_chat_id))
        except PermanentFailure as exc:
            return Outcome(row.id, "failed", str(exc), unreachable=exc.unreachable)
        except TemporaryFailure as exc:
            return Outcome(row.id, "retry", str(exc))
        except Exception as exc:  # a bug in a transport must not lose the message
            log.exception("sending outbox row %s failed unexpectedly", row.id)
            return Outcome(row.id, "retry", f"unexpected error: {exc!r}")
        return Outcome(row.id, "sent")

    async def drain(self) -> None:
        """Let sends already on the wire finish; give back rows still waiting for the limiter."""
        waiting = [t for t in self._inflight if t not in self._sending]
        for task in waiting:
            task.cancel()
        released = [self._inflight[t].id for t in waiting if t in self._inflight]
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=DRAIN_SECONDS)
        for task in list(self._inflight):
            if task not in waiting:
                task.cancel()
        for task in list(self._inflight):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._flushing is not None:
            await self._flushing
        await self._flush()
        self.outbox.release(released, "released at shutdown before sending")
