"""Registry rows <-> immutable records, in SQLAlchemy Core: no ORM instances on the read path
or on writes, which at 100,000 people cost seconds and hundreds of MiB for nothing.

`read_registry` reads the whole registry; `write_registry` replaces it (an import);
`write_changes` writes only the records that differ between two snapshots (a chat edit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from bot.registry.data import (
    AudienceRec,
    EventRec,
    MunicipalityRec,
    OrganisationRec,
    PersonRec,
    RegistryConflict,
    RegistryData,
    RoleRec,
    RoleTypeRec,
    changed_records,
)
from bot.registry.tables import (
    Audience,
    AudienceMember,
    Event,
    EventAudience,
    MetaEntry,
    Municipality,
    Organisation,
    Person,
    Role,
    RoleType,
)

GENERATION_KEY = "registry_generation"

MUNICIPALITY: Table = Municipality.__table__  # type: ignore[assignment]
ORGANISATION: Table = Organisation.__table__  # type: ignore[assignment]
ROLE_TYPE: Table = RoleType.__table__  # type: ignore[assignment]
PERSON: Table = Person.__table__  # type: ignore[assignment]
ROLE: Table = Role.__table__  # type: ignore[assignment]
AUDIENCE: Table = Audience.__table__  # type: ignore[assignment]
AUDIENCE_MEMBER: Table = AudienceMember.__table__  # type: ignore[assignment]
EVENT: Table = Event.__table__  # type: ignore[assignment]
EVENT_AUDIENCE: Table = EventAudience.__table__  # type: ignore[assignment]
META: Table = MetaEntry.__table__  # type: ignore[assignment]

# Rows per executemany: large enough to amortise the round trip, small enough for any driver.
CHUNK = 5000


# --- the generation counter ------------------------------------------------------------------


def generation(session: Session) -> int:
    """How many times the registry was written; other processes compare it to see a change."""
    value = session.execute(select(META.c.value).where(META.c.key == GENERATION_KEY)).scalar()
    return int(value) if value is not None else 0


def bump_generation(session: Session, expected: int | None = None) -> int:
    """Record, inside the caller's transaction, that the registry changed, so every process's
    cached snapshot is renewed (call after any direct write to registry tables). With
    `expected`, raise RegistryConflict unless the counter still holds it: a compare-and-swap,
    so two writers that read the same snapshot can never both write. Returns the new value."""
    current = generation(session)
    if expected is not None and current != expected:
        raise RegistryConflict("the registry changed meanwhile")
    new = current + 1
    if current == 0 and session.get(MetaEntry, GENERATION_KEY) is None:
        session.execute(insert(META).values(key=GENERATION_KEY, value=str(new)))
        return new
    done = session.execute(
        update(META)
        .where(META.c.key == GENERATION_KEY, META.c.value == str(current))
        .values(value=str(new))
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise RegistryConflict("the registry changed meanwhile")
    return new


def set_meta(session: Session, key: str, value: str) -> None:
    """Set one meta entry inside the caller's transaction."""
    entry = session.get(MetaEntry, key)
    if entry is None:
        session.add(MetaEntry(key=key, value=value))
    else:
        entry.value = value


# --- reading ---------------------------------------------------------------------------------


