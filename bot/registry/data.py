"""The registry as plain, immutable data, and the reader of the hand-edited bot/data/registry.toml.

`RegistryData` is the one shape the registry has outside the database: the TOML seed, CSV
import/export and the in-memory snapshot the answer engine searches all use it.
"""

from __future__ import annotations

import re
import tomllib
from bisect import insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.textnorm import FORMAT_CONTROLS

EVENT_KINDS = ("meeting", "deadline", "milestone")


# The languages a person's messages can be written in.
LANGUAGES = ("en", "nb", "nn")


class RegistryFileError(ValueError):
    """A registry file that cannot be loaded; `problems` lists every problem with its place."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class RegistryConflict(RuntimeError):
    """A write based on a snapshot that another writer has since replaced."""


# The registry holds English and bokmål names; nynorsk replies use the bokmål ones.
NORWEGIAN = frozenset({"nb", "nn"})


@dataclass(frozen=True)
class MunicipalityRec:
    """A municipality."""

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    email_domain: str | None = None
    batch: int | None = None


@dataclass(frozen=True)
class OrganisationRec:
    """An organisation or body."""

    key: str
    name: str
    name_en: str | None = None
    aliases: tuple[str, ...] = ()
    municipality: str | None = None
    url: str | None = None
    # Names of the city the organisation sits in when that city is not a registered
    # municipality (English first, then other spellings: "Vienna", "Wien").
    seat_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoleTypeRec:
    """A kind of role, its names and the words people use for it."""

    key: str
    name_en: str
    name_nb: str
    terms: tuple[str, ...] = ()

    def name(self, lang: str) -> str:
        """The role's name in `lang` (nynorsk reads the bokmål name)."""
        return self.name_nb if lang in NORWEGIAN else self.name_en


@dataclass(frozen=True)
class RoleRec:
    """One role held by a person."""

    role: str
    municipality: str | None = None
    organisation: str | None = None
    title: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PersonRec:
    """A person and the roles they hold."""

    key: str
    name: str
    email: str | None = None
    phone: str | None = None
    roles: tuple[RoleRec, ...] = ()
    # The language mail and chat messages to this person are written in: en, nb or nn
    # (None: bot.default_language).
    language: str | None = None


@dataclass(frozen=True)
class AudienceRec:
    """An audience: named people, the holders of `roles`, and its municipalities.

    Without `roles` an audience reaches everyone with a role in its municipalities (a batch
    of municipalities). With `roles` (the network: its representatives) it reaches the
    holders of those roles; every contact of its municipalities only when `widen` is set, or
    a coordinator asks for it (`coordbot broadcast --widen`).
    """

    key: str
    name_en: str
    name_nb: str
    aliases: tuple[str, ...] = ()
    municipalities: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    widen: bool = False

    def name(self, lang: str) -> str:
        """The audience's name in `lang`."""
        return self.name_nb if lang in NORWEGIAN else self.name_en


@dataclass(frozen=True)
class EventRec:
    """A meeting, deadline or milestone. `start`/`end` are both dates (all-day; `end` inclusive)
    or both aware datetimes; `end` None means a single day or an instant."""

    key: str
    kind: str
    title_en: str
    title_nb: str
    start: date | datetime
    end: date | datetime | None = None
    location: str | None = None
    description_en: str | None = None
    description_nb: str | None = None
    audiences: tuple[str, ...] = ()
    contact_roles: tuple[str, ...] = ()
    source: str | None = None
    sequence: int = 0
    cancelled: bool = False
    updated_at: datetime | None = None

    @property
    def all_day(self) -> bool:
        """True when the item has dates, not times."""
        return not isinstance(self.start, datetime)

    @property
    def start_date(self) -> date:
        """The (local) date the item starts on."""
        return self.start.date() if isinstance(self.start, datetime) else self.start

    @property
    def end_date(self) -> date:
        """The (local) date the item ends on, inclusive."""
        end = self.end if self.end is not None else self.start
        return end.date() if isinstance(end, datetime) else end

    def title(self, lang: str) -> str:
        """The title in `lang`."""
        return self.title_nb if lang in NORWEGIAN else self.title_en

    def description(self, lang: str) -> str | None:
        """The description in `lang`, falling back to the other language."""
        if lang in NORWEGIAN:
            return self.description_nb or self.description_en
        return self.description_en or self.description_nb


