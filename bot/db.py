"""Database plumbing: the declarative base, a UTC datetime column type, engine and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from bot.files import secure_sqlite_files


class Base(DeclarativeBase):
    """Declarative base for every table of coordbot."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes stored as UTC; SQLite keeps no zone, so it is added back on load."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; coordbot stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this code as it is (behind with auto-upgrade
    off, written by a newer coordbot, or not recognised); the message is one line."""


class Database:
    """An engine and its session factory; open in a start hook, `dispose` in a stop hook."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                # Personal data and the unsubscribe signing key: owner only.
                secure_sqlite_files(Path(database))
            kwargs["connect_args"] = {"timeout": 30}
        self.url = url
        self.engine: Engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def create_schema(self, *, auto_upgrade: bool = True) -> str:
        """Create the schema of an empty database, or bring an existing one up to date with
        the migrations (bot.migrations); returns what was done ("current", "created",
        "stamped" or "upgraded"). Raises SchemaError when that is not possible."""
        from bot.migrations import prepare

        return prepare(self, auto_upgrade=auto_upgrade).action

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the CLI read while `coordbot run` writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL loses no committed transaction when the process crashes (only, at
    # worst, the last ones on a power cut) and spares an fsync per commit: the outbox records
    # every message as it is accepted.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
