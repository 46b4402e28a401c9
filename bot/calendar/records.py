"""The invite ledger: one row per (event, recipient, sequence), so a re-run sends nothing twice
and a changed event (higher SEQUENCE) reaches everyone who had the old one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.db import Base, UTCDateTime

STATUS_PENDING = "pending"  # written before sending: a crash leaves it to be sent again
STATUS_SENT = "sent"
STATUS_FAILED = "failed"


class CalendarInvite(Base):
    """An iMIP message for one event and recipient at one SEQUENCE."""

    __tablename__ = "calendar_invite"
    __table_args__ = (UniqueConstraint("event_key", "recipient", "sequence"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), index=True)
    # The address as sent, lower-cased: mail systems treat the domain case-insensitively and
    # the registry spells the same person's address in different cases.
    recipient: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(300))
    code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def recipient_key(address: str) -> str:
    """The ledger's form of an address."""
    return address.strip().lower()


def invites_for_event(session: Session, event_key: str) -> list[CalendarInvite]:
    """Every ledger row of an event, oldest first."""
    return list(
        session.scalars(
            select(CalendarInvite)
            .where(CalendarInvite.event_key == event_key)
            .order_by(CalendarInvite.id)
        )
    )


def record_attempt(
    session: Session,
    *,
    event_key: str,
    recipient: str,
    name: str | None,
    sequence: int,
    method: str,
    status: str,
    message_id: str | None,
    now: datetime,
    code: int | None = None,
    reason: str | None = None,
) -> CalendarInvite:
    """Insert or update the row for (event, recipient, sequence)."""
    key = recipient_key(recipient)
    row = session.scalars(
        select(CalendarInvite).where(
            CalendarInvite.event_key == event_key,
            CalendarInvite.recipient == key,
            CalendarInvite.sequence == sequence,
        )
    ).one_or_none()
    if row is None:
        row = CalendarInvite(event_key=event_key, recipient=key, sequence=sequence, created_at=now)
        session.add(row)
    row.name, row.method, row.status = name, method, status
    row.message_id, row.code, row.reason = message_id, code, reason
    row.sent_at = now if status == STATUS_SENT else None
    return row
