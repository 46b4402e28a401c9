"""`apply_edit`: the one way chat commands change the registry."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, overload
from zoneinfo import ZoneInfo

from bot.quality import Finding, check_registry
from bot.registry_data import EventRec, PersonRec, RegistryData
from bot.registry_edits.audit import Actor, EditRecord, record_edit
from bot.registry_edits.values import (
    ECHO_CHARS,
    EditError,
    EventAction,
    checked_address,
    checked_place,
    describe_when,
    local_moment,
    parse_days,
    parse_times,
)

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


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


Edit = EventEdit | EmailEdit


@dataclass(frozen=True)
class EventEdited:
    """An event before and after an edit; `after` is as stored (its new SEQUENCE included)."""

    action: EventAction
    before: EventRec
    after: EventRec

    @property
    def changed(self) -> bool:
        """False when the edit asked for what the event already was (nothing was written)."""
        return _material(self.before) != _material(self.after)


@dataclass(frozen=True)
class EmailEdited:
    """A person before and after an e-mail change, and the data-quality findings about the
    address they now have."""

    before: PersonRec
    after: PersonRec
    findings: tuple[Finding, ...]

    @property
    def changed(self) -> bool:
        """False when the address was already the one given (nothing was written)."""
        return self.before.email != self.after.email


EditOutcome = EventEdited | EmailEdited


@overload
def apply_edit(services: Services, edit: EventEdit, actor: Actor) -> EventEdited: ...
@overload
def apply_edit(services: Services, edit: EmailEdit, actor: Actor) -> EmailEdited: ...
def apply_edit(services: Services, edit: Edit, actor: Actor) -> EditOutcome:
    """Apply one edit to the registry as it is now, log it and record who made it; raises
    EditError (and writes nothing) when the edit is not valid. An edit that changes nothing
    writes nothing either."""
    # Another process (`coordbot registry import`) may have written a moment ago: read afresh
    # rather than from a snapshot up to a second old, so its change is not written back over.
    services.registry.invalidate()
    data = services.registry.snapshot()
    zone = ZoneInfo(data.timezone)
    outcome: EditOutcome
    if isinstance(edit, EventEdit):
        before_event = _event(data, edit.event_key)
        changed_event = edited_event(before_event, edit.action, edit.value, zone)
        if _material(changed_event) == _material(before_event):
            return EventEdited(edit.action, before_event, before_event)
        events = tuple(changed_event if e.key == edit.event_key else e for e in data.events)
        stored = _write(services, dataclasses.replace(data, events=events))
        outcome = EventEdited(edit.action, before_event, stored.event_by_key[edit.event_key])
    else:
        before_person = _person(data, edit.person_key)
        address = checked_address(edit.address)
        if address == before_person.email:
            return EmailEdited(before_person, before_person, _email_findings(data, before_person))
        changed_person = dataclasses.replace(before_person, email=address)
        people = tuple(changed_person if p.key == edit.person_key else p for p in data.people)
        stored = _write(services, dataclasses.replace(data, people=people))
        after_person = stored.person_by_key[edit.person_key]
        outcome = EmailEdited(before_person, after_person, _email_findings(stored, after_person))
    record = _audit_record(outcome, actor, services.clock.now(), zone)
    log.info(
        "registry edit by %s (%s): %s %s %s: %s -> %s",
        record.actor_name,
        record.actor,
        record.subject_kind,
        record.subject_key,
        record.action,
        record.before,
        record.after,
    )
    record_edit(services.db, record)
    return outcome


def _write(services: Services, data: RegistryData) -> RegistryData:
    """Write `data` and return the registry as stored (with the SEQUENCEs it assigned)."""
    services.registry.replace(data)
    return services.registry.snapshot()


def _event(data: RegistryData, key: str) -> EventRec:
    ev = data.event_by_key.get(key)
    if ev is None:
        raise EditError("unknown_event", event=key, known=", ".join(sorted(data.event_by_key)))
    return ev


def _person(data: RegistryData, key: str) -> PersonRec:
    person = data.person_by_key.get(key)
    if person is None:
        raise EditError("unknown_person", person=key)
    return person


def _email_findings(data: RegistryData, person: PersonRec) -> tuple[Finding, ...]:
    return tuple(
        f
        for f in check_registry(data)
        if f.subject_kind == "person" and f.subject_key == person.key and f.field == "email"
    )


def edited_event(ev: EventRec, action: EventAction, value: str, zone: ZoneInfo) -> EventRec:
    """The event with one action applied (nothing written); raises EditError."""
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


def _material(ev: EventRec) -> tuple[object, ...]:
    """The parts of an event an edit can change (aware times compare as instants)."""
    return (ev.start, ev.end, ev.location, ev.cancelled)


def _audit_record(outcome: EditOutcome, actor: Actor, at: datetime, zone: ZoneInfo) -> EditRecord:
    if isinstance(outcome, EmailEdited):
        key = outcome.after.key
        before, after = outcome.before.email or "-", outcome.after.email or "-"
        return EditRecord(at, actor.ref, actor.name, "person", key, "email", before, after)

    def text(ev: EventRec) -> str:
        status = " cancelled" if ev.cancelled else ""
        return f"{describe_when(ev, zone)} @ {ev.location or '-'}{status} (SEQUENCE {ev.sequence})"

    return EditRecord(
        at,
        actor.ref,
        actor.name,
        "event",
        outcome.after.key,
        outcome.action,
        text(outcome.before),
        text(outcome.after),
    )


def invite_commands(ev: EventRec) -> list[str]:
    """The commands that send updated invites (or the cancellation) for `ev` to its audiences."""
    cancel = " --cancel" if ev.cancelled else ""
    audiences = ev.audiences or ("NAME",)
    return [
        f"coordbot ics invite {ev.key} --audience {audience}{cancel} --send"
        for audience in audiences
    ]
