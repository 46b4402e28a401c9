"""Inbound tables: the Message-ID ledger, attendance per invitee, address holds and the
count of temporary failures per address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime


class InboundMessage(Base):
    """One inbound message handled: keyed by its Message-ID (or a hash of its bytes when it
    has none), with what it was and what was done."""

    __tablename__ = "inbound_message"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    message_id: Mapped[str | None] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    kind: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    replied: Mapped[bool] = mapped_column(default=False)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Attendance(Base):
    """The latest answer of one attendee to one event's invite (RFC 5545 PARTSTAT)."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("event_key", "attendee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), index=True)
    attendee: Mapped[str] = mapped_column(String(320))  # lower-cased address
    name: Mapped[str] = mapped_column(String(200), default="")
    partstat: Mapped[str] = mapped_column(String(32))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # DTSTAMP of the reply: a reply stamped earlier than the one recorded is older news.
    stamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(Text, default="")
    delegated_to: Mapped[str] = mapped_column(String(320), default="")
    message_key: Mapped[str] = mapped_column(String(300), default="")


class AddressHold(Base):
    """An address that bounced: nothing goes to it until the registry gives another one."""

    __tablename__ = "address_hold"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)  # lower-cased
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # the enhanced status code, e.g. 5.1.1
    reason: Mapped[str] = mapped_column(Text)
    outbox_id: Mapped[int | None] = mapped_column(Integer)


class TemporaryFailure(Base):
    """Temporary (4.x.x) delivery failures reported for an address since its last hold."""

    __tablename__ = "address_temporary_failure"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_reason: Mapped[str] = mapped_column(Text, default="")
