"""Versioned schema migrations (Alembic), run from inside the package.

The scripts live next to this module (env.py, versions/), so an installed wheel migrates its
database without an alembic.ini: `alembic_config` points Alembic at this folder.

At start (`Database.create_schema`, called by every command that opens the database):

- a database stamped with HEAD is left alone, after one query (Alembic is not even imported);
- an empty database gets `create_all` and is stamped HEAD (one transaction; the same tables the
  revisions build, which tests/test_migrations.py checks on SQLite and PostgreSQL);
- a database at an older revision is upgraded when `bot.auto_upgrade` is on, refused with one
  line naming `coordbot db upgrade` when it is off;
- a database written before migrations existed (tables but no alembic_version) is recognised by
  its tables and columns as one of UNVERSIONED_RELEASES, stamped so and upgraded like the above;
- a database at a revision this code does not know (written by a newer coordbot) or one that
  matches no release is refused with one line.

Making a new revision after changing a table module (import it in bot/schema.py first):

    make migration MESSAGE="what changed"    # python -m bot.migrations revision "what changed"

That builds a scratch SQLite database at the current head, lets Alembic's autogenerate compare
it with the tables in the code and writes versions/NNNN_what_changed.py; read it, fix what
autogenerate cannot know (renames, data to move, server defaults) and set HEAD below to the new
revision id. tests/test_migrations.py then checks that upgrading gives a fresh database's schema.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from bot.db import Database

log = logging.getLogger(__name__)

SCRIPTS = Path(__file__).resolve().parent
# The newest revision in versions/. Kept here so a start at HEAD costs one query and no import
# of Alembic; a test checks it against the scripts.
HEAD = "0002"
# Releases that wrote no alembic_version table, newest last: the revision their schema equals.
# 0001 is the schema of commit 76dea93, 0002 that of the code that first shipped migrations.
UNVERSIONED_RELEASES = ("0001", "0002")
VERSION_TABLE = "alembic_version"
# Serialises concurrent starts on one PostgreSQL database (two instances starting together
# must not both create or upgrade the schema); any constant not used elsewhere will do.
_PG_LOCK = 0x636F_6462_6D69  # "codbmi"


@dataclass(frozen=True)
class Outcome:
    """What `prepare` did: the revision found (None: no version table) and the one left."""

    before: str | None
    after: str
    action: str  # "current", "created", "stamped", "upgraded"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """An Alembic Config for the scripts in this package; env.py runs on `connection`."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


def known_revisions() -> set[str]:
    """Every revision id in versions/."""
    from alembic.script import ScriptDirectory

    return {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }


def script_head() -> str:
    """The head revision according to the scripts (HEAD must equal it)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The database's revision; None when it has no version table (empty, or unversioned)."""
    with db.engine.connect() as connection:
        return _read_revision(connection)


def prepare(db: Database, *, auto_upgrade: bool) -> Outcome:
    """Bring the schema to HEAD as the module docstring says, or raise SchemaError."""
    from bot.db import SchemaError

    before = current_revision(db)
    if before == HEAD:
        return Outcome(before, HEAD, "current")
    if before is not None and not auto_upgrade:
        _check_known(before)
        raise SchemaError(
            f"the database's schema is at revision {before}, this coordbot needs {HEAD}; "
            "run `coordbot db upgrade` (bot.auto_upgrade is off)"
        )
    return _migrate(db, may_upgrade=auto_upgrade)


def upgrade(db: Database) -> Outcome:
    """`coordbot db upgrade`: create, recognise or upgrade the schema up to HEAD."""
    before = current_revision(db)
    if before == HEAD:
        return Outcome(before, HEAD, "current")
    return _migrate(db, may_upgrade=True)


def _migrate(db: Database, *, may_upgrade: bool) -> Outcome:
    from alembic import command

    from bot.db import Base, SchemaError

    with _locked(db) as connection:
        # Read again under the lock: another process may have done the work meanwhile.
        before = _read_revision(connection)
        config = alembic_config(connection)
        if before is None:
            if _is_empty(connection):
                import bot.schema  # noqa: F401  (registers every table on Base.metadata)

                Base.metadata.create_all(connection)
                command.stamp(config, HEAD)
                return Outcome(None, HEAD, "created")
            release = _recognise(connection)
            if release == HEAD:
                command.stamp(config, HEAD)
                log.warning("database written before migrations existed: stamped %s", HEAD)
                return Outcome(None, HEAD, "stamped")
            if not may_upgrade:
                raise SchemaError(
                    f"the database's schema is that of revision {release}, this coordbot needs "
                    f"{HEAD}; run `coordbot db upgrade` (bot.auto_upgrade is off)"
                )
            command.stamp(config, release)
            log.warning("database written before migrations existed: stamped %s", release)
        elif before == HEAD:
            return Outcome(before, HEAD, "current")
        else:
            _check_known(before)
        command.upgrade(config, HEAD)
        _check_foreign_keys(connection)
        log.warning("database schema upgraded from %s to %s", before or "unversioned", HEAD)
        return Outcome(before, HEAD, "upgraded")


