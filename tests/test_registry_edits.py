"""Registry edits (bot.registry.edits): values checked, one write per edit, SEQUENCE rules,
the audit record, feeds that follow, and finding the event a coordinator means."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar.api import feed_bytes
from bot.calendar.identity import event_uid
from bot.config import Config
from bot.registry.edits import (
    Actor,
    EditError,
    EmailEdit,
    EventEdit,
    PersonAdd,
    RoleEdit,
    apply_edit,
    find_event,
    parse_day,
    parse_times,
    recent_edits,
)
from bot.registry.tables import MetaEntry
from bot.services import Services, build_services
from tests.calendar_checks import parse_both

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

OSLO = ZoneInfo("Europe/Oslo")
KARI = Actor("telegram:1000", "Kari Koordinator")


def oslo(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A wall-clock time in Oslo."""
    return datetime(year, month, day, hour, minute, tzinfo=OSLO)


def generation(services: Services) -> str | None:
    """The registry's write counter: it moves on every write, and only then."""
    with services.db.session() as session:
        entry = session.get(MetaEntry, "registry_generation")
        return entry.value if entry else None


def feed_event(services: Services, key: str) -> icalendar.Event:
    """The VEVENT of `key` in the programme feed, checked by two parsers."""
    calendar, _ = parse_both(feed_bytes(services, "programme"))
    [found] = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == event_uid(key)]
    assert isinstance(found, icalendar.Event)
    return found


# --- events ----------------------------------------------------------------------------------


