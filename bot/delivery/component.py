"""The delivery workers as one `coordbot run` component, and the pieces the CLI reuses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.delivery.email import EmailWorker
from bot.delivery.hold import Hold, hold_pending, holds, release_held
from bot.delivery.models import EMAIL, TELEGRAM
from bot.delivery.outbox import (
    NOTICE_SOURCE,
    Claimed,
    FailedMessage,
    FailureListener,
    NewMessage,
    Source,
)
from bot.delivery.pacing import Pacer, RealPacer
from bot.delivery.ratelimit import TelegramRateLimiter
from bot.delivery.recipients import screen_rows
from bot.delivery.render import email_message
from bot.delivery.telegram import SendError, TelegramTransport, TelegramWorker
from bot.delivery.worker import ChannelWorker, Screen, wait_first
from bot.i18n import gettext
from bot.mail import HeaderValueError, Mailer
from bot.privacy.retention import PURGE_EVERY, purge_expired
from bot.services import Services
from bot.subscriptions import Subscriptions

log = logging.getLogger(__name__)


def delivery_screen(services: Services) -> Screen:
    """Rows to hold back at send time: unsubscribed since queued, or the chat blocked us."""
    subscriptions = Subscriptions(
        services.db, services.clock, services.config, served_at=services.calendar_base_url
    )

    def screen(rows: Sequence[Claimed]) -> dict[int, str]:
        return screen_rows(services.db, subscriptions, rows)

    return screen


def coordinator_notifier(services: Services) -> FailureListener:
    """A failure listener that queues a notice to every Telegram coordinator (their private
    chat) and to `email.coordinator_address`, one per message that failed for good."""
    config = services.config

    def notify(failed: Sequence[FailedMessage]) -> None:
        lang = config.bot.default_language
        rows: list[NewMessage] = []
        for item in failed:
            text = gettext(
                lang,
                "Delivery failed for good: {subject} to {name} <{address}> by {channel}. "
                "Reason: {reason}",
                subject=item.subject or item.source_kind,
                name=item.recipient_name,
                address=item.address,
                channel=item.channel,
                reason=item.reason,
            )
            source_id = f"failed|{item.id}"
            for coordinator in config.telegram.coordinators:
                rows.append(
                    NewMessage(
                        source_kind=NOTICE_SOURCE,
                        source_id=source_id,
                        channel=TELEGRAM,
                        recipient=f"coordinator:{coordinator}",
                        recipient_name="coordinator",
                        address=str(coordinator),
                        body=text.encode("utf-8"),
                    )
                )
            if config.email.coordinator_address:
                try:
                    body = email_message(
                        config.email,
                        to_name="",
                        to_address=config.email.coordinator_address,
                        subject=gettext(
                            lang,
                            "Delivery failed: {subject}",
                            subject=item.subject or item.source_kind,
                        ),
                        text=text + "\n",
                        now=services.clock.now(),
                    )
                except HeaderValueError as exc:
                    log.warning("cannot tell the coordinator by e-mail: %s", exc)
                    continue
                rows.append(
                    NewMessage(
                        source_kind=NOTICE_SOURCE,
                        source_id=source_id,
                        channel=EMAIL,
                        recipient=f"coordinator:{config.email.coordinator_address}",
                        recipient_name="coordinator",
                        address=config.email.coordinator_address,
                        subject=item.subject,
                        body=body,
                    )
                )
        if rows:
            services.outbox.enqueue(rows)
        else:
            log.warning("%d message(s) failed for good; no coordinator to tell", len(failed))

    return notify


def build_workers(
    services: Services,
    *,
    telegram: TelegramTransport | None,
    mailer: Mailer | None,
    pacer: Pacer,
    source: Source | None = None,
    poll_seconds: float | None = None,
    limiter: TelegramRateLimiter | None = None,
) -> list[ChannelWorker]:
    """A Telegram worker (when there is a transport) and an e-mail worker (when a mailer);
    `limiter` is a shared Telegram budget (else the worker gets its own on `pacer`'s clock)."""
    cfg = services.config.delivery
    screen = delivery_screen(services)
    workers: list[ChannelWorker] = []
    if telegram is not None:
        limiter = limiter or TelegramRateLimiter(
            pacer.monotonic,
            per_second=cfg.telegram_per_second,
            per_chat_per_second=cfg.telegram_per_chat_per_second,
            per_group_per_minute=cfg.telegram_per_group_per_minute,
        )
        workers.append(
            TelegramWorker(
                services.outbox,
                services.clock,
                pacer,
                telegram,
                limiter,
                concurrency=cfg.telegram_concurrency,
                screen=screen,
                source=source,
                poll_seconds=poll_seconds,
            )
        )
    if mailer is not None and not services.config.email.sending_configured:
        # Held, not failed: the rows wait until a sender address is configured.
        log.warning("e-mail is held: set email.from_address (COORDBOT_EMAIL_FROM_ADDRESS)")
        mailer = None
    if mailer is not None:
        workers.append(
            EmailWorker(
                services.outbox,
                services.clock,
                pacer,
                mailer,
                batch_size=cfg.email_batch_size,
                screen=screen,
                source=source,
                poll_seconds=poll_seconds,
                return_path=_return_path(services),
            )
        )
    return workers


def _return_path(services: Services) -> Callable[[Claimed], str] | None:
    """Signed per-row bounce addresses when `inbound.address` is set (bot.inbound.bounces)."""
    address = services.config.inbound.address
    if not address:
        return None
    from bot.inbound.bounces import return_path

    sign = Subscriptions(services.db, services.clock, services.config).sign
    return lambda row: return_path(address, row.id, sign)


class DeliveryComponent:
    """Component: releases rows a dead process left in `sending`, then runs the workers.

    Without a Telegram transport (no token) Telegram rows stay queued until one is configured.
    """

    name = "delivery"

    def __init__(
        self,
        services: Services,
        *,
        telegram: TelegramTransport | None,
        mailer: Mailer | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._services = services
        self._telegram = telegram
        self._mailer = mailer if mailer is not None else services.mailer
        # A transport handed in by the caller was configured on purpose; the defaults are
        # subject to delivery safety (bot.delivery.hold).
        self._injected = tuple(
            channel
            for channel, given in ((TELEGRAM, telegram), (EMAIL, mailer))
            if given is not None
        )
        self.holds: dict[str, Hold] = {}
        self._pacer = pacer or RealPacer()
        self._shared_budget = pacer is None
        self._stop = asyncio.Event()
        self._notifier = coordinator_notifier(services)
        self._tasks: list[asyncio.Task[None]] = []
        self.workers: list[ChannelWorker] = []
        self._next_purge: datetime | None = None

    async def start(self) -> None:
        """Resume interrupted rows, have coordinators told of failures, start the workers."""
        if self._notifier not in self._services.outbox.failure_listeners:
            self._services.outbox.failure_listeners.append(self._notifier)
        released = self._services.outbox.release_interrupted()
        if released:
            log.warning("resuming %d message(s) interrupted while sending", released)
        self.holds = holds(self._services.config, injected=self._injected)
        for channel in (TELEGRAM, EMAIL):
            if channel not in self.holds:
                count = release_held(self._services.db, self._services.config, channel)
                if count:
                    log.warning("%s delivery released: %d held message(s) queued", channel, count)
        self.workers = build_workers(
            self._services,
            telegram=self._telegram if TELEGRAM not in self.holds else None,
            mailer=self._mailer if EMAIL not in self.holds else None,
            pacer=self._pacer,
            poll_seconds=self._services.config.delivery.poll_seconds,
            # On the real clock, one Telegram budget with the chat's replies.
            limiter=self._services.telegram_limiter() if self._shared_budget else None,
        )
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self._run(worker), name=f"delivery:{worker.channel}")
            for worker in self.workers
        ]
        self._tasks.append(asyncio.create_task(self._janitor(), name="delivery:janitor"))
        self._tasks += [
            asyncio.create_task(self._hold(hold), name=f"delivery:held:{channel}")
            for channel, hold in self.holds.items()
        ]

    async def _hold(self, hold: Hold) -> None:
        # A held channel has no worker: its rows become `held` as they are queued, with one
        # line per reminder or broadcast, so the operator sees what did not go out.
        wake = self._services.outbox.listener()
        interval = self._services.config.delivery.poll_seconds
        while not self._stop.is_set():
            wake.clear()
            try:
                groups = await asyncio.to_thread(hold_pending, self._services.db, hold)
            except Exception:
                log.exception("holding %s messages failed", hold.channel)
                groups = []
            for group in groups:
                log.warning("%s", group.line(hold))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wait_first(self._stop.wait(), wake.wait()), interval)

    async def _janitor(self) -> None:
        # Another process (a `coordbot broadcast` killed midway) may leave rows in `sending`:
        # give them back as soon as that process is gone, without waiting for a restart.
        interval = self._services.config.delivery.poll_seconds
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
            if not self._stop.is_set():
                try:
                    await asyncio.to_thread(self._services.outbox.release_interrupted)
                except Exception:
                    log.exception("releasing interrupted messages failed")
                try:
                    await asyncio.to_thread(self.purge_if_due)
                except Exception:
                    log.exception("purging expired messages failed")

    def purge_if_due(self) -> int:
        """Erase expired message bodies (bot.privacy.retention) when an hour has passed on the
        service's clock since the last purge; returns how many messages were purged."""
        now = self._services.clock.now()
        if self._next_purge is not None and now < self._next_purge:
            return 0
        self._next_purge = now + PURGE_EVERY
        days = self._services.config.delivery.retention_days
        purged = purge_expired(self._services.db, now, days)
        if purged:
            log.info(
                "retention: erased the bodies of %d message(s) older than %d days", purged, days
            )
        return purged

    async def _open_telegram(self) -> bool:
        # Telegram being unreachable must not stop e-mail delivery, nor lose Telegram rows:
        # they wait while the transport is tried again with backoff.
        assert self._telegram is not None
        attempt = 0
        while not self._stop.is_set():
            try:
                await self._telegram.open()
                return True
            except SendError as exc:
                attempt += 1
                delay = self._services.outbox.backoff(attempt)
                log.warning("Telegram delivery waits %.0f s: %s", delay, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
        return False

    async def _run(self, worker: ChannelWorker) -> None:
        # A worker that crashes (say, the database is gone for a moment) starts again; its
        # claimed rows come back through the lease.
        if worker.channel == TELEGRAM and not await self._open_telegram():
            return
        while not self._stop.is_set():
            try:
                await worker.run(self._stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s delivery worker failed; restarting in 5 s", worker.channel)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 5.0)

    async def stop(self) -> None:
        """Stop the workers (letting sends on the wire finish) and close the transport."""
        self._stop.set()
        if self._notifier in self._services.outbox.failure_listeners:
            self._services.outbox.failure_listeners.remove(self._notifier)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._telegram is not None:
            await self._telegram.close()
