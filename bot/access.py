"""Who may do what in chat: coordinators, chat users, approvals and links to registry people.

A chat user is recorded the first time they write to the bot (any message, /start included).
Coordinators (Telegram user ids in `telegram.coordinators`) then approve them with
`/approve USER_ID`, or link them to a registry person with `/link USER_ID PERSON`; a linked
user counts as known, and delivery uses the link to reach that person on Telegram.

`person_key` is a registry key, not a foreign key: a registry import replaces the person rows,
and a link must survive that (a key the registry no longer has shows up in /users).
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Boolean, String, bindparam, select, update
from sqlalchemy.orm import Mapped, mapped_column

from bot.config import Config
from bot.db import Base, Database, UTCDateTime


class ChatUser(Base):
    """A Telegram user who has written to the bot, and what coordinators decided about them."""

    __tablename__ = "chat_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    # The private chat with the user (equal to the user id on Telegram); None until they
    # write to the bot privately: group chats are not a way to reach one person.
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    display_name: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    person_key: Mapped[str | None] = mapped_column(String(64), index=True)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class ChatUserView:
    """A chat user as the rest of the code sees them (detached from any session)."""

    telegram_user_id: int
    chat_id: int | None
    display_name: str
    username: str | None
    language: str | None
    person_key: str | None
    approved: bool
    approved_by: int | None
    created_at: datetime
    last_seen_at: datetime
    blocked_at: datetime | None

    @property
    def reachable(self) -> bool:
        """True when a private message can be sent: a private chat and not blocked."""
        return self.chat_id is not None and self.blocked_at is None


def _view(row: ChatUser | Any) -> ChatUserView:
    return ChatUserView(
        telegram_user_id=row.telegram_user_id,
        chat_id=row.chat_id,
        display_name=row.display_name,
        username=row.username,
        language=row.language,
        person_key=row.person_key,
        approved=row.approved,
        approved_by=row.approved_by,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        blocked_at=row.blocked_at,
    )


def record_chat_user(
    db: Database,
    *,
    telegram_user_id: int,
    display_name: str,
    username: str | None,
    private_chat_id: int | None,
    now: datetime,
) -> ChatUserView:
    """Create or refresh a chat user on any message; a private message also (re)opens the
    chat, which undoes an earlier block."""
    with db.session() as session:
        row = session.scalar(select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id))
        if row is None:
            row = ChatUser(
                telegram_user_id=telegram_user_id,
                chat_id=private_chat_id,
                display_name=display_name[:200],
                username=username,
                approved=False,
                created_at=now,
                last_seen_at=now,
            )
            session.add(row)
        else:
            row.display_name = display_name[:200]
            row.username = username
            row.last_seen_at = now
            if private_chat_id is not None:
                row.chat_id = private_chat_id
                row.blocked_at = None
        session.flush()
        return _view(row)


class LastSeen:
    """Records chat users as they write (bot.chat.service), with their "last seen" time written
    at most once per `interval` per user instead of on every message.

    Each message reads the user's row (approvals and links made elsewhere show at once); it is
    written only for a new user, a change that matters (name, username, a private chat opened or
    reopened after a block), or when the stored last-seen time is `interval` or more behind.
    Otherwise the time waits here, and `flush()` (at stop) writes what is waiting: the stored
    time is never more than `interval` behind, and a clean stop loses nothing. Thread-safe: the
    transports call the chat service from worker threads."""

    def __init__(self, db: Database, interval: timedelta = timedelta(minutes=1)) -> None:
        self._db = db
        self._interval = interval
        self._waiting: dict[int, datetime] = {}
        self._lock = threading.Lock()
        self.writes = 0  # rows written (for tests and benchmarks)
        table = ChatUser.__table__
        # Built once: the statement is the same for every message.
        self._query = select(table).where(table.c.telegram_user_id == bindparam("user_id"))

    def record(
        self,
        *,
        telegram_user_id: int,
        display_name: str,
        username: str | None,
        private_chat_id: int | None,
        now: datetime,
    ) -> ChatUserView:
        """The user as stored, with `now` as their last-seen time (written or waiting)."""
        with self._db.engine.connect() as connection:  # a read: no transaction to commit
            row = connection.execute(self._query, {"user_id": telegram_user_id}).first()
        if row is None:
            with self._lock:
                self._waiting.pop(telegram_user_id, None)
            self.writes += 1
            return record_chat_user(
                self._db,
                telegram_user_id=telegram_user_id,
                display_name=display_name,
                username=username,
                private_chat_id=private_chat_id,
                now=now,
            )
        view = _view(row)
        changes: dict[str, object] = {}
        if view.display_name != display_name[:200]:
            changes["display_name"] = display_name[:200]
        if view.username != username:
            changes["username"] = username
        if private_chat_id is not None and (
            view.chat_id != private_chat_id or view.blocked_at is not None
        ):
            changes["chat_id"] = private_chat_id  # a private message reopens the chat
            changes["blocked_at"] = None
        if changes or now - view.last_seen_at >= self._interval:
            changes["last_seen_at"] = max(now, view.last_seen_at)
            with self._db.session() as session:
                session.execute(
                    update(ChatUser)
                    .where(ChatUser.telegram_user_id == telegram_user_id)
                    .values(**changes)
                    .execution_options(synchronize_session=False)
                )
            with self._lock:
                self._waiting.pop(telegram_user_id, None)
            self.writes += 1
            return replace(view, **changes)  # type: ignore[arg-type]
        if now <= view.last_seen_at:
            return view
        with self._lock:
            self._waiting[telegram_user_id] = max(now, self._waiting.get(telegram_user_id, now))
        return replace(view, last_seen_at=now)

    def waiting(self) -> int:
        """How many users' last-seen times are not written yet."""
        with self._lock:
            return len(self._waiting)

    def flush(self) -> int:
        """Write every waiting last-seen time (never moving one back); the number written."""
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        if not waiting:
            return 0
        with self._db.session() as session:
            for user_id, when in waiting.items():
                session.execute(
                    update(ChatUser)
                    .where(ChatUser.telegram_user_id == user_id, ChatUser.last_seen_at < when)
                    .values(last_seen_at=when)
                    .execution_options(synchronize_session=False)
                )
        self.writes += len(waiting)
        return len(waiting)


