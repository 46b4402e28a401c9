"""E-mail delivery: claimed rows go out in batches over one SMTP connection (bot.mail)."""

from __future__ import annotations

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
from bot.mail import Mailer, MailResult

log = logging.getLogger(__name__)


def parse_stored(body: bytes) -> EmailMessage:
    """The stored RFC 5322 bytes of a row as an EmailMessage (sent byte for byte the same)."""
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

    async def dispatch(self, rows: list[Claimed]) -> None:
        """Send one batch and record every row's outcome."""
        messages: list[EmailMessage] = []
        outcomes: list[Outcome] = []
        sendable: list[Claimed] = []
        for row in rows:
            try:
                messages.append(parse_stored(row.body))
                sendable.append(row)
            except Exception as exc:  # a stored message that cannot be read never will be
                outcomes.append(Outcome(row.id, "failed", f"stored message unreadable: {exc}"))
        if sendable:
            try:
                envelopes = [[r.address] for r in sendable]
                if self._return_path is None:
                    results = await self.mailer.send_batch(messages, envelopes)
                else:
                    senders = [self._return_path(r) for r in sendable]
                    results = await self.mailer.send_batch(messages, envelopes, senders)
            except Exception as exc:  # Mailers should not raise; if one does, nothing is lost
                log.exception("mailer raised while sending a batch")
                results = [
                    MailResult("", (r.address,), False, False, None, f"mailer error: {exc!r}")
                    for r in sendable
                ]
            self.batches += 1
            for row, result in zip(sendable, results, strict=True):
                outcome = outcome_of(row, result)
                self.sent += outcome.kind == "sent"
                outcomes.append(outcome)
        await self.outbox.settle_async(outcomes)