def test_moving_an_event_writes_once_bumps_its_sequence_and_reaches_the_feed(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    before = services.registry.snapshot()
    with caplog.at_level(logging.INFO, logger="bot.registry.edits"):
        outcome = apply_edit(services, EventEdit("county-meeting", "date", "2020-02-28"), KARI)

    assert outcome.changed
    assert (outcome.before.start, outcome.after.start) == (date(2020, 2, 21), date(2020, 2, 28))
    after = services.registry.snapshot()
    moved = after.event_by_key["county-meeting"]
    assert moved.start == date(2020, 2, 28) and moved.end is None
    assert moved.location == "Oslo" and not moved.cancelled
    assert moved.sequence == 1 == outcome.after.sequence
    # Nothing else moved, and no other event's SEQUENCE rose.
    for ev in before.events:
        if ev.key != "county-meeting":
            assert after.event_by_key[ev.key] == ev
    assert after.people == before.people

    vevent = feed_event(services, "county-meeting")
    assert vevent.decoded("DTSTART") == date(2020, 2, 28)
    assert vevent.decoded("SEQUENCE") == 1

    [record] = recent_edits(services.db)
    assert (record.actor, record.actor_name) == ("telegram:1000", "Kari Koordinator")
    assert (record.subject_kind, record.subject_key, record.action) == (
        "event",
        "county-meeting",
        "date",
    )
    assert record.before == "2020-02-21 @ Oslo (SEQUENCE 0)"
    assert record.after == "2020-02-28 @ Oslo (SEQUENCE 1)"
    assert any(
        r.levelno == logging.INFO and "Kari Koordinator (telegram:1000)" in r.getMessage()
        for r in caplog.records
    )


def test_an_edit_that_changes_nothing_writes_nothing(services: Services) -> None:
    written = generation(services)
    outcome = apply_edit(services, EventEdit("county-meeting", "date", "21.02.2020"), KARI)
    assert not outcome.changed
    assert outcome.after.sequence == 0
    assert generation(services) == written
    assert recent_edits(services.db) == []


def test_time_then_day_keeps_the_clock_times_across_summer_time(services: Services) -> None:
    timed = apply_edit(
        services, EventEdit("network-meeting", "time", "2020-02-21T10:00 2020-02-21T15:00"), KARI
    ).after
    assert timed.start == datetime(2020, 2, 21, 10, 0, tzinfo=OSLO)
    assert timed.end == datetime(2020, 2, 21, 15, 0, tzinfo=OSLO)
    assert timed.sequence == 1

    # 2 April 2020 is in summer time: the same wall-clock hours, a different UTC offset.
    moved = apply_edit(services, EventEdit("network-meeting", "date", "2020-04-02"), KARI).after
    assert isinstance(moved.start, datetime) and moved.start == oslo(2020, 4, 2, 10)
    assert moved.start.utcoffset() == timedelta(hours=2)
    assert moved.end == datetime(2020, 4, 2, 15, 0, tzinfo=OSLO)
    assert moved.sequence == 2

    vevent = feed_event(services, "network-meeting")
    start = vevent.decoded("DTSTART")
    assert start == datetime(2020, 4, 2, 8, 0, tzinfo=ZoneInfo("UTC"))


def test_reminders_are_planned_from_the_edited_event(services: Services) -> None:
    from schedules.fire import current_plan

    now = services.clock.now()

    def deadline_reminders() -> list[tuple[datetime, datetime]]:
        return [
            (r.due, r.useful_until)
            for r in current_plan(services, now)
            if r.event.key == "data-deadline"
        ]

    planned = deadline_reminders()
    assert planned and all(until == oslo(2020, 2, 1, 0) for _due, until in planned)
    apply_edit(services, EventEdit("data-deadline", "date", "2020-02-07"), KARI)
    moved = deadline_reminders()
    assert len(moved) == len(planned)
    assert all(until == oslo(2020, 2, 8, 0) for _due, until in moved)
    assert [due + timedelta(days=7) for due, _ in planned] == [due for due, _ in moved]
    apply_edit(services, EventEdit("data-deadline", "cancel"), KARI)
    assert deadline_reminders() == []


def test_all_day_ranges_keep_their_length_and_can_be_set(services: Services) -> None:
    spread = apply_edit(
        services, EventEdit("profiles-back", "date", "2020-03-30..2020-04-01"), KARI
    ).after
    assert (spread.start, spread.end) == (date(2020, 3, 30), date(2020, 4, 1))
    moved = apply_edit(services, EventEdit("profiles-back", "date", "14.4.2020"), KARI).after
    assert (moved.start, moved.end) == (date(2020, 4, 14), date(2020, 4, 16))
    # A timed event given two days becomes an all-day event.
    apply_edit(services, EventEdit("batch2-start", "time", "2020-03-02 09:00-10:00"), KARI)
    whole = apply_edit(
        services, EventEdit("batch2-start", "date", "2020-03-02 2020-03-03"), KARI
    ).after
    assert whole.all_day and (whole.start, whole.end) == (date(2020, 3, 2), date(2020, 3, 3))


def test_place_cancel_and_restore_each_raise_the_sequence(services: Services) -> None:
    key = "steering-group-meeting"
    placed = apply_edit(services, EventEdit(key, "place", "Trondheim"), KARI).after
    assert (placed.location, placed.sequence) == ("Trondheim", 1)
    cancelled = apply_edit(services, EventEdit(key, "cancel"), KARI).after
    assert (cancelled.cancelled, cancelled.sequence) == (True, 2)
    assert str(feed_event(services, key)["STATUS"]) == "CANCELLED"
    # Cancelling what is cancelled is no change.
    assert not apply_edit(services, EventEdit(key, "cancel"), KARI).changed
    restored = apply_edit(services, EventEdit(key, "restore"), KARI).after
    assert (restored.cancelled, restored.sequence) == (False, 3)
    cleared = apply_edit(services, EventEdit(key, "place", "-"), KARI).after
    assert (cleared.location, cleared.sequence) == (None, 4)
    assert [r.action for r in recent_edits(services.db)] == ["place", "restore", "cancel", "place"]


@pytest.mark.parametrize(
    ("action", "value", "reason"),
    [
        ("date", "2020-02-30", "bad_date"),
        ("date", "31.13.2020", "bad_date"),
        ("date", "next friday", "bad_date"),
        ("date", "", "bad_date"),
        ("date", "1899-02-21", "year_out_of_range"),
        ("date", "2020-02-28 2020-02-20", "end_before_start"),
        ("time", "2020-02-21T15:00 2020-02-21T10:00", "end_before_start"),
        ("time", "2020-02-21 10:00-10:00", "end_before_start"),
        ("time", "2020-02-21 25:00", "bad_time"),
        ("time", "2020-02-21", "bad_time"),
        ("time", "2020-02-21T10:00+01:00", "bad_time"),
        # The hour Norway skips when summer time starts.
        ("time", "2020-03-29 02:30", "no_such_time"),
        ("place", "Trondheim\r\nBcc: x@example.org", "control_character"),
        ("place", "Tromsø\x00", "control_character"),
        ("place", "Oslo\u202eolsO", "control_character"),
        ("place", "x" * 201, "too_long"),
        ("place", "   ", "empty_place"),
        ("cancel", "tomorrow", "no_value_expected"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    services: Services, action: str, value: str, reason: str
) -> None:
    before, written = services.registry.snapshot(), generation(services)
    with pytest.raises(EditError) as refused:
        apply_edit(services, EventEdit("county-meeting", action, value), KARI)  # type: ignore[arg-type]
    assert refused.value.reason == reason
    assert generation(services) == written
    assert services.registry.snapshot() == before
    assert recent_edits(services.db) == []


def test_an_unknown_key_is_refused_with_the_known_ones(services: Services) -> None:
    with pytest.raises(EditError) as refused:
        apply_edit(services, EventEdit("no-such-event", "cancel"), KARI)
    assert refused.value.reason == "unknown_event"
    assert "county-meeting" in str(refused.value.params["known"])


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2020-02-21T10:00 2020-02-21T15:00", oslo(2020, 2, 21, 10), oslo(2020, 2, 21, 15)),
        ("2020-02-21 10:00-15:00", oslo(2020, 2, 21, 10), oslo(2020, 2, 21, 15)),
        ("21.02.2020 kl 10.00 til 15.30", oslo(2020, 2, 21, 10), oslo(2020, 2, 21, 15, 30)),
        ("21.2.2020 10:00 – 22.2.2020 12:00", oslo(2020, 2, 21, 10), oslo(2020, 2, 22, 12)),
        ("2020-06-01T09:00", oslo(2020, 6, 1, 9), None),
    ],
)
def test_time_spellings(text: str, start: datetime, end: datetime | None) -> None:
    assert parse_times(text, OSLO) == (start, end)


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_both_day_spellings_read_back(day: date) -> None:
    assert parse_day(day.isoformat()) == day
    assert parse_day(f"{day.day}.{day.month}.{day.year}") == day
    assert parse_day(day.strftime("%d.%m.%Y")) == day


# --- people --------------------------------------------------------------------------------


def test_email_change_is_stored_and_checked(services: Services) -> None:
    key = "vesa-heikki-jantti"
    clean = apply_edit(services, EmailEdit(key, "vesa.jantti@bodo.kommune.no"), KARI)
    assert clean.changed and clean.findings == ()
    assert services.registry.snapshot().person_by_key[key].email == "vesa.jantti@bodo.kommune.no"

    typo = apply_edit(services, EmailEdit(key, "vesa.jantti@bodo.kommune.noo"), KARI)
    assert typo.changed
    assert [f.code for f in typo.findings] == ["email-domain-typo"]
    assert typo.findings[0].severity == "error"

    removed = apply_edit(services, EmailEdit(key, "-"), KARI)
    assert removed.after.email is None
    assert next((r.before, r.after) for r in recent_edits(services.db)) == (
        "vesa.jantti@bodo.kommune.noo",
        "-",
    )
    # The roles and everyone else are untouched.
    people = services.registry.snapshot().person_by_key
    assert people[key].roles == removed.before.roles


@pytest.mark.parametrize(
    "address",
    [
        "vesa@@bodo.kommune.no",
        "vesa jantti@bodo.kommune.no",
        "vesa@bodo.kommune.no\r\nBcc: everyone@example.org",
        "vesa@localhost",
        "not-an-address",
        "a" * 250 + "@bodo.kommune.no",
    ],
)
def test_unusable_addresses_are_refused(services: Services, address: str) -> None:
    before, written = services.registry.snapshot(), generation(services)
    with pytest.raises(EditError) as refused:
        apply_edit(services, EmailEdit("vesa-heikki-jantti", address), KARI)
    assert refused.value.reason in {"bad_address", "control_character", "too_long"}
    assert services.registry.snapshot() == before and generation(services) == written


def test_an_edit_reads_what_another_process_wrote_just_before(
    services: Services, config: Config
) -> None:
    services.registry.snapshot()  # cached in this process
    other = build_services(config, services.clock)
    try:
        apply_edit(other, EmailEdit("vesa-heikki-jantti", "vesa@bodo.kommune.no"), KARI)
    finally:
        other.close()
    apply_edit(services, EventEdit("county-meeting", "place", "Bergen"), KARI)
    data = services.registry.snapshot()
    assert data.person_by_key["vesa-heikki-jantti"].email == "vesa@bodo.kommune.no"
    assert data.event_by_key["county-meeting"].location == "Bergen"


# --- role holders --------------------------------------------------------------------------


def test_role_holders_are_added_and_removed_and_audiences_follow(services: Services) -> None:
    def batch1() -> set[str]:
        return {p.key for p in services.registry.snapshot().audience_members("batch1")}

    assert "heike-warmuth" not in batch1()
    added = apply_edit(services, RoleEdit("heike-warmuth", "data_contact", "bodo"), KARI)
    assert added.changed
    assert [p.key for p in added.holders_before] == ["vesa-heikki-jantti"]
    assert {p.key for p in added.holders_after} == {"vesa-heikki-jantti", "heike-warmuth"}
    # Her other role is kept, and a role at Bodø puts her in Bodø's audiences.
    roles = services.registry.snapshot().person_by_key["heike-warmuth"].roles
    assert [(r.role, r.municipality, r.organisation) for r in roles] == [
        ("secretariat", None, "oier"),
        ("data_contact", "bodo", None),
    ]
    assert "heike-warmuth" in batch1()
    again = apply_edit(services, RoleEdit("heike-warmuth", "data_contact", "bodo"), KARI)
    assert not again.changed

    apply_edit(services, RoleEdit("vesa-heikki-jantti", "data_contact", "bodo", remove=True), KARI)
    last = apply_edit(
        services, RoleEdit("heike-warmuth", "data_contact", "bodo", remove=True), KARI
    )
    assert last.holders_after == ()
    assert "missing-data-contact" in {f.code for f in last.findings}
    assert "heike-warmuth" not in batch1()
    latest = recent_edits(services.db)[0]
    assert (latest.action, latest.before, latest.after) == (
        "role",
        "data_contact: heike-warmuth",
        "data_contact: -",
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (RoleEdit("heike-warmuth", "data_contact", "bodo", remove=True), "not_holder"),
        (RoleEdit("heike-warmuth", "chief_wizard", "bodo"), "unknown_role"),
        (RoleEdit("heike-warmuth", "data_contact", "bergen"), "unknown_municipality"),
        (RoleEdit("nobody-at-all", "data_contact", "bodo"), "unknown_person"),
    ],
)
def test_role_edits_that_cannot_apply_are_refused(
    services: Services, edit: RoleEdit, reason: str
) -> None:
    before, written = services.registry.snapshot(), generation(services)
    with pytest.raises(EditError) as refused:
        apply_edit(services, edit, KARI)
    assert refused.value.reason == reason
    assert services.registry.snapshot() == before and generation(services) == written


