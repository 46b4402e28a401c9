"""Alembic's environment: runs the revisions on the connection bot.migrations hands over.

Never run with a URL of its own: `coordbot db upgrade` (or any start, see bot.migrations)
opens the database, takes the migration lock and passes the connection in
`config.attributes["connection"]`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

from bot.db import UTCDateTime
from bot.schema import METADATA


def _render_item(kind: str, obj: Any, _autogen_context: Any) -> str | Literal[False]:
    # A revision keeps the storage type, not the code's TypeDecorator: the revision must not
    # change when UTCDateTime's Python side does.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def _run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "coordbot's migrations run through `coordbot db upgrade`, not the alembic command"
        )
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        # SQLite alters most things only by rebuilding the table: batch mode does that.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    # Inside the caller's transaction (bot.migrations._locked): no commit of its own here.
    with context.begin_transaction():
        context.run_migrations()


_run()