def read_registry(session: Session, timezone: str = "Europe/Oslo") -> RegistryData:
    """Read the whole registry from the database into immutable records."""
    zone = ZoneInfo(timezone)
    run = session.execute
    place_key: dict[int, str] = {}
    municipalities = []
    for m in run(select(MUNICIPALITY).order_by(MUNICIPALITY.c.id)):
        place_key[m.id] = m.key
        municipalities.append(
            MunicipalityRec(m.key, m.name, tuple(m.aliases or ()), m.email_domain, m.batch)
        )
    org_key: dict[int, str] = {}
    organisations = []
    for o in run(select(ORGANISATION).order_by(ORGANISATION.c.id)):
        org_key[o.id] = o.key
        organisations.append(
            OrganisationRec(
                o.key,
                o.name,
                o.name_en,
                tuple(o.aliases or ()),
                place_key.get(o.municipality_id) if o.municipality_id else None,
                o.url,
                tuple(o.seat_names or ()),
            )
        )
    role_types = tuple(
        RoleTypeRec(r.key, r.name_en, r.name_nb, tuple(r.terms or ()))
        for r in run(select(ROLE_TYPE))
    )
    roles_of: dict[int, list[RoleRec]] = {}
    for r in run(
        select(
            ROLE.c.person_id,
            ROLE.c.role_key,
            ROLE.c.municipality_id,
            ROLE.c.organisation_id,
            ROLE.c.title,
            ROLE.c.source,
        ).order_by(ROLE.c.id)
    ):
        roles_of.setdefault(r.person_id, []).append(
            RoleRec(
                r.role_key,
                place_key.get(r.municipality_id) if r.municipality_id else None,
                org_key.get(r.organisation_id) if r.organisation_id else None,
                r.title,
                r.source,
            )
        )
    person_key: dict[int, str] = {}
    people = []
    for p in run(select(PERSON).order_by(PERSON.c.id)):
        person_key[p.id] = p.key
        people.append(
            PersonRec(p.key, p.name, p.email, p.phone, tuple(roles_of.get(p.id, ())), p.language)
        )
    members: dict[int, tuple[list[str], list[str]]] = {}
    for mem in run(select(AUDIENCE_MEMBER).order_by(AUDIENCE_MEMBER.c.id)):
        places, persons = members.setdefault(mem.audience_id, ([], []))
        if mem.municipality_id:
            places.append(place_key[mem.municipality_id])
        if mem.person_id:
            persons.append(person_key[mem.person_id])
    audience_key: dict[int, str] = {}
    audiences = []
    for a in run(select(AUDIENCE).order_by(AUDIENCE.c.id)):
        audience_key[a.id] = a.key
        places, persons = members.get(a.id, ([], []))
        audiences.append(
            AudienceRec(
                a.key,
                a.name_en,
                a.name_nb,
                tuple(a.aliases or ()),
                tuple(places),
                tuple(persons),
                tuple(a.roles or ()),
                bool(a.widen),
            )
        )
    event_audiences: dict[int, list[str]] = {}
    for link in run(select(EVENT_AUDIENCE)):
        event_audiences.setdefault(link.event_id, []).append(audience_key[link.audience_id])
    events = [
        _event_record(e, zone, event_audiences.get(e.id, []))
        for e in run(select(EVENT).order_by(EVENT.c.id))
    ]
    return RegistryData(
        tuple(municipalities),
        tuple(organisations),
        role_types,
        tuple(people),
        tuple(audiences),
        tuple(events),
        timezone,
    )


def _event_record(e: Any, zone: ZoneInfo, audiences: list[str]) -> EventRec:
    start: date | datetime
    end: date | datetime | None
    if e.all_day:
        start, end = e.start_date, e.end_date
    else:
        start = e.start_at.astimezone(zone)
        end = e.end_at.astimezone(zone) if e.end_at else None
    return EventRec(
        key=e.key,
        kind=e.kind,
        title_en=e.title_en,
        title_nb=e.title_nb,
        start=start,
        end=end,
        location=e.location,
        description_en=e.description_en,
        description_nb=e.description_nb,
        audiences=tuple(sorted(audiences)),
        contact_roles=tuple(e.contact_roles or ()),
        source=e.source,
        sequence=e.sequence,
        cancelled=e.cancelled,
        updated_at=e.updated_at,
    )


# --- writing everything (an import) ----------------------------------------------------------


