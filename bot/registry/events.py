"""Event helpers shared by the CLI, the answer engine and the calendar: ISO dates, JSON, lines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from bot.i18n import gettext
from bot.registry.data import EventRec, RegistryData


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601 text for a date or aware date-time (None stays None)."""
    return None if value is None else value.isoformat()


def event_json(ev: EventRec) -> dict[str, Any]:
    """The `coordbot events --json` object (end: inclusive last day for all-day items)."""
    return {
        "key": ev.key,
        "title": ev.title_en,
        "title_nb": ev.title_nb,
        "kind": ev.kind,
        "start": iso(ev.start),
        "end": iso(ev.end if ev.end is not None else ev.start),
        "all_day": ev.all_day,
        "location": ev.location,
        "audiences": list(ev.audiences),
        "cancelled": ev.cancelled,
    }


def format_event_line(ev: EventRec, data: RegistryData, lang: str) -> str:
    """One human line: date, kind, title, place and audiences."""
    when = ev.start_date.isoformat()
    if ev.end is not None and ev.end_date != ev.start_date:
        when += f"..{ev.end_date.isoformat()}"
    if isinstance(ev.start, datetime):
        when += ev.start.strftime(" %H:%M")
    audiences = ", ".join(
        data.audience_by_key[a].name(lang) for a in ev.audiences if a in data.audience_by_key
    )
    parts = [when, f"[{ev.kind}]", ev.title(lang)]
    if ev.location:
        parts.append(f"({ev.location})")
    if audiences:
        parts.append(f"- {audiences}")
    if ev.cancelled:
        parts.append(gettext(lang, "CANCELLED"))
    return " ".join(parts)
