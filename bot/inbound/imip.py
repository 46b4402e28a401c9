"""Answers to invites (RFC 5546 REPLY, COUNTER; carried by mail as in RFC 6047).

Outlook and Gmail put the REPLY inline (text/calendar; method=REPLY in multipart/alternative),
Apple Calendar and Thunderbird also attach it as an .ics file; all are read the same way. A
reply is matched by UID (`<event key>@coordbot.u4ssc-norge`) and attendee (the ATTENDEE line,
else the From address, else DELEGATED-FROM naming an invitee) against the invite ledger, and
ignored when its SEQUENCE is older than the invite the attendee holds or its DTSTAMP older than
the answer recorded. A reply without a calendar part ("Accepted: ..." / "Godtatt: ..." as a
subject, quoting the invite's Message-ID) is read from its subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar.identity import PROGRAMME_DOMAIN
from bot.calendar.records import CalendarInvite
from bot.inbound.models import Attendance
from bot.inbound.parse import Inbound, calendar_parts

PARTSTATS = ("NEEDS-ACTION", "ACCEPTED", "DECLINED", "TENTATIVE", "DELEGATED")
_SUBJECT_PARTSTAT = (
    (re.compile(r"^\s*(accepted|godtatt|godkjent|akseptert|angenommen)\s*:", re.I), "ACCEPTED"),
    (re.compile(r"^\s*(declined|avslått|avslatt|avvist|abgelehnt)\s*:", re.I), "DECLINED"),
    (
        re.compile(r"^\s*(tentative|tentatively accepted|foreløpig|kanskje)\b.*?:", re.I),
        "TENTATIVE",
    ),
)


@dataclass(frozen=True)
class ReplyItem:
    """One attendee's answer read from a REPLY or COUNTER."""

    method: str
    uid: str
    attendee: str
    name: str
    partstat: str
    sequence: int | None
    stamp: datetime | None
    comment: str
    delegated_to: str = ""
    delegated_from: str = ""
    proposed: str = ""  # COUNTER: the proposed time, as text


def _address(value: object) -> str:
    text = str(value or "").strip()
    return re.sub(r"^mailto:", "", text, flags=re.IGNORECASE).strip().lower()


def _param(prop: object, name: str) -> str:
    params = getattr(prop, "params", {})
    value = params.get(name, "") if params else ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)


def _when(value: object) -> str:
    dt = getattr(value, "dt", None)
    if isinstance(dt, datetime):
        return dt.isoformat(timespec="minutes")
    if isinstance(dt, date):
        return dt.isoformat()
    return ""


def read_calendar(text: str, sender: str) -> list[ReplyItem]:
    """The answers in one iCalendar object (empty when it is not a REPLY or COUNTER)."""
    calendar = Calendar.from_ical(text)
    method = str(calendar.get("METHOD", "")).upper()
    if method not in ("REPLY", "COUNTER"):
        return []
    items: list[ReplyItem] = []
    for event in calendar.walk("VEVENT"):
        attendees = event.get("ATTENDEE")
        if attendees is None:
            continue
        if not isinstance(attendees, list):
            attendees = [attendees]
        chosen = _choose_attendee(attendees, sender)
        seq = event.get("SEQUENCE")
        stamp = getattr(event.get("DTSTAMP"), "dt", None)
        proposed = ""
        if method == "COUNTER":
            start, end = _when(event.get("DTSTART")), _when(event.get("DTEND"))
            proposed = f"{start} - {end}" if end else start
        items.append(
            ReplyItem(
                method=method,
                uid=str(event.get("UID", "")),
                attendee=_address(chosen),
                name=_param(chosen, "CN"),
                partstat=(_param(chosen, "PARTSTAT") or "NEEDS-ACTION").upper(),
                sequence=int(seq) if seq is not None else None,
                stamp=stamp.astimezone(UTC) if isinstance(stamp, datetime) else None,
                comment=" ".join(str(event.get("COMMENT", "")).split()),
                delegated_to=_address(_param(chosen, "DELEGATED-TO")),
                delegated_from=_address(_param(chosen, "DELEGATED-FROM")),
                proposed=proposed,
            )
        )
        # The delegate named by a DELEGATED reply is an attendee too (RFC 5546 3.2.2.3).
        for other in attendees:
            if other is not chosen and _param(other, "DELEGATED-FROM"):
                items.append(
                    ReplyItem(
                        method=method,
                        uid=str(event.get("UID", "")),
                        attendee=_address(other),
                        name=_param(other, "CN"),
                        partstat=(_param(other, "PARTSTAT") or "NEEDS-ACTION").upper(),
                        sequence=items[-1].sequence,
                        stamp=items[-1].stamp,
                        comment="",
                        delegated_from=_address(_param(other, "DELEGATED-FROM")),
                    )
                )
    return items


