"""Registry tables: municipalities, organisations, people, roles, audiences and events.

Other parts of coordbot (outbox, invites, chat links) define their tables in their own modules
on the same `Base`; `bot.schema` imports every table module so one `create_all` makes the whole
schema.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.db import Base, UTCDateTime


class MetaEntry(Base):
    """Key/value facts about the database itself (schema version, when it was seeded)."""

    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Municipality(Base):
    """A municipality taking part in the programme."""

    __tablename__ = "municipality"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    email_domain: Mapped[str | None] = mapped_column(String(200))
    batch: Mapped[int | None] = mapped_column(Integer)


class Organisation(Base):
    """An organisation, body or group people hold roles in."""

    __tablename__ = "organisation"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str | None] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    url: Mapped[str | None] = mapped_column(String(500))
    # The seat's names when it is not a registered municipality (nullable, added for issue 10).
    seat_names: Mapped[list[str] | None] = mapped_column(JSON, nullable=True, default=list)


class RoleType(Base):
    """A kind of role ("data_contact") with its names and the words people use for it."""

    __tablename__ = "role_type"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(300))
    name_nb: Mapped[str] = mapped_column(String(300))
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)


class Person(Base):
    """A named person; e-mail as printed in the source, defects included."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    roles: Mapped[list[Role]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="Role.id"
    )


class Role(Base):
    """One role a person holds, at a municipality and/or an organisation."""

    __tablename__ = "role"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    role_key: Mapped[str] = mapped_column(ForeignKey("role_type.key"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(300))
    person: Mapped[Person] = relationship(back_populates="roles")


class Audience(Base):
    """A group messages and invites go to (batch one, the network, the steering group ...)."""

    __tablename__ = "audience"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_nb: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Role keys whose holders the audience reaches, and whether it reaches every contact of
    # its municipalities as well (bot.registry.data.AudienceRec).
    roles: Mapped[list[str] | None] = mapped_column(JSON, default=list)
    widen: Mapped[bool | None] = mapped_column(Boolean, default=False)


class AudienceMember(Base):
    """A member of an audience: a whole municipality (everyone with a role there) or a person."""

    __tablename__ = "audience_member"
    __table_args__ = (UniqueConstraint("audience_id", "municipality_id", "person_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    audience_id: Mapped[int] = mapped_column(ForeignKey("audience.id", ondelete="CASCADE"))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))


class Event(Base):
    """A meeting, deadline or milestone. All-day items use the date columns, timed ones the
    UTC datetime columns; `sequence` rises on every material change (iCalendar SEQUENCE)."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    title_en: Mapped[str] = mapped_column(String(300))
    title_nb: Mapped[str] = mapped_column(String(300))
    description_en: Mapped[str | None] = mapped_column(Text)
    description_nb: Mapped[str | None] = mapped_column(Text)
    all_day: Mapped[bool] = mapped_column(Boolean, default=True)
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(300))
    contact_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(300))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventAudience(Base):
    """Which audiences an event is for (none: the whole programme)."""

    __tablename__ = "event_audience"
    event_id: Mapped[int] = mapped_column(
        ForeignKey("event.id", ondelete="CASCADE"), primary_key=True
    )
    audience_id: Mapped[int] = mapped_column(
        ForeignKey("audience.id", ondelete="CASCADE"), primary_key=True
    )
