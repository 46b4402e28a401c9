"""`coordbot backup FILE` and `coordbot restore FILE`: a consistent copy of the SQLite database
taken while the bot runs, and that copy put back.

Both use SQLite's online backup API (sqlite3.Connection.backup), never a file copy: the live
database is in WAL mode, so committed transactions may still sit in its -wal file, which a
copy of the main file would lose. The backup reads in one transaction (a snapshot: writers go
on meanwhile) and is written as one self-contained file (journal mode DELETE, mode 0600, as it
holds personal data), next to FILE first and renamed over it only once it is complete and
checked. PostgreSQL has its own tools (pg_dump, pg_restore); these commands say so.

Exit status: 0 done; 1 SQLite failed during the copy; 2 refused (not SQLite, no database
there, FILE is not a coordbot backup, FILE is the database itself).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from bot.cli.cached_ask import cache_file
from bot.config import load_config
from bot.files import PRIVATE, secure_sqlite_files

# Tables every coordbot database has had since the first release: a file without them is not a
# coordbot backup, and restoring it would leave the bot nothing to start from.
REQUIRED_TABLES = ("meta", "municipality", "person")

PG_BACKUP = (
    "the database is {backend}, and this command copies SQLite only. Use PostgreSQL's own "
    "tools, e.g. `pg_dump --format=custom --file=coordbot.dump DATABASE` (restore with "
    "`pg_restore --clean --if-exists --dbname=DATABASE coordbot.dump`); see the README, "
    "Operations, Backup and restore."
)
PG_RESTORE = (
    "the database is {backend}, and this command writes SQLite only. Restore a pg_dump file "
    "with `pg_restore --clean --if-exists --dbname=DATABASE coordbot.dump`; see the "
    "README, Operations, Backup and restore."
)


class Refused(Exception):
    """Input the command will not act on; the message says why and what to do instead."""


def cmd_backup(args: argparse.Namespace) -> int:
    """Copy the configured SQLite database to FILE, consistently, while the bot may run."""
    target = Path(args.file)
    try:
        database = _sqlite_path(args, PG_BACKUP)
        if not database.is_file():
            raise Refused(f"there is no database at {database} to back up")
        _refuse_same_file(database, target)
        pages = backup_sqlite(database, target)
    except Refused as exc:
        print(f"coordbot backup: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"coordbot backup: the backup failed, {target} is unchanged: {exc}", file=sys.stderr)
        return 1
    size = target.stat().st_size
    print(f"backed up {database} to {target} ({pages} pages, {size} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the configured SQLite database with the backup FILE (stop the bot first)."""
    source = Path(args.file)
    try:
        database = _sqlite_path(args, PG_RESTORE)
        _refuse_same_file(database, source)
        check_backup(source)
        restore_sqlite(source, database)
        cache_file(database).unlink(missing_ok=True)  # may fit the restored write counter
    except Refused as exc:
        print(f"coordbot restore: {exc}", file=sys.stderr)
        return 2
    except (sqlite3.Error, OSError) as exc:
        print(f"coordbot restore: the restore failed: {exc}", file=sys.stderr)
        return 1
    print(f"restored {database} from {source}; start coordbot again to use it")
    return 0


def backup_sqlite(database: Path, target: Path) -> int:
    """Write a consistent, checked, self-contained copy of `database` to `target` (replaced
    only once the copy is complete); the number of pages copied."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    os.close(handle)
    partial = Path(partial_name)
    os.chmod(partial, PRIVATE)
    try:
        # mode=rw: never create an empty database where the configured one is missing.
        source = sqlite3.connect(_uri(database, "rw"), uri=True, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                # All pages in one step = one read transaction = one snapshot. (Stepping would
                # restart the copy on every write by another connection, forever on a busy bot.)
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                _check(copy, partial)
                pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
            finally:
                copy.close()
        finally:
            source.close()
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return pages


def check_backup(path: Path) -> None:
    """Refuse a file that is not an intact SQLite database holding coordbot's tables."""
    if not path.is_file():
        raise Refused(f"there is no backup file {path}")
    try:
        connection = sqlite3.connect(_uri(path, "ro"), uri=True)
        try:
            _check(connection, path)
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise Refused(f"{path} is not a SQLite database ({exc})") from exc
    missing = [name for name in REQUIRED_TABLES if name not in tables]
    if missing:
        raise Refused(f"{path} is not a coordbot backup (no table {', '.join(missing)})")


def restore_sqlite(source: Path, database: Path) -> None:
    """Overwrite `database` with the contents of the backup `source`, through SQLite (so a
    -wal file left next to the database cannot mix old pages into the restored one)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    secure_sqlite_files(database)
    backup = sqlite3.connect(_uri(source, "ro"), uri=True)
    try:
        live = sqlite3.connect(database, timeout=30)
        try:
            backup.backup(live)
            _check(live, database)
        finally:
            live.close()
    finally:
        backup.close()


def _check(connection: sqlite3.Connection, path: Path) -> None:
    """Raise unless SQLite's quick_check finds the database intact."""
    result = [row[0] for row in connection.execute("PRAGMA quick_check")]
    if result != ["ok"]:
        raise sqlite3.DatabaseError(f"{path} is damaged: {'; '.join(result[:3])}")


def _sqlite_path(args: argparse.Namespace, postgres_message: str) -> Path:
    """The configured database's file, or Refused for another backend or an in-memory one."""
    config = load_config(getattr(args, "config", None))
    url = make_url(config.database_url)
    backend = url.get_backend_name()
    if backend != "sqlite":
        raise Refused(postgres_message.format(backend=backend))
    if not url.database or url.database == ":memory:":
        raise Refused("the database is in memory: there is nothing on disk to back up or restore")
    return Path(url.database)


def _refuse_same_file(database: Path, other: Path) -> None:
    """FILE must never be the live database (a typo would overwrite it with itself)."""
    if other.resolve() == database.resolve():
        raise Refused(f"{other} is the database itself; name another file")


def _uri(path: Path, mode: str) -> str:
    """A SQLite URI for `path` (characters such as ? and # in a path quoted)."""
    return f"file:{quote(str(path.resolve()))}?mode={mode}"
