"""One programme event as a VEVENT, shared by feeds and invites so both say the same thing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vText

from bot.calendar.identity import event_uid
from bot.calendar.texts import contacts_heading, kind_name
from bot.calendar.timezone import vtimezone
from bot.i18n import gettext
from bot.registry.data import EventRec, PersonRec, RegistryData, RoleRec, RoleTypeRec

# RFC 5545 TEXT allows no control characters but tab; line breaks are kept as LF (written \n).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def calendar_text(value: str) -> str:
    """Text as a calendar property may hold it: CR LF and CR become LF, other controls go."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


class CalText(vText):
    """TEXT escaped as RFC 5545 says, and nothing more: backslash, semicolon, comma and line
    break. (icalendar's own escaping turns a backslash before a capital N, as in
    `K:\\Nettverk`, into a line break.)"""

    __slots__ = ()

    def to_ical(self) -> bytes:
        """The escaped value as UTF-8."""
        text = (
            str(self)
            .replace("\\", "\\\\")
            .replace(";", "\\;")
            .replace(",", "\\,")
            .replace("\r\n", "\n")
            .replace("\n", "\\n")
        )
        return text.encode("utf-8")


def set_text(component: Any, name: str, value: str | None, *, keep_empty: bool = False) -> None:
    """Set a TEXT property through CalText (replacing any earlier value); an empty value
    removes it unless `keep_empty`."""
    if name in component:
        del component[name]
    if value or (keep_empty and value is not None):
        component.add(name, CalText(calendar_text(value)), encode=False)


def calendar_param(value: str) -> str:
    """Text for a parameter such as CN: one line, single spaces, no backslash (RFC 5545 does
    not escape in parameters, and common parsers, icalendar among them, misread one)."""
    return " ".join(calendar_text(value).replace("\\", "").split())


@dataclass(frozen=True)
class EventContact:
    """A person to contact about an event, with the role that makes them the one to ask."""

    person: PersonRec
    role_type: RoleTypeRec
    role: RoleRec

    def line(self, data: RegistryData, lang: str) -> str:
        """'Name (role, place) <address>' for descriptions and mail bodies."""
        place = None
        if self.role.municipality and self.role.municipality in data.municipality_by_key:
            place = data.municipality_by_key[self.role.municipality].name
        elif self.role.organisation and self.role.organisation in data.organisation_by_key:
            org = data.organisation_by_key[self.role.organisation]
            place = (org.name_en or org.name) if lang == "en" else org.name
        what = self.role_type.name(lang) + (f", {place}" if place else "")
        text = f"{self.person.name} ({what})"
        if self.person.email:
            text += f" <{self.person.email}>"
        return text


def event_contacts(
    data: RegistryData, ev: EventRec, municipality: str | None = None
) -> list[EventContact]:
    """Who to contact about `ev`: holders of its contact roles. Municipal roles (a data contact
    of Bodø) count only where the event reaches: `municipality` when given, else the
    municipalities of the event's audiences (all of them for a programme-wide event)."""
    reach: set[str] | None = None
    if municipality is not None:
        reach = {municipality}
    elif ev.audiences:
        reach = {
            m
            for a in ev.audiences
            if a in data.audience_by_key
            for m in data.audience_by_key[a].municipalities
        }
    contacts: list[EventContact] = []
    for role_key in ev.contact_roles:
        role_type = data.role_type_by_key.get(role_key)
        if role_type is None:
            continue
        # The snapshot's index: the role's holders only, in registry order.
        for person in data.holders(role_key):
            for role in person.roles:
                if role.role != role_key:
                    continue
                if role.municipality and reach is not None and role.municipality not in reach:
                    continue
                contacts.append(EventContact(person, role_type, role))
                break
    return contacts


def event_description(
    data: RegistryData, ev: EventRec, lang: str, municipality: str | None = None
) -> str:
    """DESCRIPTION text: the event's description, then who to contact."""
    parts = []
    if ev.description(lang):
        parts.append(str(ev.description(lang)))
    contacts = event_contacts(data, ev, municipality)
    if contacts:
        heading = contacts_heading(len(contacts), lang)
        lines = "\n".join(f"- {c.line(data, lang)}" for c in contacts)
        parts.append(f"{heading}:\n{lines}")
    return "\n\n".join(parts)


def event_component(
    data: RegistryData,
    ev: EventRec,
    *,
    lang: str,
    stamp: datetime,
    municipality: str | None = None,
    alarm_minutes: int = 0,
    cancelled: bool | None = None,
    mark_cancelled_in_summary: bool = False,
) -> Event:
    """The VEVENT for `ev`. `stamp` becomes DTSTAMP; `cancelled` overrides the registry's flag
    (an invite's CANCEL). All-day items get VALUE=DATE and an exclusive DTEND."""
    is_cancelled = ev.cancelled if cancelled is None else cancelled
    summary = ev.title(lang)
    if is_cancelled and mark_cancelled_in_summary:
        # Some subscribed calendars ignore STATUS; the title still tells the reader.
        summary = gettext(lang, "CANCELLED: {title}", title=summary)
    component = Event.new(
        uid=event_uid(ev.key),
        sequence=ev.sequence,
        stamp=stamp,
        categories=[kind_name(ev.kind, lang)]
        if ev.kind in ("meeting", "deadline", "milestone")
        else (),
    )
    set_text(component, "SUMMARY", summary, keep_empty=True)
    set_text(component, "LOCATION", ev.location)
    set_text(component, "DESCRIPTION", event_description(data, ev, lang, municipality))
    start, end = _start_end(ev, ZoneInfo(data.timezone))
    component.start = start
    if end is not None:
        component.end = end
    if ev.updated_at is not None:
        component.add("LAST-MODIFIED", ev.updated_at)
    component.add("STATUS", "CANCELLED" if is_cancelled else "CONFIRMED")
    # Meetings take time; deadlines and milestones should not show people as busy.
    component.add("TRANSP", "OPAQUE" if ev.kind == "meeting" else "TRANSPARENT")
    if alarm_minutes > 0 and not is_cancelled:
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        set_text(alarm, "DESCRIPTION", ev.title(lang))
        alarm.add("TRIGGER", timedelta(minutes=-alarm_minutes))
        component.add_component(alarm)
    return component


def _start_end(ev: EventRec, zone: ZoneInfo) -> tuple[date | datetime, date | datetime | None]:
    if isinstance(ev.start, datetime):
        start = ev.start.astimezone(zone)
        end = ev.end.astimezone(zone) if isinstance(ev.end, datetime) else None
        return start, end
    last = ev.end if isinstance(ev.end, date) and not isinstance(ev.end, datetime) else ev.start
    return ev.start, last + timedelta(days=1)


def add_timezones(calendar: Calendar, events: list[EventRec], zone_name: str) -> None:
    """Add the VTIMEZONE of `zone_name` (RRULEs, see bot.calendar.timezone) when any event
    has a time (all-day items use no TZID)."""
    if any(isinstance(e.start, datetime) for e in events):
        calendar.add_component(vtimezone(zone_name))
