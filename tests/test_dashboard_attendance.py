"""The dashboard's Meetings page shows the answers read back from the mailbox (iMIP REPLYs)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import aiohttp
import pytest

from bot.clock import FixedClock
from bot.config import load_config
from bot.dashboard import auth
from bot.dashboard.views import login_url
from bot.services import build_services
from bot.web import CalendarServer
from tests.smtp_server import SmtpTestServer
from tests.test_inbound import FIXTURES, ingest, send_invites, smtp  # noqa: F401  (fixture)

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _row(page: str, email: str) -> str:
    """The table row of one invitee on the Meetings page (the whole <tr>)."""
    match = re.search(r"<tr>(?:(?!</tr>).)*" + re.escape(email) + r".*?</tr>", page, re.S | re.I)
    assert match, f"no row for {email}"
    return match.group(0)


def test_meetings_page_shows_answers_read_from_the_mailbox(
    smtp: SmtpTestServer,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:

    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")  # links at the bound port
    # The CLI runs its own event loop, so the invites and the reply go in before the server's.
    send_invites(capsys, smtp)
    assert ingest(capsys, FIXTURES / "reply-outlook.eml")[1]["action"] == "recorded"
    page = asyncio.run(_meetings_page(clock))
    accepted = _row(page, "geir.graff@asker.kommune.no")
    assert "Accepted" in accepted and "Vi kommer gjerne." in accepted
    waiting = _row(page, "vesa.heikki.jantti@bodo.kommune.no")
    assert "No answer yet" in waiting


async def _meetings_page(clock: FixedClock) -> str:
    """Log in with a fresh one-time link and fetch the Meetings page."""
    services = build_services(load_config(), clock)
    server = CalendarServer(services)
    await server.start()
    try:
        token = auth.issue_link(
            services.db, services.config, auth.CLI_HOLDER, "en", datetime.now(UTC)
        )
        url = login_url(services, token)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = url.split("/dashboard/", 1)[0]
            async with http.post(f"{base}/dashboard/login", data={"token": token}) as response:
                assert response.status == 200
            async with http.get(f"{base}/dashboard/meetings") as response:
                page = await response.text()
    finally:
        await server.stop()
        services.close()
    return page
