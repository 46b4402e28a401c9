""" "Deadline met" marks: a municipality that reported a deadline done gets no more reminders
for it. A coordinator marks it (CLI, Telegram), or its data contact presses the button in the
reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, Database, UTCDateTime
from bot.i18n import N_, gettext
from bot.registry.data import EventRec, MunicipalityRec, RegistryData
from bot.textnorm import fold


class DeadlineDone(Base):
    """A municipality has met a deadline."""

    __tablename__ = "deadline_done"
    __table_args__ = (UniqueConstraint("event_key", "municipality_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64))
    municipality_key: Mapped[str] = mapped_column(String(64))
    marked_by: Mapped[str] = mapped_column(String(200))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MarkError(ValueError):
    """A mark that cannot be made (unknown deadline or municipality, not a deadline ...).
    `message` is an English msgid, `params` fill it; str() is the English text."""

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params))
        self.message = message
        self.params = params

    def text(self, lang: str) -> str:
        """The reason in `lang`."""
        return gettext(lang, self.message, **self.params)


@dataclass(frozen=True)
class MarkTarget:
    """A deadline and a municipality it applies to."""

    event: EventRec
    municipality: MunicipalityRec


def done_marks(db: Database) -> frozenset[tuple[str, str]]:
    """Every (event key, municipality key) reported done."""
    with db.session() as session:
        rows = session.execute(select(DeadlineDone.event_key, DeadlineDone.municipality_key))
        return frozenset((event, place) for event, place in rows)


def deadline_municipalities(data: RegistryData, event: EventRec) -> list[MunicipalityRec]:
    """The municipalities a deadline applies to (those of its audiences)."""
    keys: dict[str, None] = {}
    for audience_key in event.audiences:
        audience = data.audience_by_key.get(audience_key)
        if audience is not None:
            keys.update(dict.fromkeys(audience.municipalities))
    return [data.municipality_by_key[k] for k in keys if k in data.municipality_by_key]


def _find_event(data: RegistryData, name: str) -> EventRec:
    wanted = fold(name)
    for event in data.events:
        if event.key == name or fold(event.key) == wanted:
            return event
    matches = [e for e in data.events if wanted in (fold(e.title_en), fold(e.title_nb))]
    if len(matches) == 1:
        return matches[0]
    raise MarkError(
        N_("no deadline called “{name}” (use its key, e.g. `coordbot events`)"), name=name
    )


def _find_municipality(data: RegistryData, name: str) -> MunicipalityRec:
    wanted = fold(name)
    for place in data.municipalities:
        if place.key == name or wanted in {fold(place.key), fold(place.name)} | {
            fold(a) for a in place.aliases
        }:
            return place
    raise MarkError(N_("no municipality called “{name}”"), name=name)


def resolve_target(data: RegistryData, event_name: str, municipality_name: str) -> MarkTarget:
    """Find the deadline and municipality a mark is about, checking they belong together."""
    event = _find_event(data, event_name)
    if event.kind != "deadline":
        raise MarkError(N_("{event} is not a deadline"), event=event.key)
    place = _find_municipality(data, municipality_name)
    if place.key not in {m.key for m in deadline_municipalities(data, event)}:
        raise MarkError(
            N_("{place} is not among the municipalities of {event}"),
            place=place.name,
            event=event.key,
        )
    return MarkTarget(event, place)


def mark_done(db: Database, target: MarkTarget, *, by: str, now: datetime) -> bool:
    """Record the mark; False if it was there already."""
    with db.session() as session:
        existing = session.scalar(
            select(DeadlineDone).where(
                DeadlineDone.event_key == target.event.key,
                DeadlineDone.municipality_key == target.municipality.key,
            )
        )
        if existing is not None:
            return False
        session.add(
            DeadlineDone(
                event_key=target.event.key,
                municipality_key=target.municipality.key,
                marked_by=by[:200],
                marked_at=now,
            )
        )
        return True


def unmark_done(db: Database, target: MarkTarget) -> bool:
    """Remove the mark (reminders resume); False if there was none."""
    with db.session() as session:
        result = session.execute(
            delete(DeadlineDone).where(
                DeadlineDone.event_key == target.event.key,
                DeadlineDone.municipality_key == target.municipality.key,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
