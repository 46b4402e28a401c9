"""Properties of the answer engine: it never raises, its work is capped whatever the input, it
never answers confidently about a real place that is not registered, and it finds every
registered person and municipality however their names are spelt (æ/ø/å or ASCII)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import resolve as resolve_module
from bot.answering.engine import AnswerEngine
from bot.answering.gazetteer import municipalities_2020
from bot.answering.model import Answer
from bot.answering.text import MAX_QUESTION_CHARS, MAX_TOKENS, prepare
from bot.clock import FixedClock
from bot.config import REPO_ROOT
from bot.registry.data import RegistryData, load_registry_file
from bot.textnorm import fold

OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(scope="module")
def seed() -> RegistryData:
    return load_registry_file(REPO_ROOT / "data" / "registry.toml")


@pytest.fixture(scope="module")
def engine(seed: RegistryData) -> AnswerEngine:
    return AnswerEngine.for_data(seed, FixedClock(datetime(2020, 1, 15, 9, tzinfo=OSLO)))


def valid(answer: Answer) -> None:
    doc = answer.to_json()
    assert doc["status"] in ("answer", "clarify", "not_found")
    assert doc["lang"] in ("en", "nb", "nn")
    assert doc["text"].strip()
    assert "something went wrong" not in doc["text"], "the engine's safety net caught a bug"
    assert len(doc["suggestions"]) <= 5
    assert all(len(s) <= 60 for s in doc["suggestions"])


# Words the engine reacts to, mixed with anything at all.
VOCABULARY = st.sampled_from(
    [
        "who", "hvem", "when", "når", "next", "neste", "data", "contact", "datakontakt", "i",
        "in", "Bodø", "Bodo", "Bærum", "Kristiansand", "Kristiansund", "Bente", "Silja",
        "Mjøen", "møte", "frist", "21.", "februar", "24/4", "2020-02-21", "tomorrow",
        "i morgen", "leder", "nestleder", "nettverket", "styringsgruppen", "Oslo", "'s", "?",
        "Trondhiem", "Network of Excellence", "e-post", "@", "kl. 10.00", "31/2", "99.99",
    ]
)  # fmt: skip
QUESTIONS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(VOCABULARY, st.text(max_size=12)), max_size=30).map(" ".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=QUESTIONS, lang=st.sampled_from([None, "en", "nb", "de", ""]))
def test_never_raises_on_any_text(engine: AnswerEngine, question: str, lang: str | None) -> None:
    answer = engine.ask(question, lang=lang)
    valid(answer)
    if lang in ("en", "nb"):
        assert answer.lang == lang


@settings(max_examples=100, deadline=None)
@given(question=QUESTIONS, lang=st.sampled_from([None, "en", "nb"]))
def test_never_raises_over_an_empty_registry(question: str, lang: str | None) -> None:
    empty = AnswerEngine.for_data(RegistryData(), FixedClock(datetime(2020, 1, 15, tzinfo=OSLO)))
    valid(empty.ask(question, lang=lang))


def test_a_bug_is_logged_and_answered_not_raised(
    engine: AnswerEngine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.answering import engine as engine_module

    def broken(ctx: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine_module, "_dispatch", broken)
    answer = engine.ask("hvem er datakontakt i Bodø?")
    assert answer.status == "not_found"
    assert answer.text.startswith("Sorry, something went wrong")
    assert "boom" in caplog.text and "hvem er datakontakt i Bodø?" in caplog.text


@settings(max_examples=20, deadline=None)
@given(st.text(min_size=MAX_QUESTION_CHARS + 1, max_size=MAX_QUESTION_CHARS * 3))
def test_long_questions_are_refused_with_a_clear_message(engine: AnswerEngine, text: str) -> None:
    answer = engine.ask("who is Bodø's data contact? " + text)
    assert answer.status == "not_found"
    assert "too long" in answer.text


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=MAX_TOKENS, max_size=400))
def test_at_most_max_tokens_words_are_read(words: list[str]) -> None:
    question = prepare(" ".join(words))
    assert len(question.tokens) <= MAX_TOKENS
    assert len(question.text) <= MAX_QUESTION_CHARS


def test_fuzzy_lookups_per_question_are_capped(
    engine: AnswerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question of unknown words costs at most MAX_FUZZY_WORDS fuzzy scans, not one per word."""
    from rapidfuzz import process

    calls = []
    real_extract = process.extract

    def counting_extract(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0])
        return real_extract(*args, **kwargs)

    monkeypatch.setattr(process, "extract", counting_extract)
    words = [f"zzq{chr(97 + i % 26)}{chr(97 + i // 26)}xw" for i in range(40)]
    answer = engine.ask(" ".join(words))
    valid(answer)
    fuzzy_scans = [w for w in calls if w in words]
    assert 0 < len(fuzzy_scans) <= resolve_module.MAX_FUZZY_WORDS


def test_unregistered_municipalities_never_get_a_confident_answer(
    engine: AnswerEngine, seed: RegistryData
) -> None:
    registered = {fold(m.name) for m in seed.municipalities}
    places = [p.name for p in municipalities_2020() if fold(p.name) not in registered]
    assert len(places) >= 340
    for place in places:
        for question in (
            f"who is the data contact in {place}?",
            f"hvem er datakontakt i {place}?",
            f"Who is {place}'s network representative?",
        ):
            answer = engine.ask(question)
            assert answer.status in ("clarify", "not_found"), (question, answer.text)
            assert not answer.contacts, (question, answer.text)
            assert place in answer.text


def test_every_registered_name_is_found_in_any_spelling(
    engine: AnswerEngine, seed: RegistryData
) -> None:
    ascii_names = {"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "å": "aa", "Å": "Aa", "ä": "a"}
    for person in seed.people:
        plain = "".join(ascii_names.get(ch, ch) for ch in person.name)
        for spelling in {person.name, plain, person.name.lower()}:
            answer = engine.ask(f"who is {spelling}?")
            assert answer.status == "answer", (spelling, answer.text)
            assert {c.name for c in answer.contacts} == {person.name}
    for place in seed.municipalities:
        plain = "".join(ascii_names.get(ch, ch) for ch in place.name)
        for spelling in {place.name, plain}:
            answer = engine.ask(f"who is the data contact in {spelling}?")
            assert answer.status in ("answer", "not_found"), (spelling, answer.text)
            assert place.name in answer.text
            if answer.status == "answer":
                assert all(c.municipality == place.name for c in answer.contacts)


@pytest.mark.parametrize(
    ("question", "forbidden"),
    [
        ("what time is the meeting?", "not in the programme"),  # "Time" is a municipality
        ("is there a hole in the plan?", "Hole"),
        ("who asked about Asker?", "Asked"),
    ],
)
def test_ordinary_words_are_not_taken_for_places(
    engine: AnswerEngine, question: str, forbidden: str
) -> None:
    assert forbidden not in engine.ask(question).text
