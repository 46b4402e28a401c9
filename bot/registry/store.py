"""The registry service: the database is the truth, `snapshot()` an immutable copy to search."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from bot.clock import Clock
from bot.db import Database
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
    load_registry_file,
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


def write_registry(session: Session, data: RegistryData, now: datetime) -> None:
    """Replace the registry's contents with `data` inside the caller's transaction.

    Events keep their SEQUENCE and change time when nothing material changed, and get a higher
    SEQUENCE when time, place or cancellation changed, so invites and feeds stay consistent.
    """
    old_events = {e.key: e for e in session.scalars(select(Event))}
    for table in (EventAudience, AudienceMember, Role):
        session.execute(delete(table))
    for table2 in (Audience, Person, Organisation, Municipality, RoleType):
        session.execute(delete(table2))
    session.flush()

    session.add_all(
        RoleType(key=r.key, name_en=r.name_en, name_nb=r.name_nb, terms=list(r.terms))
        for r in data.role_types
    )
    places = {
        m.key: Municipality(
            key=m.key,
            name=m.name,
            aliases=list(m.aliases),
            email_domain=m.email_domain,
            batch=m.batch,
        )
        for m in data.municipalities
    }
    session.add_all(places.values())
    session.flush()
    orgs = {
        o.key: Organisation(
            key=o.key,
            name=o.name,
            name_en=o.name_en,
            aliases=list(o.aliases),
            municipality_id=places[o.municipality].id if o.municipality else None,
            url=o.url,
            seat_names=list(o.seat_names),
        )
        for o in data.organisations
    }
    session.add_all(orgs.values())
    session.flush()
    people: dict[str, Person] = {}
    for p in data.people:
        person = Person(key=p.key, name=p.name, email=p.email, phone=p.phone, language=p.language)
        person.roles = [
            Role(
                role_key=r.role,
                title=r.title,
                source=r.source,
                municipality_id=places[r.municipality].id if r.municipality else None,
                organisation_id=orgs[r.organisation].id if r.organisation else None,
            )
            for r in p.roles
        ]
        people[p.key] = person
    session.add_all(people.values())
    session.flush()
    audiences: dict[str, Audience] = {}
    for a in data.audiences:
        audience = Audience(
            key=a.key,
            name_en=a.name_en,
            name_nb=a.name_nb,
            aliases=list(a.aliases),
            roles=list(a.roles),
            widen=a.widen,
        )
        session.add(audience)
        session.flush()
        audiences[a.key] = audience
        session.add_all(
            AudienceMember(audience_id=audience.id, municipality_id=places[m].id)
            for m in a.municipalities
        )
        session.add_all(
            AudienceMember(audience_id=audience.id, person_id=people[k].id) for k in a.people
        )

    seen_events = set()
    for ev in data.events:
        seen_events.add(ev.key)
        row = old_events.get(ev.key)
        if row is None:
            row = Event(key=ev.key, sequence=ev.sequence, updated_at=ev.updated_at or now)
            session.add(row)
            _fill_event(row, ev)
        else:
            material_before, descriptive_before = _material(row), _descriptive(row)
            _fill_event(row, ev)
            if _material(row) != material_before:
                row.sequence = max(row.sequence + 1, ev.sequence)
                row.updated_at = now
            elif _descriptive(row) != descriptive_before:
                row.updated_at = now
        session.flush()
        session.add_all(
            EventAudience(event_id=row.id, audience_id=audiences[a].id) for a in ev.audiences
        )
    for key, row in old_events.items():
        # An event that disappears from the data is cancelled, not deleted: people who were
        # invited must get a CANCEL, and the UID must never be reused.
        if key not in seen_events and not row.cancelled:
            row.cancelled = True
            row.sequence += 1
            row.updated_at = now
    _set_meta(session, "registry_written_at", now.isoformat())
    bump_generation(session)


def bump_generation(session: Session) -> None:
    """Record, inside the caller's transaction, that the registry changed, so every process's
    cached snapshot is renewed (call after any direct write to registry tables)."""
    _set_meta(session, "registry_generation", str(_generation(session) + 1))


def _generation(session: Session) -> int:
    """How many times the registry was written; other processes compare it to see a change."""
    entry = session.get(MetaEntry, "registry_generation")
    return int(entry.value) if entry is not None else 0


def _material(row: Event) -> tuple[object, ...]:
    return (
        row.all_day,
        row.start_date,
        row.end_date,
        row.start_at,
        row.end_at,
        row.location,
        row.cancelled,
    )


def _descriptive(row: Event) -> tuple[object, ...]:
    return (row.title_en, row.title_nb, row.description_en, row.description_nb, row.kind)


def _fill_event(row: Event, ev: EventRec) -> None:
    row.kind, row.title_en, row.title_nb = ev.kind, ev.title_en, ev.title_nb
    row.description_en, row.description_nb = ev.description_en, ev.description_nb
    row.location, row.source, row.cancelled = ev.location, ev.source, ev.cancelled
    row.contact_roles = list(ev.contact_roles)
    row.all_day = ev.all_day
    if isinstance(ev.start, datetime):
        row.start_at = ev.start
        row.end_at = ev.end if isinstance(ev.end, datetime) else None
        row.start_date = row.end_date = None
    else:
        row.start_date = ev.start
        row.end_date = (
            ev.end if isinstance(ev.end, date) and not isinstance(ev.end, datetime) else None
        )
        row.start_at = row.end_at = None


def _set_meta(session: Session, key: str, value: str) -> None:
    entry = session.get(MetaEntry, key)
    if entry is None:
        session.add(MetaEntry(key=key, value=value))
    else:
        entry.value = value


def read_registry(session: Session, timezone: str = "Europe/Oslo") -> RegistryData:
    """Read the whole registry from the database into immutable records."""
    zone = ZoneInfo(timezone)
    place_key = {m.id: m.key for m in session.scalars(select(Municipality))}
    org_key = {o.id: o.key for o in session.scalars(select(Organisation))}
    person_key: dict[int, str] = {}
    municipalities = tuple(
        MunicipalityRec(m.key, m.name, tuple(m.aliases or ()), m.email_domain, m.batch)
        for m in session.scalars(select(Municipality).order_by(Municipality.id))
    )
    organisations = tuple(
        OrganisationRec(
            o.key,
            o.name,
            o.name_en,
            tuple(o.aliases or ()),
            place_key.get(o.municipality_id) if o.municipality_id else None,
            o.url,
            tuple(o.seat_names or ()),
        )
        for o in session.scalars(select(Organisation).order_by(Organisation.id))
    )
    role_types = tuple(
        RoleTypeRec(r.key, r.name_en, r.name_nb, tuple(r.terms or ()))
        for r in session.scalars(select(RoleType))
    )
    people = []
    # One query for every role, not one per person: the registry may hold thousands of people.
    for p in session.scalars(
        select(Person).options(selectinload(Person.roles)).order_by(Person.id)
    ):
        person_key[p.id] = p.key
        roles = tuple(
            RoleRec(
                r.role_key,
                place_key.get(r.municipality_id) if r.municipality_id else None,
                org_key.get(r.organisation_id) if r.organisation_id else None,
                r.title,
                r.source,
            )
            for r in p.roles
        )
        people.append(PersonRec(p.key, p.name, p.email, p.phone, roles, p.language))
    members: dict[int, tuple[list[str], list[str]]] = {}
    for mem in session.scalars(select(AudienceMember).order_by(AudienceMember.id)):
        places, persons = members.setdefault(mem.audience_id, ([], []))
        if mem.municipality_id:
            places.append(place_key[mem.municipality_id])
        if mem.person_id:
            persons.append(person_key[mem.person_id])
    audience_key = {}
    audiences = []
    for a in session.scalars(select(Audience).order_by(Audience.id)):
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
    for link in session.scalars(select(EventAudience)):
        event_audiences.setdefault(link.event_id, []).append(audience_key[link.audience_id])
    events = []
    for e in session.scalars(select(Event).order_by(Event.id)):
        start: date | datetime
        end: date | datetime | None
        if e.all_day:
            assert e.start_date is not None
            start, end = e.start_date, e.end_date
        else:
            assert e.start_at is not None
            start = e.start_at.astimezone(zone)
            end = e.end_at.astimezone(zone) if e.end_at else None
        events.append(
            EventRec(
                key=e.key,
                kind=e.kind,
                title_en=e.title_en,
                title_nb=e.title_nb,
                start=start,
                end=end,
                location=e.location,
                description_en=e.description_en,
                description_nb=e.description_nb,
                audiences=tuple(sorted(event_audiences.get(e.id, []))),
                contact_roles=tuple(e.contact_roles or ()),
                source=e.source,
                sequence=e.sequence,
                cancelled=e.cancelled,
                updated_at=e.updated_at,
            )
        )
    return RegistryData(
        municipalities,
        organisations,
        role_types,
        tuple(people),
        tuple(audiences),
        tuple(events),
        timezone,
    )


class Registry:
    """Reads and writes the registry; keeps one immutable snapshot, renewed after each write."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        timezone: str = "Europe/Oslo",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._monotonic = monotonic
        self._clock = clock
        self._timezone = timezone
        self._lock = threading.Lock()
        self._snapshot: RegistryData | None = None
        self._snapshot_generation = -1
        self._checked_at = 0.0
        self._version = 0

    def ensure_seeded(self, seed_file: Path, *, auto_upgrade: bool = True) -> bool:
        """Create or upgrade the schema (see Database.create_schema), and fill an empty
        registry from the seed file. True if seeded."""
        self._db.create_schema(auto_upgrade=auto_upgrade)
        with self._db.session() as session:
            if session.get(MetaEntry, "registry_written_at") is not None:
                return False
        data = load_registry_file(seed_file)
        self.replace(data)
        return True

    def replace(self, data: RegistryData, *, based_on: RegistryData | None = None) -> None:
        """Replace the whole registry in one transaction (all or nothing). With `based_on`
        (the snapshot `data` was derived from), raise RegistryConflict instead of writing when
        another process wrote the registry since that snapshot was read."""
        with self._db.session() as session:
            if based_on is not None and _generation(session) != based_on.generation:
                raise RegistryConflict("the registry changed meanwhile")
            write_registry(session, data, self._clock.now().astimezone(UTC))
        self.invalidate()

    def invalidate(self) -> None:
        """Forget the cached snapshot (after any write to registry tables)."""
        with self._lock:
            self._snapshot = None

    def snapshot(self) -> RegistryData:
        """The current registry as immutable records, cached until this process writes it or
        (checked at most once a second) another process, such as `coordbot registry import`, did."""
        with self._lock:
            if self._snapshot is not None and self._monotonic() - self._checked_at >= 1.0:
                self._checked_at = self._monotonic()
                with self._db.session() as session:
                    if _generation(session) != self._snapshot_generation:
                        self._snapshot = None
            if self._snapshot is None:
                with self._db.session() as session:
                    data = read_registry(session, self._timezone)
                    self._snapshot_generation = _generation(session)
                self._checked_at = self._monotonic()
                self._version += 1
                self._snapshot = RegistryData(
                    data.municipalities,
                    data.organisations,
                    data.role_types,
                    data.people,
                    data.audiences,
                    data.events,
                    data.timezone,
                    self._version,
                    self._snapshot_generation,
                )
            return self._snapshot
