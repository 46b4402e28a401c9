"""Feeds and invites as other calendar programs read them: libical (Evolution, many servers;
its iTIP restriction check too), ical.js (Thunderbird's parser) and vobject (dateutil's
reading of the VTIMEZONE). Each resolves TZID=Europe/Oslo through the document's own
VTIMEZONE, so an hour wrong in it shows up as an event an hour off.

The times sit on both sides of both 2020 transitions (01:00 UTC on 29 March and on 25
October). libical is Debian's libical3, ical.js is installed with npm into tests/js
(`.ci/run` does both); a test says so and skips where one is missing.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject

from bot.calendar.feeds import feed_document, find_feed
from bot.calendar.invites import Invitee, Method, Organizer, build_invite
from bot.config import CalendarConfig
from bot.registry.data import EventRec, RegistryData
from bot.services import Services
from tests import libical

OSLO = ZoneInfo("Europe/Oslo")
JS_DIR = Path(__file__).parent / "js"
TRICKY_TITLE = "Nettverk K:\\Nettverk, Bodø; rom \\n 2"

# (title, the instant, the Oslo wall time a calendar must show for it)
CASES = [
    ("winter", datetime(2020, 1, 15, 9, 0, tzinfo=UTC), "2020-01-15T10:00"),
    ("before spring change", datetime(2020, 3, 29, 0, 59, tzinfo=UTC), "2020-03-29T01:59"),
    ("after spring change", datetime(2020, 3, 29, 1, 0, tzinfo=UTC), "2020-03-29T03:00"),
    ("summer", datetime(2020, 7, 1, 8, 0, tzinfo=UTC), "2020-07-01T10:00"),
    ("before autumn change", datetime(2020, 10, 24, 23, 59, tzinfo=UTC), "2020-10-25T01:59"),
    ("after autumn change", datetime(2020, 10, 25, 2, 0, tzinfo=UTC), "2020-10-25T03:00"),
    (TRICKY_TITLE, datetime(2020, 12, 1, 12, 0, tzinfo=UTC), "2020-12-01T13:00"),
]
# Instants a minute either side of each change, and Oslo's wall time at each.
EDGES = [
    (datetime(2020, 3, 29, 0, 59, tzinfo=UTC), datetime(2020, 3, 29, 1, 59)),
    (datetime(2020, 3, 29, 1, 0, tzinfo=UTC), datetime(2020, 3, 29, 3, 0)),
    (datetime(2020, 10, 25, 0, 59, tzinfo=UTC), datetime(2020, 10, 25, 2, 59)),
    (datetime(2020, 10, 25, 1, 0, tzinfo=UTC), datetime(2020, 10, 25, 2, 0)),
]
VTIMEZONE = (
    b"BEGIN:VTIMEZONE\r\n"
    b"TZID:Europe/Oslo\r\n"
    b"BEGIN:DAYLIGHT\r\n"
    b"DTSTART:19700329T020000\r\n"
    b"RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    b"TZNAME:CEST\r\n"
    b"TZOFFSETFROM:+0100\r\n"
    b"TZOFFSETTO:+0200\r\n"
    b"END:DAYLIGHT\r\n"
    b"BEGIN:STANDARD\r\n"
    b"DTSTART:19701025T030000\r\n"
    b"RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\n"
    b"TZNAME:CET\r\n"
    b"TZOFFSETFROM:+0200\r\n"
    b"TZOFFSETTO:+0100\r\n"
    b"END:STANDARD\r\n"
    b"END:VTIMEZONE\r\n"
)
CALENDAR = CalendarConfig(organizer_name="U4SSC Norge, Bodø; K:\\Nettverk")
FEED_NAME = "U4SSC Norge, Bodø; K:\\Nettverk - Bærekraftsløftet, all events"


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both


def _timed_registry(services: Services) -> RegistryData:
    data = services.registry.snapshot()
    events = tuple(
        EventRec(
            key=f"case-{i}",
            kind="meeting",
            title_en=title,
            title_nb=title,
            start=moment.astimezone(OSLO),
            end=(moment + timedelta(hours=1)).astimezone(OSLO),
            location="K:\\Nettverk, 2. etasje",
            audiences=("steering-group",),
        )
        for i, (title, moment, _wall) in enumerate(CASES)
    )
    return dataclasses.replace(data, events=events)


def _feed(services: Services) -> bytes:
    data = _timed_registry(services)
    return feed_document(data, find_feed(data, "programme", "en"), CALENDAR, "en")


def _invite(services: Services, method: Method = "REQUEST") -> bytes:
    data = _timed_registry(services)
    event = data.events[2]
    if method == "CANCEL":
        event = dataclasses.replace(event, cancelled=True, sequence=1)
    message = build_invite(
        data,
        event,
        Invitee("ola@example.org", "Ola Nordmann"),
        Organizer("coordbot@example.org", "U4SSC Norge", "U4SSC Norge"),
        method=method,
        now=datetime(2020, 3, 1, 9, tzinfo=UTC),
        lang="en",
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(preferencelist=("calendar",))
    assert part is not None
    return part.get_content().encode("utf-8")


def _icaljs(document: bytes) -> dict[str, object]:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "ical.js").is_dir():
        pytest.skip("ical.js not installed (npm install --prefix tests/js; .ci/run does it)")
    done = subprocess.run(
        [node, str(JS_DIR / "icaljs_check.mjs")],
        input=document,
        capture_output=True,
        check=True,
        timeout=60,
    )
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def _need_libical() -> None:
    if not libical.available():
        pytest.skip("libical not installed (Debian libical3; .ci/run installs it)")


# --- the bytes -------------------------------------------------------------------------------


def test_vtimezone_is_written_from_rrules_like_thunderbird_and_outlook(
    services: Services,
) -> None:
    for document in (_feed(services), _invite(services)):
        assert document.count(b"BEGIN:VTIMEZONE") == 1
        assert VTIMEZONE in document
        assert b"RDATE" not in document and b"COMMENT" not in document
    feed = _feed(services)
    assert b"\r\nX-WR-TIMEZONE:Europe/Oslo\r\n" in feed
    # Every wall time written is the Oslo time of the instant.
    starts = re.findall(rb"DTSTART;TZID=Europe/Oslo:(\d{8}T\d{6})", feed)
    expected = [wall.replace("-", "").replace(":", "") + "00" for _t, _m, wall in CASES]
    assert [s.decode() for s in starts] == expected


def test_text_escaping_keeps_backslash_n_and_escapes_names(services: Services) -> None:
    feed = _feed(services)
    unfolded = feed.replace(b"\r\n ", b"")
    assert b"SUMMARY:Nettverk K:\\\\Nettverk\\, Bod\xc3\xb8\\; rom \\\\n 2\r\n" in unfolded
    escaped_name = "U4SSC Norge\\, Bodø\\; K:\\\\Nettverk - Bærekraftsløftet\\, all events"
    assert f"\r\nNAME:{escaped_name}\r\n".encode() in unfolded
    assert f"\r\nX-WR-CALNAME:{escaped_name}\r\n".encode() in unfolded
    with_vobject = vobject.readOne(feed.decode("utf-8"))
    titles = [e.summary.value for e in with_vobject.vevent_list]
    assert TRICKY_TITLE in titles
    assert with_vobject.vevent.location.value == "K:\\Nettverk, 2. etasje"


# --- three parsers, the document's own VTIMEZONE -----------------------------------------------


def test_vobject_reads_every_time_right_across_both_changes(services: Services) -> None:
    for document in (_feed(services), _invite(services)):
        calendar = vobject.readOne(document.decode("utf-8"))
        by_title = {e.summary.value: e.dtstart.value for e in calendar.vevent_list}
        for title, moment, _wall in CASES:
            if title in by_title:
                assert by_title[title].astimezone(UTC) == moment, title
        zone = calendar.vtimezone.gettzinfo()
        for moment, wall in EDGES:
            assert moment.astimezone(zone).replace(tzinfo=None) == wall


def test_libical_reads_every_time_right_and_reports_nothing(services: Services) -> None:
    _need_libical()
    with libical.Document(_feed(services)) as feed:
        assert feed.errors() == []
        assert feed.event_starts() == {title: moment for title, moment, _wall in CASES}
        for moment, wall in EDGES:
            assert feed.wall_time("Europe/Oslo", moment) == wall


def test_invite_passes_libicals_itip_restrictions(services: Services) -> None:
    _need_libical()
    invite = _invite(services)
    assert b"METHOD:REQUEST" in invite
    with libical.Document(invite) as document:
        assert document.check_itip() == []
        assert document.event_starts() == {CASES[2][0]: CASES[2][1]}
        for moment, wall in EDGES:
            assert document.wall_time("Europe/Oslo", moment) == wall
    cancel = _invite(services, "CANCEL")
    assert b"METHOD:CANCEL" in cancel
    with libical.Document(cancel) as document:
        assert document.check_itip() == []


def test_icaljs_reads_feed_and_invite_times_right(services: Services) -> None:
    feed = _icaljs(_feed(services))
    assert feed["zones"] == ["Europe/Oslo"]
    events = feed["events"]
    assert isinstance(events, list)
    got = {e["summary"]: e["start"] for e in events}
    assert got == {t: m.strftime("%Y-%m-%dT%H:%M:%SZ") for t, m, _w in CASES}
    invite = _icaljs(_invite(services))
    (event,) = invite["events"]  # type: ignore[misc]
    assert event["start"] == "2020-03-29T01:00:00Z"
    assert event["end"] == "2020-03-29T02:00:00Z"
    assert event["location"] == "K:\\Nettverk, 2. etasje"
