"""Times across Oslo's daylight-saving changes (29 March and 25 October 2020): a winter
event, a summer one, and overnight events spanning each change, in the feed and in invites.
Checked on the raw bytes, with the VTIMEZONE's own rules (not the machine's tz database) and
with two parsers: every start and end must be the same instant as in Europe/Oslo."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.feeds import feed_document, find_feed
from bot.calendar.invites import Invitee, Organizer, build_invite
from bot.config import CalendarConfig
from bot.registry.data import EventRec, PersonRec, RegistryData, RoleRec, RoleTypeRec
from tests.calendar_checks import parse_both

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)
ORGANIZER = Organizer("coordbot@example.org", "U4SSC Norge - coordbot", "U4SSC Norge")

# key: (local start, local end, the same as UTC instants)
CASES = {
    "winter": ((2020, 1, 20, 10), (2020, 1, 20, 12), "2020-01-20T09:00", "2020-01-20T11:00"),
    "summer": ((2020, 6, 2, 10), (2020, 6, 2, 12), "2020-06-02T08:00", "2020-06-02T10:00"),
    # Clocks go 02:00 -> 03:00: 22:00 to 04:00 lasts five hours.
    "spring-night": ((2020, 3, 28, 22), (2020, 3, 29, 4), "2020-03-28T21:00", "2020-03-29T02:00"),
    # Clocks go 03:00 -> 02:00: 22:00 to 04:00 lasts seven hours.
    "autumn-night": (
        (2020, 10, 24, 22),
        (2020, 10, 25, 4),
        "2020-10-24T20:00",
        "2020-10-25T03:00",
    ),
    # A week-long event over the autumn change: it starts in summer time and ends in winter time.
    "autumn-week": ((2020, 10, 21, 9), (2020, 10, 28, 17), "2020-10-21T07:00", "2020-10-28T16:00"),
}


def _local(parts: tuple[int, int, int, int]) -> datetime:
    return datetime(*parts, tzinfo=OSLO)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _registry() -> RegistryData:
    events = tuple(
        EventRec(
            key=key,
            kind="meeting",
            title_en=key,
            title_nb=key,
            start=_local(start),
            end=_local(end),
            location="Oslo",
            description_en=key,
            contact_roles=("host",),
            updated_at=NOW,
        )
        for key, (start, end, _s, _e) in CASES.items()
    )
    host = PersonRec("host", "Host", "host@example.org", None, (RoleRec("host"),))
    return RegistryData(
        role_types=(RoleTypeRec("host", "host", "vert"),), people=(host,), events=events
    )


def _feed() -> bytes:
    data = _registry()
    return feed_document(data, find_feed(data, "programme", "en"), CalendarConfig(), "en")


def _invite(key: str) -> bytes:
    data = _registry()
    message = build_invite(
        data,
        data.event_by_key[key],
        Invitee("ola@example.org", "Ola"),
        ORGANIZER,
        method="REQUEST",
        now=NOW,
        lang="en",
    )
    part = message.get_body(preferencelist=("calendar",))
    assert part is not None
    return part.get_content().encode("utf-8")


def _check(document: bytes, keys: list[str]) -> None:
    unfolded = document.replace(b"\r\n ", b"").replace(b"\r\n", b"\n")
    calendar, vcal = parse_both(document)
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == "Europe/Oslo"
    rules = vtimezone.to_tz()  # the document's own rules, as a calendar client reads them
    by_uid = {str(e["SUMMARY"]): e for e in calendar.walk("VEVENT")}
    by_uid_vobject = {e.summary.value: e for e in vcal.contents["vevent"]}
    for key in keys:
        start, end, start_utc, end_utc = CASES[key]
        for name, local, instant in (
            ("DTSTART", _local(start), start_utc),
            ("DTEND", _local(end), end_utc),
        ):
            # Raw bytes: the Oslo wall-clock time with its TZID, as the registry has it.
            line = f"{name};TZID=Europe/Oslo:{local:%Y%m%dT%H%M%S}".encode()
            assert line in unfolded.split(b"\n"), (key, line)
            wall = local.replace(tzinfo=None)
            # The VTIMEZONE's rules put that wall-clock time at the right instant ...
            assert wall.replace(tzinfo=rules).astimezone(UTC) == _utc(instant), (key, name)
            # ... and so do both parsers.
            assert by_uid[key][name].dt.astimezone(UTC) == _utc(instant), (key, name)
            value = getattr(by_uid_vobject[key], name.lower()).value
            assert value.astimezone(UTC) == _utc(instant), (key, name)
        length = _utc(end_utc) - _utc(start_utc)
        # (Python subtracts wall-clock times of one zone naively: compare instants.)
        dtstart, dtend = by_uid[key]["DTSTART"].dt, by_uid[key]["DTEND"].dt
        assert dtend.astimezone(UTC) - dtstart.astimezone(UTC) == length


def test_feed_times_hold_across_both_daylight_saving_changes() -> None:
    _check(_feed(), list(CASES))


@pytest.mark.parametrize("key", list(CASES))
def test_invite_times_hold_across_both_daylight_saving_changes(key: str) -> None:
    _check(_invite(key), [key])
