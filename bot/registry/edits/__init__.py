"""Coordinator edits of the registry: move, re-place, cancel or restore an event; change a
person's e-mail address; add a person; give a person a role at a municipality or take it
away.

Every edit goes through `apply_edit` (apply.py), which reads the registry as it is now,
builds the changed `RegistryData` with `dataclasses.replace` (changes.py), and writes it with
`Registry.replace` (one transaction; an event whose time, place or cancellation changed gets
SEQUENCE + 1, so feeds and invites agree). Each edit is logged with who made it and kept in the
`registry_edit` table (audit.py).

New values are checked before anything is written (values.py): dates are ISO 8601 or
"21.02.2020", times are local to the programme's zone and must exist on that day, an end is
never before its start, and free text carries no line breaks or control characters. A refusal
is an `EditError` whose `reason` names the problem and whose `params` fill in the message; the
chat layer turns it into words. find.py finds the event a coordinator means.
"""

from bot.registry.edits.apply import (
    EditOutcome,
    EmailEdited,
    EventEdited,
    PersonAdded,
    RoleEdited,
    apply_edit,
    invite_commands,
)
from bot.registry.edits.audit import Actor, EditRecord, RegistryEdit, recent_edits
from bot.registry.edits.changes import (
    Edit,
    EmailEdit,
    EventEdit,
    PersonAdd,
    RoleEdit,
    edited_event,
)
from bot.registry.edits.find import EventMatch, find_event, leading_municipality, leading_roles
from bot.registry.edits.values import (
    ACTION_WORDS,
    CLEAR_WORDS,
    EditError,
    EventAction,
    describe_when,
    parse_day,
    parse_days,
    parse_times,
)

__all__ = [
    "ACTION_WORDS",
    "CLEAR_WORDS",
    "Actor",
    "Edit",
    "EditError",
    "EditOutcome",
    "EditRecord",
    "EmailEdit",
    "EmailEdited",
    "EventAction",
    "EventEdit",
    "EventEdited",
    "EventMatch",
    "PersonAdd",
    "PersonAdded",
    "RegistryEdit",
    "RoleEdit",
    "RoleEdited",
    "apply_edit",
    "describe_when",
    "edited_event",
    "find_event",
    "invite_commands",
    "leading_municipality",
    "leading_roles",
    "parse_day",
    "parse_days",
    "parse_times",
    "recent_edits",
]
