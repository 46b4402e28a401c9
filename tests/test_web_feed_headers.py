"""Feed and invite details calendar clients rely on: Last-Modified and If-Modified-Since on
feeds (real HTTP on loopback), X-WR-TIMEZONE, `name=` on the attached invite.ics, and the
warning when links in mail would point somewhere nobody else can reach."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime

import aiohttp
import pytest

from bot.calendar.dispatch import prepare_invites
from bot.clock import FixedClock
from bot.config import load_config
from bot.services import Services, build_services
from bot.subscriptions import public_url_problem
from bot.web import CalendarServer

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
async def server(clock: FixedClock) -> AsyncIterator[tuple[CalendarServer, Services]]:
    services = build_services(load_config(), clock)
    calendar = CalendarServer(services)
    await calendar.start()
    yield calendar, services
    await calendar.stop()
    services.close()


async def test_last_modified_and_if_modified_since(
    server: tuple[CalendarServer, Services],
) -> None:

    calendar, _services = server
    url = f"http://127.0.0.1:{calendar.port}/calendar/programme.ics"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
            modified = response.headers["Last-Modified"]
            body = await response.read()
        assert modified.endswith(" GMT")
        assert b"\r\nX-WR-TIMEZONE:Europe/Oslo\r\n" in body
        async with http.get(url, headers={"If-Modified-Since": modified}) as response:
            assert response.status == 304 and response.headers["Last-Modified"] == modified
        earlier = format_datetime(
            parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True
        )
        async with http.get(url, headers={"If-Modified-Since": earlier}) as response:
            assert response.status == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
        headers = {"If-Modified-Since": modified, "If-None-Match": '"stale"'}
        async with http.get(url, headers=headers) as response:
            assert response.status == 200
        async with http.get(url, headers={"If-Modified-Since": "not a date"}) as response:
            assert response.status == 200


def test_invite_attachment_has_name_and_automated_headers(services: Services) -> None:
    batch = prepare_invites(services, "county-meeting", to="ola@example.org")
    ((_invitee, message),) = batch.ready
    raw = message.as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_param("name") == "invite.ics"
    assert attachment.get_filename() == "invite.ics"
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nAuto-Submitted: auto-generated\r\n" in head
    assert b"\r\nX-Auto-Response-Suppress: OOF, AutoReply\r\n" in head
    assert b"Precedence" not in head  # an invite is not bulk mail


def test_links_that_will_not_work_outside_are_named() -> None:
    assert public_url_problem("https://kalender.example.org") is None
    assert "loopback" in (public_url_problem("http://127.0.0.1:8080") or "")
    assert "loopback" in (public_url_problem("https://localhost") or "")
    assert "not https" in (public_url_problem("http://kalender.example.org") or "")


async def test_the_server_warns_at_start_when_links_are_loopback(
    clock: FixedClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")
    services = build_services(load_config(), clock)
    calendar = CalendarServer(services)
    with caplog.at_level(logging.WARNING, logger="coordbot.web"):
        await calendar.start()
    await calendar.stop()
    services.close()
    assert any("loopback address" in r.getMessage() for r in caplog.records)
