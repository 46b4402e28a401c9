"""Reminder rules from the [reminders] config: lead times per kind of event and per audience.

A lead time is "<N>d" (N days before, at the morning time), "<N>d@HH:MM" (N days before at
that time), "<N>h" or "<N>m" (hours or minutes before the start; for all-day items, before
the morning time of their day). "0d" is the morning of the day itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import ConfigError, RemindersConfig
from bot.i18n import gettext, ngettext
from bot.registry.data import EVENT_KINDS, EventRec

_LEAD = re.compile(r"^(\d+(?:\.\d+)?)\s*([dhm])(?:@(\d{1,2}):(\d{2}))?$")


@dataclass(frozen=True)
class LeadTime:
    """One lead time; `text` is how config spells it (and part of the reminder's identity)."""

    text: str
    days: int | None = None
    at: time | None = None
    before: timedelta | None = None

    def label(self, lang: str = "en") -> str:
        """Human words: "14 days before", "the day itself", "1 hour before"."""
        if self.days is not None:
            when = f" {self.at:%H:%M}" if self.at else ""
            if self.days == 0:
                return gettext(lang, "the day itself") + when
            if self.days == 1:
                return gettext(lang, "the day before") + when
            return ngettext(lang, "{n} day before", "{n} days before", self.days) + when
        assert self.before is not None
        minutes = int(self.before.total_seconds() // 60)
        if minutes % 60 == 0:
            return ngettext(lang, "{n} hour before", "{n} hours before", minutes // 60)
        return ngettext(lang, "{n} minute before", "{n} minutes before", minutes)

    def due(self, event: EventRec, zone: ZoneInfo, morning: time) -> datetime:
        """When this reminder for `event` goes out (aware, in `zone`)."""
        if self.days is not None:
            day: date = event.start_date - timedelta(days=self.days)
            return datetime.combine(day, self.at or morning, zone)
        assert self.before is not None
        start = (
            event.start.astimezone(zone)
            if isinstance(event.start, datetime)
            else datetime.combine(event.start, morning, zone)
        )
        return start - self.before


def parse_lead(text: str) -> LeadTime:
    """Parse one lead time; ConfigError says what is wrong."""
    spelled = text.strip().lower()
    match = _LEAD.match(spelled)
    if match is None:
        raise ConfigError(f"reminders: lead time {text!r} is not like 14d, 1d@16:00, 2h or 30m")
    number, unit, hour, minute = match.groups()
    value = float(number)
    if unit == "d":
        if not value.is_integer():
            raise ConfigError(f"reminders: lead time {text!r}: days must be whole")
        at = None
        if hour is not None:
            if int(hour) > 23 or int(minute) > 59:
                raise ConfigError(f"reminders: lead time {text!r}: no such time of day")
            at = time(int(hour), int(minute))
        return LeadTime(spelled, days=int(value), at=at)
    if hour is not None:
        raise ConfigError(f"reminders: lead time {text!r}: @HH:MM only goes with days")
    delta = timedelta(hours=value) if unit == "h" else timedelta(minutes=value)
    return LeadTime(spelled, before=delta)


def parse_time_of_day(text: str) -> time:
    """ "08:00" -> time(8, 0)."""
    try:
        hour, minute = (int(part) for part in text.strip().split(":"))
        return time(hour, minute)
    except ValueError:
        raise ConfigError(f"reminders.morning_time: {text!r} is not HH:MM") from None


@dataclass(frozen=True)
class ReminderRules:
    """Lead times per event kind, with per-audience overrides, and when mornings are."""

    by_kind: dict[str, tuple[LeadTime, ...]]
    by_audience: dict[tuple[str, str], tuple[LeadTime, ...]]
    morning: time
    channels: tuple[str, ...]
    late_after: timedelta

    def leads(self, kind: str, audience: str | None) -> tuple[LeadTime, ...]:
        """The lead times for an event of `kind` sent to `audience`."""
        if audience is not None and (audience, kind) in self.by_audience:
            return self.by_audience[(audience, kind)]
        return self.by_kind.get(kind, ())


def _leads(values: Sequence[str]) -> tuple[LeadTime, ...]:
    parsed = {lead.text: lead for lead in (parse_lead(v) for v in values if v.strip())}
    return tuple(parsed.values())


def rules_from_config(config: RemindersConfig) -> ReminderRules:
    """Build the rules, refusing any malformed setting with a ConfigError."""
    by_kind = {
        "deadline": _leads(config.deadline_lead_times),
        "meeting": _leads(config.meeting_lead_times),
        "milestone": _leads(config.milestone_lead_times),
    }
    by_audience: dict[tuple[str, str], tuple[LeadTime, ...]] = {}
    for entry in config.audience_lead_times:
        head, sep, values = entry.partition("=")
        audience, colon, kind = head.strip().partition(":")
        if not sep or not colon or kind.strip() not in EVENT_KINDS or not audience.strip():
            raise ConfigError(
                f"reminders.audience_lead_times: {entry!r} is not like "
                "'steering-group:meeting=14d 7d 1d'"
            )
        by_audience[(audience.strip(), kind.strip())] = _leads(values.split())
    channels = tuple(c.strip() for c in config.channels if c.strip())
    unknown = [c for c in channels if c not in ("telegram", "email")]
    if unknown:
        raise ConfigError(f"reminders.channels: unknown channel(s) {', '.join(unknown)}")
    return ReminderRules(
        by_kind,
        by_audience,
        parse_time_of_day(config.morning_time),
        channels,
        timedelta(minutes=config.late_after_minutes),
    )
