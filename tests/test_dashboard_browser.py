"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the web
server of `coordbot run` on loopback, invites going to a real SMTP server.

A coordinator logs in with the link `coordbot dashboard link` prints, marks Bodø as having
delivered, sees it on the page and in `coordbot remind plan`, sends the invites of a
21 February meeting and sees who is invited; a stranger, a guessed URL and a reused link get
the login page. Every page is saved as a screenshot under var/screenshots/ (not committed).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.config import load_config
from bot.services import Services, build_services
from bot.web import CalendarServer
from tests.smtp_server import SmtpTestServer


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "var" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (.ci/run installs it)", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.async_api")


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _coordbot(*args: str) -> str:
    """Run the real command line in a child process (same database, via the environment)."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return done.stdout


def _reminders_of(plan: str, event_key: str) -> str:
    """The blocks of `coordbot remind plan` about one event."""
    blocks = plan.split("\n\n")
    found = [b for b in blocks if f"  {event_key}: " in b.split("\n", 1)[0]]
    assert found, plan
    return "\n\n".join(found)


@pytest.fixture
async def running(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock, smtp_server: SmtpTestServer
) -> AsyncIterator[tuple[CalendarServer, Services]]:
    monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", "4242")
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")
    monkeypatch.setenv("COORDBOT_EMAIL_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("COORDBOT_EMAIL_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("COORDBOT_EMAIL_SECURITY", "none")
    monkeypatch.setenv("COORDBOT_EMAIL_FROM_ADDRESS", "coordbot@u4ssc.example.org")
    services = build_services(load_config(), clock)
    server = CalendarServer(services)
    await server.start()
    # The CLI child processes print links to this server.
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL", server.base_url)
    yield server, services
    await server.stop()
    services.close()


async def _shot(page: object, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


async def test_coordinator_marks_delivered_and_sees_who_is_coming(
    running: tuple[CalendarServer, Services], smtp_server: SmtpTestServer
) -> None:
    server, _services = running
    SHOTS.mkdir(parents=True, exist_ok=True)
    plan_before = await asyncio.to_thread(_coordbot, "remind", "plan", "--now", "2020-01-15T09:00")
    assert "Vesa Heikki Jäntti (Bodø)" in _reminders_of(plan_before, "data-deadline")
    # A real broadcast through SMTP, one address refused for good.
    smtp_server.refuse("geir.graff@asker.kommune.no", 550, "5.1.1 no such mailbox")
    report = await asyncio.to_thread(
        _coordbot,
        "broadcast",
        "--audience",
        "network",
        # Every contact of the network's municipalities: its own representatives have no address.
        "--widen",
        "--channel",
        "email",
        "--subject",
        "Network meeting",
        "--text",
        "See you on 21 February.",
    )
    assert "1 failed" in report, report
    smtp_server.clear()
    link = (await asyncio.to_thread(_coordbot, "dashboard", "link")).strip()
    assert link.startswith(server.base_url + "/dashboard/login?token=")

    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            # A stranger, at the front door and at a guessed address: the login page only.
            stranger = await browser.new_page()
            for path in ("/dashboard", "/dashboard/deadlines", "/dashboard/admin.php"):
                response = await stranger.goto(server.base_url + path)
                assert response is not None and response.status == 401
                assert await stranger.locator("h1").inner_text() == (
                    "Log in to the coordinators' dashboard"
                )
                assert await stranger.get_by_text("Bodø").count() == 0
            await _shot(stranger, "01-login-stranger")

            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            await page.goto(link)
            await _shot(page, "02-login-link")
            await page.get_by_role("button", name="Log in").click()
            await page.wait_for_url(server.base_url + "/dashboard")
            assert await page.locator("h1").inner_text() == "Overview"
            await _shot(page, "03-overview")

            # "Who has not delivered?" – one click from the overview.
            await page.get_by_role("link", name="Deadlines", exact=True).click()
            section = page.locator("section#data-deadline")
            assert "Bodø" in await section.locator(".missing").inner_text()
            await page.get_by_role("button", name="Mark delivered: Bodø").first.click()
            await page.wait_for_load_state()
            notice = await page.get_by_role("status").inner_text()
            assert "Bodø is now marked as having delivered" in notice
            row = section.locator("tr", has=page.get_by_role("rowheader", name="Bodø"))
            assert "Delivered" in await row.inner_text()
            assert "Bodø" not in await section.locator(".missing").inner_text()
            assert "1 of 11 municipalities have delivered" in await section.inner_text()
            await _shot(page, "04-deadlines-after-mark")

            plan_after = await asyncio.to_thread(
                _coordbot, "remind", "plan", "--now", "2020-01-15T09:00"
            )
            data_deadline = _reminders_of(plan_after, "data-deadline")
            assert "Vesa Heikki Jäntti (Bodø)" not in data_deadline
            assert "Geir Graff (Asker)" in data_deadline

            # "Who is coming on 21 February?"
            await page.get_by_role("link", name="Meetings", exact=True).click()
            meeting = page.locator("section#network-meeting")
            assert "21 February 2020" in await meeting.locator("h2").inner_text()
            assert "No invites have been sent" in await meeting.inner_text()
            await meeting.get_by_role("button").click()
            await page.wait_for_load_state()
            notice = await page.get_by_role("status").inner_text()
            # The network's own representatives: one has an address, five have none.
            assert "1 invite sent" in notice and "5 without an address" in notice, notice
            assert smtp_server.messages, "the invites went out through SMTP"
            table = meeting.locator("table")
            assert await table.locator("tbody tr").count() == len(smtp_server.messages)
            assert "No answer yet" in await table.inner_text()
            await _shot(page, "05-meetings-after-invites")

            # Broadcasts: the report names the refused address; retry queues it again.
            await page.get_by_role("link", name="Broadcasts and outbox").click()
            article = page.locator("article").first
            assert "5.1.1 no such mailbox" in await article.inner_text()
            await _shot(page, "06-broadcasts")
            await article.get_by_role("button").click()
            await page.wait_for_load_state()
            notice = await page.get_by_role("status").inner_text()
            assert "1 failed message queued again" in notice, notice
            assert "1 waiting" in await page.locator("article").first.inner_text()
            await _shot(page, "07-broadcasts-after-retry")

            for name, path in (
                ("08-timeline", "/dashboard/timeline"),
                ("09-registry", "/dashboard/registry"),
                ("10-registry-search", "/dashboard/registry?q=molde"),
                ("11-overview-nynorsk", "/dashboard?lang=nn"),
            ):
                response = await page.goto(server.base_url + path)
                assert response is not None and response.status == 200, path
                await _shot(page, name)
            await page.goto(server.base_url + "/dashboard/deadlines?lang=en")

            # On a phone.
            phone = await context.new_page()
            await phone.set_viewport_size({"width": 390, "height": 844})
            await phone.goto(server.base_url + "/dashboard/deadlines")
            await _shot(phone, "12-deadlines-phone")

            # The same link again, in another browser: refused.
            other = await browser.new_context()
            again = await other.new_page()
            response = await again.goto(link)
            assert response is not None and response.status == 403
            assert "used already" in await again.get_by_role("alert").inner_text()
            await _shot(again, "13-reused-link")
            response = await again.goto(server.base_url + "/dashboard/meetings")
            assert response is not None and response.status == 401

            # Logging out ends the session.
            await page.get_by_role("button", name="Log out").click()
            await page.wait_for_load_state()
            assert "You are logged out." in await page.get_by_role("status").inner_text()
            response = await page.goto(server.base_url + "/dashboard/deadlines")
            assert response is not None and response.status == 401
        finally:
            await browser.close()
