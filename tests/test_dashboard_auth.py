"""The dashboard's access rules over real HTTP on loopback (no browser): one-time links,
sessions, cookies, CSRF, logout, revocation, and every page and action once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from bot.cli import main as cli_main
from bot.clock import FixedClock
from bot.config import load_config
from bot.dashboard import auth
from bot.dashboard.chat import dashboard_link_text
from bot.registry.marks import done_marks
from bot.services import Services, build_services
from bot.web import CalendarServer

COORDINATOR = 4242
PAGES = ("", "/timeline", "/deadlines", "/meetings", "/broadcasts", "/registry")


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


@pytest.fixture
async def server(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> AsyncIterator[tuple[CalendarServer, Services]]:

    monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")  # links at the bound port
    services = build_services(load_config(), clock)
    web_server = CalendarServer(services)
    await web_server.start()
    yield web_server, services
    await web_server.stop()
    services.close()


def _link(services: Services, holder: str = auth.CLI_HOLDER, now: datetime | None = None) -> str:
    token = auth.issue_link(services.db, services.config, holder, "en", now or datetime.now(UTC))
    from bot.dashboard.views import login_url

    return login_url(services, token)


def _client() -> aiohttp.ClientSession:
    # unsafe=True: keep cookies of an IP-address host (the server is on 127.0.0.1).
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def _token(url: str) -> str:
    return url.split("token=", 1)[1]


async def _login(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    async with http.get(url) as page:
        assert page.status == 200, await page.text()
        assert 'name="token"' in await page.text()
    base = url.split("/dashboard/", 1)[0]
    async with http.post(
        f"{base}/dashboard/login", data={"token": _token(url)}, allow_redirects=False
    ) as response:
        return response


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    async with http.get(url) as page:
        text = await page.text()
    match = re.search(r'name="csrf" value="([^"]+)"', text)
    assert match, text
    return match.group(1)


async def test_strangers_and_guessed_urls_get_only_the_login_page(
    server: tuple[CalendarServer, Services],
) -> None:
    web_server, _services = server
    base = web_server.base_url
    async with _client() as http:
        for path in (*PAGES, "/deadlines/../registry", "/secret", "/static/x.css", "/x/y/z"):
            async with http.get(f"{base}/dashboard{path}", allow_redirects=False) as page:
                text = await page.text()
                assert page.status == 401, path
                assert "coordbot dashboard link" in text
                assert "Bodø" not in text and "data-deadline" not in text
        # Actions without a session change nothing and answer with the login page.
        async with http.post(
            f"{base}/dashboard/deadlines/mark",
            data={"event": "data-deadline", "municipality": "bodo", "action": "done"},
            allow_redirects=False,
        ) as response:
            assert response.status == 401
        # A forged or made-up cookie is no session either.
        http.cookie_jar.update_cookies({"coordbot_session": "guess"})
        async with http.get(f"{base}/dashboard", allow_redirects=False) as page:
            assert page.status == 401
    assert done_marks(_services.db) == frozenset()


async def test_link_logs_in_once_and_sets_a_safe_cookie(
    server: tuple[CalendarServer, Services],
) -> None:
    _web_server, services = server
    url = _link(services)
    async with _client() as http:
        response = await _login(http, url)
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "coordbot_session=" in cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
        assert "Secure" not in cookie  # plain http on loopback
        async with http.get(url.split("/login")[0]) as page:
            assert page.status == 200
            text = await page.text()
            assert "Next deadlines" in text and "Log out" in text
    # The same link again, from another browser: refused.
    async with _client() as other:
        async with other.get(url) as page:
            assert page.status == 403
            assert "used already" in await page.text()
        response = await _login_post(other, url)
        assert response.status == 403
        async with other.get(url.split("/login")[0]) as page:
            assert page.status == 401


async def _login_post(http: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    base = url.split("/dashboard/", 1)[0]
    async with http.post(
        f"{base}/dashboard/login", data={"token": _token(url)}, allow_redirects=False
    ) as response:
        return response


async def test_secure_cookie_behind_https_proxy(server: tuple[CalendarServer, Services]) -> None:
    _web_server, services = server
    url = _link(services)
    base = url.split("/dashboard/", 1)[0]
    async with (
        _client() as http,
        http.post(
            f"{base}/dashboard/login",
            data={"token": _token(url)},
            headers={"X-Forwarded-Proto": "https"},
            allow_redirects=False,
        ) as response,
    ):
        assert "Secure" in response.headers["Set-Cookie"]


def test_links_expire_after_15_minutes_and_are_stored_hashed(services: Services) -> None:
    issued = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    token = auth.issue_link(services.db, services.config, auth.CLI_HOLDER, "en", issued)
    with services.db.session() as session:
        stored = session.query(auth.DashboardLink).one()
        assert stored.token_hash != token and token not in stored.token_hash
    late = issued + timedelta(minutes=15, seconds=1)
    assert not auth.link_is_usable(services.db, services.config, token, late)
    assert auth.redeem_link(services.db, services.config, token, late) is None
    # Within the 15 minutes it works, once.
    token = auth.issue_link(services.db, services.config, auth.CLI_HOLDER, "en", issued)
    soon = issued + timedelta(minutes=14)
    assert auth.redeem_link(services.db, services.config, token, soon) is not None
    assert auth.redeem_link(services.db, services.config, token, soon) is None


def test_links_only_for_coordinators(
    services: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COORDBOT_TELEGRAM_COORDINATORS", str(COORDINATOR))
    assert cli_main(["dashboard", "link", "--for", "999"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not a coordinator" in captured.err
    assert cli_main(["dashboard", "link", "--for", str(COORDINATOR)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert re.fullmatch(
        r"https://kalender\.example\.org/dashboard/login\?token=[A-Za-z0-9_-]{40,}\n", out
    )
    # In Telegram: a coordinator in a private chat gets one; others and groups do not.
    coordinator_services = build_services(load_config(), services.clock)
    try:
        text = dashboard_link_text(coordinator_services, COORDINATOR, private=True, lang="nb")
        assert "/dashboard/login?token=" in text and "15 minutter" in text
        refused = dashboard_link_text(coordinator_services, 999, private=True, lang="en")
        assert "token=" not in refused and "coordinators" in refused
        group = dashboard_link_text(coordinator_services, COORDINATOR, private=False, lang="en")
        assert "token=" not in group
    finally:
        coordinator_services.close()


async def test_session_ends_at_logout_revoke_and_when_no_longer_coordinator(
    server: tuple[CalendarServer, Services],
) -> None:
    web_server, services = server
    base = web_server.base_url + "/dashboard"
    async with _client() as http:
        await _login(http, _link(services))
        csrf = await _csrf(http, base)
        # Logout needs the CSRF token too.
        async with http.post(f"{base}/logout", data={}) as response:
            assert response.status == 403
        async with http.post(f"{base}/logout", data={"csrf": csrf}) as response:
            assert response.status == 200
            assert "You are logged out." in await response.text()
        async with http.get(base, allow_redirects=False) as page:
            assert page.status == 401
    # Revoked from the command line.
    async with _client() as http:
        await _login(http, _link(services, f"telegram:{COORDINATOR}"))
        async with http.get(base) as page:
            assert page.status == 200
        assert auth.revoke_sessions(services.db, f"telegram:{COORDINATOR}", datetime.now(UTC)) == 1
        async with http.get(base) as page:
            assert page.status == 401


async def test_actions_need_csrf_and_answer_with_what_changed(
    server: tuple[CalendarServer, Services],
) -> None:
    web_server, services = server
    base = web_server.base_url + "/dashboard"
    form = {"event": "data-deadline", "municipality": "bodo", "action": "done"}
    async with _client() as http:
        await _login(http, _link(services))
        async with http.post(f"{base}/deadlines/mark", data=form) as response:
            assert response.status == 403
            assert "Nothing was changed" in await response.text()
        assert done_marks(services.db) == frozenset()
        csrf = await _csrf(http, f"{base}/deadlines")
        async with http.post(
            f"{base}/deadlines/mark", data={**form, "csrf": csrf, "back": "/dashboard/deadlines"}
        ) as response:
            assert response.status == 200 and response.url.path == "/dashboard/deadlines"
            text = await response.text()
        assert "Bodø is now marked as having delivered" in text
        assert done_marks(services.db) == {("data-deadline", "bodo")}
        # The notice shows once.
        async with http.get(f"{base}/deadlines") as page:
            assert "is now marked" not in await page.text()
        # An open redirect through "back" is refused.
        async with http.post(
            f"{base}/deadlines/mark",
            data={**form, "action": "undo", "csrf": csrf, "back": "https://evil.example/"},
            allow_redirects=False,
        ) as response:
            assert response.headers["Location"] == "/dashboard"
        assert done_marks(services.db) == frozenset()
        # Every page renders in every language.
        for lang in ("nb", "nn", "en"):
            for path in PAGES:
                async with http.get(f"{base}{path}?lang={lang}") as page:
                    assert page.status == 200, (lang, path)
                    assert f'<html lang="{lang}">' in await page.text()
        async with http.get(f"{base}/registry?q=bod") as page:
            text = await page.text()
            assert "Bodø" in text and "Molde" not in text
        async with http.get(f"{base}/nope") as page:
            assert page.status == 404