# How the snapshot files people (by role, by municipality, by address): used both to build
# the lookups and to re-file edited people in them (RegistryData.carry_lookups).
def _roles_of(person: PersonRec) -> set[str]:
    return {r.role for r in person.roles}


def _places_of(person: PersonRec) -> set[str]:
    return {r.municipality for r in person.roles if r.municipality}


def _address_of(person: PersonRec) -> set[str]:
    return {person.email.strip().lower()} if person.email else set()


def _people_by(
    people: Sequence[PersonRec], keys_of: Callable[[PersonRec], set[str]]
) -> dict[str, tuple[PersonRec, ...]]:
    """Key -> everyone filed under it, in registry order."""
    found: dict[str, list[PersonRec]] = {}
    for person in people:
        for key in keys_of(person):
            found.setdefault(key, []).append(person)
    return {key: tuple(group) for key, group in found.items()}


@dataclass(frozen=True)
class RegistryData:
    """The whole registry as immutable records, with lookups by key."""

    municipalities: tuple[MunicipalityRec, ...] = ()
    organisations: tuple[OrganisationRec, ...] = ()
    role_types: tuple[RoleTypeRec, ...] = ()
    people: tuple[PersonRec, ...] = ()
    audiences: tuple[AudienceRec, ...] = ()
    events: tuple[EventRec, ...] = ()
    timezone: str = "Europe/Oslo"
    version: int = field(default=0, compare=False)
    # The database's write counter when this copy was read (-1: not read from a database).
    generation: int = field(default=-1, compare=False)

    @cached_property
    def municipality_by_key(self) -> dict[str, MunicipalityRec]:
        """Municipalities by key."""
        return {m.key: m for m in self.municipalities}

    @cached_property
    def organisation_by_key(self) -> dict[str, OrganisationRec]:
        """Organisations by key."""
        return {o.key: o for o in self.organisations}

    @cached_property
    def role_type_by_key(self) -> dict[str, RoleTypeRec]:
        """Role types by key."""
        return {r.key: r for r in self.role_types}

    @cached_property
    def person_by_key(self) -> dict[str, PersonRec]:
        """People by key."""
        return {p.key: p for p in self.people}

    @cached_property
    def audience_by_key(self) -> dict[str, AudienceRec]:
        """Audiences by key."""
        return {a.key: a for a in self.audiences}

    @cached_property
    def event_by_key(self) -> dict[str, EventRec]:
        """Events by key."""
        return {e.key: e for e in self.events}

    @cached_property
    def _positions(self) -> dict[str, int]:
        return {p.key: i for i, p in enumerate(self.people)}

    def position(self, person_key: str) -> int:
        """Where a person stands in registry order (lists of people are given in it)."""
        return self._positions[person_key]

    @cached_property
    def _holdings(self) -> dict[str, tuple[PersonRec, ...]]:
        return _people_by(self.people, _roles_of)

    @cached_property
    def _at_place(self) -> dict[str, tuple[PersonRec, ...]]:
        return _people_by(self.people, _places_of)

    @cached_property
    def _by_address(self) -> dict[str, tuple[PersonRec, ...]]:
        return _people_by(self.people, _address_of)

    def people_with_address(self, address: str) -> tuple[PersonRec, ...]:
        """Everyone registered with this e-mail address (case and spaces aside)."""
        return self._by_address.get(address.strip().lower(), ())

    def build_lookups(self) -> None:
        """Build the people lookups now (after a full read, off the event loop) rather than
        in the first edit or question that needs one; edits then carry them forward."""
        for name in ("person_by_key", "_positions", "_holdings", "_at_place", "_by_address"):
            getattr(self, name)

    def carry_lookups(
        self,
        before: RegistryData,
        changes: list[tuple[PersonRec | None, PersonRec | None]],
    ) -> None:
        """Fill this registry's lookups from `before`'s, adjusted for the changed people
        ((old, new) pairs; None for added or removed), instead of building them again over
        everyone: an edit of one person then costs the same at any size. Only lookups
        `before` has built are carried; this registry must be `before` with `changes` applied
        (same other records)."""
        built = before.__dict__
        mine = self.__dict__
        for name in ("municipality_by_key", "organisation_by_key", "role_type_by_key",
                     "audience_by_key"):  # fmt: skip
            if name in built:
                mine[name] = built[name]
        if "event_by_key" in built:
            events = built["event_by_key"]
            if self.events is not before.events:
                events = dict(events)
                events.update((e.key, e) for e in self.events if events.get(e.key) is not e)
            mine["event_by_key"] = events
        if any(old is None or new is None for old, new in changes):
            return  # people added or removed move positions: build afresh when asked
        if "_positions" in built:
            mine["_positions"] = built["_positions"]  # nobody moved
        if "person_by_key" in built:
            people = dict(built["person_by_key"])
            people.update((new.key, new) for _, new in changes if new is not None)
            mine["person_by_key"] = people
        positions = mine.get("_positions")
        if positions is None:
            return
        order = positions.__getitem__
        for name, keys_of in (
            ("_holdings", _roles_of),
            ("_at_place", _places_of),
            ("_by_address", _address_of),
        ):
            if name not in built:
                continue
            lookup: dict[str, tuple[PersonRec, ...]] = dict(built[name])
            for old, new in changes:
                assert old is not None and new is not None
                for key in keys_of(old) | keys_of(new):
                    rest = [p for p in lookup.get(key, ()) if p.key != old.key]
                    if key in keys_of(new):
                        insort(rest, new, key=lambda p: order(p.key))
                    if rest:
                        lookup[key] = tuple(rest)
                    else:
                        lookup.pop(key, None)
            mine[name] = lookup

    def in_audience(self, person: PersonRec, audience_key: str) -> bool:
        """Whether `audience_members(audience_key)` includes `person`, without listing them."""
        audience = self.audience_by_key[audience_key]
        if person.key in audience.people or any(r.role in audience.roles for r in person.roles):
            return True
        wide = not audience.roles or audience.widen
        return wide and any(r.municipality in audience.municipalities for r in person.roles)

    def people_at(self, municipality: str) -> tuple[PersonRec, ...]:
        """Everyone with a role at a municipality, in registry order."""
        return self._at_place.get(municipality, ())

    def audience_members(self, audience_key: str, widen: bool | None = None) -> list[PersonRec]:
        """Everyone an audience reaches, each once, in registry order: its named people, the
        holders of its roles, and (without roles, or when widened: `widen`, else the
        audience's own setting) everyone with a role in one of its municipalities."""
        audience = self.audience_by_key[audience_key]
        wide = not audience.roles or (audience.widen if widen is None else widen)
        found: dict[str, PersonRec] = {}
        for key in audience.people:
            if key in self.person_by_key:
                found[key] = self.person_by_key[key]
        for role in audience.roles:
            found.update((p.key, p) for p in self._holdings.get(role, ()))
        if wide:
            for place in audience.municipalities:
                found.update((p.key, p) for p in self._at_place.get(place, ()))
        return sorted(found.values(), key=lambda p: self._positions[p.key])

    def holders(
        self, role: str, *, municipality: str | None = None, organisation: str | None = None
    ) -> list[PersonRec]:
        """People holding `role`, optionally at a municipality and/or organisation, in
        registry order."""
        candidates = self._holdings.get(role, ())
        if municipality is None and organisation is None:
            return list(candidates)
        if municipality is not None:
            at = self._at_place.get(municipality, ())
            if len(at) < len(candidates):
                candidates = at
        return [
            p
            for p in candidates
            if any(
                r.role == role
                and (municipality is None or r.municipality == municipality)
                and (organisation is None or r.organisation == organisation)
                for r in p.roles
            )
        ]


