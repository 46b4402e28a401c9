"""Coordinator registry edits from chat: /event (move, re-place, cancel, restore) and /email.

The caller (ChatService) has already checked that the sender is a coordinator. Parsing the
command text and finding the event or person happen here; the edit itself, and every check of
the new values, is `bot.registry.edits.apply_edit`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.chat.admin import find_person
from bot.chat.choices import ChoiceStore
from bot.chat.reply import Choice, Line, Reply, Span, bold, paragraph, plain, text_reply
from bot.i18n import N_, Lang, gettext
from bot.registry.data import EventRec, RegistryData
from bot.registry.edits import (
    ACTION_WORDS,
    CLEAR_WORDS,
    Actor,
    EditError,
    EmailEdit,
    EmailEdited,
    EventAction,
    EventEdit,
    EventEdited,
    EventMatch,
    apply_edit,
    describe_when,
    find_event,
    invite_commands,
)
from bot.services import Services
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.chat.service import Context

_WORD = re.compile(r"\S+")
MAX_CANDIDATES = 6
# Long enough to see what was typed, short enough for one line of a reply.
MAX_ECHO_CHARS = 100


# Why an edit was refused (EditError.reason) and what an edit did, as English msgids.
_REFUSALS = {
    "bad_address": N_("“{address}” cannot be used: it {problem}."),
    "bad_date": N_("“{value}” is not a date; write 2020-02-28 or 28.02.2020."),
    "bad_name": N_("“{name}” is not a name."),
    "bad_time": N_(
        "“{value}” is not a start (and end) time; write 2020-02-21T10:00 2020-02-21T15:00 or 21.02.2020 10:00-15:00 (Oslo time)."
    ),
    "control_character": N_(
        "The text contains a line break or control character ({code}); send it on one line."
    ),
    "empty_place": N_("Give the new place, or - to remove it."),
    "end_before_start": N_("The end ({end}) is not after the start ({start})."),
    "no_such_time": N_(
        "{value} does not exist in Oslo: the clocks skip that hour when summer time starts."
    ),
    "no_value_expected": N_("“{action}” takes nothing after it (got “{value}”)."),
    "not_holder": N_("{person} is not the {role} in {municipality}."),
    "person_exists": N_("{person} is already in the registry (key {key})."),
    "registry_busy": N_("The registry kept changing while I tried to save this; please try again."),
    "too_long": N_("That is {length} characters; at most {limit} are allowed."),
    "unknown_event": N_("No event “{event}”. Events: {known}"),
    "unknown_municipality": N_("No municipality “{municipality}” in the programme."),
    "unknown_person": N_("No person “{person}” in the registry."),
    "unknown_role": N_("No role “{role}”. Roles: {known}"),
    "year_out_of_range": N_("“{value}” is outside the years {first}-{last}."),
}
_EDITED = {
    "cancel": N_("Cancelled: {event}"),
    "date": N_("Moved: {event}"),
    "place": N_("New place: {event}"),
    "restore": N_("Restored: {event}"),
    "time": N_("New time: {event}"),
}


def actor_of(ctx: Context) -> Actor:
    """Who is editing, as the audit log records them."""
    return Actor(ctx.sender.key, ctx.sender.display_name or ctx.sender.key)


def refusal(lang: Lang, exc: EditError) -> Reply:
    """A refused edit in words, and that nothing changed."""
    message = gettext(lang, _REFUSALS[exc.reason], **exc.params)
    return text_reply(
        lang, plain(message), plain(gettext(lang, "Nothing was changed.")), kind="invalid"
    )


def code_line(text: str) -> Line:
    """An indented command to copy."""
    return (Span("  "), Span(text, "code"))


def _arrow(label: str, before: str, after: str) -> Line:
    return plain(f"  {label}: {before} → {after}")


# --- /event ---------------------------------------------------------------------------------


def event_keys_lines(data: RegistryData, zone: ZoneInfo, lang: Lang) -> list[Line]:
    """Every event (cancelled ones included) with its key, in date order."""
    lines: list[Line] = [bold(gettext(lang, "Events and their keys:"))]
    for ev in sorted(data.events, key=lambda e: (e.start_date, e.key)):
        status = " (" + gettext(lang, "cancelled") + ")" if ev.cancelled else ""
        lines.append(
            (
                Span("• "),
                Span(ev.key, "code"),
                Span(f" {describe_when(ev, zone)} {ev.title(lang)}{status}"),
            )
        )
    return lines


def event_keys_reply(services: Services, lang: Lang) -> Reply:
    """/events keys: the keys /event takes."""
    lines = event_keys_lines(services.registry.snapshot(), services.zone, lang)
    return text_reply(lang, *lines, kind="event_keys")


def _event_usage(services: Services, lang: Lang) -> Reply:
    lines = [
        *paragraph(
            gettext(
                lang,
                "Edit an event (EVENT: its key or title):\n/event EVENT date 2020-02-28 - another day, times and length kept\n/event EVENT date 2020-02-28 2020-02-29 - all-day, first and last day\n/event EVENT time 2020-02-21T10:00 2020-02-21T15:00 - Oslo time (also 21.02.2020 10:00-15:00)\n/event EVENT place Trondheim - a new place (place - removes it)\n/event EVENT cancel, /event EVENT restore",
            )
        ),
        plain(""),
    ]
    lines += event_keys_lines(services.registry.snapshot(), services.zone, lang)
    return text_reply(lang, *lines, kind="usage")


def _split_event_args(args: str) -> tuple[str, EventAction | None, str]:
    """ "county meeting date 2020-02-28" -> ("county meeting", "date", "2020-02-28"): the first
    action word after the event reference splits the text."""
    words = list(_WORD.finditer(args))
    for word in words[1:]:
        action = ACTION_WORDS.get(fold(word.group()))
        if action is not None:
            return args[: word.start()].strip(), action, args[word.end() :].strip()
    return args.strip(), None, ""


def _status(cancelled: bool, lang: Lang) -> str:
    return gettext(lang, "cancelled") if cancelled else gettext(lang, "scheduled")


def _event_state(ev: EventRec, zone: ZoneInfo, lang: Lang) -> list[Line]:
    status = _status(ev.cancelled, lang)
    return [
        plain("  " + gettext(lang, "when") + f": {describe_when(ev, zone)}"),
        plain("  " + gettext(lang, "place") + ": " + (ev.location or gettext(lang, "no place"))),
        plain("  " + gettext(lang, "status") + f": {status}"),
        plain(f"  SEQUENCE {ev.sequence}"),
    ]


def _show_event(services: Services, ev: EventRec, lang: Lang) -> Reply:
    lines: list[Line] = [bold(f"{ev.title(lang)} ({ev.key})")]
    lines += _event_state(ev, services.zone, lang)
    lines += [
        plain(""),
        plain(gettext(lang, "Change it with:")),
        code_line(f"/event {ev.key} date|time|place|cancel|restore …"),
    ]
    return text_reply(lang, *lines, kind="event")


def _which_event(
    reference: str,
    match: EventMatch,
    command: str,
    choices: ChoiceStore,
    zone: ZoneInfo,
    lang: Lang,
) -> Reply:
    """Ask back: each candidate as a choice that runs the same command with its key."""
    said = reference[:MAX_ECHO_CHARS]
    if match.ambiguous:
        lines = [
            plain(
                gettext(
                    lang,
                    "“{event}” could be several events; pick one or send the command with its key:",
                    event=said,
                )
            )
        ]
    else:
        lines = [
            plain(gettext(lang, "No event “{event}” in the registry.", event=said)),
            plain(gettext(lang, "/event alone lists the event keys.")),
        ]
        if match.candidates:
            lines.append(plain(gettext(lang, "Did you mean:")))
    offered = []
    for ev in match.candidates[:MAX_CANDIDATES]:
        full = f"/event {ev.key} {command}".strip()
        lines.append(code_line(full))
        label = f"{ev.title(lang)} ({describe_when(ev, zone)})"
        offered.append(Choice(choices.put(full), label[:MAX_ECHO_CHARS]))
    kind = "clarify" if match.ambiguous else "not_found"
    return Reply(lines=tuple(lines), choices=tuple(offered), lang=lang, kind=kind)


def event_command(services: Services, ctx: Context, args: str, choices: ChoiceStore) -> Reply:
    """/event EVENT date|time|place|cancel|restore [VALUE]; /event alone shows how, and the
    keys; /event EVENT shows the event."""
    lang, zone = ctx.lang, services.zone
    if not args.strip():
        return _event_usage(services, lang)
    reference, action, value = _split_event_args(args)
    match = find_event(services, reference, lang)
    if match.event is None:
        command = f"{action} {value}".strip() if action else ""
        return _which_event(reference, match, command, choices, zone, lang)
    if action is None:
        return _show_event(services, match.event, lang)
    try:
        outcome = apply_edit(services, EventEdit(match.event.key, action, value), actor_of(ctx))
    except EditError as exc:
        return refusal(lang, exc)
    return _event_edited(services, outcome, lang)


def _event_edited(services: Services, outcome: EventEdited, lang: Lang) -> Reply:
    before, after, zone = outcome.before, outcome.after, services.zone
    title = f"{after.title(lang)} ({after.key})"
    lines: list[Line]
    if not outcome.changed:
        lines = [
            plain(gettext(lang, "Nothing changed: {event} already is like that.", event=title)),
            *_event_state(after, zone, lang),
        ]
        return text_reply(lang, *lines, kind="unchanged")
    lines = [bold(gettext(lang, _EDITED[outcome.action], event=title))]
    when_before, when_after = describe_when(before, zone), describe_when(after, zone)
    if when_before != when_after:
        lines.append(_arrow(gettext(lang, "when"), when_before, when_after))
    if before.location != after.location:
        nowhere = gettext(lang, "no place")
        lines.append(
            _arrow(gettext(lang, "place"), before.location or nowhere, after.location or nowhere)
        )
    if before.cancelled != after.cancelled:
        lines.append(
            _arrow(
                gettext(lang, "status"),
                _status(before.cancelled, lang),
                _status(after.cancelled, lang),
            )
        )
    lines.append(plain(f"  SEQUENCE {before.sequence} → {after.sequence}"))
    today = services.clock.now().astimezone(zone).date()
    if not after.cancelled and after.end_date < today:
        lines.append(
            plain(gettext(lang, "Note: {when} is in the past.", when=describe_when(after, zone)))
        )
    lines += [
        plain(""),
        plain(
            gettext(
                lang, "Calendar feeds show the change now, and reminders follow it automatically."
            )
        ),
    ]
    if after.cancelled:
        send = gettext(
            lang, "Send the cancellation to those who have the event in their calendar with:"
        )
    else:
        send = gettext(
            lang, "Send updated invites to those who have the event in their calendar with:"
        )
    lines.append(plain(send))
    lines += [code_line(command) for command in invite_commands(after)]
    return text_reply(lang, *lines, kind="edited")


# --- /email ---------------------------------------------------------------------------------


def email_command(services: Services, ctx: Context, args: str, choices: ChoiceStore) -> Reply:
    """/email PERSON ADDRESS (PERSON: a key or full name; ADDRESS "-" removes the address)."""
    lang = ctx.lang
    words = list(_WORD.finditer(args))
    address = words[-1].group() if words else ""
    if len(words) < 2 or ("@" not in address and address.lower() not in CLEAR_WORDS):
        return text_reply(
            lang,
            plain(
                gettext(
                    lang,
                    "Usage: /email PERSON ADDRESS (a person key or full name, then the new address; - instead of an address removes it)",
                )
            ),
            kind="usage",
        )
    said = args[: words[-1].start()].strip()
    person, close = find_person(services.registry.snapshot(), said)
    if person is None:
        lines: list[Line] = [
            plain(
                gettext(lang, "No person “{person}” in the registry.", person=said[:MAX_ECHO_CHARS])
            )
        ]
        offered = []
        if close:
            lines.append(plain(gettext(lang, "Did you mean:")))
            for candidate in close:
                full = f"/email {candidate.key} {address}"
                lines.append(code_line(full))
                offered.append(Choice(choices.put(full), candidate.name))
        return Reply(lines=tuple(lines), choices=tuple(offered), lang=lang, kind="not_found")
    try:
        outcome = apply_edit(services, EmailEdit(person.key, address), actor_of(ctx))
    except EditError as exc:
        return refusal(lang, exc)
    return _email_edited(outcome, lang)


def _email_edited(outcome: EmailEdited, lang: Lang) -> Reply:
    after = outcome.after
    who = f"{after.name} ({after.key})"
    none = gettext(lang, "no address")
    if not outcome.changed:
        lines = [
            plain(
                gettext(
                    lang,
                    "Nothing changed: {person} already has {address}.",
                    person=who,
                    address=after.email or none,
                )
            )
        ]
    else:
        lines = [
            bold(gettext(lang, "E-mail address of {person} changed:", person=who)),
            plain(f"  {outcome.before.email or none} → {after.email or none}"),
        ]
    if outcome.findings:
        lines.append(plain(gettext(lang, "Data-quality check of the address:")))
        lines += [plain(f"  • {f.severity}: {f.message}") for f in outcome.findings]
    elif after.email:
        lines.append(plain(gettext(lang, "The address passes the data-quality checks.")))
    return text_reply(lang, *lines, kind="edited" if outcome.changed else "unchanged")
