"""What the dashboard pages show, read from the registry snapshot and the database.

Every function here is synchronous and touches the database: the views call them through
asyncio.to_thread. Nothing here is translated; the views word it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select

from bot.access import find_chat_user
from bot.calendar.records import STATUS_FAILED, STATUS_SENT, CalendarInvite
from bot.db import Database
from bot.delivery.broadcast import BroadcastReport, broadcast_report
from bot.delivery.models import BroadcastRecord, OutboxMessage
from bot.inbound.attendance import AttendanceRow, attendance
from bot.registry.data import EventRec, MunicipalityRec, PersonRec, RegistryData
from bot.registry.marks import DeadlineDone, deadline_municipalities
from bot.registry.quality import Finding, check_registry
from bot.services import Services
from bot.textnorm import fold

NEEDS_ACTION = "NEEDS-ACTION"
PARTSTATS = ("ACCEPTED", "TENTATIVE", "DECLINED", NEEDS_ACTION)


@dataclass(frozen=True)
class Mark:
    """Who reported a deadline met for a municipality, and when."""

    by: str
    at: datetime


@dataclass(frozen=True)
class DeadlineRow:
    """One municipality under one deadline."""

    municipality: MunicipalityRec
    mark: Mark | None


@dataclass(frozen=True)
class DeadlineView:
    """A deadline with every municipality it applies to, not delivered first."""

    event: EventRec
    rows: list[DeadlineRow]

    @property
    def delivered(self) -> int:
        """How many municipalities are marked as having met it."""
        return sum(1 for r in self.rows if r.mark is not None)

    @property
    def missing(self) -> list[MunicipalityRec]:
        """The municipalities not (yet) marked."""
        return [r.municipality for r in self.rows if r.mark is None]


@dataclass(frozen=True)
class MeetingView:
    """A meeting: who was invited and what they answered, and who could still be invited."""

    event: EventRec
    attendance: list[AttendanceRow]
    not_invited: list[PersonRec]
    without_address: list[PersonRec]
    failed: list[tuple[str, str]] = field(default_factory=list)

    def count(self, partstat: str) -> int:
        """How many invitees answered `partstat`."""
        return sum(1 for a in self.attendance if a.partstat == partstat)


@dataclass(frozen=True)
class BroadcastView:
    """A broadcast and its report."""

    id: int
    subject: str
    audience: str
    status: str
    created_by: str
    created_at: datetime
    report: BroadcastReport | None
    held: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Overview:
    """The figures of the overview page."""

    deadlines: list[DeadlineView]
    meetings: list[EventRec]
    outbox: dict[str, int]
    errors: int
    warnings: int


def marks_by_event(db: Database) -> dict[str, dict[str, Mark]]:
    """{event key: {municipality key: Mark}} for every deadline mark."""
    found: dict[str, dict[str, Mark]] = {}
    with db.session() as session:
        for row in session.scalars(select(DeadlineDone)):
            found.setdefault(row.event_key, {})[row.municipality_key] = Mark(
                row.marked_by, row.marked_at
            )
    return found


def deadline_views(data: RegistryData, db: Database) -> list[DeadlineView]:
    """Every deadline (by date) with each of its municipalities, the missing ones first."""
    marks = marks_by_event(db)
    views = []
    for event in sorted(data.events, key=_start_key):
        if event.kind != "deadline" or event.cancelled:
            continue
        done = marks.get(event.key, {})
        rows = [DeadlineRow(m, done.get(m.key)) for m in deadline_municipalities(data, event)]
        rows.sort(key=lambda r: (r.mark is not None, fold(r.municipality.name)))
        views.append(DeadlineView(event, rows))
    return views


def meeting_invites(
    db: Database, event_key: str
) -> tuple[list[AttendanceRow], list[tuple[str, str]]]:
    """Everyone an invite reached or who answered, with their answer (inbound iMIP REPLYs),
    and (name or address, reason) of the invites that failed and never went out."""
    never_sent = _invites_never_sent(db, event_key)
    rows = [row for row in attendance(db, event_key) if row.email not in never_sent]
    return sorted(rows, key=lambda a: fold(a.name or a.email)), list(never_sent.values())


def _invites_never_sent(db: Database, event_key: str) -> dict[str, tuple[str, str]]:
    """Address -> (name or address, reason) of invites that failed and never went out."""
    with db.session() as session:
        rows = list(
            session.scalars(
                select(CalendarInvite)
                .where(CalendarInvite.event_key == event_key)
                .order_by(CalendarInvite.id)
            )
        )
    sent = {r.recipient for r in rows if r.status == STATUS_SENT}
    failed: dict[str, tuple[str, str]] = {}
    for row in rows:
        if row.status == STATUS_FAILED and row.recipient not in sent:
            failed[row.recipient] = (row.name or row.recipient, row.reason or "")
    return failed


def meeting_views(data: RegistryData, db: Database) -> list[MeetingView]:
    """Every meeting (by date) with its attendance and its audience members not invited yet."""
    views = []
    for event in sorted(data.events, key=_start_key):
        if event.kind != "meeting":
            continue
        attendance, failed = meeting_invites(db, event.key)
        invited = {a.email for a in attendance}
        members: dict[str, PersonRec] = {}
        for audience in event.audiences:
            if audience in data.audience_by_key:
                for person in data.audience_members(audience):
                    members.setdefault(person.key, person)
        not_invited = [
            p for p in members.values() if p.email and p.email.strip().lower() not in invited
        ]
        without = [p for p in members.values() if not p.email]
        views.append(MeetingView(event, attendance, not_invited, without, failed))
    return views


def outbox_counts(db: Database) -> dict[str, int]:
    """Outbox rows by status (every status present in the table)."""
    with db.session() as session:
        rows = session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    return {status: int(count) for status, count in rows}


def broadcast_views(services: Services, limit: int = 50) -> list[BroadcastView]:
    """The latest broadcasts, newest first, each with its report (drafts have none)."""
    with services.db.session() as session:
        records = list(
            session.scalars(
                select(BroadcastRecord).order_by(BroadcastRecord.id.desc()).limit(limit)
            )
        )
    views = []
    for record in records:
        report = broadcast_report(services, record.id) if record.status == "queued" else None
        held = [
            (row.recipient_name or row.recipient, row.channel, row.last_error or "")
            for row in services.outbox.rows(("broadcast", str(record.id)))
            if row.status == "held"
        ]
        views.append(
            BroadcastView(
                record.id,
                record.subject,
                record.audience,
                record.status,
                record.created_by,
                record.created_at,
                report,
                held,
            )
        )
    return views


def quality_findings(data: RegistryData) -> list[Finding]:
    """The registry's data-quality findings (errors first)."""
    return check_registry(data)