def _insert_many(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        if chunk:
            session.execute(insert(table), list(chunk))


def _ids(session: Session, table: Any) -> dict[str, int]:
    return {key: id_ for id_, key in session.execute(select(table.c.id, table.c.key))}


def write_registry(session: Session, data: RegistryData, now: datetime) -> None:
    """Replace the registry's contents with `data` inside the caller's transaction.

    Events keep their SEQUENCE and change time when nothing material changed, and get a higher
    SEQUENCE when time, place or cancellation changed, so invites and feeds stay consistent.
    """
    zone = ZoneInfo(data.timezone)
    old_events = {e.key: _event_record(e, zone, []) for e in session.execute(select(EVENT))}
    old_ids = _ids(session, EVENT)
    for table in (EVENT_AUDIENCE, AUDIENCE_MEMBER, ROLE, AUDIENCE, PERSON, ORGANISATION):
        session.execute(delete(table))
    session.execute(delete(MUNICIPALITY))
    session.execute(delete(ROLE_TYPE))

    _insert_many(session, ROLE_TYPE, [_role_type_row(r) for r in data.role_types])
    _insert_many(session, MUNICIPALITY, [_municipality_row(m) for m in data.municipalities])
    places = _ids(session, MUNICIPALITY)
    _insert_many(session, ORGANISATION, [_organisation_row(o, places) for o in data.organisations])
    orgs = _ids(session, ORGANISATION)
    _insert_many(session, PERSON, [_person_row(p) for p in data.people])
    people = _ids(session, PERSON)
    _insert_many(
        session,
        ROLE,
        [_role_row(r, people[p.key], places, orgs) for p in data.people for r in p.roles],
    )
    _insert_many(session, AUDIENCE, [_audience_row(a) for a in data.audiences])
    audiences = _ids(session, AUDIENCE)
    _insert_many(
        session,
        AUDIENCE_MEMBER,
        [
            {"audience_id": audiences[a.key], "municipality_id": places[m], "person_id": None}
            for a in data.audiences
            for m in a.municipalities
        ]
        + [
            {"audience_id": audiences[a.key], "municipality_id": None, "person_id": people[k]}
            for a in data.audiences
            for k in a.people
        ],
    )

    seen = set()
    for ev in data.events:
        seen.add(ev.key)
        old = old_events.get(ev.key)
        if old is None:
            row = _event_row(ev, ev.sequence, ev.updated_at or now)
            session.execute(insert(EVENT).values(key=ev.key, **row))
        else:
            sequence, updated_at = stored_version(old, ev, now)
            session.execute(
                update(EVENT)
                .where(EVENT.c.key == ev.key)
                .values(**_event_row(ev, sequence, updated_at))
            )
    event_ids = _ids(session, EVENT)
    _insert_many(
        session,
        EVENT_AUDIENCE,
        [
            {"event_id": event_ids[ev.key], "audience_id": audiences[a]}
            for ev in data.events
            for a in ev.audiences
        ],
    )
    for key, old in old_events.items():
        # An event that disappears from the data is cancelled, not deleted: people who were
        # invited must get a CANCEL, and the UID must never be reused.
        if key not in seen and not old.cancelled:
            session.execute(
                update(EVENT)
                .where(EVENT.c.id == old_ids[key])
                .values(cancelled=True, sequence=old.sequence + 1, updated_at=now)
            )
    set_meta(session, "registry_written_at", now.isoformat())


def stored_version(old: EventRec, new: EventRec, now: datetime) -> tuple[int, datetime | None]:
    """SEQUENCE and change time of `new` stored over `old`: SEQUENCE + 1 (at least the one
    given) when time, place or cancellation changed; a new change time when the words did."""
    if _material(new) != _material(old):
        return max(old.sequence + 1, new.sequence), now
    if _descriptive(new) != _descriptive(old):
        return old.sequence, now
    return old.sequence, old.updated_at


def _material(ev: EventRec) -> tuple[object, ...]:
    return (ev.all_day, _utc(ev.start), _utc(ev.end), ev.location, ev.cancelled)


def _utc(value: date | datetime | None) -> date | datetime | None:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def _descriptive(ev: EventRec) -> tuple[object, ...]:
    return (ev.title_en, ev.title_nb, ev.description_en, ev.description_nb, ev.kind)


def _role_type_row(r: RoleTypeRec) -> dict[str, Any]:
    return {"key": r.key, "name_en": r.name_en, "name_nb": r.name_nb, "terms": list(r.terms)}


def _municipality_row(m: MunicipalityRec) -> dict[str, Any]:
    return {
        "key": m.key,
        "name": m.name,
        "aliases": list(m.aliases),
        "email_domain": m.email_domain,
        "batch": m.batch,
    }


def _organisation_row(o: OrganisationRec, places: dict[str, int]) -> dict[str, Any]:
    return {
        "key": o.key,
        "name": o.name,
        "name_en": o.name_en,
        "aliases": list(o.aliases),
        "municipality_id": places[o.municipality] if o.municipality else None,
        "url": o.url,
        "seat_names": list(o.seat_names),
    }


def _person_row(p: PersonRec) -> dict[str, Any]:
    return {
        "key": p.key,
        "name": p.name,
        "email": p.email,
        "phone": p.phone,
        "language": p.language,
    }


def _role_row(
    r: RoleRec, person_id: int, places: dict[str, int], orgs: dict[str, int]
) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "role_key": r.role,
        "title": r.title,
        "source": r.source,
        "municipality_id": places[r.municipality] if r.municipality else None,
        "organisation_id": orgs[r.organisation] if r.organisation else None,
    }


def _audience_row(a: AudienceRec) -> dict[str, Any]:
    return {
        "key": a.key,
        "name_en": a.name_en,
        "name_nb": a.name_nb,
        "aliases": list(a.aliases),
        "roles": list(a.roles),
        "widen": a.widen,
    }