def _choose_attendee(attendees: list[object], sender: str) -> object:
    """The replying attendee: the one who sent it, else the one who answered, else the first."""
    for attendee in attendees:
        if _address(attendee) == sender:
            return attendee
    for attendee in attendees:
        if (_param(attendee, "PARTSTAT") or "NEEDS-ACTION").upper() != "NEEDS-ACTION":
            return attendee
    return attendees[0]


def reply_items(message: Inbound) -> list[ReplyItem]:
    """Every answer in the message's calendar parts (duplicates of an attachment dropped)."""
    seen: set[tuple[str, str, str]] = set()
    items: list[ReplyItem] = []
    for text in calendar_parts(message.message):
        try:
            found = read_calendar(text, message.sender)
        except ValueError:
            continue
        for item in found:
            ident = (item.uid, item.attendee, item.partstat)
            if ident not in seen:
                seen.add(ident)
                items.append(item)
    return items


def has_calendar(message: Inbound) -> bool:
    """True when the message carries an iCalendar REPLY or COUNTER."""
    return any(
        re.search(r"^METHOD:(REPLY|COUNTER)\s*$", text, re.I | re.M)
        for text in calendar_parts(message.message)
    )


def subject_partstat(subject: str) -> str | None:
    """PARTSTAT from an "Accepted:"/"Godtatt:" style subject."""
    for pattern, partstat in _SUBJECT_PARTSTAT:
        if pattern.match(subject):
            return partstat
    return None


def subject_reply(session: Session, message: Inbound) -> ReplyItem | None:
    """A reply read from its subject, when it answers (In-Reply-To/References) an invite."""
    partstat = subject_partstat(message.subject)
    if partstat is None:
        return None
    refs = set(
        re.findall(r"<[^<>\s]+>", message.header("In-Reply-To") + message.header("References"))
    )
    if not refs:
        return None
    invite = session.scalars(
        select(CalendarInvite)
        .where(CalendarInvite.message_id.in_(refs))
        .order_by(CalendarInvite.sequence.desc())
    ).first()
    if invite is None:
        return None
    return ReplyItem(
        method="REPLY",
        uid=f"{invite.event_key}@{PROGRAMME_DOMAIN}",
        attendee=invite.recipient,
        name=invite.name or "",
        partstat=partstat,
        sequence=invite.sequence,
        stamp=None,
        comment="",
    )


@dataclass(frozen=True)
class Recorded:
    """What one answer did."""

    event_key: str
    attendee: str
    name: str
    partstat: str
    action: str  # recorded | stale | not-invited | unknown-event | countered
    detail: str
    comment: str = ""
    delegated_to: str = ""
    proposed: str = ""


def event_key_of(uid: str) -> str | None:
    """The event key in one of our UIDs, or None for somebody else's event."""
    suffix = f"@{PROGRAMME_DOMAIN}"
    return uid[: -len(suffix)] if uid.endswith(suffix) and len(uid) > len(suffix) else None