# --- what changed between two snapshots ---------------------------------------------------


def _differing(old: Sequence[Any], new: Sequence[Any], lo: int, hi: int) -> Iterable[int]:
    """Positions in [lo, hi) where `old` and `new` hold unequal records. Tuple comparison runs
    in C and passes identical elements by identity, so halving finds one change among
    100,000 records in well under a millisecond."""
    if old[lo:hi] == new[lo:hi]:
        return
    if hi - lo <= 32:
        yield from (i for i in range(lo, hi) if old[i] != new[i])
        return
    middle = (lo + hi) // 2
    yield from _differing(old, new, lo, middle)
    yield from _differing(old, new, middle, hi)


def changed_records(old: Sequence[Any], new: Sequence[Any]) -> list[tuple[Any, Any]]:
    """(old, new) pairs of records, by key, that differ; (None, new) for added ones and
    (old, None) for removed ones. A snapshot edited with dataclasses.replace shares every
    untouched record in the same place, so the common case is one pass of identity tests."""
    if len(new) >= len(old):
        pairs = [(old[i], new[i]) for i in _differing(old, new[: len(old)], 0, len(old))]
        if all(before.key == after.key for before, after in pairs):
            return pairs + [(None, added) for added in new[len(old) :]]
    by_key = {r.key: r for r in old}
    pairs = []
    for record in new:
        previous = by_key.pop(record.key, None)
        if previous is not record and previous != record:
            pairs.append((previous, record))
    return pairs + [(gone, None) for gone in by_key.values()]


