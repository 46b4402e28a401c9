"""Who may see the dashboard: one-time login links, server-side sessions, CSRF tokens.

A login link carries a random token; only its SHA-256 is stored, it is valid for
LINK_MINUTES and can be used once. Redeeming it opens a session whose random id (again stored
hashed) travels in an HttpOnly cookie; every session has its own CSRF token for the forms.
A session ends at logout, when revoked (`coordbot dashboard revoke`), after SESSION_HOURS,
or as soon as its holder is no longer a coordinator in the config.

Holders are "cli" (a link printed by `coordbot dashboard link`: whoever runs the CLI has the
config and database already) or "telegram:ID" for a coordinator's Telegram user id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.config import Config
from bot.db import Base, Database, UTCDateTime

LINK_MINUTES = 15
SESSION_HOURS = 12
CLI_HOLDER = "cli"


class DashboardLink(Base):
    """A one-time login link (only the token's hash is kept)."""

    __tablename__ = "dashboard_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    holder: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DashboardSession(Base):
    """A logged-in browser (only the session id's hash is kept)."""

    __tablename__ = "dashboard_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8))
    # What the last action changed, shown once on the next page (post/redirect/get).
    notice: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class SessionView:
    """A valid session as the views see it."""

    id: int
    holder: str
    csrf: str
    lang: str
    notice: str | None


class NotACoordinator(ValueError):
    """A link was asked for someone who is not a coordinator."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def holder_for(telegram_user_id: int | None) -> str:
    """The holder name of a Telegram user, or of the CLI operator when None."""
    return CLI_HOLDER if telegram_user_id is None else f"telegram:{telegram_user_id}"


def holder_allowed(config: Config, holder: str) -> bool:
    """True while `holder` may use the dashboard (the CLI, or a configured coordinator)."""
    if holder == CLI_HOLDER:
        return True
    kind, _sep, ident = holder.partition(":")
    return kind == "telegram" and ident.isdigit() and int(ident) in config.telegram.coordinators


def issue_link(db: Database, config: Config, holder: str, lang: str, now: datetime) -> str:
    """A new one-time login token for `holder` (NotACoordinator if they may not log in)."""
    if not holder_allowed(config, holder):
        raise NotACoordinator(holder)
    token = secrets.token_urlsafe(32)
    with db.session() as session:
        session.add(
            DashboardLink(
                token_hash=_hash(token),
                holder=holder,
                lang=lang,
                created_at=now,
                expires_at=now + timedelta(minutes=LINK_MINUTES),
            )
        )
    return token


def link_is_usable(db: Database, config: Config, token: str, now: datetime) -> bool:
    """True when `token` is an unused, unexpired link of someone still allowed in."""
    with db.session() as session:
        row = session.scalar(select(DashboardLink).where(DashboardLink.token_hash == _hash(token)))
        return (
            row is not None
            and row.used_at is None
            and row.expires_at > now
            and holder_allowed(config, row.holder)
        )


def redeem_link(db: Database, config: Config, token: str, now: datetime) -> str | None:
    """Use a login token once and open a session; the session id, or None when the token is
    unknown, used, expired or its holder no longer a coordinator."""
    with db.session() as session:
        # The conditional update is the single use: of two requests racing with one link,
        # only one sees a row changed.
        claimed = session.execute(
            update(DashboardLink)
            .where(
                DashboardLink.token_hash == _hash(token),
                DashboardLink.used_at.is_(None),
                DashboardLink.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:  # type: ignore[attr-defined]
            return None
        link = session.scalar(select(DashboardLink).where(DashboardLink.token_hash == _hash(token)))
        if link is None or not holder_allowed(config, link.holder):
            return None
        session_id = secrets.token_urlsafe(32)
        session.add(
            DashboardSession(
                id_hash=_hash(session_id),
                holder=link.holder,
                csrf=secrets.token_urlsafe(24),
                lang=link.lang,
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
        return session_id


def find_session(
    db: Database, config: Config, session_id: str, now: datetime
) -> SessionView | None:
    """The valid session with this id, or None."""
    if not session_id:
        return None
    with db.session() as session:
        row = session.scalar(
            select(DashboardSession).where(DashboardSession.id_hash == _hash(session_id))
        )
        if (
            row is None
            or row.revoked_at is not None
            or row.expires_at <= now
            or not holder_allowed(config, row.holder)
        ):
            return None
        return SessionView(row.id, row.holder, row.csrf, row.lang, row.notice)


def csrf_ok(view: SessionView, given: str) -> bool:
    """Constant-time comparison of a form's CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(view.csrf, given)


def update_session(
    db: Database, session_id: int, *, lang: str | None = None, notice: str | None = ""
) -> None:
    """Set a session's language and/or its one-time notice ("" leaves the notice alone)."""
    values: dict[str, object] = {}
    if lang is not None:
        values["lang"] = lang
    if notice != "":
        values["notice"] = notice[:2000] if notice else None
    if not values:
        return
    with db.session() as session:
        session.execute(
            update(DashboardSession).where(DashboardSession.id == session_id).values(**values)
        )


def end_session(db: Database, session_id: int, now: datetime) -> None:
    """Log out: the session is revoked at once."""
    with db.session() as session:
        session.execute(
            update(DashboardSession).where(DashboardSession.id == session_id).values(revoked_at=now)
        )


def revoke_sessions(db: Database, holder: str | None, now: datetime) -> int:
    """Revoke every open session (of one holder when given) and every unused link; how many
    sessions were ended."""
    with db.session() as session:
        where: list[ColumnElement[bool]] = [DashboardSession.revoked_at.is_(None)]
        links: list[ColumnElement[bool]] = [DashboardLink.used_at.is_(None)]
        if holder is not None:
            where.append(DashboardSession.holder == holder)
            links.append(DashboardLink.holder == holder)
        ended = session.execute(update(DashboardSession).where(*where).values(revoked_at=now))
        session.execute(update(DashboardLink).where(*links).values(used_at=now))
        return int(ended.rowcount or 0)  # type: ignore[attr-defined]
