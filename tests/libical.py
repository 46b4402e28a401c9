"""libical (the C library behind Evolution and many servers) through ctypes, for tests.

Debian's `libical3` package; `.ci/run` installs it. `available()` is False where it is not
installed. Only what the calendar tests need: parse errors and iTIP restriction warnings
(the X-LIC-ERROR properties libical adds), event starts in UTC through the document's own
VTIMEZONE, and UTC -> wall time through that VTIMEZONE.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from datetime import UTC, datetime
from functools import cache

_VEVENT = 4
_VCALENDAR = 7


class _Time(ctypes.Structure):
    _fields_ = [
        ("year", ctypes.c_int),
        ("month", ctypes.c_int),
        ("day", ctypes.c_int),
        ("hour", ctypes.c_int),
        ("minute", ctypes.c_int),
        ("second", ctypes.c_int),
        ("is_date", ctypes.c_int),
        ("is_daylight", ctypes.c_int),
        ("zone", ctypes.c_void_p),
    ]


@cache
def _lib() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("ical") or "libical.so.3"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    vp = ctypes.c_void_p
    lib.icalparser_parse_string.restype = vp
    lib.icalparser_parse_string.argtypes = [ctypes.c_char_p]
    lib.icalcomponent_isa.restype = ctypes.c_int
    lib.icalcomponent_isa.argtypes = [vp]
    lib.icalcomponent_get_first_component.restype = vp
    lib.icalcomponent_get_first_component.argtypes = [vp, ctypes.c_int]
    lib.icalcomponent_get_next_component.restype = vp
    lib.icalcomponent_get_next_component.argtypes = [vp, ctypes.c_int]
    lib.icalcomponent_get_dtstart.restype = _Time
    lib.icalcomponent_get_dtstart.argtypes = [vp]
    lib.icalcomponent_get_summary.restype = ctypes.c_char_p
    lib.icalcomponent_get_summary.argtypes = [vp]
    lib.icaltime_as_timet_with_zone.restype = ctypes.c_int64
    lib.icaltime_as_timet_with_zone.argtypes = [_Time, vp]
    lib.icalcomponent_get_timezone.restype = vp
    lib.icalcomponent_get_timezone.argtypes = [vp, ctypes.c_char_p]
    lib.icaltimezone_get_utc_timezone.restype = vp
    lib.icaltimezone_get_utc_timezone.argtypes = []
    lib.icaltimezone_convert_time.restype = None
    lib.icaltimezone_convert_time.argtypes = [ctypes.POINTER(_Time), vp, vp]
    lib.icalrestriction_check.restype = ctypes.c_int
    lib.icalrestriction_check.argtypes = [vp]
    lib.icalcomponent_as_ical_string.restype = ctypes.c_char_p
    lib.icalcomponent_as_ical_string.argtypes = [vp]
    lib.icalcomponent_free.restype = None
    lib.icalcomponent_free.argtypes = [vp]
    return lib


def available() -> bool:
    """True when libical can be loaded."""
    return _lib() is not None


class Document:
    """A parsed iCalendar document (freed on close)."""

    def __init__(self, text: bytes) -> None:
        lib = _lib()
        assert lib is not None, "libical is not installed"
        self._lib = lib
        self._root = lib.icalparser_parse_string(text)
        assert self._root, "libical could not parse the document"
        assert lib.icalcomponent_isa(self._root) == _VCALENDAR

    def close(self) -> None:
        """Free the component tree."""
        if self._root:
            self._lib.icalcomponent_free(self._root)
            self._root = None

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def errors(self) -> list[str]:
        """The X-LIC-ERROR lines libical put into the document (parse problems, and after
        `check_itip` the iTIP restriction violations)."""
        text = self._lib.icalcomponent_as_ical_string(self._root).decode("utf-8")
        unfolded = text.replace("\r\n ", "").replace("\n ", "")
        return [line for line in unfolded.splitlines() if line.startswith("X-LIC-ERROR")]

    def check_itip(self) -> list[str]:
        """Run libical's RFC 5546 restriction check; the errors it reports."""
        self._lib.icalrestriction_check(self._root)
        return self.errors()

    def _events(self) -> list[int]:
        found = []
        comp = self._lib.icalcomponent_get_first_component(self._root, _VEVENT)
        while comp:
            found.append(comp)
            comp = self._lib.icalcomponent_get_next_component(self._root, _VEVENT)
        return found

    def event_starts(self) -> dict[str, datetime]:
        """SUMMARY -> DTSTART in UTC of every timed VEVENT (TZID through the VTIMEZONE)."""
        starts = {}
        utc = self._lib.icaltimezone_get_utc_timezone()
        for comp in self._events():
            start = self._lib.icalcomponent_get_dtstart(comp)
            if start.is_date:
                continue
            stamp = self._lib.icaltime_as_timet_with_zone(start, start.zone or utc)
            summary = (self._lib.icalcomponent_get_summary(comp) or b"").decode("utf-8")
            starts[summary] = datetime.fromtimestamp(stamp, UTC)
        return starts

    def wall_time(self, tzid: str, moment: datetime) -> datetime:
        """`moment` (aware) as wall time in the document's VTIMEZONE `tzid` (naive)."""
        zone = self._lib.icalcomponent_get_timezone(self._root, tzid.encode())
        assert zone, f"no VTIMEZONE {tzid} in the document"
        utc = self._lib.icaltimezone_get_utc_timezone()
        at = moment.astimezone(UTC)
        tt = _Time(at.year, at.month, at.day, at.hour, at.minute, at.second, 0, 0, utc)
        self._lib.icaltimezone_convert_time(ctypes.byref(tt), utc, zone)
        return datetime(tt.year, tt.month, tt.day, tt.hour, tt.minute, tt.second)
