"""VTIMEZONE from RRULEs, as Thunderbird and Outlook write them.

Outlook builds its time zone from the RRULEs of a VTIMEZONE (an RDATE list, or a zone that
covers only some years, puts events an hour off outside them), and libical rejects a COMMENT
there. So a zone is written as one STANDARD and one DAYLIGHT rule, found from the zone's own
transitions in a reference year: the month, the weekday and its place in the month ("last
Sunday", BYDAY=-1SU), and the local wall time at which it happens, with DTSTART in 1970.
Europe/Oslo comes out as:

    BEGIN:DAYLIGHT  DTSTART:19700329T020000  RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
                    TZOFFSETFROM:+0100  TZOFFSETTO:+0200  TZNAME:CEST
    BEGIN:STANDARD  DTSTART:19701025T030000  RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
                    TZOFFSETFROM:+0200  TZOFFSETTO:+0100  TZNAME:CET

that is, summer time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
Sunday of October.
"""

from __future__ import annotations

import calendar as monthcal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard
from icalendar.prop import vUnknown

_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# A year whose rules hold for the programme's dates (the EU rules are unchanged since 1996).
REFERENCE_YEAR = 2020


@dataclass(frozen=True)
class Transition:
    """One yearly change of offset, as a rule."""

    daylight: bool
    month: int
    weekday: int  # 0 = Monday
    nth: int  # 1..4, or -1 for the last one in the month
    wall: timedelta  # local time of day (in the offset before the change) it happens at
    offset_from: timedelta
    offset_to: timedelta
    name: str

    def byday(self) -> str:
        """BYDAY value, e.g. -1SU."""
        return f"{self.nth}{_DAYS[self.weekday]}"

    def first(self, year: int = 1970) -> datetime:
        """The local wall time of the change in `year` (naive), for DTSTART."""
        days = [
            d
            for d in range(1, monthcal.monthrange(year, self.month)[1] + 1)
            if datetime(year, self.month, d).weekday() == self.weekday
        ]
        day = days[-1] if self.nth == -1 else days[self.nth - 1]
        return datetime(year, self.month, day) + self.wall


def transitions(zone_name: str, year: int = REFERENCE_YEAR) -> list[Transition]:
    """The offset changes of `zone_name` in `year`, as rules (empty for a zone without)."""
    zone = ZoneInfo(zone_name)
    found: list[Transition] = []
    start = datetime(year, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    moment = start
    before = moment.astimezone(zone).utcoffset()
    while moment.year == year:
        after_moment = moment + step
        after = after_moment.astimezone(zone).utcoffset()
        if after != before:
            # Narrow down to the exact minute.
            low, high = moment, after_moment
            while high - low > timedelta(minutes=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == before:
                    low = mid
                else:
                    high = mid
            assert before is not None and after is not None
            local = (high + before).replace(tzinfo=None)
            last_day = monthcal.monthrange(local.year, local.month)[1]
            nth = -1 if local.day + 7 > last_day else (local.day - 1) // 7 + 1
            changed = high.astimezone(zone)
            found.append(
                Transition(
                    daylight=bool(changed.dst()),
                    month=local.month,
                    weekday=local.weekday(),
                    nth=nth,
                    wall=local - datetime(local.year, local.month, local.day),
                    offset_from=before,
                    offset_to=after,
                    name=changed.tzname() or "",
                )
            )
            before = after
        moment = after_moment
    return found


def vtimezone(zone_name: str) -> Timezone:
    """The VTIMEZONE of `zone_name` with yearly RRULEs (see the module docstring)."""
    component = Timezone()
    component.add("TZID", zone_name)
    rules = transitions(zone_name)
    if not rules:
        zone = ZoneInfo(zone_name)
        moment = datetime(REFERENCE_YEAR, 1, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        standard = TimezoneStandard()
        standard.add("DTSTART", datetime(1970, 1, 1))
        standard.add("TZOFFSETFROM", offset)
        standard.add("TZOFFSETTO", offset)
        standard.add("TZNAME", moment.tzname() or zone_name)
        component.add_component(standard)
        return component
    for rule in sorted(rules, key=lambda r: not r.daylight):
        part = TimezoneDaylight() if rule.daylight else TimezoneStandard()
        part.add("DTSTART", rule.first())
        # Written in the order Thunderbird and Outlook use (icalendar would sort the parts).
        rrule = f"FREQ=YEARLY;BYMONTH={rule.month};BYDAY={rule.byday()}"
        part.add("RRULE", vUnknown(rrule), encode=False)
        part.add("TZOFFSETFROM", rule.offset_from)
        part.add("TZOFFSETTO", rule.offset_to)
        if rule.name:
            part.add("TZNAME", rule.name)
        component.add_component(part)
    return component
