"""`coordbot ask` end to end: the JSON contract of DESIGN.md, --now, --lang, exit status, the
real console script, and the engine over the real (database-backed) registry."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.services import Services


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """These tests read English texts: the language is set, not left to the default (nb)."""


pytestmark = pytest.mark.db  # touches the database: `make test` runs it on both

CONTACT_KEYS = {"name", "email", "role", "organisation", "municipality"}
EVENT_KEYS = {"key", "title", "start", "end", "location"}


def ask_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["ask", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def check_contract(doc: dict) -> None:
    assert set(doc) == {"status", "lang", "text", "contacts", "events", "suggestions"}
    assert doc["status"] in ("answer", "clarify", "not_found")
    assert doc["lang"] in ("en", "nb", "nn")
    assert isinstance(doc["text"], str) and doc["text"]
    for contact in doc["contacts"]:
        assert set(contact) == CONTACT_KEYS
        assert isinstance(contact["name"], str) and isinstance(contact["role"], str)
        for key in ("email", "organisation", "municipality"):
            assert contact[key] is None or isinstance(contact[key], str)
    for event in doc["events"]:
        assert set(event) == EVENT_KEYS
        assert isinstance(event["key"], str) and isinstance(event["title"], str)
        assert isinstance(event["start"], str)
        assert event["end"] is None or isinstance(event["end"], str)
        assert event["location"] is None or isinstance(event["location"], str)
    assert all(isinstance(s, str) for s in doc["suggestions"])


def test_json_answer_names_bodo_data_contact(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ask_json(capsys, "--", "who is Bodø's data contact?")
    check_contract(doc)
    assert doc["status"] == "answer" and doc["lang"] == "en"
    assert doc["contacts"] == [
        {
            "name": "Vesa Heikki Jäntti",
            "email": "vesa.heikki.jantti@bodo.kommune.no",
            "role": "local data-collection contact",
            "organisation": None,
            "municipality": "Bodø",
        }
    ]
    assert doc["events"] == [] and doc["suggestions"] == []


def test_json_lang_override_answers_in_norwegian(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ask_json(capsys, "--lang", "nb", "who is Bodø's data contact?")
    check_contract(doc)
    assert doc["lang"] == "nb"
    assert doc["contacts"][0]["role"] == "lokal kontaktperson for datainnsamling"
    assert doc["text"].startswith("Lokal kontaktperson for datainnsamling i Bodø er")


def test_json_now_moves_what_is_next(capsys: pytest.CaptureFixture[str]) -> None:
    early = ask_json(capsys, "--now", "2020-01-15T09:00", "what is next?")
    late = ask_json(capsys, "--now", "2020-03-15", "what is next?")
    for doc in (early, late):
        check_contract(doc)
    assert [e["key"] for e in early["events"]] == ["data-deadline"]
    assert [e["key"] for e in late["events"]] == ["profiles-back"]
    assert late["events"][0] == {
        "key": "profiles-back",
        "title": "KPI profiles returned to the municipalities (by end of March)",
        "start": "2020-03-31",
        "end": "2020-03-31",
        "location": None,
    }


def test_json_clarify_has_suggestions(capsys: pytest.CaptureFixture[str]) -> None:
    doc = ask_json(capsys, "who is Kristiansand's data contact?")
    check_contract(doc)
    assert doc["status"] == "clarify"
    assert doc["contacts"] == []
    assert doc["suggestions"] == ["who is Kristiansund's data contact?"]


@pytest.mark.parametrize(
    "question",
    ["", "   ", "x" * 100_000, "\x00\x07\x1b[31mwho\x7f", "'; DROP TABLE person; --", "🙂" * 50],
    ids=["empty", "blank", "100KB", "controls", "sql", "emoji"],
)
def test_bad_input_gets_a_clear_answer_and_exit_0(
    capsys: pytest.CaptureFixture[str], question: str
) -> None:
    doc = ask_json(capsys, "--", question)
    check_contract(doc)
    assert doc["status"] == "not_found"
    if len(question) > 1000:
        assert "too long (100000 characters)" in doc["text"]


def test_plain_text_output_and_no_question(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask"]) == 0
    assert "Please ask a question" in capsys.readouterr().out
    assert main(["ask", "hvem", "er", "datakontakt", "i", "Bærum?"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "Lokal kontaktperson for datainnsamling i Bærum er Christian Holmås Haave"
    )


def test_console_script_answers_the_done_question(tmp_path: Path) -> None:
    script = shutil.which("coordbot", path=str(Path(sys.executable).parent))
    assert script, "the coordbot console script is installed next to the interpreter"
    result = subprocess.run(
        [script, "ask", "who is Bodø's data contact?"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Vesa Heikki Jäntti" in result.stdout
    assert "vesa.heikki.jantti@bodo.kommune.no" in result.stdout


def test_engine_rebuilds_its_index_only_when_the_registry_changes(services: Services) -> None:
    engine = services.answers
    first = engine.index()
    engine.ask("who is Bodø's data contact?")
    engine.ask("what is next?")
    assert engine.index() is first

    data = services.registry.snapshot()
    people = tuple(
        dataclasses.replace(p, email="vesa@bodo.kommune.no") if p.key == "vesa-heikki-jantti" else p
        for p in data.people
    )
    services.registry.replace(dataclasses.replace(data, people=people))

    answer = engine.ask("who is Bodø's data contact?")
    assert engine.index() is not first
    assert answer.contacts[0].email == "vesa@bodo.kommune.no"
