"""End to end: a Norwegian data contact's deadline reminder arrives by e-mail in bokmål with a
signed "we have delivered" link; following it (GET shows a page, POST confirms) on the real
calendar web server marks the municipality done, and its further reminders stop."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import date, datetime, time
from email.message import EmailMessage
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.clock import FixedClock
from bot.delivery.broadcast import deliver_until_finished
from bot.delivery.component import build_workers
from bot.delivery.pacing import VirtualPacer
from bot.registry.marks import done_marks
from bot.services import Services
from bot.web import CalendarServer
from schedules.fire import current_plan, enqueue_due_reminders
from tests.smtp_server import SmtpTestServer, smtp_env

OSLO = ZoneInfo("Europe/Oslo")
VESA = "vesa.heikki.jantti@bodo.kommune.no"  # Bodø's data contact


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _at(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(8, 0), OSLO)


async def _fire_and_deliver(services: Services, clock: FixedClock) -> None:
    fired = [f for f in enqueue_due_reminders(services) if f.reminder.event.key == "data-deadline"]
    assert len(fired) == 1
    workers = build_workers(
        services, telegram=None, mailer=services.mailer, pacer=VirtualPacer(clock)
    )
    await deliver_until_finished(
        workers,
        services.outbox,
        clock,
        ("reminder", fired[0].reminder.source_id),
        give_up_after=60,
    )


@pytest.fixture
def smtp(smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch) -> SmtpTestServer:
    smtp_env(smtp_server, monkeypatch)
    return smtp_server


async def test_delivered_link_marks_done_and_stops_further_reminders(
    smtp: SmtpTestServer, services: Services, clock: FixedClock
) -> None:
    clock.set(_at("2020-01-17"))  # 14 days before the data deadline
    await _fire_and_deliver(services, clock)
    (received,) = [m for m in smtp.messages if m.rcpt_tos == [VESA]]
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == (
        "Påminnelse: Frist: alle relevante KPI-data samlet inn (2020-01-31)"
    )
    body = message.get_content()
    assert "Ikke meldt ferdig ennå: Bodø" in body
    assert "Telegram" not in body  # no button he does not have
    found = re.search(
        r"Når Bodø har levert, bekreft det med denne lenken: (https://kalender\.example\.org"
        r"/done\?token=\S+&lang=nb)",
        body,
    )
    assert found is not None
    link = urlsplit(found.group(1))

    async with TestClient(TestServer(CalendarServer(services).application())) as client:
        # GET (a link scanner, or the reader's first click) only asks.
        page = await client.get(f"{link.path}?{link.query}")
        text = await page.text()
        assert page.status == 200 and "Bekreft levering" in text and "Bodø" in text
        assert done_marks(services.db) == frozenset()
        # Pressing the button confirms.
        done = await client.post(f"{link.path}?{link.query}")
        assert done.status == 200 and "Bodø er registrert som levert" in await done.text()
        assert ("data-deadline", "bodo") in done_marks(services.db)
        # A changed link is refused and marks nothing.
        forged = link.query.replace("token=", "token=x", 1)
        refused = await client.post(f"{link.path}?{forged}")
        assert refused.status == 400 and "Ugyldig lenke" in await refused.text()

    # Three days before: everyone else is reminded again, Bodø's data contact is not.
    smtp.clear()
    plan = [
        r
        for r in current_plan(services, clock.now())
        if r.event.key == "data-deadline" and r.lead.text == "3d"
    ]
    assert "bodo" not in {t.municipality for t in plan[0].targets}
    clock.set(_at("2020-01-28"))
    await _fire_and_deliver(services, clock)
    again = {m.rcpt_tos[0] for m in smtp.messages}
    assert again and VESA not in again
    assert "geir.graff@asker.kommune.no" in again


def test_remind_plan_reports_defective_addresses_as_unreachable(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    assert main(["remind", "plan", "--now", "2020-01-15T09:00"]) == 0
    out = capsys.readouterr().out
    assert "address defective: address 'randi. myhre@molde.kommune.no' contains a space" in out
    assert "address defective: address domain 'karoy.kommune.no'" in out
    assert "ban03@karoy.kommune.no>" not in out  # not listed among the recipients
