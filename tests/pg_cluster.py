"""A throwaway PostgreSQL cluster on a Unix socket, for running the database tests on PostgreSQL.

Uses the server binaries of the machine (initdb, pg_ctl). As root it runs them as the `postgres`
user, since PostgreSQL refuses to run as root. Nothing listens on TCP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEARCH_DIRS = (
    "/usr/lib/postgresql/17/bin",
    "/usr/lib/postgresql/16/bin",
    "/usr/lib/postgresql/15/bin",
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCH_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    raise PostgresUnavailable(f"{name} not found; install the PostgreSQL server (e.g. postgresql)")


@dataclass
class Cluster:
    """A running cluster; `url(db)` gives a SQLAlchemy URL for one database in it."""

    directory: Path
    port: int
    run_as: list[str]
    _admin: Any = field(default=None, repr=False)

    def url(self, database: str) -> str:
        """SQLAlchemy URL for `database` over the cluster's socket."""
        return f"postgresql+psycopg://coordbot@/{database}?host={self.directory}&port={self.port}"

    def create_database(self, name: str, template: str = "template0") -> str:
        """Create a database (a copy of `template`) and return its URL. Over one connection
        kept open: a psql process per test costs more than many a test."""
        import psycopg

        if self._admin is None:
            self._admin = psycopg.connect(
                host=str(self.directory),
                port=self.port,
                user="coordbot",
                dbname="postgres",
                autocommit=True,
            )
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a test's database (closing what it left connected): the cluster's disk use
        stays that of one test, not of every test of the run."""
        if self._admin is not None:
            self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        try:
            self._run(
                [_binary("pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "stop"]
            )
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, argv: list[str]) -> None:
        subprocess.run([*self.run_as, *argv], check=True, capture_output=True, timeout=60)


def start_cluster(port: int = 55432) -> Cluster:
    """initdb and start a cluster in a fresh temporary directory."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    directory = Path(tempfile.mkdtemp(prefix="coordbot-pg-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(directory, port, run_as)
    data = directory / "data"
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-A", "trust", "-U", "coordbot", "-E", "UTF8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-k {directory} -p {port} -c listen_addresses='' -c fsync=off"
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(directory / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return cluster