def overview(services: Services, now: datetime) -> Overview:
    """Next deadlines and meetings, outbox figures and the count of data-quality errors."""
    data = services.registry.snapshot()
    today = now.astimezone(services.zone).date()
    deadlines = [d for d in deadline_views(data, services.db) if d.event.end_date >= today]
    meetings = [
        e
        for e in sorted(data.events, key=_start_key)
        if e.kind == "meeting" and not e.cancelled and e.end_date >= today
    ]
    counts = Counter(f.severity for f in quality_findings(data))
    return Overview(
        deadlines[:3], meetings[:4], outbox_counts(services.db), counts["error"], counts["warning"]
    )


def chat_user_name(db: Database, source: str) -> str | None:
    """The display name of a "telegram:ID" source, when that chat user is known."""
    kind, _sep, ident = source.partition(":")
    if kind == "telegram" and ident.lstrip("-").isdigit():
        user = find_chat_user(db, int(ident))
        if user is not None:
            return user.display_name
    return None


def search_registry(
    data: RegistryData, query: str
) -> tuple[list[PersonRec], list[MunicipalityRec]]:
    """People and municipalities whose name, e-mail, role, title or place contains `query`
    (æ/ø/å folded); everything for an empty query."""
    wanted = fold(query.strip())
    places = data.municipality_by_key
    orgs = data.organisation_by_key
    roles = data.role_type_by_key

    def person_text(person: PersonRec) -> str:
        parts = [person.name, person.email or ""]
        for role in person.roles:
            parts.append(roles[role.role].name_en if role.role in roles else role.role)
            parts.append(roles[role.role].name_nb if role.role in roles else "")
            parts.append(role.title or "")
            if role.municipality in places:
                parts.append(places[role.municipality].name)
            if role.organisation in orgs:
                parts.append(orgs[role.organisation].name)
        return fold(" ".join(parts))

    people = [p for p in data.people if not wanted or wanted in person_text(p)]
    municipalities = [
        m
        for m in data.municipalities
        if not wanted or wanted in fold(" ".join((m.name, m.key, *m.aliases)))
    ]
    return people, municipalities


def _start_key(event: EventRec) -> tuple[date, str]:
    return (event.start_date, event.key)