def _event_row(ev: EventRec, sequence: int, updated_at: datetime | None) -> dict[str, Any]:
    timed = isinstance(ev.start, datetime)
    return {
        "kind": ev.kind,
        "title_en": ev.title_en,
        "title_nb": ev.title_nb,
        "description_en": ev.description_en,
        "description_nb": ev.description_nb,
        "location": ev.location,
        "source": ev.source,
        "cancelled": ev.cancelled,
        "contact_roles": list(ev.contact_roles),
        "all_day": ev.all_day,
        "start_at": ev.start if timed else None,
        "end_at": ev.end if timed and isinstance(ev.end, datetime) else None,
        "start_date": None if timed else ev.start,
        "end_date": (
            ev.end
            if not timed and isinstance(ev.end, date) and not isinstance(ev.end, datetime)
            else None
        ),
        "sequence": sequence,
        "updated_at": updated_at,
    }


# --- writing what changed (an edit) ----------------------------------------------------------


def write_changes(
    session: Session,
    before: RegistryData,
    after: RegistryData,
    now: datetime,
    people: list[tuple[PersonRec | None, PersonRec | None]] | None = None,
) -> tuple[EventRec, ...]:
    """Write, inside the caller's transaction, only the people and events that differ between
    `before` (as stored) and `after`; returns the changed events as stored (their SEQUENCE and
    change time set by the rules of `stored_version`). Municipalities, organisations, role
    types and audiences must be the same in both: their edits go through `write_registry`."""
    if (
        before.municipalities != after.municipalities
        or before.organisations != after.organisations
        or before.role_types != after.role_types
        or before.audiences != after.audiences
    ):
        raise ValueError("write_changes writes people and events only")
    if people is None:
        people = changed_records(before.people, after.people)
    removed = {old.key for old, new in people if new is None and old is not None}
    if any(removed & set(a.people) for a in after.audiences):
        raise ValueError("a person named in an audience is removed with an import")
    _write_people(session, people)
    return tuple(_write_events(session, before, after, now))


def _write_people(
    session: Session, changes: list[tuple[PersonRec | None, PersonRec | None]]
) -> None:
    if not changes:
        return
    places = _ids_for(
        session, MUNICIPALITY, {r.municipality for _, p in changes if p for r in p.roles}
    )
    orgs = _ids_for(
        session, ORGANISATION, {r.organisation for _, p in changes if p for r in p.roles}
    )
    for old, new in changes:
        if new is None:
            assert old is not None
            gone = select(PERSON.c.id).where(PERSON.c.key == old.key).scalar_subquery()
            session.execute(delete(ROLE).where(ROLE.c.person_id == gone))
            session.execute(delete(AUDIENCE_MEMBER).where(AUDIENCE_MEMBER.c.person_id == gone))
            session.execute(delete(PERSON).where(PERSON.c.key == old.key))
            continue
        if old is None:
            session.execute(insert(PERSON).values(**_person_row(new)))
        elif _person_row(old) != _person_row(new):
            session.execute(
                update(PERSON).where(PERSON.c.key == new.key).values(**_person_row(new))
            )
        if old is None or old.roles != new.roles:
            person_id = session.execute(
                select(PERSON.c.id).where(PERSON.c.key == new.key)
            ).scalar_one()
            session.execute(delete(ROLE).where(ROLE.c.person_id == person_id))
            _insert_many(session, ROLE, [_role_row(r, person_id, places, orgs) for r in new.roles])


def _ids_for(session: Session, table: Any, keys: set[str | None]) -> dict[str, int]:
    wanted = [k for k in keys if k]
    if not wanted:
        return {}
    rows = session.execute(select(table.c.id, table.c.key).where(table.c.key.in_(wanted)))
    return {key: id_ for id_, key in rows}


def _write_events(
    session: Session, before: RegistryData, after: RegistryData, now: datetime
) -> Iterable[EventRec]:
    for old, new in changed_records(before.events, after.events):
        if new is None:
            raise ValueError(f"event {old.key} cannot be deleted, only cancelled")
        if old is None:
            raise ValueError(f"event {new.key} is new: events are added by an import")
        if old.audiences != new.audiences:
            raise ValueError("an event's audiences are changed by an import")
        sequence, updated_at = stored_version(old, new, now)
        session.execute(
            update(EVENT)
            .where(EVENT.c.key == new.key)
            .values(**_event_row(new, sequence, updated_at))
        )
        yield replace(new, sequence=sequence, updated_at=updated_at)
