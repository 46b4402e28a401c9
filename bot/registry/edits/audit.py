"""Who changed what in the registry, and when: the `registry_edit` table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime


@dataclass(frozen=True)
class Actor:
    """Who made an edit: a stable reference ("telegram:1000", "console") and a display name."""

    ref: str
    name: str


class RegistryEdit(Base):
    """One applied registry edit: when, by whom, what, and the values before and after."""

    __tablename__ = "registry_edit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class EditRecord:
    """A `registry_edit` row, detached from its session."""

    at: datetime
    actor: str
    actor_name: str
    subject_kind: str
    subject_key: str
    action: str
    before: str
    after: str


def record_edit(db: Database, record: EditRecord) -> None:
    """Store one applied edit."""
    with db.session() as session:
        session.add(
            RegistryEdit(
                at=record.at.astimezone(UTC),
                actor=record.actor[:64],
                actor_name=record.actor_name[:200],
                subject_kind=record.subject_kind,
                subject_key=record.subject_key,
                action=record.action,
                before=record.before,
                after=record.after,
            )
        )


def recent_edits(db: Database, limit: int = 20) -> list[EditRecord]:
    """The latest applied edits, newest first."""
    with db.session() as session:
        rows = session.scalars(select(RegistryEdit).order_by(RegistryEdit.id.desc()).limit(limit))
        return [
            EditRecord(
                r.at,
                r.actor,
                r.actor_name,
                r.subject_kind,
                r.subject_key,
                r.action,
                r.before,
                r.after,
            )
            for r in rows
        ]
