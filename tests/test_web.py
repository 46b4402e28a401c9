"""The calendar web server over real HTTP on loopback: feeds, ETag/304, HEAD, tokens, 404."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.calendar.api import feed_links
from bot.clock import FixedClock
from bot.config import ConfigError, load_config
from bot.services import Services, build_services
from bot.web import CalendarServer
from tests.calendar_checks import parse_both

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

TOKEN = "k6Vq1bS3nWm9xT2pLr8yZ4aEh7Jd0Qw5"


async def _started(services: Services) -> CalendarServer:
    server = CalendarServer(services)
    await server.start()
    return server


@pytest.fixture
async def public_server(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> AsyncIterator[tuple[CalendarServer, Services]]:
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")  # links at the bound port
    services = build_services(load_config(), clock)
    server = await _started(services)
    yield server, services
    await server.stop()
    services.close()


async def test_feed_with_etag_304_and_head(
    public_server: tuple[CalendarServer, Services], clock: FixedClock
) -> None:
    server, services = public_server
    assert server.port and server.port != 0
    url = f"{server.base_url}/calendar/programme.ics"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
            etag = response.headers["ETag"]
            body = await response.read()
        calendar, _ = parse_both(body)
        assert "METHOD" not in calendar
        assert etag.startswith('"') and etag.endswith('"')

        async with http.get(url, headers={"If-None-Match": etag}) as response:
            assert response.status == 304
            assert await response.read() == b""
            assert response.headers["ETag"] == etag
        async with http.get(url, headers={"If-None-Match": f'"other", W/{etag}'}) as response:
            assert response.status == 304
        async with http.head(url) as response:
            assert response.status == 200
            assert response.headers["ETag"] == etag
            assert int(response.headers["Content-Length"]) == len(body)
            assert await response.read() == b""

        # A change in the registry gives a new document and a new ETag.
        data = services.registry.snapshot()
        events = tuple(
            dataclasses.replace(e, location="Bodø") if e.key == "network-meeting" else e
            for e in data.events
        )
        clock.advance(timedelta(hours=2))
        services.registry.replace(dataclasses.replace(data, events=events))
        async with http.get(url, headers={"If-None-Match": etag}) as response:
            assert response.status == 200
            assert response.headers["ETag"] != etag
            assert "LOCATION:Bodø" in (await response.text())


async def test_unknown_feeds_health_and_links(
    public_server: tuple[CalendarServer, Services],
) -> None:
    server, _services = public_server
    async with aiohttp.ClientSession() as http:
        for path in ("/calendar/nowhere.ics", "/calendar/programme"):
            async with http.get(server.base_url + path) as response:
                assert response.status == 404, path
        async with http.get(server.base_url + "/healthz") as response:
            assert response.status == 200 and await response.text() == "ok\n"
        async with http.get(server.base_url + "/calendar/programme.ics?lang=xx") as response:
            assert response.status == 400
        links = server.links()
        assert [link.url for link in feed_links(_services)] == [link.url for link in links]
        bodo = next(link for link in links if link.name == "municipality-bodo")
        assert bodo.webcal_url == f"webcal://127.0.0.1:{server.port}/calendar/municipality-bodo.ics"
        async with http.get(bodo.url, params={"lang": "nb"}) as response:
            assert response.status == 200
            assert "X-WR-CALNAME:U4SSC Norge - Bodø" in await response.text()


async def _raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """GET `target` exactly as given (an HTTP client would normalise `..` away first)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "target",
    [
        b"/calendar/../x.ics",
        b"/calendar/../../pyproject.toml",
        b"/calendar/%2e%2e/programme.ics",
        b"/calendar/..%2f..%2fdata%2fregistry.toml.ics",
        b"/calendar/..%2fpyproject.toml",
        b"/calendar/..%2f..%2fpyproject.toml",
        b"/calendar/%2E%2E%2Fdata%2Fregistry.toml",
        b"/calendar/%2E%2E%2F%2E%2E%2Fpyproject.toml",
        b"/calendar/programme.ics/../../../data/registry.toml",
        b"/calendar/TOKEN/../programme.ics",
    ],
)
async def test_path_traversal_reaches_nothing(
    public_server: tuple[CalendarServer, Services], target: bytes
) -> None:
    """Sent as raw bytes, so the `..` reaches the server as written."""
    server, _services = public_server
    assert server.port is not None
    status, body = await _raw_get(server.port, target)
    assert status in (400, 404), (target, status)
    assert b"BEGIN:VCALENDAR" not in body and b"[project]" not in body and b"[[" not in body


async def test_private_feeds_need_the_token(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.delenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL")
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_FEEDS", "false")
    monkeypatch.setenv("COORDBOT_CALENDAR_FEED_TOKEN", TOKEN)
    services = build_services(load_config(), clock)
    server = await _started(services)
    try:
        async with aiohttp.ClientSession() as http:
            base = server.base_url
            async with http.get(f"{base}/calendar/programme.ics") as response:
                assert response.status == 404
            async with http.get(f"{base}/calendar/{TOKEN[:-1]}x/programme.ics") as response:
                assert response.status == 404
            url = server.links()[0].url
            assert url == f"{base}/calendar/{TOKEN}/programme.ics"
            async with http.get(url) as response:
                assert response.status == 200
                parse_both(await response.read())
    finally:
        await server.stop()
        services.close()


async def test_a_taken_port_is_an_error_that_leaves_nothing_open(
    public_server: tuple[CalendarServer, Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, services = public_server
    monkeypatch.setenv("COORDBOT_CALENDAR_LISTEN", f"127.0.0.1:{server.port}")
    config = load_config()
    second = CalendarServer(dataclasses.replace(services, config=config))
    fds_before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match=r"(?i)address already in use"):
        await second.start()
    # Nothing of the failed start is left: no socket or other descriptor, no runner, and the
    # running server's address is still the one links point at.
    assert set(os.listdir("/proc/self/fd")) <= fds_before
    assert second._runner is None and second.port is None
    assert services.calendar_base_url == server.base_url
    await second.stop()  # safe after a failed start
    # Once the first server stops, the port is free again: the failed start held nothing.
    await server.stop()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server.port or 0))


async def test_private_feeds_without_a_token_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_FEEDS", "false")
    services = build_services(load_config(), clock)
    server = CalendarServer(services)
    try:
        with pytest.raises(ConfigError, match="feed_token"):
            await server.start()
        await server.stop()  # safe after a failed start
    finally:
        services.close()
