"""Shared fixtures: an isolated database and config per test, services on a fixed clock."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.config import Config, load_config
from bot.services import Services, build_services

if TYPE_CHECKING:
    from tests.pg_cluster import Cluster
    from tests.smtp_server import SmtpTestServer

OSLO = ZoneInfo("Europe/Oslo")
_database_numbers = itertools.count(1)


# COORDBOT_TEST_POSTGRES=1 runs the tests marked `db` on a throwaway PostgreSQL cluster instead
# of SQLite (`make test` runs `-m db` a second time so). Read once, before tests clear COORDBOT_*.
ON_POSTGRES = os.environ.get("COORDBOT_TEST_POSTGRES") == "1"
SQLITE_FILE = "coordbot.sqlite3"


@pytest.fixture(scope="session")
def _postgres() -> Iterator[Cluster | None]:
    """The PostgreSQL cluster of this test run, when ON_POSTGRES."""
    if not ON_POSTGRES:
        yield None
        return
    from tests.pg_cluster import PostgresUnavailable, start_cluster

    try:
        cluster = start_cluster()
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL pass skipped: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


# Every test's database is a copy of one holding the (empty) schema: copying is cheaper than
# creating the tables again for each test. Seeding stays with each test, as on SQLite.
_SCHEMA_TEMPLATE = "coordbot_schema"


@pytest.fixture(scope="session")
def _postgres_if_asked(request: pytest.FixtureRequest) -> Cluster | None:
    """The cluster when ON_POSTGRES (started only once a `db` test asks for it), with the
    schema template made."""
    if not ON_POSTGRES:
        return None
    cluster: Cluster | None = request.getfixturevalue("_postgres")
    if cluster is not None:
        from bot.db import Database

        template = Database(cluster.create_database(_SCHEMA_TEMPLATE))
        try:
            template.create_schema()
        finally:
            template.dispose()
    return cluster


@pytest.fixture(scope="session")
def _cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder (compiled catalogues) for the whole run, never the user's own."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _isolated_env(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    _cache_home: Path,
) -> Iterator[None]:
    """No test touches the user's database or picks up a developer's COORDBOT_* settings.

    A test that creates the database must be marked `db`, so that the PostgreSQL pass runs it
    too: an unmarked one that leaves a SQLite file behind fails here."""
    for name in list(os.environ):
        if name.startswith("COORDBOT_"):
            monkeypatch.delenv(name)
    marked = request.node.get_closest_marker("db") is not None
    cluster = request.getfixturevalue("_postgres_if_asked") if marked else None
    if cluster is not None:
        database = f"t{next(_database_numbers)}"
        url = cluster.create_database(database, _SCHEMA_TEMPLATE)
    else:
        url = f"sqlite:///{tmp_path / SQLITE_FILE}"
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", url)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_cache_home))
    # `coordbot run` and CalendarServer bind any free loopback port, never a fixed one; feed
    # links (chat replies, `ics feed --links`) then need a public URL to point at.
    monkeypatch.setenv("COORDBOT_CALENDAR_LISTEN", "127.0.0.1:0")
    monkeypatch.setenv("COORDBOT_CALENDAR_PUBLIC_BASE_URL", "https://kalender.example.org")
    yield
    if cluster is not None:
        cluster.drop_database(database)
    if not marked and (tmp_path / SQLITE_FILE).exists():
        pytest.fail(
            "this test touches the database but is not marked `db` (@pytest.mark.db), "
            "so the PostgreSQL pass would not run it",
            pytrace=False,
        )


@pytest.fixture
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    """`bot.default_language = "en"` for tests that read English texts about something else
    (the default is bokmål: most recipients are Norwegian municipal contacts)."""
    monkeypatch.setenv("COORDBOT_BOT_DEFAULT_LANGUAGE", "en")


@pytest.fixture
def config() -> Config:
    """Config from the (isolated) environment."""
    return load_config()


@pytest.fixture
def clock() -> FixedClock:
    """A clock fixed at 15 January 2020, 09:00 in Oslo, before every seeded meeting."""
    return FixedClock(datetime(2020, 1, 15, 9, 0, tzinfo=OSLO))


@pytest.fixture
def services(config: Config, clock: FixedClock) -> Iterator[Services]:
    """Services over a freshly seeded database."""
    built = build_services(config, clock)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A real SMTP server (aiosmtpd, no TLS) on 127.0.0.1 and a free port; see
    tests/smtp_server.py for the faults it can be told to produce."""
    from tests.smtp_server import SmtpTestServer

    with SmtpTestServer() as server:
        yield server
