"""E-mail delivery: claimed rows go out in batches over one SMTP connection (bot.mail)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage
from typing import Any

from bot.clock import Clock
from bot.delivery.models import EMAIL
from bot.delivery.outbox import Claimed, Outbox, Outcome
from bot.delivery.pacing import Pacer
from bot.delivery.worker import ChannelWorker, Screen, T, no_screen
from bot.mail import Mailer, MailResult, Outgoing, stored_message_id

log = logging.getLogger(__name__)
# How long outcomes recorded in a batch's thread wait to be announced on the main loop.
ANNOUNCE_SECONDS = 0.05


def parse_stored(body: bytes) -> EmailMessage:
    """The stored RFC 5322 bytes of a row as an EmailMessage (for reading only: what is sent
    is the stored bytes themselves)."""
    message = email.message_from_bytes(body, policy=email.policy.SMTP)
    assert isinstance(message, EmailMessage)
    return message


def outcome_of(row: Claimed, result: MailResult) -> Outcome:
    """4xx and dropped connections are retried; 5xx is a permanent failure with the reason."""
    if result.ok:
        return Outcome(row.id, "sent")
    if result.permanent:
        return Outcome(row.id, "failed", result.reason)
    return Outcome(row.id, "retry", result.reason)


class EmailWorker(ChannelWorker):
    """Sends e-mail rows through a Mailer, `batch_size` per SMTP connection.

    Every batch goes out from the worker's own thread, on an event loop of that thread: the
    SMTP conversation and the record of each message it sends share one thread, so recording
    a message before the next one's DATA costs one short commit, not two trips between
    threads (which, contending with the main event loop for the GIL, took longer than the
    message). The main loop only waits for the batch. Claims and screens run on the same
    thread, so this worker's writes never wait for each other in SQLite's lock.
    """

    channel = EMAIL

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        pacer: Pacer,
        mailer: Mailer,
        *,
        batch_size: int = 50,
        screen: Screen = no_screen,
        source: tuple[str, str] | None = None,
        poll_seconds: float | None = None,
        return_path: Callable[[Claimed], str] | None = None,
    ) -> None:
        super().__init__(
            outbox,
            clock,
            pacer,
            screen=screen,
            source=source,
            poll_seconds=poll_seconds,
            batch_size=batch_size,
        )
        self.mailer = mailer
        self.batches = 0
        # The envelope sender of each row (a signed per-row bounce address, bot.inbound.bounces).
        self._return_path = return_path
        self._thread: ThreadPoolExecutor | None = None
        self._runner: asyncio.Runner | None = None  # the thread's event loop, between batches
        self._running = False
        # Outcomes recorded in the thread, not yet announced on the main loop.
        self._unannounced: list[Outcome] = []
        self._announcing = False
        self._lock = threading.Lock()

    async def in_db_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function` on this worker's own thread, after the work queued before it."""
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="delivery-email")
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(function, *args)
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; the worker's thread and its loop end with it."""
        self._running = True
        try:
            await super().run(stop)
        finally:
            self._running = False
            await self._close_thread()

    async def _close_thread(self) -> None:
        if self._thread is None:
            return
        await self.in_db_thread(self._close_runner)
        self._thread.shutdown(wait=False)  # idle: everything queued was awaited
        self._thread = None

    def _close_runner(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def _envelope_sender(self, row: Claimed) -> str:
        """The row's own envelope sender, else its signed return path, else the From address."""
        chosen = str(row.options.get("envelope_from", ""))
        if not chosen and self._return_path is not None:
            chosen = self._return_path(row)
        return chosen

    async def dispatch(self, rows: list[Claimed]) -> None:
        """Send one batch over one connection, recording each message as the server accepts
        it and before the next message's DATA: a crash leaves at most one accepted message
        of the connection unrecorded (to be sent again)."""
        main_loop = asyncio.get_running_loop()
        try:
            await self.in_db_thread(self._send_in_thread, rows, main_loop)
        finally:
            self._announce()
            if not self._running:  # called on its own (not from `run`): nothing is kept
                await self._close_thread()
        self.batches += 1

    def _send_in_thread(self, rows: list[Claimed], main_loop: asyncio.AbstractEventLoop) -> None:
        if self._runner is None:
            self._runner = asyncio.Runner()
        self._runner.run(self._send(rows, main_loop))

    async def _send(self, rows: list[Claimed], main_loop: asyncio.AbstractEventLoop) -> None:
        # On the worker's thread and its loop, which serves this connection alone: the
        # database calls here block nothing else.
        wire = [
            Outgoing(
                row.body,
                (row.address,),
                self._envelope_sender(row),
                stored_message_id(row.body),
            )
            for row in rows
        ]
        recorded: set[int] = set()
        writer = self.outbox.writer()

        async def record(index: int, result: MailResult) -> None:
            outcome = outcome_of(rows[index], result)
            recorded.add(outcome.id)
            self.sent += outcome.kind == "sent"
            self.outbox.settle_on(writer, [outcome])
            self._announce_soon(main_loop, [outcome])

        pending: list[Outcome] = []
        try:
            await self.mailer.send_batch(wire, on_result=record)
        except Exception as exc:  # Mailers should not raise; if one does, nothing is lost
            log.exception("mailer raised while sending a batch")
            pending = [
                Outcome(row.id, "retry", f"mailer error: {exc!r}")
                for row in rows
                if row.id not in recorded
            ]
        finally:
            writer.close()
        if pending:
            self.outbox.record(pending)
            self._announce_soon(main_loop, pending)

    def _announce_soon(self, main_loop: asyncio.AbstractEventLoop, outcomes: list[Outcome]) -> None:
        # Progress events belong to the main loop. It hears of outcomes a few times a second,
        # not once per message: each wake-up takes the GIL from the thread that is sending.
        # The batch's end announces what is left at once (`dispatch`).
        with self._lock:
            self._unannounced.extend(outcomes)
            if self._announcing:
                return
            self._announcing = True
        main_loop.call_soon_threadsafe(main_loop.call_later, ANNOUNCE_SECONDS, self._announce)

    def _announce(self) -> None:
        with self._lock:
            outcomes, self._unannounced = self._unannounced, []
            self._announcing = False
        if outcomes:
            self.outbox.settled(outcomes)