def few_changed_records(
    old: Sequence[Any], new: Sequence[Any], limit: int
) -> list[tuple[Any, Any]] | None:
    """changed_records when at most `limit` records changed in place (none added, removed or
    moved), else None: found without comparing everything when a whole import changed."""
    if len(new) != len(old):
        return None
    positions = list(islice(_differing(old, new, 0, len(old)), limit + 1))
    if len(positions) > limit:
        return None
    pairs = [(old[i], new[i]) for i in positions]
    return pairs if all(before.key == after.key for before, after in pairs) else None


# --- reading bot/data/registry.toml --------------------------------------------------------


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _moment(value: Any, zone: ZoneInfo, where: str, problems: list[str]) -> date | datetime | None:
    """TOML dates stay dates (all-day); local date-times get the registry's zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return value
    if isinstance(value, time):
        problems.append(f"{where}: a time without a date")
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not an ISO 8601 date or date-time")
            return None
        return _moment(parsed, zone, where, problems)
    problems.append(f"{where}: {value!r} is not a date")
    return None


# Unicode line separators, C1 controls and invisible format controls (bidi overrides, direction
# marks, BOM): refused in the registry file like in every other entry.
_UNSAFE_TEXT = re.compile(rf"[\x80-\x9f{FORMAT_CONTROLS}]")


def _control_problems(value: Any, where: str, problems: list[str]) -> None:
    if isinstance(value, str):
        match = _UNSAFE_TEXT.search(value)
        if match is not None:
            problems.append(
                f"{where or 'value'}: contains an invisible or line-breaking control "
                f"(U+{ord(match.group()):04X}); remove it"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _control_problems(item, f"{where}.{key}" if where else str(key), problems)
    elif isinstance(value, list):
        for i, item in enumerate(value, 1):
            _control_problems(item, f"{where}[{i}]", problems)


def parse_registry(doc: dict[str, Any], source: str) -> RegistryData:
    """Build RegistryData from a parsed TOML document, checking every reference; raises
    RegistryFileError listing all problems (nothing is half-loaded)."""
    problems: list[str] = []
    _control_problems(doc, "", problems)
    tz_name = str(doc.get("meta", {}).get("timezone", "Europe/Oslo"))
    try:
        zone = ZoneInfo(tz_name)
    except Exception:
        raise RegistryFileError(
            source, [f"[meta] timezone: unknown time zone {tz_name!r}"]
        ) from None

    def need(entry: dict[str, Any], name: str, where: str) -> str:
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: missing {name}")
            return ""
        return value

    role_types = tuple(
        RoleTypeRec(
            need(r, "key", f"role #{i}"),
            need(r, "name_en", f"role #{i}"),
            need(r, "name_nb", f"role #{i}"),
            _strings(r.get("terms")),
        )
        for i, r in enumerate(doc.get("role", []), 1)
    )
    municipalities = tuple(
        MunicipalityRec(
            need(m, "key", f"municipality #{i}"),
            need(m, "name", f"municipality #{i}"),
            _strings(m.get("aliases")),
            m.get("email_domain"),
            m.get("batch"),
        )
        for i, m in enumerate(doc.get("municipality", []), 1)
    )
    organisations = tuple(
        OrganisationRec(
            need(o, "key", f"organisation #{i}"),
            need(o, "name", f"organisation #{i}"),
            o.get("name_en"),
            _strings(o.get("aliases")),
            o.get("municipality"),
            o.get("url"),
            _strings(o.get("seat_names")),
        )
        for i, o in enumerate(doc.get("organisation", []), 1)
    )
    people = []
    for i, p in enumerate(doc.get("person", []), 1):
        where = f"person #{i} ({p.get('key', '?')})"
        roles = tuple(
            RoleRec(
                need(r, "role", f"{where} role #{j}"),
                r.get("municipality"),
                r.get("organisation"),
                r.get("title"),
                r.get("source"),
            )
            for j, r in enumerate(p.get("roles", []), 1)
        )
        language = p.get("language")
        if language is not None and language not in LANGUAGES:
            problems.append(f"{where}: language must be one of {', '.join(LANGUAGES)}")
            language = None
        people.append(
            PersonRec(
                need(p, "key", where),
                need(p, "name", where),
                p.get("email"),
                p.get("phone"),
                roles,
                language,
            )
        )
    audiences = tuple(
        AudienceRec(
            need(a, "key", f"audience #{i}"),
            need(a, "name_en", f"audience #{i}"),
            need(a, "name_nb", f"audience #{i}"),
            _strings(a.get("aliases")),
            _strings(a.get("municipalities")),
            _strings(a.get("people")),
            _strings(a.get("roles")),
            bool(a.get("widen", False)),
        )
        for i, a in enumerate(doc.get("audience", []), 1)
    )
    events = []
    for i, e in enumerate(doc.get("event", []), 1):
        where = f"event #{i} ({e.get('key', '?')})"
        start = _moment(e.get("start"), zone, f"{where} start", problems)
        end = _moment(e.get("end"), zone, f"{where} end", problems)
        if start is None:
            problems.append(f"{where}: missing start")
            continue
        if end is not None and isinstance(start, datetime) != isinstance(end, datetime):
            problems.append(f"{where}: start and end must both be dates or both date-times")
        elif end is not None and end < start:
            problems.append(f"{where}: end is before start")
        kind = e.get("kind", "")
        if kind not in EVENT_KINDS:
            problems.append(f"{where}: kind must be one of {', '.join(EVENT_KINDS)}")
        events.append(
            EventRec(
                key=need(e, "key", where),
                kind=kind,
                title_en=need(e, "title_en", where),
                title_nb=need(e, "title_nb", where),
                start=start,
                end=end,
                location=e.get("location"),
                description_en=e.get("description_en"),
                description_nb=e.get("description_nb"),
                audiences=_strings(e.get("audiences")),
                contact_roles=_strings(e.get("contact_roles")),
                source=e.get("source"),
                sequence=int(e.get("sequence", 0)),
                cancelled=bool(e.get("cancelled", False)),
            )
        )
    data = RegistryData(
        municipalities, organisations, role_types, tuple(people), audiences, tuple(events), tz_name
    )
    problems.extend(reference_problems(data))
    if problems:
        raise RegistryFileError(source, problems)
    return data


def reference_problems(data: RegistryData) -> list[str]:
    """Duplicate keys and references to keys that do not exist."""
    problems: list[str] = []
    for label, records in (
        ("municipality", data.municipalities),
        ("organisation", data.organisations),
        ("role", data.role_types),
        ("person", data.people),
        ("audience", data.audiences),
        ("event", data.events),
    ):
        seen: set[str] = set()
        for rec in records:
            if rec.key in seen:
                problems.append(f"{label} {rec.key!r}: key used twice")
            seen.add(rec.key)
    places, orgs = data.municipality_by_key, data.organisation_by_key
    for org in data.organisations:
        if org.municipality and org.municipality not in places:
            problems.append(f"organisation {org.key!r}: unknown municipality {org.municipality!r}")
    for person in data.people:
        for role in person.roles:
            if role.role not in data.role_type_by_key:
                problems.append(f"person {person.key!r}: unknown role {role.role!r}")
            if role.municipality and role.municipality not in places:
                problems.append(
                    f"person {person.key!r}: unknown municipality {role.municipality!r}"
                )
            if role.organisation and role.organisation not in orgs:
                problems.append(
                    f"person {person.key!r}: unknown organisation {role.organisation!r}"
                )
    for audience in data.audiences:
        problems += [
            f"audience {audience.key!r}: unknown municipality {m!r}"
            for m in audience.municipalities
            if m not in places
        ]
        problems += [
            f"audience {audience.key!r}: unknown person {p!r}"
            for p in audience.people
            if p not in data.person_by_key
        ]
    for ev in data.events:
        problems += [
            f"event {ev.key!r}: unknown audience {a!r}"
            for a in ev.audiences
            if a not in data.audience_by_key
        ]
        problems += [
            f"event {ev.key!r}: unknown role {r!r}"
            for r in ev.contact_roles
            if r not in data.role_type_by_key
        ]
    return problems


def load_registry_file(path: Path) -> RegistryData:
    """Read and check a registry TOML file."""
    try:
        with open(path, "rb") as handle:
            doc = tomllib.load(handle)
    except FileNotFoundError:
        raise RegistryFileError(str(path), ["file not found"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryFileError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_registry(doc, str(path))
