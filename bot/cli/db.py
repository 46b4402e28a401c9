"""`coordbot db upgrade` and `coordbot db current`: the database schema's revision.

Neither opens the services (which would upgrade at start, or refuse with bot.auto_upgrade off):
`upgrade` is the explicit step an operator runs, after a backup, when auto-upgrade is off;
`current` only reads. Seeding an empty registry is left to the next command, as always.
"""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    """The `db` subcommand and its actions."""
    db = sub.add_parser("db", help="the database schema: upgrade it, show its revision")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    actions.add_parser(
        "upgrade",
        help="apply the schema migrations",
        description="Bring the database's schema up to this coordbot's: create it when the "
        "database is empty, recognise one written before migrations existed, apply every "
        "missing revision in one transaction. Run by every command at start unless "
        "bot.auto_upgrade = false. Exit status 2 when the database cannot be upgraded "
        "(written by a newer coordbot, or not recognised).",
    )
    actions.add_parser(
        "current",
        help="print the schema revision of the database",
        description="Print the database's schema revision and whether it is this "
        "coordbot's (changes nothing).",
    )


def cmd_db(args: argparse.Namespace) -> int:
    """upgrade | current."""
    from bot import migrations
    from bot.config import load_config
    from bot.db import Database

    config = load_config(getattr(args, "config", None))
    db = Database(config.database_url)
    try:
        if args.db_command == "current":
            print(migrations.render_current(db))
            return 0
        outcome = migrations.upgrade(db)
    finally:
        db.dispose()
    before = outcome.before or "unversioned"
    print(
        {
            "current": f"database schema already at {outcome.after}; nothing to do",
            "created": f"database schema created at {outcome.after}",
            "stamped": f"database schema recognised as {outcome.after} and stamped so",
            "upgraded": f"database schema upgraded from {before} to {outcome.after}",
        }[outcome.action]
    )
    return 0
