"""The answer index cache of `coordbot ask` (bot.cli.cached_ask): a cold ask answers from it
without the database layer, answers exactly as the full path does, and never answers from a
registry that has changed since, from other code, or from a damaged file."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.answer_store import read_header, read_store, write_store
from bot.cli.cached_ask import cache_file
from bot.config import load_config
from bot.services import build_services

pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

QUESTION = "who is Bodø's data contact?"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def database() -> Path:
    """The SQLite file of this test (the cache is kept beside SQLite databases only)."""
    url = os.environ["COORDBOT_BOT_DATABASE_URL"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the answer cache is kept beside SQLite databases only")
    return Path(url.removeprefix("sqlite:///"))


def ask(capsys: pytest.CaptureFixture[str], *words: str) -> dict:
    """`coordbot ask --json` in this process."""
    assert main(["ask", "--json", "--now", "2020-01-15T09:00", "--", *words]) == 0
    doc: dict = json.loads(capsys.readouterr().out)
    return doc


def test_a_cached_ask_answers_as_the_full_path_without_the_database_layer(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first ask builds and keeps the index (owner-only); a new process answers the same
    questions from it, identically, and never imports SQLAlchemy."""
    questions = [QUESTION, "hvem er datakontakt i Bærum?", "når er styringsgruppemøtet?", "Bodo"]
    full = [ask(capsys, q) for q in questions]
    kept = cache_file(database)
    assert kept.exists()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    script = (
        "import json, sys\n"
        "from bot.cli import main\n"
        "for q in json.loads(sys.argv[1]):\n"
        "    main(['ask', '--json', '--now', '2020-01-15T09:00', '--', q])\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(questions)],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    *answers, modules = done.stdout.strip().split("\n}\n")
    assert json.loads(modules.strip().splitlines()[-1]) == []
    decoded = json.loads("[" + ",".join(a + "}" for a in answers) + "]")
    assert decoded == full


def test_a_registry_change_is_never_answered_from_the_old_index(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After any write to the registry the cache misses, the answer shows the change, and the
    cache is kept anew for the new registry."""
    before = ask(capsys, QUESTION)
    assert before["contacts"][0]["email"] == "vesa.heikki.jantti@bodo.kommune.no"
    services = build_services(load_config())
    try:
        data = services.registry.snapshot()
        people = tuple(
            replace(p, email="ny.datakontakt@bodo.kommune.no")
            if p.email == "vesa.heikki.jantti@bodo.kommune.no"
            else p
            for p in data.people
        )
        services.registry.apply(data, replace(data, people=people))
    finally:
        services.close()
    after = ask(capsys, QUESTION)
    assert after["contacts"][0]["email"] == "ny.datakontakt@bodo.kommune.no"
    header = read_header(cache_file(database))
    assert header is not None and header[1] == data.generation + 1


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other code", "other registry"])
def test_a_damaged_or_foreign_cache_is_passed_over(
    database: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """A cache that is cut short, not a cache at all, written by other code or for another
    registry is not used: the full path answers, and keeps a good cache again."""
    first = ask(capsys, QUESTION)
    kept = cache_file(database)
    content = kept.read_bytes()
    header = read_header(kept)
    assert header is not None
    fingerprint, generation = header
    if damage == "truncated":
        kept.write_bytes(content[: len(content) // 2])
    elif damage == "garbage":
        kept.write_bytes(b"not a cache")
    else:
        found = read_store(kept, fingerprint, generation)
        assert found is not None
        index, close = found
        # A cache that would answer wrongly if it were used: someone else is Bodø's contact.
        data = index.data
        people = tuple(replace(p, name="Feil Person") for p in data.people)
        close()
        services = build_services(load_config())
        try:
            wrong = services.answers.index()
        finally:
            services.close()
        wrong.data = replace(data, people=people)
        kept.unlink()
        if damage == "other code":
            write_store(kept, wrong, "0" * 64, generation)
        else:
            write_store(kept, wrong, fingerprint, generation + 5)
    again = ask(capsys, QUESTION)
    assert again == first
    assert read_header(kept) == (fingerprint, generation)


def test_the_cached_index_files_everyone_as_the_built_one(services, tmp_path: Path) -> None:
    """Read back from the cache, every holdings table gives, key by key, the holdings the
    built index has (made lazily from positions), and the other tables are equal, in the same
    order."""
    from bot.answering.index import HOLDING_TABLES
    from bot.cli.answer_store import DATA_TABLES, INDEX_TABLES

    built = services.answers.index()
    for name in DATA_TABLES:
        getattr(built.data, name)  # built, so the store has every lookup to compare
    stored = tmp_path / "index.answers"
    write_store(stored, built, "code", 7)
    assert read_store(stored, "code", 8) is None and read_store(stored, "other", 7) is None
    found = read_store(stored, "code", 7)
    assert found is not None
    loaded, close = found
    for name in INDEX_TABLES:
        mine, theirs = getattr(built, name), getattr(loaded, name)
        assert list(theirs) == list(mine) and len(theirs) == len(mine), name
        assert all(theirs[k] == v and k in theirs for k, v in mine.items()), name
        assert theirs.get("no such key") is None and "no such key" not in theirs
    for name in DATA_TABLES:
        mine, theirs = getattr(built.data, name), getattr(loaded.data, name)
        assert dict(theirs.items()) == dict(mine.items()), name
    assert tuple(loaded.data.people) == built.data.people
    assert loaded.data.people[-1] == built.data.people[-1]
    assert loaded.data.people[1:3] == built.data.people[1:3]
    assert replace(loaded.data, people=tuple(loaded.data.people)) == built.data
    assert dict(loaded.data.person_by_key) == built.data.person_by_key
    for name in HOLDING_TABLES:
        mine, theirs = getattr(built, name), getattr(loaded, name)
        keys = {k for k, v in mine.items() if v}
        assert set(theirs.keys()) == keys, name
        for key in keys:
            assert theirs[key] == mine[key], (name, key)
            assert key in theirs and theirs.get(("no", "such"), []) == []
    close()
