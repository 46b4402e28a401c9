"""Words and date formats of calendar texts (feeds, invites) in English and Norwegian."""

from __future__ import annotations

from datetime import date, datetime

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "nb": [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ],
}
_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "nb": ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
}

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "contact": "Contact",
        "contacts": "Contacts",
        "when": "When",
        "where": "Where",
        "all_day": "all day",
        "cancelled": "CANCELLED",
        "invite_subject": "Invitation: {title} ({when})",
        "update_subject": "Updated invitation: {title} ({when})",
        "cancel_subject": "Cancelled: {title} ({when})",
        "invite_intro": "You are invited to {title}.",
        "update_intro": "The invitation to {title} has changed; the details below are current.",
        "cancel_intro": "{title} has been cancelled.",
        "invite_outro": "The invitation is attached: accept or decline it in your calendar.",
        "cancel_outro": "Your calendar program can remove the event using the attached update.",
        "programme": "Bærekraftsløftet, all events",
        "kind_meeting": "meeting",
        "kind_deadline": "deadline",
        "kind_milestone": "milestone",
    },
    "nb": {
        "contact": "Kontakt",
        "contacts": "Kontakter",
        "when": "Når",
        "where": "Hvor",
        "all_day": "hele dagen",
        "cancelled": "AVLYST",
        "invite_subject": "Invitasjon: {title} ({when})",
        "update_subject": "Oppdatert invitasjon: {title} ({when})",
        "cancel_subject": "Avlyst: {title} ({when})",
        "invite_intro": "Du er invitert til {title}.",
        "update_intro": "Invitasjonen til {title} er endret; opplysningene under gjelder.",
        "cancel_intro": "{title} er avlyst.",
        "invite_outro": "Invitasjonen ligger ved: svar ja eller nei i kalenderen din.",
        "cancel_outro": "Kalenderprogrammet ditt kan fjerne hendelsen med oppdateringen som ligger ved.",
        "programme": "Bærekraftsløftet, alle hendelser",
        "kind_meeting": "møte",
        "kind_deadline": "frist",
        "kind_milestone": "milepæl",
    },
}


def label(lang: str, key: str) -> str:
    """The text `key` in `lang` (falling back to English)."""
    return LABELS.get(lang, LABELS["en"])[key]


def format_day(day: date, lang: str) -> str:
    """'Friday 21 February 2020' / 'fredag 21. februar 2020'."""
    lang = lang if lang in _MONTHS else "en"
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    if lang == "nb":
        return f"{weekday} {day.day}. {month} {day.year}"
    return f"{weekday} {day.day} {month} {day.year}"


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
        return f"{format_day(start, lang)}, {label(lang, 'all_day')}"
    return f"{format_day(start, lang)} - {format_day(last, lang)}"
