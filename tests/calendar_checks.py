"""Checks shared by the calendar tests: parse with two independent parsers (icalendar and
vobject) and hold an iMIP e-mail to RFC 5546/6047 point by point."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

import icalendar
import vobject

from bot.calendar.identity import event_uid


def parse_both(document: bytes) -> tuple[icalendar.Calendar, Any]:
    """Parse a calendar with icalendar and with vobject; both must succeed."""
    with_icalendar = icalendar.Calendar.from_ical(document)
    with_vobject = vobject.readOne(document.decode("utf-8"))
    assert with_vobject.name == "VCALENDAR"
    return with_icalendar, with_vobject


def tzids_used(calendar: icalendar.Calendar) -> set[str]:
    """Every TZID parameter on a VEVENT property."""
    used = set()
    for event in calendar.walk("VEVENT"):
        for name in ("DTSTART", "DTEND"):
            if name in event and "TZID" in event[name].params:
                used.add(str(event[name].params["TZID"]))
    return used


def assert_vtimezones(calendar: icalendar.Calendar) -> None:
    """A VTIMEZONE for every TZID used (RFC 5545 3.6.5)."""
    defined = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    assert tzids_used(calendar) <= defined


def check_imip(
    message: EmailMessage,
    *,
    method: str,
    event_key: str,
    sequence: int,
    attendee: str,
    organizer: str,
) -> icalendar.Event:
    """Hold one invite e-mail to the iMIP rules; returns its VEVENT (from icalendar)."""
    assert message.get_content_type() == "multipart/mixed"
    top = list(message.iter_parts())
    assert [p.get_content_type() for p in top] == ["multipart/alternative", "application/ics"]
    alternative, attachment = top
    inner = list(alternative.iter_parts())
    assert [p.get_content_type() for p in inner] == ["text/plain", "text/html", "text/calendar"]
    calendar_part = inner[2]
    assert calendar_part.get_param("method") == method
    assert str(calendar_part.get_param("charset")).lower() == "utf-8"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"
    inline = calendar_part.get_content().encode("utf-8")
    attached = attachment.get_content()
    assert inline.replace(b"\r\n", b"\n") == attached.replace(b"\r\n", b"\n")

    calendar, vcal = parse_both(attached)
    assert str(calendar["METHOD"]) == method == vcal.method.value
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    assert str(event["UID"]) == event_uid(event_key) == vcal.vevent.uid.value
    assert int(event["SEQUENCE"]) == sequence == int(vcal.vevent.sequence.value)
    assert "DTSTAMP" in event and "DTSTART" in event
    assert str(event["ORGANIZER"]) == f"mailto:{organizer}"
    assert event["ORGANIZER"].params.get("CN")
    attendees = event.get("ATTENDEE")
    assert not isinstance(attendees, list), "exactly one ATTENDEE"
    assert str(attendees) == f"mailto:{attendee}"
    assert len(vcal.vevent.contents["attendee"]) == 1
    params = attendees.params
    assert params.get("CN")
    assert params["ROLE"] == "REQ-PARTICIPANT"
    assert params["PARTSTAT"] == "NEEDS-ACTION"
    if method == "REQUEST":
        assert params["RSVP"] == "TRUE"
        assert str(event["STATUS"]) == "CONFIRMED"
    else:
        assert str(event["STATUS"]) == "CANCELLED"
    assert_vtimezones(calendar)

    to = message["To"].addresses
    assert [a.addr_spec for a in to] == [attendee]
    sender = message["From"].addresses
    assert isinstance(sender[0], Address) and sender[0].addr_spec == organizer
    for header in ("Subject", "Date", "Message-ID", "MIME-Version"):
        assert message[header], header
    assert message.get_all("Bcc") is None and message.get_all("Cc") is None
    return event
