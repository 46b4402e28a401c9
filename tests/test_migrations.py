"""Schema migrations: a database the previous release wrote upgrades with every row intact.

The previous release (commit 76dea93, before migrations) wrote the fixtures in
tests/fixtures/previous_release/ (make_fixtures.py says how): a SQLite file, and a pg_dump of a
PostgreSQL database, restored here with psql. On the PostgreSQL pass every test runs there.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text

from bot import migrations
from bot.cli import main
from bot.clock import FixedClock
from bot.config import load_config
from bot.db import Database, SchemaError
from bot.schema import METADATA
from bot.services import build_services
from tests.conftest import ON_POSTGRES

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

FIXTURES = Path(__file__).parent / "fixtures" / "previous_release"
SQLITE_FIXTURE = FIXTURES / "coordbot-76dea93.sqlite3"
PG_FIXTURE = FIXTURES / "coordbot-76dea93.sql"
# What the previous release had: its 17 tables. Everything else is new since.
PREVIOUS_TABLES = {
    "audience", "audience_member", "broadcast", "calendar_invite", "chat_user", "deadline_done",
    "event", "event_audience", "meta", "municipality", "organisation", "outbox", "person",
    "registry_edit", "role", "role_type", "subscription",
}  # fmt: skip
NEW_COLUMNS = {
    ("person", "language"),
    ("organisation", "seat_names"),
    ("audience", "roles"),
    ("audience", "widen"),
    ("broadcast", "widen"),
}
BODO = "who is Bodø's data contact?"
_names = itertools.count(1)


@pytest.fixture
def previous_release(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The URL of a database written by the previous release (also set as the configured
    database): a copy of the SQLite fixture, or a new PostgreSQL database the dump is
    restored into."""
    if ON_POSTGRES:
        cluster = request.getfixturevalue("_postgres")
        name = f"previous{next(_names)}"
        url = cluster.create_database(name)  # template0: empty
        where = ["-h", str(cluster.directory), "-p", str(cluster.port), "-U", "coordbot"]
        subprocess.run(
            [
                _psql(),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                *where,
                "-d",
                name,
                "-f",
                str(PG_FIXTURE),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    else:
        path = tmp_path / "previous.sqlite3"
        shutil.copyfile(SQLITE_FIXTURE, path)
        url = f"sqlite:///{path}"
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", url)
    yield url
    if ON_POSTGRES:
        cluster.drop_database(name)


def _psql() -> str:
    from tests.pg_cluster import SEARCH_DIRS

    for folder in SEARCH_DIRS:
        if (Path(folder) / "psql").exists():
            return str(Path(folder) / "psql")
    found = shutil.which("psql")
    assert found, "psql is needed to restore the previous release's PostgreSQL dump"
    return found


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table the previous release had, in the columns it had, in key
    order (raw driver values: what is stored, not what the models make of it)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            rows = {}
            for table in sorted(PREVIOUS_TABLES):
                columns = [
                    c["name"]
                    for c in inspector.get_columns(table)
                    if (table, c["name"]) not in NEW_COLUMNS
                ]
                listed = ", ".join(f'"{c}"' for c in columns)
                order = ", ".join(f'"{c}"' for c in columns[:2])
                rows[table] = [
                    tuple(r)
                    for r in connection.execute(
                        text(f'SELECT {listed} FROM "{table}" ORDER BY {order}')
                    )
                ]
            return rows
    finally:
        engine.dispose()


def _schema(url: str) -> dict[str, Any]:
    """Tables, columns (name, type, nullability, default), keys, indexes and unique
    constraints, as the database reports them; column order is left out (an added column
    comes last, create_all puts it where the model has it)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            return {
                table: {
                    "columns": sorted(
                        (c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in inspector.get_columns(table)
                    ),
                    "pk": inspector.get_pk_constraint(table)["constrained_columns"],
                    "fks": sorted(
                        str((f["constrained_columns"], f["referred_table"], f["options"]))
                        for f in inspector.get_foreign_keys(table)
                    ),
                    "indexes": sorted(
                        str((i["name"], i["column_names"], i["unique"]))
                        for i in inspector.get_indexes(table)
                    ),
                    "uniques": sorted(
                        str((u["name"], u["column_names"]))
                        for u in inspector.get_unique_constraints(table)
                    ),
                }
                for table in sorted(inspector.get_table_names())
            }
    finally:
        engine.dispose()


def _differences_from_code(url: str) -> list[Any]:
    """Alembic's autogenerate comparison of the database with the tables in the code."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(compare_metadata(MigrationContext.configure(connection), METADATA))
    finally:
        engine.dispose()


@pytest.fixture
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database (another one than the configured database)."""
    if ON_POSTGRES:
        cluster = request.getfixturevalue("_postgres")
        name = f"fresh{next(_names)}"
        yield cluster.create_database(name)
        cluster.drop_database(name)
    else:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"


def _created(url: str) -> str:
    db = Database(url)
    try:
        assert db.create_schema() == "created"
    finally:
        db.dispose()
    return url


def test_the_previous_release_upgrades_with_every_row_intact(
    previous_release: str, fresh: str, clock: FixedClock
) -> None:
    before = _rows(previous_release)
    assert set(_schema(previous_release)) == PREVIOUS_TABLES  # no alembic_version: unversioned
    assert sum(len(r) for r in before.values()) > 150
    assert {t for t, r in before.items() if not r} == set()  # every table has rows

    services = build_services(load_config(), clock)  # bot.auto_upgrade defaults to true
    try:
        after = _rows(previous_release)
        assert {t: len(r) for t, r in after.items()} == {t: len(r) for t, r in before.items()}
        assert after == before
        answer = services.answers.ask(BODO)
        assert answer.status == "answer"
        # The registry edit the previous release recorded (a new address) is what is answered.
        assert "Vesa Heikki Jäntti" in answer.text
        assert "vesa.jantti@bodo.kommune.no" in answer.text
        with services.db.engine.connect() as connection:
            languages = connection.execute(text("SELECT language FROM person")).scalars().all()
            assert set(languages) == {None}  # new columns read NULL for old rows
            chat = connection.execute(
                text("SELECT display_name, language, person_key FROM chat_user ORDER BY id")
            ).all()
            assert [tuple(r) for r in chat] == [
                ("Vesa Jäntti", "nb", "vesa-heikki-jantti"),
                ("Ærlig Østby Åsen", None, None),
                ("Gruppe «Nettverket»", None, None),
            ]
            big = connection.execute(
                text("SELECT telegram_user_id FROM chat_user WHERE username = 'nettverket'")
            ).scalar_one()
            assert big == 9_007_199_254_740_993  # BIGINT beyond a double's exact range
            statuses = connection.execute(
                text("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status")
            ).all()
            assert [tuple(r) for r in statuses] == [("failed", 1), ("pending", 7), ("sent", 1)]
            body = connection.execute(
                text("SELECT body FROM outbox WHERE source_id = 'data-deadline:bodo:14d'")
            ).scalar_one()
            assert (
                bytes(body)
                == "Subject: Påminnelse\r\n\r\nFrist for datainnsamling 1. mars.\r\n".encode()
            )
    finally:
        services.close()

    assert migrations.current_revision(Database(previous_release)) == migrations.HEAD
    upgraded = _schema(previous_release)
    assert upgraded == _schema(_created(fresh))
    assert set(upgraded) - PREVIOUS_TABLES == {
        "alembic_version", "address_hold", "address_temporary_failure", "attendance",
        "dashboard_link", "dashboard_session", "feed_token", "inbound_message",
    }  # fmt: skip
    assert _differences_from_code(previous_release) == []
    assert _differences_from_code(fresh) == []


def test_a_second_upgrade_is_a_no_op(
    previous_release: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith("no schema version")
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "database schema upgraded from unversioned to 0002\n"
    rows, schema = _rows(previous_release), _schema(previous_release)

    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "database schema already at 0002; nothing to do\n"
    db = Database(previous_release)
    try:
        assert db.create_schema() == "current"
        assert migrations.upgrade(db).action == "current"
    finally:
        db.dispose()
    assert _rows(previous_release) == rows
    assert _schema(previous_release) == schema
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == "0002 (up to date)\n"


def _one_line_refusal(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["ask", BODO]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    return captured.err


def test_with_auto_upgrade_off_a_database_behind_is_refused_in_one_line(
    previous_release: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COORDBOT_BOT_AUTO_UPGRADE", "false")
    schema = _schema(previous_release)
    assert _one_line_refusal(capsys) == (
        "coordbot: the database's schema is that of revision 0001, this coordbot needs 0002; "
        "run `coordbot db upgrade` (bot.auto_upgrade is off)\n"
    )
    assert _schema(previous_release) == schema  # refused: nothing written, not even a stamp

    # Stamped at 0001 (as the upgrade would), it is still behind: the quick check says so.
    engine = create_engine(previous_release)
    with engine.begin() as connection:
        from alembic import command

        command.stamp(migrations.alembic_config(connection), "0001")
    engine.dispose()
    assert "revision 0001, this coordbot needs 0002; run `coordbot db upgrade`" in (
        _one_line_refusal(capsys)
    )

    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out == "database schema upgraded from 0001 to 0002\n"
    assert main(["ask", BODO]) == 0  # auto_upgrade still off: now current, so it starts
    assert "Vesa Heikki Jäntti" in capsys.readouterr().out


def test_a_database_of_a_newer_coordbot_is_refused(
    fresh: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", _created(fresh))
    engine = create_engine(fresh)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    assert "revision 0099, which this coordbot (up to 0002) does not know" in (
        _one_line_refusal(capsys)
    )
    assert main(["db", "upgrade"]) == 2
    assert "written by a newer coordbot" in capsys.readouterr().err
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.startswith("0099 (unknown here: written by a newer coordbot")


def test_an_upgrade_that_fails_part_way_leaves_the_database_as_it_was(
    previous_release: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows, schema = _rows(previous_release), _schema(previous_release)

    def fail(_connection: object) -> None:
        raise SchemaError("the check after the upgrade failed")

    # The last step, after the stamp and every revision ran: all of it must be rolled back.
    monkeypatch.setattr(migrations, "_check_foreign_keys", fail)
    db = Database(previous_release)
    try:
        with pytest.raises(SchemaError, match="check after the upgrade failed"):
            db.create_schema()
    finally:
        db.dispose()
    assert _schema(previous_release) == schema
    assert _rows(previous_release) == rows


def test_an_unversioned_database_of_this_release_is_stamped_and_keeps_its_rows(
    fresh: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What this round's code wrote before it had migrations: today's tables, no version.
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", _created(fresh))
    build_services(load_config(), clock).close()  # seeds the registry
    engine = create_engine(fresh)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        people = connection.execute(text("SELECT count(*) FROM person")).scalar_one()
    engine.dispose()
    db = Database(fresh)
    try:
        assert db.create_schema() == "stamped"
        assert migrations.current_revision(db) == migrations.HEAD
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM person")).scalar_one() == people
    finally:
        db.dispose()


def test_an_unversioned_database_matching_no_release_is_refused_in_one_line(
    fresh: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", _created(fresh))
    engine = create_engine(fresh)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text('ALTER TABLE person DROP COLUMN "phone"'))
    engine.dispose()
    assert _one_line_refusal(capsys) == (
        "coordbot: the database has coordbot tables but no schema version and matches no "
        "release this coordbot can upgrade (nearest: revision 0002, but table person has no "
        "column phone); restore a backup, or move it aside to start afresh\n"
    )
    with pytest.raises(SchemaError, match="no column phone"):
        migrations.upgrade(Database(fresh))


def test_the_revisions_alone_build_the_schema_the_code_creates(fresh: str) -> None:
    from alembic import command

    engine = create_engine(fresh)
    with engine.begin() as connection:
        command.upgrade(migrations.alembic_config(connection), "head")
    engine.dispose()
    assert _differences_from_code(fresh) == []
    created = Database(load_config().database_url)  # this test's own database: create_all
    try:
        assert created.create_schema() in ("created", "current")
    finally:
        created.dispose()
    assert _schema(fresh) == _schema(load_config().database_url)


def test_head_names_the_newest_revision() -> None:
    newest = migrations.script_head()
    assert newest == migrations.HEAD
    assert migrations.UNVERSIONED_RELEASES[0] == "0001"
