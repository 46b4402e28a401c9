"""Who answered an invite how: one row per invitee (the invite ledger) and per delegate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot.calendar.records import CalendarInvite
from bot.db import Database
from bot.inbound.models import Attendance


@dataclass(frozen=True)
class AttendanceRow:
    """One invitee's answer (NEEDS-ACTION when none yet)."""

    name: str
    email: str
    partstat: str
    updated: datetime | None
    comment: str

    def to_json(self) -> dict[str, str | None]:
        """As `coordbot attendance --json` prints it."""
        return {
            "name": self.name,
            "email": self.email,
            "partstat": self.partstat,
            "updated": self.updated.isoformat() if self.updated else None,
            "comment": self.comment,
        }


def attendance(db: Database, event_key: str) -> list[AttendanceRow]:
    """Every invitee of `event_key` with their latest answer, in the order they were invited."""
    with db.session() as session:
        invited: dict[str, str] = {}
        for invite in session.scalars(
            select(CalendarInvite)
            .where(CalendarInvite.event_key == event_key, CalendarInvite.method == "REQUEST")
            .order_by(CalendarInvite.id)
        ):
            invited.setdefault(invite.recipient, invite.name or "")
        answers = {
            a.attendee: a
            for a in session.scalars(select(Attendance).where(Attendance.event_key == event_key))
        }
    rows: list[AttendanceRow] = []
    for address in [*invited, *(a for a in answers if a not in invited)]:
        answer = answers.get(address)
        name = (answer.name if answer and answer.name else "") or invited.get(address, "")
        if answer is None:
            rows.append(AttendanceRow(name, address, "NEEDS-ACTION", None, ""))
        else:
            comment = answer.comment
            if answer.delegated_to and answer.delegated_to not in comment:
                comment = f"delegated to {answer.delegated_to}" + (
                    f"; {comment}" if comment else ""
                )
            rows.append(AttendanceRow(name, address, answer.partstat, answer.updated, comment))
    return rows
