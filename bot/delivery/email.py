"""E-mail delivery: claimed rows go out in batches over one SMTP connection (bot.mail)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
from collections.abc import Callable
from email.message import EmailMessage

from bot.clock import Clock
from bot.delivery.models import EMAIL
from bot.delivery.outbox import Claimed, Outbox, Outcome
from bot.delivery.pacing import Pacer
from bot.delivery.worker import ChannelWorker, Screen, no_screen
from bot.mail import Mailer, MailResult, Outgoing, stored_message_id

log = logging.getLogger(__name__)


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
    """Sends e-mail rows through a Mailer, `batch_size` per SMTP connection."""

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

    def _envelope_sender(self, row: Claimed) -> str:
        """The row's own envelope sender, else its signed return path, else the From address."""
        chosen = str(row.options.get("envelope_from", ""))
        if not chosen and self._return_path is not None:
            chosen = self._return_path(row)
        return chosen

    async def dispatch(self, rows: list[Claimed]) -> None:
        """Send one batch, recording each row's outcome as soon as the server answered for it
        (so a crash can send again at most the message that was on the wire)."""
        wire = [
            Outgoing(
                row.body,
                (row.address,),
                self._envelope_sender(row),
                stored_message_id(row.body),
            )
            for row in rows
        ]
        settling: asyncio.Task[None] | None = None
        pending: list[Outcome] = []
        recorded: set[int] = set()

        async def record(index: int, result: MailResult) -> None:
            nonlocal settling
            outcome = outcome_of(rows[index], result)
            recorded.add(outcome.id)
            self.sent += outcome.kind == "sent"
            # The previous message's record is in the database before the next message goes
            # out (so a crash leaves at most one accepted message unrecorded, to be sent
            # again); this one's is written while the next message is on the wire.
            if settling is not None:
                await settling
            settling = asyncio.create_task(self.outbox.settle_async([outcome]))

        try:
            await self.mailer.send_batch(wire, on_result=record)
        except Exception as exc:  # Mailers should not raise; if one does, nothing is lost
            log.exception("mailer raised while sending a batch")
            for row in rows:
                if row.id not in recorded:
                    pending.append(Outcome(row.id, "retry", f"mailer error: {exc!r}"))
        self.batches += 1
        if settling is not None:
            await settling
        if pending:
            await self.outbox.settle_async(pending)
