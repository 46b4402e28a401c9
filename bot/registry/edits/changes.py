"""What each kind of edit does to the registry data (pure: nothing is read or written here)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.registry.data import EventRec, PersonRec, RegistryData, RoleRec
from bot.registry.edits.values import (
    ECHO_CHARS,
    MAX_NAME_CHARS,
    EditError,
    EventAction,
    checked_address,
    checked_place,
    checked_text,
    local_moment,
    parse_days,
    parse_times,
)
from bot.textnorm import slug


@dataclass(frozen=True)
class EventEdit:
    """One change to an event: an action with its argument text (unparsed until applied, so
    a move to another day keeps the times the event has then)."""

    event_key: str
    action: EventAction
    value: str = ""


@dataclass(frozen=True)
class EmailEdit:
    """A person's new e-mail address ("-" or None removes it)."""

    person_key: str
    address: str | None


@dataclass(frozen=True)
class RoleEdit:
    """A person takes on a role at a municipality, or (`remove`) gives it up."""

    person_key: str
    role: str
    municipality: str
    remove: bool = False


@dataclass(frozen=True)
class PersonAdd:
    """A new person, with an optional e-mail address; their key is made from the name."""

    name: str
    address: str | None = None


Edit = EventEdit | EmailEdit | RoleEdit | PersonAdd


def changed_registry(data: RegistryData, edit: Edit, zone: ZoneInfo) -> RegistryData:
    """`data` with `edit` applied (equal to `data` when the edit changes nothing); raises
    EditError for an unknown key or a value that cannot be used."""
    if isinstance(edit, EventEdit):
        changed = edited_event(event_of(data, edit.event_key), edit.action, edit.value, zone)
        events = tuple(changed if e.key == changed.key else e for e in data.events)
        return dataclasses.replace(data, events=events)
    if isinstance(edit, PersonAdd):
        return dataclasses.replace(data, people=(*data.people, new_person(data, edit)))
    person = person_of(data, edit.person_key)
    if isinstance(edit, EmailEdit):
        changed_person = dataclasses.replace(person, email=checked_address(edit.address))
    else:
        changed_person = _with_role(data, person, edit)
    people = list(data.people)
    people[data.position(person.key)] = changed_person
    return dataclasses.replace(data, people=tuple(people))


def new_person(data: RegistryData, edit: PersonAdd) -> PersonRec:
    """The person `edit` adds; EditError for an unusable name or address, or a name whose key
    is taken."""
    name = " ".join(checked_text(edit.name, MAX_NAME_CHARS).split())
    key = slug(name)
    if not key or not any(ch.isalpha() for ch in name):
        raise EditError("bad_name", name=name[:ECHO_CHARS])
    taken = data.person_by_key.get(key)
    if taken is not None:
        raise EditError("person_exists", person=taken.name, key=key)
    return PersonRec(key, name, checked_address(edit.address))


def event_of(data: RegistryData, key: str) -> EventRec:
    """The event with `key`; EditError naming the known keys otherwise."""
    ev = data.event_by_key.get(key)
    if ev is None:
        raise EditError("unknown_event", event=key, known=", ".join(sorted(data.event_by_key)))
    return ev


def person_of(data: RegistryData, key: str) -> PersonRec:
    """The person with `key`; EditError otherwise."""
    person = data.person_by_key.get(key)
    if person is None:
        raise EditError("unknown_person", person=key)
    return person


def edited_event(ev: EventRec, action: EventAction, value: str, zone: ZoneInfo) -> EventRec:
    """The event with one action applied; raises EditError."""
    value = value.strip()
    if action == "date":
        start, end = _new_days(ev, value, zone)
        return dataclasses.replace(ev, start=start, end=end)
    if action == "time":
        start_at, end_at = parse_times(value, zone)
        return dataclasses.replace(ev, start=start_at, end=end_at)
    if action == "place":
        return dataclasses.replace(ev, location=checked_place(value))
    if value:
        raise EditError("no_value_expected", action=action, value=value[:ECHO_CHARS])
    return dataclasses.replace(ev, cancelled=action == "cancel")


def _new_days(
    ev: EventRec, value: str, zone: ZoneInfo
) -> tuple[date | datetime, date | datetime | None]:
    """`date D` moves the event to day D keeping its clock times (timed) or its length
    (all-day); `date D1 D2` makes it an all-day event from D1 to D2, both included."""
    first, last = parse_days(value)
    if last is not None:
        return first, (last if last != first else None)
    if isinstance(ev.start, datetime):
        start_local = ev.start.astimezone(zone)
        start = local_moment(first, start_local.time(), zone)
        if not isinstance(ev.end, datetime):
            return start, None
        end_local = ev.end.astimezone(zone)
        end_day = first + (end_local.date() - start_local.date())
        return start, local_moment(end_day, end_local.time(), zone)
    if ev.end is None:
        return first, None
    return first, first + (ev.end_date - ev.start_date)


def _with_role(data: RegistryData, person: PersonRec, edit: RoleEdit) -> PersonRec:
    if edit.role not in data.role_type_by_key:
        raise EditError("unknown_role", role=edit.role, known=", ".join(data.role_type_by_key))
    place = data.municipality_by_key.get(edit.municipality)
    if place is None:
        raise EditError("unknown_municipality", municipality=edit.municipality)

    def here(role: RoleRec) -> bool:
        return role.role == edit.role and role.municipality == edit.municipality

    if not edit.remove:
        if any(here(r) for r in person.roles):
            return person
        return dataclasses.replace(
            person, roles=(*person.roles, RoleRec(edit.role, municipality=edit.municipality))
        )
    if not any(here(r) for r in person.roles):
        role_name = data.role_type_by_key[edit.role].name_en
        raise EditError("not_holder", person=person.name, role=role_name, municipality=place.name)
    return dataclasses.replace(person, roles=tuple(r for r in person.roles if not here(r)))
