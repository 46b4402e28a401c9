"""Delivery tables: the outbox (one row per message, recipient and channel) and broadcasts.

A chat that blocked the bot is recorded on the chat user (bot.access.ChatUser.blocked_at),
which a new private message from that user clears again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
# Not sent because the operator has not released delivery on its channel (bot.delivery.hold).
HELD = "held"
STATUSES = (PENDING, SENDING, SENT, FAILED, CANCELLED, HELD)
FINAL_STATUSES = (SENT, FAILED, CANCELLED)

TELEGRAM = "telegram"
EMAIL = "email"
CHANNELS = (TELEGRAM, EMAIL)


class OutboxMessage(Base):
    """One message to one recipient on one channel.

    `idempotency_key` is unique: planning the same reminder, broadcast or invite again never
    makes a second row. `body` is the rendered message (UTF-8 text for Telegram, the complete
    RFC 5322 bytes for e-mail), so a restart sends exactly what was planned.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "channel", "next_attempt_at"),
        Index("ix_outbox_source", "source_kind", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(320))
    audience: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BroadcastRecord(Base):
    """A broadcast: a draft until confirmed, then queued as outbox rows (source_id = id).

    `skipped` keeps the members who got no row (no address, not linked, unsubscribed), each as
    {"recipient", "name", "channel", "kind": "unreachable"|"unsubscribed", "reason"}, so the
    report can be made again from the database at any time.
    """

    __tablename__ = "broadcast"

    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(String(64))
    channels: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    skipped: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # True/False: the coordinator widened (or narrowed) the audience to every contact of its
    # municipalities; None: the audience's own setting.
    widen: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
