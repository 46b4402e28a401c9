"""The reminder plan: a pure function of the registry, the rules, the time and the "deadline
met" marks. The scheduler turns it into jobs; `coordbot remind plan` prints it.

Who is reminded: for a meeting or milestone, the members of each of its audiences (everyone
in the registry when it has none). For a deadline, per municipality of its audiences that has
not reported it met: the holders of the deadline's contact roles there (its data contact),
or everyone with a role there when nobody holds those roles; audiences without
municipalities remind their named people.

A reminder is useful until a timed event starts, or until the end of an all-day item's day;
after that it is never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.registry.data import EventRec, PersonRec, RegistryData
from bot.registry.marks import deadline_municipalities
from schedules.rules import LeadTime, ReminderRules

SOURCE_KIND = "reminder"


@dataclass(frozen=True)
class Target:
    """A person to remind; for deadlines, the municipality they are reminded for."""

    person: PersonRec
    municipality: str | None = None


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder of one event for one audience at one time."""

    event: EventRec
    lead: LeadTime
    due: datetime
    audience: str | None
    targets: tuple[Target, ...]
    useful_until: datetime

    @property
    def source_id(self) -> str:
        """The outbox source id: the same event, rule and time always give the same id, so a
        reminder goes out once; a moved event gets new times and so new reminders."""
        return f"{self.event.key}|{self.lead.text}|{self.due.isoformat()}"


def useful_until(event: EventRec, zone: ZoneInfo) -> datetime:
    """When a reminder of `event` stops being worth sending."""
    if isinstance(event.start, datetime):
        return event.start.astimezone(zone)
    return datetime.combine(event.start_date + timedelta(days=1), time(0, 0), zone)


def reminder_targets(
    data: RegistryData,
    event: EventRec,
    audience_key: str | None,
    done: frozenset[tuple[str, str]],
) -> tuple[Target, ...]:
    """Who an event's reminder for one audience goes to (see the module docstring)."""
    if audience_key is None:
        return tuple(Target(p) for p in data.people)
    audience = data.audience_by_key.get(audience_key)
    if audience is None:
        return ()
    if event.kind != "deadline" or not audience.municipalities:
        return tuple(Target(p) for p in data.audience_members(audience_key))
    targets: list[Target] = []
    places = [m for m in deadline_municipalities(data, event) if m.key in audience.municipalities]
    for place in places:
        if (event.key, place.key) in done:
            continue
        at_place = [p for p in data.people if any(r.municipality == place.key for r in p.roles)]
        holders = [
            p
            for p in at_place
            if any(r.municipality == place.key and r.role in event.contact_roles for r in p.roles)
        ]
        targets.extend(Target(p, place.key) for p in holders or at_place)
    return tuple(targets)


def plan_reminders(
    data: RegistryData,
    rules: ReminderRules,
    now: datetime,
    done: frozenset[tuple[str, str]] = frozenset(),
) -> list[PlannedReminder]:
    """Every reminder of every live event that is still useful at `now`, past ones included
    (a past one goes out late if it was missed), ordered by time."""
    zone = ZoneInfo(data.timezone)
    plan: list[PlannedReminder] = []
    for event in data.events:
        if event.cancelled:
            continue
        until = useful_until(event, zone)
        if until <= now:
            continue
        audiences: Sequence[str | None] = event.audiences or (None,)
        for audience in audiences:
            leads = rules.leads(event.kind, audience)
            if not leads:
                continue
            targets = reminder_targets(data, event, audience, done)
            for lead in leads:
                due = lead.due(event, zone, rules.morning)
                if due >= until:
                    continue
                plan.append(PlannedReminder(event, lead, due, audience, targets, until))
    plan.sort(key=lambda r: (r.due, r.event.key, r.audience or ""))
    return plan


def due_now(plan: Iterable[PlannedReminder], now: datetime) -> list[PlannedReminder]:
    """What should have gone out by `now`: per event and audience, the latest reminder whose
    time has come (earlier ones missed while the bot was down are superseded by it)."""
    latest: dict[tuple[str, str | None], PlannedReminder] = {}
    for reminder in plan:
        if reminder.due <= now < reminder.useful_until:
            key = (reminder.event.key, reminder.audience)
            if key not in latest or reminder.due > latest[key].due:
                latest[key] = reminder
    return sorted(latest.values(), key=lambda r: (r.due, r.event.key, r.audience or ""))


def upcoming(plan: Iterable[PlannedReminder], now: datetime) -> list[PlannedReminder]:
    """Reminders whose time is still ahead."""
    return [r for r in plan if r.due > now]
