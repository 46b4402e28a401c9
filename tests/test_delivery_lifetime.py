"""Retrying like a mail server: hours of refused connections and 451s lose nothing, retries
back off with jitter up to 30 minutes, a message fails only after `delivery.give_up_after`
(two days), and then the coordinators are told. The clock is moved to each retry's time;
the SMTP server is the real aiosmtpd one, and while it is "down" the mailer points at a port
nobody listens on (connection refused)."""

from __future__ import annotations

import dataclasses
import itertools
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.config import EmailConfig
from bot.delivery.broadcast import check_request, queue_broadcast, save_draft, source_of
from bot.delivery.component import coordinator_notifier
from bot.delivery.email import EmailWorker
from bot.delivery.models import EMAIL, TELEGRAM
from bot.delivery.outbox import NOTICE_SOURCE
from bot.delivery.pacing import VirtualPacer
from bot.mail import MailResult, ResultHook, Sendable, SmtpMailer
from bot.services import Services
from tests.smtp_server import SmtpTestServer, smtp_env

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Outage:
    """A Mailer that is the real SMTP client throughout: until `refused_until` it talks to a
    port nobody listens on, then to the test server (which may answer 451 on its own)."""

    def __init__(self, clock: FixedClock, config: EmailConfig, refused_until: datetime) -> None:
        self._clock = clock
        self._refused_until = refused_until
        self._down = SmtpMailer(dataclasses.replace(config, smtp_port=_closed_port()))
        self._up = SmtpMailer(config)
        self.attempts: list[tuple[datetime, str]] = []
        self.by_address: dict[str, list[datetime]] = {}

    async def send_batch(
        self,
        messages: Sequence[Sendable],
        envelopes: Sequence[Sequence[str]] | None = None,
        *,
        on_result: ResultHook | None = None,
    ) -> list[MailResult]:
        """Send through whichever server the clock says is reachable."""
        down = self._clock.now() < self._refused_until
        mailer = self._down if down else self._up
        results = await mailer.send_batch(messages, envelopes, on_result=on_result)
        for result in results:
            self.attempts.append((self._clock.now(), result.reason))
            for address in result.recipients:
                self.by_address.setdefault(address, []).append(self._clock.now())
        return results


async def _run_until_quiet(
    services: Services, worker: EmailWorker, clock: FixedClock, until: datetime
) -> None:
    """Claim and send what is due; move the clock to the next retry; until nothing is left
    or `until` is reached."""
    while clock.now() < until:
        rows = services.outbox.claim(EMAIL, 50)
        if rows:
            await worker.dispatch(rows)
            continue
        due = services.outbox.next_due(EMAIL)
        if due is None:
            return
        clock.set(max(due, clock.now()))


def _broadcast(services: Services) -> tuple[int, int]:
    request = check_request(
        services,
        audience="network",
        channels="email",
        subject="Møte",
        text="Hei",
        created_by="t",
        widen=True,  # every contact of the member municipalities
    )
    broadcast = save_draft(services, request)
    return broadcast, queue_broadcast(services, broadcast)


@pytest.fixture
def smtp(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> SmtpTestServer:
    smtp_env(smtp_server, monkeypatch)
    return smtp_server


async def test_hours_of_refused_connections_and_451s_lose_nothing(
    smtp: SmtpTestServer, services: Services, clock: FixedClock
) -> None:
    start = clock.now()
    broadcast, expected = _broadcast(services)
    addresses = [r.address for r in services.outbox.rows(source_of(broadcast))]
    # Three hours of connection refused, then three more of 451 for every recipient.
    for address in addresses:
        smtp.refuse(address, 451, "4.3.2 system not accepting messages", times=10_000)
    mailer = _Outage(clock, services.config.email, start + timedelta(hours=3))
    worker = EmailWorker(services.outbox, clock, VirtualPacer(clock), mailer)

    await _run_until_quiet(services, worker, clock, start + timedelta(hours=6))
    rows = services.outbox.rows(source_of(broadcast))
    assert {r.status for r in rows} == {"pending"}  # six hours later: nothing lost
    assert smtp.messages == []
    reasons = {reason.split(":")[0] for _when, reason in mailer.attempts}
    assert "could not connect to 127.0.0.1" in reasons
    assert any("451" in reason for _when, reason in mailer.attempts)
    # Backoff grew to its cap: never more than 30 minutes between two attempts at a row.
    for times in mailer.by_address.values():
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
        assert 1440 <= max(gaps) <= 1800

    # The server recovers: everything arrives, once.
    for address in addresses:
        smtp.refuse(address, 451, times=0)
    await _run_until_quiet(services, worker, clock, start + timedelta(hours=8))
    rows = services.outbox.rows(source_of(broadcast))
    assert {r.status for r in rows} == {"sent"}
    got = sorted(m.rcpt_tos[0] for m in smtp.messages)
    assert got == sorted(addresses) and len(got) == expected
    assert clock.now() - start < timedelta(hours=6, minutes=31)


async def test_after_two_days_it_fails_and_the_coordinators_are_told(
    smtp: SmtpTestServer,
    services: Services,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        services,
        "config",
        dataclasses.replace(
            services.config,
            telegram=dataclasses.replace(services.config.telegram, coordinators=(4242,)),
            email=dataclasses.replace(
                services.config.email, coordinator_address="koordinator@example.org"
            ),
        ),
    )
    services.outbox.failure_listeners.append(coordinator_notifier(services))
    start = clock.now()
    broadcast, expected = _broadcast(services)
    mailer = _Outage(clock, services.config.email, start + timedelta(days=30))
    worker = EmailWorker(services.outbox, clock, VirtualPacer(clock), mailer)
    await _run_until_quiet(services, worker, clock, start + timedelta(days=3))

    rows = services.outbox.rows(source_of(broadcast))
    assert {r.status for r in rows} == {"failed"}
    assert all(r.last_error and r.last_error.startswith("gave up after ") for r in rows)
    assert all(" in 2.0 days: could not connect" in (r.last_error or "") for r in rows)
    notices = services.outbox.rows((NOTICE_SOURCE, f"failed|{rows[0].id}"))
    assert sorted(n.channel for n in notices) == [EMAIL, TELEGRAM]
    telegram = next(n for n in notices if n.channel == TELEGRAM)
    assert telegram.address == "4242"
    assert rows[0].address in telegram.body.decode() and "Møte" in telegram.body.decode()
    # The coordinator's own notice fails too here (the server is down): nobody is told
    # about that one, so failures cannot multiply.
    assert len(services.outbox.rows((NOTICE_SOURCE, f"failed|{rows[-1].id}"))) == 2
    assert expected == len(rows)


async def test_jitter_spreads_retries_but_stays_under_the_cap(services: Services) -> None:
    outbox = services.outbox
    outbox.jitter = lambda: 1.0
    assert outbox.retry_delay(1) == 6.0
    assert outbox.retry_delay(30) == 1800.0
    outbox.jitter = lambda: 0.0
    assert outbox.retry_delay(3) == 20.0
