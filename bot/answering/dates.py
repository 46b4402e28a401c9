"""Dates in questions: "21 February", "21. februar", "24/4", "2020-02-21", "tomorrow",
"i morgen", "next week", "i mars", weekdays; relative to the injected clock's today."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from bot.answering.text import Question

MONTHS = {
    "january": 1, "jan": 1, "januar": 1,
    "february": 2, "feb": 2, "februar": 2,
    "march": 3, "mar": 3, "mars": 3,
    "april": 4, "apr": 4,
    "may": 5, "mai": 5,
    "june": 6, "jun": 6, "juni": 6,
    "july": 7, "jul": 7, "juli": 7,
    "august": 8, "aug": 8,
    "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "oktober": 10, "okt": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12, "desember": 12, "des": 12,
}  # fmt: skip
# Month words that are also ordinary words count only next to a day, a year or "in"/"i".
_AMBIGUOUS_MONTHS = frozenset({"may", "mar", "jan", "des", "sep", "aug", "jun", "jul", "nov"})
WEEKDAYS = {
    "monday": 0, "mandag": 0, "tuesday": 1, "tirsdag": 1, "wednesday": 2, "onsdag": 2,
    "thursday": 3, "torsdag": 3, "friday": 4, "fredag": 4, "saturday": 5, "lordag": 5,
    "sunday": 6, "sondag": 6,
}  # fmt: skip
_RELATIVE_DAYS = {
    ("today",): 0, ("idag",): 0, ("i", "dag"): 0,
    ("tomorrow",): 1, ("imorgen",): 1, ("i", "morgen"): 1,
    ("yesterday",): -1, ("igar",): -1, ("i", "gar"): -1,
    ("day", "after", "tomorrow"): 2, ("overmorgen",): 2, ("i", "overmorgen"): 2,
}  # fmt: skip
_THIS = frozenset({"this", "denne", "dette"})
_NEXT = frozenset({"next", "neste"})
_WEEK = frozenset({"week", "uke", "uka", "uken"})
_MONTH = frozenset({"month", "maned", "maneden"})
_IN = frozenset({"in", "i", "during", "under", "for"})

_DIGIT = re.compile(r"\d")
_ISO = re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<![\d.])(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?(?![\d/])")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_YEAR = re.compile(r"^(19|20)\d\d$")


@dataclass(frozen=True)
class DateRange:
    """The days a question asks about (inclusive) and the token positions that said so."""

    first: date
    last: date
    positions: frozenset[int]
    # Set when the question named a day or month without a year: (month, day or None). The
    # schedule then moves the range to the year the user most likely means (schedule.anchor).
    yearless: tuple[int, int | None] | None = None

    @property
    def single_day(self) -> bool:
        """True for one day."""
        return self.first == self.last


def _nearest(today: date, month: int, day: int) -> date | None:
    """The date with that month and day closest to today (last, this or next year)."""
    best, best_gap = None, 0
    for year in (today.year - 1, today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        gap = abs((candidate - today).days)
        if best is None or gap < best_gap:  # the earlier year on a tie
            best, best_gap = candidate, gap
    return best


def _make(year: int | None, month: int, day: int, today: date) -> date | None:
    if year is None:
        return _nearest(today, month, day)
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_range(year: int | None, month: int, today: date) -> tuple[date, date]:
    if year is None:
        first = _nearest(today, month, 15) or date(today.year, month, 15)
        year = first.year
    start = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, following - timedelta(days=1)


def _char_positions(question: Question, start: int, end: int) -> frozenset[int]:
    return frozenset(i for i, t in enumerate(question.tokens) if t.start < end and t.end > start)


def find_date(question: Question, today: date) -> DateRange | None:
    """The first date or date range the question names, if any."""
    text = question.text.casefold()
    for match in _ISO.finditer(text):
        when = _make(int(match[1]), int(match[2]), int(match[3]), today)
        if when:
            return DateRange(when, when, _char_positions(question, *match.span()))
    for match in _NUMERIC.finditer(text):
        year = int(match[3]) if match[3] else None
        when = _make(year, int(match[2]), int(match[1]), today)
        if when:
            spec = None if year else (when.month, when.day)
            return DateRange(when, when, _char_positions(question, *match.span()), spec)
    return _find_word_date(question.words, today)


def find_dates(question: Question, today: date) -> list[DateRange]:
    """Every date or date range the question names, in order ("21 February and 24 April")."""
    found: list[DateRange] = []
    # Numeric dates need a digit (most questions have none: two regex scans saved). Case
    # folding never makes or unmakes a digit, so the text is folded only when there is one.
    numeric = _DIGIT.search(question.text) is not None
    text = question.text.casefold() if numeric else ""
    for match in _ISO.finditer(text) if numeric else ():
        when = _make(int(match[1]), int(match[2]), int(match[3]), today)
        if when:
            found.append(DateRange(when, when, _char_positions(question, *match.span())))
    for match in _NUMERIC.finditer(text) if numeric else ():
        year = int(match[3]) if match[3] else None
        when = _make(year, int(match[2]), int(match[1]), today)
        if when:
            spec = None if year else (when.month, when.day)
            found.append(DateRange(when, when, _char_positions(question, *match.span()), spec))
    words = question.words
    used = {i for r in found for i in r.positions}
    i = 0
    while i < len(words):
        word = words[i]
        # Only a number or a date word can start a date (most words cost this one test).
        if i in used or not (word[:1].isdigit() or word in _DATE_WORDS):
            i += 1
            continue
        rng = _word_date_at(words, i, today)
        if rng is not None and not rng.positions & used:
            found.append(rng)
            used |= rng.positions
            i = max(rng.positions) + 1
        else:
            i += 1
    if len(found) < 2:
        return found
    return sorted(found, key=lambda r: min(r.positions, default=0))


def _find_word_date(words: list[str], today: date) -> DateRange | None:
    for i in range(len(words)):
        found = _word_date_at(words, i, today)
        if found:
            return found
    return None


def _word_date_at(words: list[str], i: int, today: date) -> DateRange | None:
    return (
        _relative_day(words, i, today)
        or _this_or_next(words, i, today)
        or _day_then_month(words, i, today)
        or _month_first(words, i, today)
        or _weekday(words, i, today)
        or _day_only(words, i, today)
    )


_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)$")


def _day_only(words: list[str], i: int, today: date) -> DateRange | None:
    """'the 21st', 'on the 2nd', 'den 21.': a day of some month. Month 0 in `yearless` asks the
    schedule for the nearest month with registered items on that day."""
    if not words[i][:1].isdigit():
        return None
    match = _ORDINAL.match(words[i]) or (
        _DAY.match(words[i]) if i and words[i - 1] == "den" else None
    )
    if match is None or not 1 <= int(match[1]) <= 31:
        return None
    day = int(match[1])
    for offset in range(0, 3):
        month = (today.month - 1 + offset) % 12 + 1
        year = today.year + (today.month - 1 + offset) // 12
        try:
            when = date(year, month, day)
        except ValueError:
            continue
        if when >= today or offset:
            return DateRange(when, when, frozenset({i}), (0, day))
    return None


_RELATIVE_FIRST = frozenset(phrase[0] for phrase in _RELATIVE_DAYS)
_THIS_OR_NEXT = _THIS | _NEXT
_DATE_WORDS = frozenset(MONTHS) | frozenset(WEEKDAYS) | _RELATIVE_FIRST | _THIS | _NEXT


def _relative_day(words: list[str], i: int, today: date) -> DateRange | None:
    """'today', 'i morgen', 'day after tomorrow'..."""
    if words[i] not in _RELATIVE_FIRST:
        return None
    for phrase, offset in _RELATIVE_DAYS.items():
        if tuple(words[i : i + len(phrase)]) == phrase:
            when = today + timedelta(days=offset)
            return DateRange(when, when, frozenset(range(i, i + len(phrase))))
    return None


def _this_or_next(words: list[str], i: int, today: date) -> DateRange | None:
    """'this week', 'neste uke', 'next month'..."""
    following = words[i + 1] if i + 1 < len(words) else ""
    if words[i] not in _THIS_OR_NEXT or not (following in _WEEK or following in _MONTH):
        return None
    ahead = int(words[i] in _NEXT)
    if following in _WEEK:
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=ahead)
        return DateRange(monday, monday + timedelta(days=6), frozenset({i, i + 1}))
    month = today.month + ahead
    year = today.year + (month - 1) // 12
    first, last = _month_range(year, (month - 1) % 12 + 1, today)
    return DateRange(first, last, frozenset({i, i + 1}))


def _day_then_month(words: list[str], i: int, today: date) -> DateRange | None:
    """'21 February', '21. februar 2020', '21st of February'."""
    day_match = _DAY.match(words[i])
    if not day_match:
        return None
    month_at = i + 1
    if month_at < len(words) and words[month_at] == "of":
        month_at += 1
    if month_at >= len(words) or words[month_at] not in MONTHS:
        return None
    year, used = _year_after(words, month_at)
    when = _make(year, MONTHS[words[month_at]], int(day_match[1]), today)
    if when is None:
        return None
    spec = None if year else (when.month, when.day)
    return DateRange(when, when, frozenset(range(i, month_at + 1 + used)), spec)


def _month_first(words: list[str], i: int, today: date) -> DateRange | None:
    """'February 21', 'March 2020', 'i mars' (a whole month)."""
    word = words[i]
    if word not in MONTHS:
        return None
    following = words[i + 1] if i + 1 < len(words) else ""
    day_match = _DAY.match(following)
    if day_match:
        year, used = _year_after(words, i + 1)
        when = _make(year, MONTHS[word], int(day_match[1]), today)
        if when:
            exact = None if year else (when.month, when.day)
            return DateRange(when, when, frozenset(range(i, i + 2 + used)), exact)
    year, used = _year_after(words, i)
    previous = words[i - 1] if i else ""
    if word in _AMBIGUOUS_MONTHS and not used and previous not in _IN:
        return None
    first, last = _month_range(year, MONTHS[word], today)
    spec: tuple[int, int | None] | None = None if year else (MONTHS[word], None)
    return DateRange(first, last, frozenset(range(i, i + 1 + used)), spec)


def _weekday(words: list[str], i: int, today: date) -> DateRange | None:
    """'on Friday', 'på fredag', 'next Monday': the next such day (today counts)."""
    if words[i] not in WEEKDAYS:
        return None
    ahead = (WEEKDAYS[words[i]] - today.weekday()) % 7
    if ahead == 0 and i and words[i - 1] in _NEXT:
        ahead = 7
    when = today + timedelta(days=ahead)
    return DateRange(when, when, frozenset({i}))


def _year_after(words: list[str], i: int) -> tuple[int | None, int]:
    """A four-digit year right after position i, and how many tokens it took."""
    if i + 1 < len(words) and _YEAR.match(words[i + 1]):
        return int(words[i + 1]), 1
    return None, 0
