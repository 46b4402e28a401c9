"""Injected time: every component asks a Clock, tests move a FakeClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.config import Config


class Clock(Protocol):
    """Source of the current time (always timezone-aware)."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (demos via `bot.now`, and tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        """Return the clock's current time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to `when` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = when

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by `delta`."""
        self._now = self._now + delta


FakeClock = FixedClock


def parse_now(text: str, zone: ZoneInfo) -> datetime:
    """Parse an ISO 8601 date or date-time for --now / bot.now; naive means the programme zone."""
    from bot.config import ConfigError

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"not an ISO 8601 date or date-time: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def build_clock(config: Config, now: str | None = None) -> Clock:
    """A fixed clock when --now or bot.now is given (demos, tests), the system clock otherwise."""
    fixed = now or config.bot.now
    if fixed:
        return FixedClock(parse_now(fixed, ZoneInfo(config.bot.timezone)))
    return SystemClock()