def test_a_person_is_added_with_a_key_from_the_name(services: Services) -> None:
    added = apply_edit(services, PersonAdd("  Åse   Bråten ", "ase.braten@molde.kommune.no"), KARI)
    assert (added.person.key, added.person.name) == ("ase-braten", "Åse Bråten")
    stored = services.registry.snapshot().person_by_key["ase-braten"]
    assert stored.email == "ase.braten@molde.kommune.no" and stored.roles == ()
    no_address = apply_edit(services, PersonAdd("Ola Nordmann"), KARI)
    assert [f.code for f in no_address.findings] == ["missing-email"]
    latest = recent_edits(services.db)[0]
    assert (latest.action, latest.after) == ("add", "Ola Nordmann <->")


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (PersonAdd("Vesa Heikki Jäntti"), "person_exists"),
        (PersonAdd("vesa heikki jantti"), "person_exists"),
        (PersonAdd("1234"), "bad_name"),
        (PersonAdd("Kari\nBcc: x@example.org"), "control_character"),
        (PersonAdd("K" * 201), "too_long"),
        (PersonAdd("Kari Nordmann", "kari@@example.org"), "bad_address"),
    ],
)
def test_people_who_cannot_be_added_are_refused(
    services: Services, edit: PersonAdd, reason: str
) -> None:
    before, written = services.registry.snapshot(), generation(services)
    with pytest.raises(EditError) as refused:
        apply_edit(services, edit, KARI)
    assert refused.value.reason == reason
    assert services.registry.snapshot() == before and generation(services) == written


