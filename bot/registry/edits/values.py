"""New values for the registry, checked: days, times, places and e-mail addresses.

Every check raises `EditError` with a reason (the i18n key suffix `edit_error_<reason>`) and
the values its message shows; nothing here touches the database.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from bot.registry.data import EventRec
from bot.registry.quality import address_syntax_problem

EventAction = Literal["date", "time", "place", "cancel", "restore"]

# The words a coordinator may type for each action, English and Norwegian (folded).
ACTION_WORDS: dict[str, EventAction] = {
    "date": "date",
    "dato": "date",
    "day": "date",
    "dag": "date",
    "time": "time",
    "tid": "time",
    "place": "place",
    "location": "place",
    "sted": "place",
    "cancel": "cancel",
    "avlys": "cancel",
    "restore": "restore",
    "uncancel": "restore",
    "gjenopprett": "restore",
}

# Typed to clear a value: `place -` removes the place, `/email PERSON -` the address.
CLEAR_WORDS = frozenset({"-", "none", "ingen"})

MAX_PLACE_CHARS = 200
MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MIN_YEAR, MAX_YEAR = 2000, 2099
# How much of a refused value a message repeats.
ECHO_CHARS = 40

_DATE = r"\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}"
_TIME = r"\d{1,2}[:.]\d{2}(?::\d{2})?"
_DATE_TIME_GAP = r"(?:T|\s+(?:kl\.?\s*)?)"
_RANGE_GAP = r"(?:\s*(?:\.\.|–|—|-|\bto\b|\btil\b)\s*|\s+)"
_DAYS = re.compile(rf"^(?P<d1>{_DATE})(?:{_RANGE_GAP}(?P<d2>{_DATE}))?$")
_TIMES = re.compile(
    rf"^(?P<d1>{_DATE}){_DATE_TIME_GAP}(?P<t1>{_TIME})"
    rf"(?:{_RANGE_GAP}(?:(?P<d2>{_DATE}){_DATE_TIME_GAP})?(?P<t2>{_TIME}))?$"
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
# Unicode bidirectional overrides and isolates: they make text read differently than stored.
# Bidi overrides and isolates, the invisible direction marks and the byte-order mark: they
# make a name or place display as something other than what it is.
_BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\ufeff"
)


class EditError(ValueError):
    """An edit that was refused; nothing was written. `reason` names the problem (it is also
    the i18n key suffix), `params` the values its message shows."""

    def __init__(self, reason: str, **params: object) -> None:
        self.reason = reason
        self.params = params
        detail = ", ".join(f"{k}={v!r}" for k, v in params.items())
        super().__init__(f"{reason}: {detail}" if detail else reason)


def parse_day(text: str) -> date:
    """A day written as ISO 8601 ("2020-02-28") or Norwegian style ("28.02.2020")."""
    text = text.strip()
    norwegian = _NORWEGIAN_DATE.match(text)
    if norwegian:
        day, month, year = (int(part) for part in norwegian.groups())
    elif _ISO_DATE.match(text):
        year, month, day = (int(part) for part in text.split("-"))
    else:
        raise EditError("bad_date", value=text[:ECHO_CHARS])
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise EditError("bad_date", value=text[:ECHO_CHARS]) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise EditError("year_out_of_range", value=text[:ECHO_CHARS], first=MIN_YEAR, last=MAX_YEAR)
    return parsed


def parse_days(text: str) -> tuple[date, date | None]:
    """ "D" or "D1 D2" (also "D1..D2", "D1 - D2"): a first day and an optional last day."""
    match = _DAYS.match(text.strip())
    if match is None:
        raise EditError("bad_date", value=text.strip()[:ECHO_CHARS])
    first = parse_day(match["d1"])
    last = parse_day(match["d2"]) if match["d2"] else None
    if last is not None and last < first:
        raise EditError("end_before_start", start=first.isoformat(), end=last.isoformat())
    return first, last


def _clock_time(text: str) -> time:
    hour, minute, *second = (int(p) for p in re.split(r"[:.]", text))
    try:
        return time(hour, minute, second[0] if second else 0)
    except ValueError:
        raise EditError("bad_time", value=text[:ECHO_CHARS]) from None


def local_moment(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """`day` at `clock` in `zone`; EditError for a wall-clock time that does not exist there
    (the hour skipped when summer time starts)."""
    moment = datetime.combine(day, clock, tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        raise EditError("no_such_time", value=f"{day.isoformat()} {clock.strftime('%H:%M')}")
    return moment


def parse_times(text: str, zone: ZoneInfo) -> tuple[datetime, datetime | None]:
    """ "2020-02-21T10:00 2020-02-21T15:00", "2020-02-21 10:00-15:00" or "21.02.2020 kl 10:00":
    a start and an optional end, local time in `zone`; the end must come after the start."""
    match = _TIMES.match(text.strip())
    if match is None:
        raise EditError("bad_time", value=text.strip()[:ECHO_CHARS])
    start_day = parse_day(match["d1"])
    start = local_moment(start_day, _clock_time(match["t1"]), zone)
    if not match["t2"]:
        return start, None
    end_day = parse_day(match["d2"]) if match["d2"] else start_day
    end = local_moment(end_day, _clock_time(match["t2"]), zone)
    if end <= start:
        raise EditError(
            "end_before_start",
            start=start.strftime("%Y-%m-%d %H:%M"),
            end=end.strftime("%Y-%m-%d %H:%M"),
        )
    return start, end


def checked_text(text: str, limit: int) -> str:
    """`text` stripped; EditError when it has line breaks, control characters or bidi
    overrides, or is longer than `limit`."""
    text = text.strip()
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in _BIDI_CONTROLS:
            raise EditError("control_character", code=f"U+{ord(ch):04X}")
    if len(text) > limit:
        raise EditError("too_long", length=len(text), limit=limit)
    return text


def checked_place(text: str) -> str | None:
    """A new place; None (no place) for "-"; EditError for an empty or unsafe one."""
    place = checked_text(text, MAX_PLACE_CHARS)
    if not place:
        raise EditError("empty_place")
    return None if place.lower() in CLEAR_WORDS else place


def checked_address(address: str | None) -> str | None:
    """A new e-mail address as given (None or "-" removes it); EditError when no mail server
    could take it. Softer problems (a domain that looks misspelt) are data-quality findings,
    shown to the coordinator but not refused."""
    if address is None or address.strip().lower() in CLEAR_WORDS:
        return None
    address = checked_text(address, MAX_EMAIL_CHARS)
    problem = address_syntax_problem(address)
    if problem is not None:
        raise EditError("bad_address", address=address, problem=problem[1])
    return address


def describe_when(ev: EventRec, zone: ZoneInfo) -> str:
    """The event's time as text: "2020-02-21", "2020-02-21..2020-02-23",
    "2020-02-21 10:00-15:00" (local time in `zone`)."""
    if not isinstance(ev.start, datetime):
        if ev.end is None or ev.end_date == ev.start_date:
            return ev.start_date.isoformat()
        return f"{ev.start_date.isoformat()}..{ev.end_date.isoformat()}"
    start = ev.start.astimezone(zone)
    text = start.strftime("%Y-%m-%d %H:%M")
    if isinstance(ev.end, datetime):
        end = ev.end.astimezone(zone)
        text += "-" + end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    return text
