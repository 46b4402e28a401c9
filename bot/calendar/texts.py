"""Words and date formats of calendar texts (feeds, invites), through the catalogues."""

from __future__ import annotations

from datetime import date, datetime

from bot.i18n import N_, format_date, gettext, ngettext

# Calendar categories by event kind (English msgids).
_KINDS = {"meeting": N_("meeting"), "deadline": N_("deadline"), "milestone": N_("milestone")}


def kind_name(kind: str, lang: str) -> str:
    """An event kind as a word: 'meeting' / 'møte' (an unknown kind as it is)."""
    return gettext(lang, _KINDS[kind]) if kind in _KINDS else kind


def contacts_heading(count: int, lang: str) -> str:
    """'Contact' or 'Contacts' over the list of an event's `count` contacts."""
    return ngettext(lang, "Contact", "Contacts", count)


def programme_name(lang: str) -> str:
    """The programme-wide feed's title."""
    return gettext(lang, "Bærekraftsløftet, all events")


def format_day(day: date, lang: str) -> str:
    """'Friday, 21 February 2020' / 'fredag 21. februar 2020' (Babel's full date)."""
    return format_date(day, lang, "full")


def format_when(
    start: date | datetime, end: date | datetime | None, lang: str, *, short: bool = False
) -> str:
    """A human line for an event's time; `end` is inclusive for dates. `short` gives the
    ISO date only (for subjects)."""
    if isinstance(start, datetime):
        if short:
            return start.strftime("%Y-%m-%d %H:%M")
        text = f"{format_day(start.date(), lang)} {start:%H:%M}"
        if isinstance(end, datetime):
            if end.date() == start.date():
                text += f"-{end:%H:%M}"
            else:
                text += f" - {format_day(end.date(), lang)} {end:%H:%M}"
        return f"{text} ({start.tzname()})"
    last = end if isinstance(end, date) and not isinstance(end, datetime) else start
    if short:
        return start.isoformat() if last == start else f"{start.isoformat()}..{last.isoformat()}"
    if last == start:
        return gettext(lang, "{day}, all day", day=format_day(start, lang))
    return f"{format_day(start, lang)} - {format_day(last, lang)}"
