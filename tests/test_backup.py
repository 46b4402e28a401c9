"""`coordbot backup FILE` and `coordbot restore FILE` on SQLite: a backup taken while another
connection keeps committing is one consistent snapshot holding every transaction committed
before it started (also those still in the -wal file), and restoring it brings back exactly
that state, which `coordbot ask` then answers from.

These tests run on SQLite only (their own database file, not the fixture's): PostgreSQL's
backup is pg_dump's job, and the commands say so without connecting anywhere."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.cli.cached_ask import cache_file
from bot.clock import FixedClock
from bot.config import Config, load_config
from bot.db import Database
from bot.registry.edits.apply import apply_edit
from bot.registry.edits.audit import Actor, EditRecord, record_edit
from bot.registry.edits.changes import EmailEdit
from bot.services import build_services

BODO_QUESTION = "who is Bodø's data contact?"
EDITED_ADDRESS = "vesa.jantti@restored.example.org"
PROBE = "backup-probe"


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FixedClock) -> Iterator[Path]:
    """A seeded SQLite database in which Bodø's data contact has an address that only this
    database knows (a re-seed from the package's registry.toml would not give it)."""
    database = tmp_path / "live" / "coordbot.sqlite3"
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", f"sqlite:///{database}")
    services = build_services(load_config(), clock)
    try:
        person = next(
            p for p in services.registry.snapshot().people if p.name == "Vesa Heikki Jäntti"
        )
        apply_edit(services, EmailEdit(person.key, EDITED_ADDRESS), Actor("console", "Test"))
    finally:
        services.close()
    yield database


@dataclass
class Writer:
    """Commits one registry_edit row per transaction through coordbot's own Database (WAL,
    busy timeout), numbered from 0, until stopped; `committed` counts finished commits."""

    url: str
    committed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    reached: dict[int, threading.Event] = field(default_factory=dict)
    error: BaseException | None = None

    def at_least(self, count: int) -> threading.Event:
        """An event set once `count` rows are committed."""
        event = self.reached.setdefault(count, threading.Event())
        if self.committed >= count:
            event.set()
        return event

    def run(self) -> None:
        db = Database(self.url)
        try:
            # Bounded: a test that goes wrong still ends.
            while not self.stop.is_set() and self.committed < 100_000:
                record_edit(
                    db,
                    EditRecord(
                        at=datetime(2020, 1, 15, 8, tzinfo=UTC),
                        actor=PROBE,
                        actor_name="writer",
                        subject_kind="probe",
                        subject_key=str(self.committed),
                        action="write",
                        before="",
                        after="",
                    ),
                )
                self.committed += 1
                for count, event in list(self.reached.items()):
                    if self.committed >= count:
                        event.set()
        except BaseException as exc:
            self.error = exc
            for event in self.reached.values():
                event.set()
        finally:
            db.dispose()


def probe_numbers(database: Path) -> list[int]:
    """The writer's row numbers in a database file, in order."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT subject_key FROM registry_edit WHERE actor = ? ORDER BY id", (PROBE,)
        ).fetchall()
    connection.close()
    return [int(key) for (key,) in rows]


def ask_json(capsys: pytest.CaptureFixture[str], question: str) -> dict:
    assert main(["ask", "--json", "--", question]) == 0
    return json.loads(capsys.readouterr().out)


def test_backup_while_writing_then_restore(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = Writer(f"sqlite:///{live}")
    thread = threading.Thread(target=writer.run, daemon=True)
    thread.start()
    try:
        assert writer.at_least(50).wait(60)
        assert writer.error is None
        committed_before = writer.committed
        backup = tmp_path / "backups" / "coordbot-backup.sqlite3"
        assert main(["backup", str(backup)]) == 0
        committed_after = writer.committed
        # The writer goes on after the backup: the live database moves past it.
        assert writer.at_least(committed_after + 50).wait(60)
    finally:
        writer.stop.set()
        thread.join(60)
    assert writer.error is None
    out = capsys.readouterr().out
    assert f"to {backup}" in out

    # One snapshot: rows 0..n-1 with no gap, holding at least every commit made before the
    # backup began (a copy of the main file alone would miss those still in the -wal file).
    saved = probe_numbers(backup)
    assert saved == list(range(len(saved)))
    assert committed_before <= len(saved) <= committed_after
    # One self-contained, intact file, readable by its owner only.
    assert not backup.with_name(backup.name + "-wal").exists()
    assert list(backup.parent.iterdir()) == [backup]
    with sqlite3.connect(backup) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    assert backup.stat().st_mode & 0o777 == 0o600

    live_rows = probe_numbers(live)
    assert len(live_rows) > len(saved)

    # An ask keeps its answer index beside the database; a restore must not leave it there
    # (the restored registry may carry the write counter it was made for).
    ask_json(capsys, BODO_QUESTION)
    assert cache_file(live).exists()
    # The documented procedure: stop the bot (the writer has stopped), restore, start again.
    assert main(["restore", str(backup)]) == 0
    assert f"restored {live} from {backup}" in capsys.readouterr().out
    assert not cache_file(live).exists()
    assert probe_numbers(live) == saved
    doc = ask_json(capsys, BODO_QUESTION)
    assert doc["status"] == "answer"
    assert [(c["name"], c["email"]) for c in doc["contacts"]] == [
        ("Vesa Heikki Jäntti", EDITED_ADDRESS)
    ]


def test_restore_replaces_a_database_lost_with_its_wal(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "coordbot-backup.sqlite3"
    assert main(["backup", str(backup)]) == 0
    # The disk is lost: database and its -wal/-shm files gone.
    for path in live.parent.iterdir():
        path.unlink()
    assert main(["restore", str(backup)]) == 0
    capsys.readouterr()
    doc = ask_json(capsys, BODO_QUESTION)
    assert [c["email"] for c in doc["contacts"]] == [EDITED_ADDRESS]


def test_restore_over_a_crashed_database_drops_its_stale_wal(
    live: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "coordbot-backup.sqlite3"
    assert main(["backup", str(backup)]) == 0
    # A bot that died after committing rows never checkpointed: they sit in its -wal file,
    # which SQLite replays onto the database file at the next open. Those files, as a crash
    # leaves them, copied aside.
    crashed = tmp_path / "crashed" / "coordbot.sqlite3"
    crashed.parent.mkdir()
    connection = sqlite3.connect(live)
    connection.execute("PRAGMA wal_autocheckpoint=0")
    with connection:
        connection.executemany(
            "INSERT INTO registry_edit (at, actor, actor_name, subject_kind, subject_key, action,"
            " before, after) VALUES ('2020-01-15 08:00:00', ?, 'w', 'probe', ?, 'write', '', '')",
            [(PROBE, str(n)) for n in range(20)],
        )
    for suffix in ("", "-wal", "-shm"):
        source = live.with_name(live.name + suffix)
        crashed.with_name(crashed.name + suffix).write_bytes(source.read_bytes())
    connection.close()
    assert crashed.with_name(crashed.name + "-wal").stat().st_size > 0
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", f"sqlite:///{crashed}")

    assert main(["restore", str(backup)]) == 0
    # The restored state, not the backup with the dead bot's rows replayed over it.
    assert probe_numbers(crashed) == []
    with sqlite3.connect(crashed) as check:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    check.close()
    capsys.readouterr()
    assert [c["email"] for c in ask_json(capsys, BODO_QUESTION)["contacts"]] == [EDITED_ADDRESS]


def test_restore_refuses_a_file_that_is_not_a_coordbot_backup(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = live.read_bytes()
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE something (x)")
    connection.close()
    assert main(["restore", str(text)]) == 2
    assert "is not a SQLite database" in capsys.readouterr().err
    assert main(["restore", str(other)]) == 2
    assert "is not a coordbot backup (no table meta, municipality, person)" in (
        capsys.readouterr().err
    )
    assert main(["restore", str(tmp_path / "missing.sqlite3")]) == 2
    assert "there is no backup file" in capsys.readouterr().err
    assert live.read_bytes() == before


def test_backup_refuses_the_database_itself_and_a_missing_database(
    live: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = live.read_bytes()
    assert main(["backup", str(live)]) == 2
    assert "is the database itself" in capsys.readouterr().err
    assert live.read_bytes() == before

    missing = tmp_path / "nowhere" / "coordbot.sqlite3"
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", f"sqlite:///{missing}")
    target = tmp_path / "b.sqlite3"
    assert main(["backup", str(target)]) == 2
    assert f"there is no database at {missing}" in capsys.readouterr().err
    # Neither an empty database nor a backup file was made.
    assert not missing.parent.exists() and not target.exists()


def test_postgresql_is_pointed_at_pg_dump_and_pg_restore(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An address that cannot resolve: the commands must answer from the URL alone.
    monkeypatch.setenv("COORDBOT_BOT_DATABASE_URL", "postgresql+psycopg://coordbot@db.invalid/c")
    assert main(["backup", str(tmp_path / "x.dump")]) == 2
    err = capsys.readouterr().err
    assert "the database is postgresql" in err and "pg_dump --format=custom" in err
    assert main(["restore", str(tmp_path / "x.dump")]) == 2
    assert "pg_restore --clean --if-exists" in capsys.readouterr().err
    assert not (tmp_path / "x.dump").exists()


@pytest.mark.db
def test_postgresql_dump_and_restore_as_the_readme_shows(
    config: Config, clock: FixedClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's PostgreSQL procedure, on the PostgreSQL pass: pg_dump --format=custom,
    then pg_restore --clean --if-exists into the same database brings its state back."""
    url = make_url(config.database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL pass only (SQLite has coordbot backup/restore, tested above)")
    from tests.pg_cluster import _binary

    connection = [
        f"--host={url.query['host']}",
        f"--port={url.query['port']}",
        f"--username={url.username}",
        f"--dbname={url.database}",
    ]
    services = build_services(config, clock)
    try:
        person = next(
            p for p in services.registry.snapshot().people if p.name == "Vesa Heikki Jäntti"
        )
        actor = Actor("console", "Test")
        apply_edit(services, EmailEdit(person.key, EDITED_ADDRESS), actor)
        dump = tmp_path / "coordbot.dump"
        subprocess.run(
            [_binary("pg_dump"), "--format=custom", f"--file={dump}", *connection],
            check=True,
            capture_output=True,
            timeout=120,
        )
        # Changed after the dump: the restore must undo it.
        apply_edit(services, EmailEdit(person.key, "later@example.org"), actor)
    finally:
        services.close()
    subprocess.run(
        [_binary("pg_restore"), "--clean", "--if-exists", *connection, str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert [c["email"] for c in ask_json(capsys, BODO_QUESTION)["contacts"]] == [EDITED_ADDRESS]
