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


_COLUMNS_KEY = "schema_columns"


class SchemaError(RuntimeError):
    """The database's schema is older than the code and cannot be brought up to date in place."""


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

    def create_schema(self) -> list[str]:
        """Create every table that does not exist yet, and add the nullable columns an existing
        table lacks; returns the columns added ("table.column")."""
        import bot.schema  # noqa: F401  (registers every table on Base.metadata)

        Base.metadata.create_all(self.engine)
        return self._add_missing_columns()

    def _add_missing_columns(self) -> list[str]:
        # Inspecting every table costs dozens of catalogue queries (slow on PostgreSQL), so the
        # columns last found complete are remembered in the meta table and checked only when
        # the code's columns differ from them.
        import hashlib

        from bot.registry.tables import MetaEntry

        wanted = sorted(
            f"{t.name}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns
        )
        fingerprint = hashlib.sha256("\n".join(wanted).encode()).hexdigest()
        with self.session() as session:
            entry = session.get(MetaEntry, _COLUMNS_KEY)
            if entry is not None and entry.value == fingerprint:
                return []
        added = self._inspect_and_add_columns()
        with self.session() as session:
            session.merge(MetaEntry(key=_COLUMNS_KEY, value=fingerprint))
        return added

    def _inspect_and_add_columns(self) -> list[str]:
        # A database written by an earlier coordbot lacks the columns added since. Until
        # versioned migrations exist, nullable ones are added in place (old rows read NULL);
        # anything else is refused with a clear message rather than failing on first read.
        from sqlalchemy import inspect, text

        inspector = inspect(self.engine)
        preparer = self.engine.dialect.identifier_preparer
        added: list[str] = []
        with self.engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                if not inspector.has_table(table.name):
                    continue
                present = {column["name"] for column in inspector.get_columns(table.name)}
                for column in table.columns:
                    if column.name in present:
                        continue
                    if not column.nullable or column.primary_key:
                        raise SchemaError(
                            f"the database's table {table.name} has no column {column.name}, "
                            "which cannot be added in place; move the database aside to start "
                            "afresh (it is re-seeded from data/registry.toml)"
                        )
                    kind = column.type.compile(dialect=self.engine.dialect)
                    connection.execute(
                        text(
                            f"ALTER TABLE {preparer.format_table(table)} "
                            f"ADD COLUMN {preparer.format_column(column)} {kind}"
                        )
                    )
                    added.append(f"{table.name}.{column.name}")
        return added

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