def find_chat_user(db: Database, telegram_user_id: int) -> ChatUserView | None:
    """The chat user with this Telegram user id, if they have written to the bot."""
    with db.session() as session:
        row = session.scalar(select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id))
        return _view(row) if row else None


def find_chat_user_for_person(db: Database, person_key: str) -> ChatUserView | None:
    """The chat user linked to a registry person (most recently seen, if several)."""
    with db.session() as session:
        row = session.scalar(
            select(ChatUser)
            .where(ChatUser.person_key == person_key)
            .order_by(ChatUser.last_seen_at.desc())
        )
        return _view(row) if row else None


def list_chat_users(db: Database, limit: int = 50) -> list[ChatUserView]:
    """Chat users, most recently seen first."""
    with db.session() as session:
        rows = session.scalars(
            select(ChatUser).order_by(ChatUser.last_seen_at.desc(), ChatUser.id.desc()).limit(limit)
        )
        return [_view(r) for r in rows]


def _update(db: Database, telegram_user_id: int, **changes: object) -> ChatUserView | None:
    with db.session() as session:
        row = session.scalar(select(ChatUser).where(ChatUser.telegram_user_id == telegram_user_id))
        if row is None:
            return None
        for name, value in changes.items():
            setattr(row, name, value)
        session.flush()
        return _view(row)


def set_language(db: Database, telegram_user_id: int, language: str | None) -> ChatUserView | None:
    """Store a user's reply language (en, nb, nn, or None for the question's own language)."""
    if language not in (None, "en", "nb", "nn"):
        raise ValueError(f"unsupported language {language!r}")
    return _update(db, telegram_user_id, language=language)


def approve(
    db: Database, telegram_user_id: int, *, by: int | None, approved: bool = True
) -> ChatUserView | None:
    """Approve (or, with approved=False, withdraw) a user's access to the directory."""
    return _update(db, telegram_user_id, approved=approved, approved_by=by if approved else None)


def link_person(
    db: Database, telegram_user_id: int, person_key: str | None, *, by: int | None
) -> ChatUserView | None:
    """Link a user to a registry person (None removes the link); `by` is the coordinator."""
    if person_key is None:
        return _update(db, telegram_user_id, person_key=None)
    return _update(db, telegram_user_id, person_key=person_key, approved_by=by)


def mark_blocked(db: Database, telegram_user_id: int, when: datetime | None) -> None:
    """Record that the user blocked the bot (`when`), or unblocked it (None)."""
    _update(db, telegram_user_id, blocked_at=when)


def is_coordinator(config: Config, telegram_user_id: int | None) -> bool:
    """True for the Telegram user ids listed in `telegram.coordinators`."""
    return telegram_user_id is not None and telegram_user_id in config.telegram.coordinators


def may_use_directory(config: Config, user: ChatUserView | None, *, coordinator: bool) -> bool:
    """Whether the directory answers this user under `bot.directory_access`."""
    if config.bot.directory_access == "open" or coordinator:
        return True
    return user is not None and (user.approved or user.person_key is not None)


# --- personal feed tokens --------------------------------------------------------------------
# When feeds are not public, each approved or linked user gets their own token (256 bits) for
# the private feed links; `coordbot feeds revoke USER` withdraws it (their links stop working,
# their next /calendar makes a new one). The shared calendar.feed_token stays the operator's.


class FeedToken(Base):
    """One user's personal feed token."""

    __tablename__ = "feed_token"
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


FEED_TOKEN_BYTES = 32  # 256 bits; the floor is 128


def personal_feed_token(db: Database, telegram_user_id: int, now: datetime) -> str:
    """The user's feed token, made on first use."""
    with db.session() as session:
        row = session.get(FeedToken, telegram_user_id)
        if row is None:
            row = FeedToken(
                telegram_user_id=telegram_user_id,
                token=secrets.token_urlsafe(FEED_TOKEN_BYTES),
                created_at=now,
            )
            session.add(row)
        return row.token


def feed_token_owner(db: Database, token: str) -> int | None:
    """The user a personal feed token belongs to (None: no such token, or revoked)."""
    if not token or len(token) > 64:
        return None
    with db.session() as session:
        row = session.scalars(select(FeedToken).where(FeedToken.token == token)).first()
        # The lookup is by index; compare again in constant time to be safe about collation.
        if row is None or not hmac.compare_digest(row.token.encode(), token.encode()):
            return None
        return row.telegram_user_id


def revoke_feed_token(db: Database, telegram_user_id: int) -> bool:
    """Withdraw the user's feed token; True if they had one."""
    with db.session() as session:
        row = session.get(FeedToken, telegram_user_id)
        if row is None:
            return False
        session.delete(row)
        return True


def feed_token_holders(db: Database) -> list[tuple[int, datetime]]:
    """(user id, when the token was made) of everyone holding a personal feed token."""
    with db.session() as session:
        return [
            (row.telegram_user_id, row.created_at)
            for row in session.scalars(select(FeedToken).order_by(FeedToken.telegram_user_id))
        ]
