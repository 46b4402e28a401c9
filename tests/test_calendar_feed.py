"""Subscription feeds: structure, stable UIDs, all-day and timed items, contacts, alarms."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.api import feed_bytes, feed_links
from bot.calendar.feeds import (
    UnknownFeed,
    feed_document,
    feed_events,
    find_feed,
    links_for,
    resolve_feed,
)
from bot.calendar.identity import event_uid
from bot.clock import FixedClock
from bot.config import CalendarConfig, ConfigError
from bot.services import Services
from tests.calendar_checks import assert_vtimezones, parse_both


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

OSLO = ZoneInfo("Europe/Oslo")
FIXTURES = Path(__file__).parent / "fixtures"
MEETINGS = ("county-meeting", "network-meeting", "batch2-info-meeting", "steering-group-meeting")


def _change_event(services: Services, clock: FixedClock, key: str, **changes: object) -> None:
    """Edit one event in the registry as an import would, an hour later."""
    data = services.registry.snapshot()
    events = tuple(
        dataclasses.replace(e, **changes) if e.key == key else e  # type: ignore[arg-type]
        for e in data.events
    )
    clock.advance(timedelta(hours=1))
    services.registry.replace(dataclasses.replace(data, events=events))


def test_programme_feed_is_a_published_calendar(services: Services) -> None:
    document = feed_bytes(services)
    calendar, vcal = parse_both(document)
    assert "METHOD" not in calendar
    assert str(calendar["X-WR-CALNAME"]) == str(calendar["NAME"])
    assert "Bærekraftsløftet" in str(calendar["NAME"])
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert calendar["REFRESH-INTERVAL"].to_ical() == b"PT12H"
    assert b"X-PUBLISHED-TTL:PT12H\r\n" in document
    data = services.registry.snapshot()
    uids = [str(e["UID"]) for e in calendar.walk("VEVENT")]
    assert sorted(uids) == sorted(event_uid(e.key) for e in data.events)
    assert len(vcal.contents["vevent"]) == len(data.events)
    for key in MEETINGS:
        assert event_uid(key) in uids


def test_all_day_items_have_dates_and_an_exclusive_end(services: Services) -> None:
    calendar, vcal = parse_both(feed_bytes(services))
    by_uid = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    meeting = by_uid[event_uid("steering-group-meeting")]
    assert meeting["DTSTART"].params.get("VALUE") == "DATE"
    assert meeting["DTSTART"].dt == date(2020, 4, 24)
    assert meeting["DTEND"].dt == date(2020, 4, 25)
    network = next(
        v for v in vcal.contents["vevent"] if v.uid.value == event_uid("network-meeting")
    )
    assert network.dtstart.value == date(2020, 2, 21) and network.dtend.value == date(2020, 2, 22)


def test_feed_is_byte_stable_and_dtstamp_is_the_last_change(
    services: Services, clock: FixedClock
) -> None:
    first = feed_bytes(services)
    clock.advance(timedelta(days=3))
    services.registry.invalidate()
    assert feed_bytes(services) == first  # no clock, no random UID in the output
    calendar, _ = parse_both(first)
    seeded_at = datetime(2020, 1, 15, 8, 0, tzinfo=UTC)
    assert {e["DTSTAMP"].dt for e in calendar.walk("VEVENT")} == {seeded_at}

    _change_event(services, clock, "network-meeting", location="Trondheim")
    changed, _ = parse_both(feed_bytes(services))
    event = next(e for e in changed.walk("VEVENT") if str(e["UID"]) == event_uid("network-meeting"))
    assert str(event["LOCATION"]) == "Trondheim"
    assert event["DTSTAMP"].dt == clock.now().astimezone(UTC)
    assert event["LAST-MODIFIED"].dt == clock.now().astimezone(UTC)
    assert int(event["SEQUENCE"]) == 1  # a new place is a material change


def test_title_edit_moves_dtstamp_without_raising_sequence(
    services: Services, clock: FixedClock
) -> None:
    _change_event(services, clock, "network-meeting", title_en="Network meeting, renamed")
    changed, _ = parse_both(feed_bytes(services))
    event = next(e for e in changed.walk("VEVENT") if str(e["UID"]) == event_uid("network-meeting"))
    assert str(event["SUMMARY"]) == "Network meeting, renamed"
    assert int(event["SEQUENCE"]) == 0  # a new title is not a material change
    assert event["DTSTAMP"].dt == clock.now().astimezone(UTC)


def test_timed_items_carry_tzid_and_a_vtimezone(services: Services, clock: FixedClock) -> None:
    _change_event(
        services,
        clock,
        "steering-group-meeting",
        start=datetime(2020, 4, 24, 10, 0, tzinfo=OSLO),
        end=datetime(2020, 4, 24, 12, 30, tzinfo=OSLO),
    )
    document = feed_bytes(services)
    assert b"DTSTART;TZID=Europe/Oslo:20200424T100000\r\n" in document
    calendar, vcal = parse_both(document)
    assert_vtimezones(calendar)
    meeting = next(
        v for v in vcal.contents["vevent"] if v.uid.value == event_uid("steering-group-meeting")
    )
    # vobject resolves the TZID through our VTIMEZONE: 10:00 CEST is 08:00 UTC.
    assert meeting.dtstart.value.astimezone(UTC) == datetime(2020, 4, 24, 8, 0, tzinfo=UTC)
    assert meeting.dtend.value.astimezone(UTC) == datetime(2020, 4, 24, 10, 30, tzinfo=UTC)
    assert int(meeting.sequence.value) == 1  # time changed: SEQUENCE rose
    winter = calendar.walk("VTIMEZONE")[0]
    assert {c.name for c in winter.subcomponents} == {"STANDARD", "DAYLIGHT"}


def test_description_names_who_to_contact(services: Services) -> None:
    calendar, _ = parse_both(feed_bytes(services))
    by_uid = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    steering = str(by_uid[event_uid("steering-group-meeting")]["DESCRIPTION"])
    assert "Kristian Mjøen" in steering and "kristian.mjoen@trondheim.kommune.no" in steering
    assert "Kari Aina Eik" in steering
    county = str(by_uid[event_uid("county-meeting")]["DESCRIPTION"])
    assert "Bente Kristin Malmo" in county and county.startswith("What role counties")


def test_municipality_feed_holds_its_audiences_and_programme_wide_items(
    services: Services,
) -> None:
    data = services.registry.snapshot()
    bodo = find_feed(data, "municipality-bodo", "en")
    keys = [e.key for e in feed_events(data, bodo)]
    assert "data-deadline" in keys and "profiles-back" in keys  # Bodø is in batch one
    assert "stavanger-declaration" in keys  # programme-wide
    assert "network-meeting" not in keys and "steering-group-meeting" not in keys
    calendar, _ = parse_both(feed_bytes(services, "municipality-bodo"))
    deadline = next(
        e for e in calendar.walk("VEVENT") if str(e["UID"]) == event_uid("data-deadline")
    )
    # In Bodø's feed the local data contact is Bodø's, not every municipality's.
    text = str(deadline["DESCRIPTION"])
    assert "Vesa Heikki Jäntti" in text and "Geir Graff" not in text

    trondheim = [e.key for e in feed_events(data, find_feed(data, "municipality-trondheim", "en"))]
    assert "network-meeting" in trondheim


def test_audience_feeds_and_lookup_by_alias(services: Services) -> None:
    data = services.registry.snapshot()
    spec = resolve_feed(data, "nb", audience="styringsgruppen")
    assert spec.name == "audience-steering-group"
    assert [e.key for e in feed_events(data, spec)] == ["steering-group-meeting"]
    assert resolve_feed(data, "nb", municipality="Bodo").name == "municipality-bodo"
    assert resolve_feed(data, "nb", municipality="Aalesund").name == "municipality-alesund"
    with pytest.raises(UnknownFeed, match="municipalities: "):
        resolve_feed(data, "en", municipality="Kristiansand")
    with pytest.raises(UnknownFeed):
        find_feed(data, "../etc/passwd", "en")


def test_norwegian_feed_and_cancelled_items(services: Services, clock: FixedClock) -> None:
    _change_event(services, clock, "county-meeting", cancelled=True)
    calendar, _ = parse_both(feed_bytes(services, "audience-counties", lang="nb"))
    event = calendar.walk("VEVENT")[0]
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    assert str(event["SUMMARY"]).startswith("AVLYST: Felles møtepunkt for fylker")
    assert "VALARM" not in [c.name for c in event.subcomponents]


def test_optional_alarm(services: Services) -> None:
    data = services.registry.snapshot()
    config = CalendarConfig(alarm_minutes=90)
    document = feed_document(data, find_feed(data, "programme", "en"), config, "en")
    calendar, vcal = parse_both(document)
    alarms = [a for e in calendar.walk("VEVENT") for a in e.walk("VALARM")]
    assert len(alarms) == len(data.events)
    assert alarms[0]["TRIGGER"].dt == timedelta(minutes=-90)
    assert str(alarms[0]["ACTION"]) == "DISPLAY"
    assert vcal.vevent.valarm.trigger.value == timedelta(minutes=-90)


def test_links_are_https_or_http_and_webcal(services: Services) -> None:
    data = services.registry.snapshot()
    links = links_for(data, CalendarConfig(listen="127.0.0.1:8080"), "en")
    programme = links[0]
    assert programme.url == "http://127.0.0.1:8080/calendar/programme.ics"
    assert programme.webcal_url == "webcal://127.0.0.1:8080/calendar/programme.ics"
    names = {link.name for link in links}
    assert {"audience-steering-group", "municipality-bodo"} <= names

    public = CalendarConfig(public_base_url="https://kalender.example.org/")
    private = CalendarConfig(public_feeds=False, feed_token="s3cret-t0ken")
    assert links_for(data, public, "en")[0].webcal_url == (
        "webcal://kalender.example.org/calendar/programme.ics"
    )
    assert links_for(data, private, "en", "https://k.example.org")[0].url == (
        "https://k.example.org/calendar/s3cret-t0ken/programme.ics"
    )
    # Listening on port 0 without a public URL or a running server, there is no link.
    no_url = dataclasses.replace(
        services,
        config=dataclasses.replace(
            services.config,
            calendar=CalendarConfig(listen="127.0.0.1:0"),
        ),
    )
    with pytest.raises(ConfigError, match="public_base_url"):
        feed_links(no_url)
    assert feed_links(services, base_url="http://127.0.0.1:4321")[0].url == (
        "http://127.0.0.1:4321/calendar/programme.ics"
    )


def test_feed_fixture_parses_in_both_parsers() -> None:
    document = (FIXTURES / "feed-programme.ics").read_bytes()
    calendar, vcal = parse_both(document)
    assert "METHOD" not in calendar
    assert {str(e["UID"]) for e in calendar.walk("VEVENT")} >= {event_uid(k) for k in MEETINGS}
    assert len(vcal.contents["vevent"]) == len(calendar.walk("VEVENT"))