def _check_known(revision: str) -> None:
    from bot.db import SchemaError

    if revision not in known_revisions():
        raise SchemaError(
            f"the database's schema is at revision {revision}, which this coordbot (up to "
            f"{HEAD}) does not know: it was written by a newer coordbot; run that one or "
            "restore a backup"
        )


def _read_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    # One row normally; none after a failed stamp; several only with branches (none here).
    return rows[0] if len(rows) == 1 else None if not rows else ",".join(sorted(rows))


@contextmanager
def _locked(db: Database) -> Iterator[Connection]:
    """One connection in one transaction that no other coordbot migrates alongside."""
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a SQLite table by copy, drop and rename; with foreign keys on,
            # dropping `person` would cascade to every role. The pragma only takes effect
            # outside a transaction, so it is set before BEGIN and checked after the upgrade.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # ends SQLAlchemy's autobegun transaction (nothing to commit)
        try:
            with connection.begin():
                if sqlite:
                    # pysqlite does not begin before DDL; an explicit BEGIN IMMEDIATE makes the
                    # whole migration one transaction and takes the write lock up front.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK}
                    )
                yield connection
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    from bot.db import SchemaError

    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise SchemaError(
            f"the upgrade left {len(broken)} row(s) pointing nowhere (first: {table} row "
            f"{rowid} -> {parent}); nothing was changed"
        )


def _is_empty(connection: Connection) -> bool:
    """True when the database holds none of coordbot's tables (other applications' may be
    there on a shared PostgreSQL)."""
    present = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
    if not present:
        return True  # the usual fresh database: no need to build the releases' shapes
    return not present & _known_tables()


def _known_tables() -> set[str]:
    """Every table name of the code and of the releases that wrote no version table."""
    import bot.schema

    names = set(bot.schema.METADATA.tables)
    for release in UNVERSIONED_RELEASES:
        names |= set(_release_shape(release))
    return names


def _recognise(connection: Connection) -> str:
    """The release whose tables and columns the unversioned database has, or SchemaError."""
    from bot.db import SchemaError

    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    ours = present & _known_tables()
    closest: tuple[int, str, str] | None = None
    for release in reversed(UNVERSIONED_RELEASES):
        shape = _release_shape(release)
        differences = []
        for table in sorted(ours | set(shape)):
            if table not in shape:
                differences.append(f"it has a table {table}")
            elif table not in present:
                differences.append(f"it has no table {table}")
            else:
                columns = {c["name"] for c in inspector.get_columns(table)}
                differences += [
                    f"table {table} has no column {c}" for c in sorted(shape[table] - columns)
                ]
                differences += [
                    f"table {table} has a column {c}" for c in sorted(columns - shape[table])
                ]
        if not differences:
            return release
        if closest is None or len(differences) < closest[0]:
            closest = (len(differences), release, differences[0])
    assert closest is not None
    raise SchemaError(
        "the database has coordbot tables but no schema version and matches no release this "
        f"coordbot can upgrade (nearest: revision {closest[1]}, but {closest[2]}); restore a "
        "backup, or move it aside to start afresh"
    )


@functools.cache
def _release_shape(revision: str) -> Mapping[str, frozenset[str]]:
    """Table -> column names of the schema at `revision`, built by migrating an in-memory
    SQLite database (so the revisions themselves are the one description of each release)."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
            inspector = inspect(connection)
            return {
                table: frozenset(c["name"] for c in inspector.get_columns(table))
                for table in inspector.get_table_names()
                if table != VERSION_TABLE
            }
    finally:
        engine.dispose()


def render_current(db: Database) -> str:
    """One line for `coordbot db current`."""
    revision = current_revision(db)
    if revision is None:
        return "no schema version (an empty database, or one written before migrations)"
    if revision == HEAD:
        return f"{revision} (up to date)"
    if revision in known_revisions():
        return f"{revision} (behind: this coordbot needs {HEAD}; run `coordbot db upgrade`)"
    return f"{revision} (unknown here: written by a newer coordbot than this one, at {HEAD})"