def _invited(session: Session, event_key: str) -> dict[str, tuple[int, str]]:
    """Invitee address -> (the highest SEQUENCE they were sent, name)."""
    out: dict[str, tuple[int, str]] = {}
    for row in session.scalars(select(CalendarInvite).where(CalendarInvite.event_key == event_key)):
        if row.method != "REQUEST":
            continue
        seq, name = out.get(row.recipient, (-1, ""))
        out[row.recipient] = (max(seq, row.sequence), row.name or name)
    return out


def record_reply(
    session: Session, item: ReplyItem, sender: str, message_key: str, now: datetime
) -> Recorded:
    """Match one answer to the ledger and record it in `attendance` (or say why not)."""
    event_key = event_key_of(item.uid)
    if event_key is None:
        return Recorded("", item.attendee, item.name, item.partstat, "unknown-event", item.uid)
    invited = _invited(session, event_key)
    if not invited:
        return Recorded(event_key, item.attendee, item.name, item.partstat, "unknown-event", "")
    attendee = item.attendee
    if attendee not in invited and sender in invited and not item.delegated_from:
        attendee = sender  # an alias in the ATTENDEE line (Gmail answers for every alias)
    delegate = attendee not in invited and item.delegated_from in invited
    if attendee not in invited and not delegate:
        return Recorded(event_key, attendee, item.name, item.partstat, "not-invited", "")
    current = invited[item.delegated_from if delegate else attendee][0]
    if item.sequence is not None and item.sequence < current:
        return Recorded(
            event_key,
            attendee,
            item.name,
            item.partstat,
            "stale",
            f"answers SEQUENCE {item.sequence}, the invite is at {current}",
        )
    row = session.scalars(
        select(Attendance).where(Attendance.event_key == event_key, Attendance.attendee == attendee)
    ).one_or_none()
    seq = item.sequence if item.sequence is not None else current
    if row is not None and (
        row.sequence > seq
        or (row.sequence == seq and row.stamp and item.stamp and item.stamp < row.stamp)
    ):
        return Recorded(
            event_key,
            attendee,
            item.name,
            item.partstat,
            "stale",
            "an answer sent later is recorded",
        )
    if row is None:
        row = Attendance(event_key=event_key, attendee=attendee, partstat="NEEDS-ACTION")
        session.add(row)
    # Gmail puts the address itself in CN; the name the invite went to is better.
    name = "" if "@" in item.name else item.name
    name = name or invited.get(attendee, (0, ""))[1]
    if item.method == "COUNTER":
        # A counter-proposal changes nothing by itself: the coordinators decide.
        row.name = name or row.name or ""
        row.comment = f"proposes {item.proposed}" + (f": {item.comment}" if item.comment else "")
        row.updated, row.message_key, row.sequence = now, message_key, seq
        return Recorded(
            event_key,
            attendee,
            name,
            row.partstat,
            "countered",
            "",
            item.comment,
            "",
            item.proposed,
        )
    partstat = item.partstat if item.partstat in PARTSTATS else "NEEDS-ACTION"
    row.name, row.partstat, row.sequence = name or row.name or "", partstat, seq
    row.stamp, row.updated, row.comment = item.stamp, now, item.comment
    row.delegated_to, row.message_key = item.delegated_to, message_key
    if partstat == "DELEGATED" and item.delegated_to:
        _add_delegate(session, event_key, item.delegated_to, seq, now, attendee)
    return Recorded(
        event_key, attendee, name, partstat, "recorded", "", item.comment, item.delegated_to
    )


def _add_delegate(
    session: Session, event_key: str, delegate: str, seq: int, now: datetime, by: str
) -> None:
    """The delegate joins the list as NEEDS-ACTION until their own answer arrives."""
    exists = session.scalars(
        select(Attendance).where(Attendance.event_key == event_key, Attendance.attendee == delegate)
    ).one_or_none()
    if exists is None:
        session.add(
            Attendance(
                event_key=event_key,
                attendee=delegate,
                name="",
                partstat="NEEDS-ACTION",
                sequence=seq,
                updated=now,
                comment=f"delegated by {by}",
            )
        )
        session.flush()
