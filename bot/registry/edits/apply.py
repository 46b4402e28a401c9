"""`apply_edit`: the one way chat commands change the registry, and what it reports back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, overload
from zoneinfo import ZoneInfo

from bot.registry.data import (
    EventRec,
    MunicipalityRec,
    PersonRec,
    RegistryConflict,
    RegistryData,
    RoleTypeRec,
)
from bot.registry.edits.audit import Actor, EditRecord, record_edit
from bot.registry.edits.changes import (
    Edit,
    EmailEdit,
    EventEdit,
    PersonAdd,
    RoleEdit,
    changed_registry,
)
from bot.registry.edits.values import EditError, EventAction, describe_when
from bot.registry.quality import Finding, check_records

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

# Writes retried when another process wrote the registry between our read and our write.
WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class EventEdited:
    """An event before and after an edit; `after` is as stored (its new SEQUENCE included)."""

    action: EventAction
    before: EventRec
    after: EventRec
    changed: bool


@dataclass(frozen=True)
class EmailEdited:
    """A person before and after an e-mail change, and the data-quality findings about the
    address they now have."""

    before: PersonRec
    after: PersonRec
    findings: tuple[Finding, ...]
    changed: bool


@dataclass(frozen=True)
class RoleEdited:
    """Who holds a role at a municipality before and after an edit, and the data-quality
    findings about the municipality now."""

    person: PersonRec
    role: RoleTypeRec
    municipality: MunicipalityRec
    removed: bool
    holders_before: tuple[PersonRec, ...]
    holders_after: tuple[PersonRec, ...]
    findings: tuple[Finding, ...]
    changed: bool


@dataclass(frozen=True)
class PersonAdded:
    """A new person, and the data-quality findings about them."""

    person: PersonRec
    findings: tuple[Finding, ...]
    changed: bool = True


EditOutcome = EventEdited | EmailEdited | RoleEdited | PersonAdded


@overload
def apply_edit(services: Services, edit: EventEdit, actor: Actor) -> EventEdited: ...
@overload
def apply_edit(services: Services, edit: EmailEdit, actor: Actor) -> EmailEdited: ...
@overload
def apply_edit(services: Services, edit: RoleEdit, actor: Actor) -> RoleEdited: ...
@overload
def apply_edit(services: Services, edit: PersonAdd, actor: Actor) -> PersonAdded: ...
def apply_edit(services: Services, edit: Edit, actor: Actor) -> EditOutcome:
    """Apply one edit to the registry as it is now, log it and record who made it; raises
    EditError (and writes nothing) when the edit is not valid. An edit that changes nothing
    writes nothing either."""
    for attempt in range(WRITE_ATTEMPTS):
        # Another process (`coordbot registry import`) may have written a moment ago: start
        # from the registry as it is now, and write only if nobody wrote in between (the
        # write compares the registry's write counter), so no change is written back over.
        before = services.registry.current()
        zone = ZoneInfo(before.timezone)
        wanted = changed_registry(before, edit, zone)
        if wanted == before:
            return _outcome(edit, before, before, changed=False)
        try:
            # Only the changed rows are written; the snapshot moves forward in memory.
            after = services.registry.apply(before, wanted)
            break
        except RegistryConflict:
            if attempt == WRITE_ATTEMPTS - 1:
                raise EditError("registry_busy") from None
    # The registry as stored: SEQUENCE and change times are set by the write.
    outcome = _outcome(edit, before, after, changed=True)
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


def _outcome(
    edit: Edit,
    before: RegistryData,
    after: RegistryData,
    *,
    changed: bool,
) -> EditOutcome:
    if isinstance(edit, EventEdit):
        key = edit.event_key
        return EventEdited(edit.action, before.event_by_key[key], after.event_by_key[key], changed)
    if isinstance(edit, PersonAdd):
        added = next(p for p in after.people if p.key not in before.person_by_key)
        return PersonAdded(added, _person_findings(after, added.key))
    person = after.person_by_key[edit.person_key]
    if isinstance(edit, EmailEdit):
        findings = tuple(f for f in _person_findings(after, person.key) if f.field == "email")
        return EmailEdited(before.person_by_key[person.key], person, findings, changed)
    place = after.municipality_by_key[edit.municipality]
    findings = tuple(check_records(after, people=[person.key], municipalities=[place.key]))
    return RoleEdited(
        person,
        after.role_type_by_key[edit.role],
        place,
        edit.remove,
        tuple(before.holders(edit.role, municipality=place.key)),
        tuple(after.holders(edit.role, municipality=place.key)),
        findings,
        changed,
    )


def _person_findings(data: RegistryData, key: str) -> tuple[Finding, ...]:
    return tuple(check_records(data, people=[key]))


def _audit_record(outcome: EditOutcome, actor: Actor, at: datetime, zone: ZoneInfo) -> EditRecord:
    def event_text(ev: EventRec) -> str:
        status = " cancelled" if ev.cancelled else ""
        return f"{describe_when(ev, zone)} @ {ev.location or '-'}{status} (SEQUENCE {ev.sequence})"

    def holders_text(people: tuple[PersonRec, ...]) -> str:
        return ", ".join(p.key for p in people) or "-"

    who = (at, actor.ref, actor.name)
    if isinstance(outcome, EventEdited):
        before, after = event_text(outcome.before), event_text(outcome.after)
        return EditRecord(*who, "event", outcome.after.key, outcome.action, before, after)
    if isinstance(outcome, PersonAdded):
        added = f"{outcome.person.name} <{outcome.person.email or '-'}>"
        return EditRecord(*who, "person", outcome.person.key, "add", "-", added)
    if isinstance(outcome, EmailEdited):
        before, after = outcome.before.email or "-", outcome.after.email or "-"
        return EditRecord(*who, "person", outcome.after.key, "email", before, after)
    role = outcome.role.key
    before = f"{role}: {holders_text(outcome.holders_before)}"
    after = f"{role}: {holders_text(outcome.holders_after)}"
    return EditRecord(*who, "municipality", outcome.municipality.key, "role", before, after)


def invite_commands(ev: EventRec) -> list[str]:
    """The commands that send updated invites (or the cancellation) for `ev` to its audiences."""
    cancel = " --cancel" if ev.cancelled else ""
    audiences = ev.audiences or ("NAME",)
    return [
        f"coordbot ics invite {ev.key} --audience {audience}{cancel} --send"
        for audience in audiences
    ]
