"""The answer index of `coordbot ask`, kept on disk beside a SQLite database and keyed by the
registry's write counter, so a cold `coordbot ask` neither imports the database layer nor
reads and indexes the registry again.

`answer_from_cache` is tried first: it reads the counter with the standard library's sqlite3
(read-only) and, when the cache file was written for that counter by this same code, answers
from it. Anything unusual (PostgreSQL, no database yet, another counter, a cache from other
code, an unreadable file) makes it return None, and the full path answers and writes the cache
(`store_cache`). The file holds personal data: it is written owner-only, atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.answering.engine import AnswerEngine
    from bot.config import Config

SUFFIX = ".answers"


def _sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:/// URL, or None for any other database."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return Path(path) if path and path != ":memory:" else None


def cache_file(database: Path) -> Path:
    """Where the answer index of this database is kept."""
    return database.with_name(database.name + SUFFIX)


def drop_cache(database_url: str) -> None:
    """Delete the cached index of a SQLite database: after an erase (it holds the person's
    name and address until the next ask) and a restore (the restored registry may carry the
    write counter the cache was made for)."""
    database = _sqlite_path(database_url)
    if database is not None:
        cache_file(database).unlink(missing_ok=True)


def code_fingerprint() -> str:
    """What the cached index depends on besides the registry: the answer engine's code and
    data files (by size and change time) and the Python version; a change to any makes the
    cache miss instead of answering with stale code."""
    import bot.answering as answering
    import bot.registry.data as data

    parts = [sys.version]
    folder = Path(answering.__file__).parent
    files = [*sorted(folder.glob("*.py")), Path(data.__file__), Path(__file__)]
    files.append(Path(__file__).with_name("answer_store.py"))
    from bot.answering.gazetteer import NAMES_FILE, PLACES_FILE

    files += [NAMES_FILE, PLACES_FILE]
    for path in files:
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _generation(database: Path) -> int | None:
    """The registry's write counter, read without SQLAlchemy; None when unreadable."""
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute(
            "SELECT value FROM meta WHERE key = 'registry_generation'"
        ).fetchone()
        return int(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None
    finally:
        connection.close()


def answer_from_cache(args: argparse.Namespace, config: Config) -> int | None:
    """Answer `coordbot ask` from the cached index; None when the cache cannot be used."""
    database = _sqlite_path(config.database_url)
    if database is None or not database.exists():
        return None
    generation = _generation(database)
    path = cache_file(database)
    if generation is None or not path.exists():
        return None
    from bot.cli.answer_store import read_store

    found = read_store(path, code_fingerprint(), generation)
    if found is None:
        return None
    index, close = found
    from bot.answering.engine import AnswerEngine
    from bot.clock import build_clock

    try:
        engine = AnswerEngine.from_index(
            index, build_clock(config, args.now), config.bot.default_language
        )
        print_answer(args, engine, question_text(args))
    finally:
        close()
    return 0


def store_cache(config: Config, engine: AnswerEngine, generation: int) -> None:
    """Keep the engine's index for the next `coordbot ask` (SQLite only; never fails the
    command: a cache that cannot be written is simply not there next time)."""
    database = _sqlite_path(config.database_url)
    if database is None or generation < 0:
        return
    import tempfile  # only when writing: a cached ask never needs it

    target = cache_file(database)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".")
    except OSError:
        return
    os.close(handle)  # mkstemp made it owner-only; SQLite writes it
    try:
        from bot.cli.answer_store import write_store

        write_store(Path(temporary), engine.index(), code_fingerprint(), generation)
        os.replace(temporary, target)
    except (OSError, sqlite3.Error, ValueError, pickle.PicklingError, RecursionError):
        Path(temporary).unlink(missing_ok=True)


def question_text(args: argparse.Namespace) -> str:
    """The question as typed on the command line ("--" before it allowed)."""
    words = list(args.question)
    if words and words[0] == "--":
        words = words[1:]
    return " ".join(words)


def print_answer(args: argparse.Namespace, engine: AnswerEngine, question: str) -> None:
    """Print the answer as text, or as the JSON document of `--json`."""
    from bot.cli.support import print_json

    answer = engine.ask(question, lang=args.lang)
    if args.json:
        print_json(answer.to_json())
    else:
        print(answer.text)
