"""`python -m bot.migrations revision "what changed"`: write the next revision by autogenerate.

A tool for whoever changes a table (`make migration MESSAGE=...`), not part of the CLI contract.
It upgrades a scratch SQLite database to the current head, compares it with the tables the code
defines (bot.schema) and writes versions/NNNN_<message>.py. Then read it, fix it, set
bot.migrations.HEAD to the new id and run tests/test_migrations.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    """Write the next revision; returns the exit status."""
    if len(argv) != 2 or argv[0] != "revision" or not argv[1].strip():
        print('usage: python -m bot.migrations revision "what changed"', file=sys.stderr)
        return 2
    from alembic import command
    from sqlalchemy import create_engine

    from bot.migrations import alembic_config, script_head

    next_id = f"{int(script_head()) + 1:04d}"
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'scratch.sqlite3'}")
        try:
            with engine.begin() as connection:
                config = alembic_config(connection)
                command.upgrade(config, "head")
                # The new file formatted as `make lint` wants it (ruff is a dev dependency).
                config.set_section_option("post_write_hooks", "hooks", "ruff")
                config.set_section_option("post_write_hooks", "ruff.type", "module")
                config.set_section_option("post_write_hooks", "ruff.module", "ruff")
                config.set_section_option(
                    "post_write_hooks", "ruff.options", "format REVISION_SCRIPT_FILENAME"
                )
                command.revision(config, message=argv[1], autogenerate=True, rev_id=next_id)
        finally:
            engine.dispose()
    print(f"wrote revision {next_id}; now set bot.migrations.HEAD = {next_id!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
