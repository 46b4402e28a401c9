"""Role answers at scale (issue 14): a role asked about without a place lists its holders only
when they are few, else gives their count and asks for the place; a misspelt place is asked
back with the places spelt alike, never dropped; the answer is bounded however large the
registry. And roles of a named body asked for by a title or an unknown word (issue 10).

Through `coordbot ask --json` over the database where the registry size allows, and through the
engine over a 20,000-person registry (bench/synthetic.py: surnames the engine never saw)."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bench.synthetic import synthetic_registry
from bot.answering.engine import AnswerEngine
from bot.answering.roles import HANDFUL
from bot.cli import main
from bot.clock import FixedClock
from bot.registry.data import RegistryData, load_registry_file
from bot.resources import SEED_FILE
from bot.services import Services

OSLO = ZoneInfo("Europe/Oslo")


def ask_json(capsys: pytest.CaptureFixture[str], question: str) -> dict:
    assert main(["ask", "--json", "--now", "2020-01-15T09:00", "--", question]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def seed() -> RegistryData:
    return load_registry_file(SEED_FILE)


@pytest.fixture(scope="module")
def big(seed: RegistryData) -> RegistryData:
    return synthetic_registry(seed, 20_000)


@pytest.fixture(scope="module")
def big_engine(big: RegistryData) -> AnswerEngine:
    return AnswerEngine.for_data(big, FixedClock(datetime(2020, 1, 15, 9, tzinfo=OSLO)))


def holders(data: RegistryData, role: str) -> int:
    return sum(1 for p in data.people for r in p.roles if r.role == role)


# --- through the command line --------------------------------------------------------------


@pytest.mark.db
@pytest.mark.parametrize(
    ("question", "lang", "asks"),
    [
        ("who is the data contact?", "en", "Which municipality do you mean?"),
        ("hvem er datakontakt?", "nb", "Hvilken kommune mener du?"),
        ("kven er datakontakten?", "nn", "Kva kommune meiner du?"),
    ],
)
def test_role_without_a_place_held_by_many_gives_the_count_and_asks_for_the_place(
    services: Services,
    seed: RegistryData,
    capsys: pytest.CaptureFixture[str],
    question: str,
    lang: str,
    asks: str,
) -> None:
    data = synthetic_registry(seed, 2_000)
    services.registry.replace(data)
    count = holders(data, "data_contact")
    assert count > HANDFUL

    doc = ask_json(capsys, question)

    assert doc["status"] == "clarify" and doc["lang"] == lang
    assert str(count) in doc["text"] and asks in doc["text"]
    assert doc["contacts"] == []  # no list of hundreds of people
    assert 1 <= len(doc["suggestions"]) <= 5
    # Each suggestion is the same question at one place, and answers it.
    followed = ask_json(capsys, doc["suggestions"][0])
    assert followed["status"] == "answer" and len(followed["contacts"]) == 1
    assert followed["contacts"][0]["municipality"] in doc["suggestions"][0]


@pytest.mark.db
def test_role_without_a_place_held_by_a_few_lists_them(
    capsys: pytest.CaptureFixture[str], seed: RegistryData
) -> None:
    doc = ask_json(capsys, "who is the data contact?")
    assert doc["status"] == "answer"
    assert len(doc["contacts"]) == holders(seed, "data_contact") <= HANDFUL


@pytest.mark.db
@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("who is the data contact in raan", "Rana"),
        ("hvem er datakontakt i molda?", "Molde"),
        ("kven er datakontakten i bdoo?", "Bodø"),
    ],
)
def test_misspelt_lower_case_place_is_asked_back(
    capsys: pytest.CaptureFixture[str], question: str, place: str
) -> None:
    doc = ask_json(capsys, question)
    assert doc["status"] == "clarify", doc["text"]
    assert doc["contacts"] == []
    assert any(place in s for s in doc["suggestions"])


@pytest.mark.db
def test_place_nothing_resembles_is_not_taken_for_every_holder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = ask_json(capsys, "who is the data contact in xqzv")
    assert doc["status"] == "not_found"
    assert "xqzv" in doc["text"] and "Registered municipalities" in doc["text"]
    assert doc["contacts"] == []


@pytest.mark.db
@pytest.mark.parametrize(
    "question",
    ["director of the UN centre", "who is the director of the UN centre?",
     "hvem er direktøren i FN-senteret?"],
)  # fmt: skip
def test_a_heads_title_of_a_body_finds_its_head(
    capsys: pytest.CaptureFixture[str], question: str
) -> None:
    doc = ask_json(capsys, question)
    assert doc["status"] == "answer", doc["text"]
    assert [c["name"] for c in doc["contacts"]] == ["Kristian Mjøen"]


@pytest.mark.db
@pytest.mark.parametrize(
    ("question", "said", "head"),
    [
        ("secretary of the steering group", "secretary", "Kari Aina Eik"),
        ("who is the secretary of the steering group?", "secretary", "Kari Aina Eik"),
        ("hvem er sekretær i styringsgruppen?", "sekretær", "Kari Aina Eik"),
        ("who is the treasurer of the network?", "treasurer", "Lars Bjerke"),
    ],
)
def test_a_role_a_body_does_not_have_is_said_and_its_head_named(
    capsys: pytest.CaptureFixture[str], question: str, said: str, head: str
) -> None:
    doc = ask_json(capsys, question)
    assert doc["status"] == "not_found", doc["text"]
    assert said in doc["text"]
    assert [c["name"] for c in doc["contacts"]] == [head]


# --- over 20,000 people ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "role"),
    [
        ("who is the data contact?", "data_contact"),
        ("who is the energy contact?", "energy_contact"),
        ("hvem er energikontakt?", "energy_contact"),
        ("who are the mobility contacts?", "mobility_contact"),
    ],
)
def test_role_without_a_place_is_bounded_over_20000_people(
    big: RegistryData, big_engine: AnswerEngine, question: str, role: str
) -> None:
    answer = big_engine.ask(question)
    count = holders(big, role)
    assert count > 300
    assert answer.status == "clarify"
    assert f"{count} " in answer.text
    assert len(answer.contacts) == 0 and len(answer.suggestions) <= 5
    assert len(answer.text) < 400


@pytest.mark.parametrize(
    ("question", "place"),
    [
        ("who is the data contact in raaa", "Rana"),
        ("who is the data contact in haugsund", "Haugesund"),
        ("hvem er datakontakt i olo?", "Oslo"),
        ("who is the data contact in nore o uvdal", "Nore og Uvdal"),
    ],
)
def test_misspelt_place_over_20000_people_offers_places_only(
    big: RegistryData, big_engine: AnswerEngine, question: str, place: str
) -> None:
    answer = big_engine.ask(question)
    assert answer.status == "clarify", answer.text
    assert answer.contacts == ()
    assert any(place in s for s in answer.suggestions)
    # Places, not the people whose surnames look alike.
    people = {p.name for p in big.people}
    assert not any(name in s for s in answer.suggestions for name in people)


def test_common_first_name_over_20000_people_lists_a_bounded_few(
    big: RegistryData, big_engine: AnswerEngine
) -> None:
    given = big.people[-1].name.split()[0]
    sharing = sum(1 for p in big.people if p.name.split()[0] == given)
    assert sharing > 30
    answer = big_engine.ask(f"who is {given}?")
    assert answer.status == "clarify"
    assert len(answer.contacts) <= 5 and len(answer.suggestions) <= 5
    assert answer.text.count("\u2022") <= 25
