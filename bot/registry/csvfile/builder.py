"""Turning checked rows into registry records, with keys and references checked by row."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.registry.csvfile.layout import RECORD_FIELDS, CsvProblem
from bot.registry.data import (
    EVENT_KINDS,
    LANGUAGES,
    AudienceRec,
    EventRec,
    MunicipalityRec,
    OrganisationRec,
    PersonRec,
    RegistryData,
    RoleRec,
    RoleTypeRec,
)

if TYPE_CHECKING:
    from bot.registry.csvfile.reader import Row


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


class Builder:
    """Collects records row by row, then checks keys and references with row numbers."""

    def __init__(self, zone: ZoneInfo, problems: list[CsvProblem]) -> None:
        self.zone = zone
        self.problems = problems
        self.rows = 0
        self.role_types: list[tuple[Row, RoleTypeRec]] = []
        self.municipalities: list[tuple[Row, MunicipalityRec]] = []
        self.organisations: list[tuple[Row, OrganisationRec]] = []
        self.people: list[tuple[Row, PersonRec]] = []
        self.roles: list[tuple[Row, str, RoleRec]] = []
        self.audiences: list[tuple[Row, AudienceRec]] = []
        self.events: list[tuple[Row, EventRec]] = []

    def add(self, row: Row) -> None:
        """Read one row into a record of its kind."""
        self.rows += 1
        if row.record not in RECORD_FIELDS:
            said = f"{row.record!r} is not" if row.record else "empty; it must be"
            row.problem("record", f"{said} one of {', '.join(RECORD_FIELDS)}")
            return
        required, optional = RECORD_FIELDS[row.record]
        row.check_columns((*required, *optional))
        match row.record:
            case "role_type":
                self.role_types.append((row, self._role_type(row)))
            case "municipality":
                self.municipalities.append((row, self._municipality(row)))
            case "organisation":
                self.organisations.append((row, self._organisation(row)))
            case "person":
                # The address is kept exactly as written: a malformed one is a quality finding.
                language = row.text("language")
                if language is not None and language not in LANGUAGES:
                    row.problem("language", f"{language!r} is not one of {', '.join(LANGUAGES)}")
                    language = None
                person = PersonRec(
                    row.key(),
                    row.text("name", True) or "",
                    row.text("email"),
                    row.text("phone"),
                    language=language,
                )
                self.people.append((row, person))
            case "role":
                self.roles.append((row, row.key("person"), self._role(row)))
            case "audience":
                self.audiences.append((row, self._audience(row)))
            case "event":
                event = self._event(row)
                if event is not None:
                    self.events.append((row, event))

    @staticmethod
    def _role_type(row: Row) -> RoleTypeRec:
        return RoleTypeRec(
            row.key(),
            row.text("name_en", True) or "",
            row.text("name_nb", True) or "",
            row.items("terms"),
        )

    @staticmethod
    def _municipality(row: Row) -> MunicipalityRec:
        return MunicipalityRec(
            row.key(),
            row.text("name", True) or "",
            row.items("aliases"),
            row.text("email_domain"),
            row.integer("batch"),
        )

    @staticmethod
    def _organisation(row: Row) -> OrganisationRec:
        return OrganisationRec(
            row.key(),
            row.text("name", True) or "",
            row.text("name_en"),
            row.items("aliases"),
            row.ref("municipality"),
            row.text("url"),
            row.items("seat_names"),
        )

    @staticmethod
    def _role(row: Row) -> RoleRec:
        return RoleRec(
            row.key("role"),
            row.ref("municipality"),
            row.ref("organisation"),
            row.text("title"),
            row.text("source"),
        )

    @staticmethod
    def _audience(row: Row) -> AudienceRec:
        return AudienceRec(
            row.key(),
            row.text("name_en", True) or "",
            row.text("name_nb", True) or "",
            row.items("aliases"),
            row.items("municipalities", unique=True),
            row.items("people", unique=True),
            row.items("roles", unique=True),
            row.boolean("widen"),
        )

    def _event(self, row: Row) -> EventRec | None:
        key = row.key()
        kind = (row.text("kind", True) or "").strip()
        if kind and kind not in EVENT_KINDS:
            row.problem("kind", f"{kind!r} is not one of {', '.join(EVENT_KINDS)}")
        start = row.moment("start", self.zone, required=True)
        end = row.moment("end", self.zone)
        if start is not None and end is not None:
            if isinstance(start, datetime) != isinstance(end, datetime):
                row.problem("end", "start and end must both be dates or both date-times")
            elif end < start:
                row.problem("end", f"{end.isoformat()} is before the start")
        event = EventRec(
            key=key,
            kind=kind,
            title_en=row.text("title_en", True) or "",
            title_nb=row.text("title_nb", True) or "",
            start=start or date.min,
            end=end,
            location=row.text("location"),
            description_en=row.text("description_en"),
            description_nb=row.text("description_nb"),
            audiences=row.items("audiences", unique=True),
            contact_roles=row.items("contact_roles", unique=True),
            source=row.text("source"),
            sequence=row.integer("sequence") or 0,
            cancelled=row.boolean("cancelled"),
        )
        return event if start is not None else None

    @staticmethod
    def _unique(kind: str, rows: list[tuple[Row, K]]) -> dict[str, K]:
        seen: dict[str, tuple[int, K]] = {}
        for row, rec in rows:
            if not rec.key:
                continue
            if rec.key in seen:
                first = seen[rec.key][0]
                row.problem("key", f"{rec.key!r} is already the key of the {kind} in row {first}")
            else:
                seen[rec.key] = (row.number, rec)
        return {k: rec for k, (_, rec) in seen.items()}

    def build(self, timezone: str) -> RegistryData:
        """Check keys and references, then assemble the registry."""
        known: dict[str, dict[str, Any]] = {
            "role": self._unique("role type", self.role_types),
            "municipality": self._unique("municipality", self.municipalities),
            "organisation": self._unique("organisation", self.organisations),
            "person": self._unique("person", self.people),
            "audience": self._unique("audience", self.audiences),
        }
        self._unique("event", self.events)

        def refer(row: Row, field: str, kind: str, keys: Iterable[str | None]) -> None:
            for key in keys:
                if key and key not in known[kind]:
                    row.problem(field, f"no {kind} with key {key!r} in this file")

        roles: dict[str, list[RoleRec]] = {}
        for row, person_key, role in self.roles:
            refer(row, "person", "person", [person_key])
            refer(row, "role", "role", [role.role])
            refer(row, "municipality", "municipality", [role.municipality])
            refer(row, "organisation", "organisation", [role.organisation])
            roles.setdefault(person_key, []).append(role)
        for row, org in self.organisations:
            refer(row, "municipality", "municipality", [org.municipality])
        for row, audience in self.audiences:
            refer(row, "municipalities", "municipality", audience.municipalities)
            refer(row, "people", "person", audience.people)
        for row, event in self.events:
            refer(row, "audiences", "audience", event.audiences)
            refer(row, "contact_roles", "role", event.contact_roles)
        return RegistryData(
            municipalities=tuple(rec for _, rec in self.municipalities),
            organisations=tuple(rec for _, rec in self.organisations),
            role_types=tuple(rec for _, rec in self.role_types),
            people=tuple(replace(p, roles=tuple(roles.get(p.key, ()))) for _, p in self.people),
            audiences=tuple(rec for _, rec in self.audiences),
            events=tuple(rec for _, rec in self.events),
            timezone=timezone,
        )