# --- which event -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "lang", "key"),
    [
        ("county-meeting", "en", "county-meeting"),
        ("Joint meeting for counties on U4SSC", "en", "county-meeting"),
        ("felles møtepunkt for fylker om u4ssc", "nb", "county-meeting"),
        ("styringsgruppemøtet", "nb", "steering-group-meeting"),
        ("network meeting", "en", "network-meeting"),
        ("cuonty-meting", "en", "county-meeting"),
    ],
)
def test_events_are_found_by_key_title_or_fuzzy_reading(
    services: Services, reference: str, lang: str, key: str
) -> None:
    match = find_event(services, reference, lang)
    assert match.event is not None and match.event.key == key


def test_several_or_no_events_are_offered_never_guessed(services: Services) -> None:
    several = find_event(services, "the meeting in Oslo", "en")
    assert several.event is None and several.ambiguous
    assert {e.key for e in several.candidates} == {
        "county-meeting",
        "network-meeting",
        "batch2-info-meeting",
    }
    # Named by no event: the closest keys and titles are offered.
    vague = find_event(services, "u4ssc", "en")
    assert vague.event is None and not vague.ambiguous
    assert vague.candidates[0].key == "u4ssc-decision"
    people = find_event(services, "Vesa Heikki Jäntti", "en")
    assert people.event is None
    nothing = find_event(services, "zzzzqqq", "en")
    assert nothing.event is None and nothing.candidates == ()


def test_an_edit_is_not_written_over_a_concurrent_write(services, monkeypatch) -> None:
    """A write by another process between the edit's read and its write is not lost: the
    edit is applied again on top of it."""
    from dataclasses import replace as dc_replace

    from bot.registry.edits.apply import apply_edit
    from bot.registry.edits.audit import Actor
    from bot.registry.edits.changes import EmailEdit
    from bot.registry.store import Registry

    original_apply = Registry.apply
    interfered = []

    def apply_after_someone_else(self, before, after):
        if not interfered:  # another process renames a municipality just before our write
            interfered.append(True)
            places = tuple(
                dc_replace(m, name="Rana kommune") if m.key == "rana" else m
                for m in before.municipalities
            )
            # A second Registry on the same database stands for the other process.
            other = Registry(services.db, services.clock)
            other.replace(dc_replace(before, municipalities=places))
        return original_apply(self, before, after)

    monkeypatch.setattr(Registry, "apply", apply_after_someone_else)
    apply_edit(services, EmailEdit("geir-graff", "geir@asker.example"), Actor("console", "Test"))
    data = services.registry.snapshot()
    assert data.person_by_key["geir-graff"].email == "geir@asker.example"
    assert data.municipality_by_key["rana"].name == "Rana kommune"
