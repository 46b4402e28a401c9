"""The feed cache: a feed built once per registry snapshot, an LRU that evicts only its least
recently used entries, and 304s answered from the ETag alone (real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.calendar.feedcache import LRU, FeedCache, SnapshotReader
from bot.calendar.feeds import feed_document, find_feed
from bot.calendar.vevent import event_contacts
from bot.clock import FixedClock
from bot.config import CalendarConfig, load_config
from bot.registry.data import EventRec, RegistryData, RoleRec, load_registry_file
from bot.services import Services, build_services
from bot.web import CalendarServer


@pytest.fixture
async def server(clock: FixedClock) -> AsyncIterator[tuple[CalendarServer, Services]]:
    services = build_services(load_config(), clock)
    calendar = CalendarServer(services)
    await calendar.start()
    yield calendar, services
    await calendar.stop()
    services.close()


@pytest.mark.db
async def test_a_feed_is_built_once_per_snapshot_and_a_304_never_builds(
    server: tuple[CalendarServer, Services], clock: FixedClock
) -> None:
    calendar, services = server
    # Room for one document only: the programme feed's bytes are evicted by the next feed,
    # and its 304s must still come from its ETag alone.
    calendar.feeds = FeedCache(services.config.calendar, max_documents=1)
    base = f"http://127.0.0.1:{calendar.port}/calendar"
    # English asked for, so the cached entry and the direct build below are the same feed.
    programme = f"{base}/programme.ics?lang=en"
    bodo = f"{base}/municipality-bodo.ics?lang=en"
    async with aiohttp.ClientSession() as http:
        async with http.get(programme) as response:
            assert response.status == 200
            etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
            body = await response.read()
        async with http.get(programme) as response:
            assert response.status == 200 and await response.read() == body
        assert calendar.feeds.builds == 1
        async with http.get(bodo) as response:
            assert response.status == 200
        assert calendar.feeds.builds == 2
        assert calendar.feeds.cached(services.registry.snapshot(), "programme", "en") is None

        for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
            async with http.get(programme, headers=headers) as response:
                assert response.status == 304, headers
                assert response.headers["ETag"] == etag
                assert response.headers["Last-Modified"] == modified
        assert calendar.feeds.builds == 2  # neither 304 built (or kept) the document

        # The bytes are the feed as built directly from the same registry.
        data = services.registry.snapshot()
        config = services.config.calendar
        assert body == feed_document(data, find_feed(data, "programme", "en"), config, "en")

        # A registry write is a new snapshot: the old ETag gets the new feed, built once.
        events = tuple(
            dataclasses.replace(e, location="Bodø") if e.key == "network-meeting" else e
            for e in data.events
        )
        clock.advance(timedelta(hours=1))
        services.registry.replace(dataclasses.replace(data, events=events))
        async with http.get(programme, headers={"If-None-Match": etag}) as response:
            assert response.status == 200 and response.headers["ETag"] != etag
            new_etag = response.headers["ETag"]
        async with http.get(programme, headers={"If-None-Match": new_etag}) as response:
            assert response.status == 304
        assert calendar.feeds.builds == 3


@pytest.mark.db
async def test_concurrent_requests_build_a_feed_once(
    server: tuple[CalendarServer, Services],
) -> None:
    calendar, _services = server
    url = f"http://127.0.0.1:{calendar.port}/calendar/programme.ics?lang=nn"
    async with aiohttp.ClientSession() as http:

        async def fetch() -> bytes:
            async with http.get(url) as response:
                assert response.status == 200
                return await response.read()

        bodies = await asyncio.gather(*(fetch() for _ in range(8)))
    assert len(set(bodies)) == 1
    assert calendar.feeds.builds == 1


def test_lru_evicts_the_least_recently_used_one_at_a_time() -> None:
    lru: LRU[str, bytes] = LRU(3, None, weigh=len)
    for key in "abc":
        lru.put(key, key.encode())
    assert lru.get("a") == b"a"  # now the most recently used
    lru.put("d", b"d")
    assert "b" not in lru and all(k in lru for k in "acd")  # only the oldest went
    lru.put("e", b"e")
    assert "c" not in lru and all(k in lru for k in "ade")


def test_lru_bounded_by_weight_keeps_the_newest() -> None:
    lru: LRU[str, bytes] = LRU(100, 10, weigh=len)
    lru.put("a", b"1234")
    lru.put("b", b"1234")
    lru.get("a")
    lru.put("c", b"1234")  # 12 > 10: the least recently used (b) goes
    assert "b" not in lru and "a" in lru and "c" in lru
    lru.put("big", b"x" * 50)  # over the bound alone: kept, everything older goes
    assert len(lru) == 1 and lru.get("big") == b"x" * 50


def _seed() -> RegistryData:
    return load_registry_file(load_config().data_file)


def test_a_new_snapshot_with_the_same_version_is_not_served_the_old_feed() -> None:
    built: list[str] = []

    def build(data: RegistryData, name: str, lang: str) -> bytes:
        built.append(name)
        return feed_document(data, find_feed(data, name, lang), CalendarConfig(), lang)

    cache = FeedCache(CalendarConfig(), build=build)
    data = _seed()
    first = cache.entry(data, "programme", "en")
    assert cache.entry(data, "programme", "en") is first and built == ["programme"]
    assert cache.head(data, "programme", "en") == first.head
    # Same generation and version (a snapshot made without a new version): not the same feed.
    moved = dataclasses.replace(
        data, events=tuple(dataclasses.replace(e, location="Narvik") for e in data.events)
    )
    assert cache.head(moved, "programme", "en") is None
    assert cache.entry(moved, "programme", "en").head.etag != first.head.etag
    assert built == ["programme", "programme"]


async def test_one_snapshot_read_serves_every_request_waiting_at_once() -> None:
    reads: list[int] = []
    data = RegistryData()

    def read() -> RegistryData:
        reads.append(1)
        return data

    reader = SnapshotReader(read)
    got = await asyncio.gather(*(reader.get() for _ in range(20)))
    assert all(g is data for g in got)
    # The first request's read began at once; the 19 that came while it ran share one more
    # (a read begun after they arrived), never one each.
    assert len(reads) == 2
    await reader.get()
    assert len(reads) == 3  # a later request never gets an earlier read


def _scanned_contacts(
    data: RegistryData, ev: EventRec, reach: set[str] | None
) -> list[tuple[str, str, str | None]]:
    """The contacts as found by scanning every person (what the index replaces)."""
    found = []
    for role_key in ev.contact_roles:
        if role_key not in data.role_type_by_key:
            continue
        for person in data.people:
            for role in person.roles:
                if role.role != role_key:
                    continue
                if role.municipality and reach is not None and role.municipality not in reach:
                    continue
                found.append((person.key, role.role, role.municipality))
                break
    return found


def test_event_contacts_from_the_index_are_the_scanned_ones() -> None:
    seed = _seed()
    # A person holding one role in two places: the first one the event reaches counts.
    twice = dataclasses.replace(
        seed.people[0],
        key="twice",
        roles=(RoleRec("data_contact", municipality="rana"), RoleRec("data_contact", "bodo")),
    )
    data = dataclasses.replace(
        seed,
        people=(*seed.people, twice),
        events=tuple(
            dataclasses.replace(e, contact_roles=(*e.contact_roles, "data_contact", "nobody"))
            for e in seed.events
        ),
    )
    assert data.holders("data_contact")
    checked = 0
    for ev in data.events:
        for place in (None, "bodo", "rana", "narvik"):
            reach: set[str] | None = {place} if place else None
            if place is None and ev.audiences:
                reach = {m for a in ev.audiences for m in data.audience_by_key[a].municipalities}
            got = [
                (c.person.key, c.role.role, c.role.municipality)
                for c in event_contacts(data, ev, place)
            ]
            assert got == _scanned_contacts(data, ev, reach), (ev.key, place)
            checked += len(got)
    assert checked > 0
