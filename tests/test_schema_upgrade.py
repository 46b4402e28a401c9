"""A database written before this round's columns existed opens, gains them, keeps its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from bot.clock import FixedClock
from bot.config import Config
from bot.db import Database, SchemaError
from bot.registry.tables import Person
from bot.services import build_services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

# Nullable columns added since the previous release (what such a database lacks).
ADDED_SINCE = (
    ("person", "language"),
    ("organisation", "seat_names"),
    ("audience", "roles"),
    ("audience", "widen"),
    ("broadcast", "widen"),
)
# The previous release never recorded which columns it had checked.
FORGET_CHECK = "DELETE FROM meta WHERE key = 'schema_columns'"


def _columns(db: Database, table: str) -> set[str]:
    from sqlalchemy import inspect

    return {c["name"] for c in inspect(db.engine).get_columns(table)}


def test_an_older_database_gains_the_new_columns_and_keeps_its_rows(
    config: Config, clock: FixedClock
) -> None:
    services = build_services(config, clock)
    with services.db.session() as session:
        people = session.scalar(select(func.count()).select_from(Person))
    with services.db.engine.begin() as connection:
        for table, column in ADDED_SINCE:
            connection.execute(text(f'ALTER TABLE {table} DROP COLUMN "{column}"'))
        connection.execute(text(FORGET_CHECK))
    services.close()
    assert "language" not in _columns(Database(config.bot.database_url), "person")

    reopened = build_services(config, clock)
    try:
        for table, column in ADDED_SINCE:
            assert column in _columns(reopened.db, table), (table, column)
        with reopened.db.session() as session:
            assert session.scalar(select(func.count()).select_from(Person)) == people
        answer = reopened.answers.ask("who is Bodø's data contact?")
        assert answer.status == "answer" and "Vesa Heikki Jäntti" in answer.text
    finally:
        reopened.close()


def test_a_missing_required_column_is_refused_with_a_clear_message(config: Config) -> None:
    db = Database(config.bot.database_url)
    try:
        db.create_schema()
        with db.engine.begin() as connection:
            # A column the code needs (NOT NULL) cannot be made up for rows already there.
            connection.execute(text('ALTER TABLE person DROP COLUMN "name"'))
            connection.execute(text(FORGET_CHECK))
        with pytest.raises(SchemaError, match="person has no column name"):
            db.create_schema()
    finally:
        db.dispose()
