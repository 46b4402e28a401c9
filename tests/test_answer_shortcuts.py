"""The answer engine's shortcuts (work skipped or remembered to keep questions fast) give what
the long way gives: the typo lookup over the words of a reachable length, question preparation
that skips the e-mail scan and the sentence-end search, remembered word concepts, and
Mentions.keys filing every kind at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.answering import index as index_module
from bot.answering import render
from bot.answering.gazetteer import load_names, load_places
from bot.answering.index import Index
from bot.answering.model import Answer
from bot.answering.people import answer_name
from bot.answering.reply import Context
from bot.answering.resolve import (
    Mentions,
    NameRun,
    Span,
    _confident_distance,
    _doubtful_distance,
    resolve,
)
from bot.answering.text import fold_words, prepare
from bot.registry.data import PersonRec, RoleRec, load_registry_file
from bot.resources import SEED_FILE


@pytest.fixture(scope="module")
def index() -> Index:
    return Index(load_registry_file(SEED_FILE), load_places(), load_names())


def one_edit_away(word: str) -> list[str]:
    """The word with a letter dropped, doubled, swapped with the next and changed, at its
    middle: typos of every kind, so ties between equally close words come up often."""
    i = len(word) // 2
    return [
        word[:i] + word[i + 1 :],
        word[:i] + word[i] + word[i:],
        word[:i] + word[i + 1 : i + 2] + word[i] + word[i + 2 :],
        word[:i] + "e" + word[i + 1 :],
    ]


def test_the_typo_lookup_finds_what_a_scan_of_the_whole_vocabulary_finds(index: Index) -> None:
    """Only words whose length is within the cutoff can be that few edits away: scanning just
    them gives the same words, distances and order (ties in vocabulary order)."""
    words = {w for c in index.fuzzy_choices for w in (c, *one_edit_away(c)) if len(w) >= 4}
    compared = with_ties = 0
    for word in sorted(words):
        cutoff = max(_confident_distance(len(word)), _doubtful_distance(len(word)))
        near = index.fuzzy_near(len(word), cutoff)
        assert near == [c for c in index.fuzzy_choices if abs(len(c) - len(word)) <= cutoff]
        whole = process.extract(
            word, index.fuzzy_choices, scorer=OSA.distance, score_cutoff=cutoff, limit=8
        )
        part = process.extract(word, near, scorer=OSA.distance, score_cutoff=cutoff, limit=8)
        assert [(c, d) for c, d, _ in part] == [(c, d) for c, d, _ in whole], word
        compared += 1
        with_ties += len({d for _, d, _ in whole}) < len(whole)
    assert compared > 1000 and with_ties > 100  # the comparison saw many ties to order


def test_places_spelt_alike_are_found_among_names_of_a_reachable_length() -> None:
    """not_in_programme's look for a registered place spelt like a real one, over the 356
    municipalities of 2020: the names of a reachable length give what all of them give."""
    from bench.legacy_mix import synthetic_registry

    grown = Index(synthetic_registry(load_registry_file(SEED_FILE)), load_places(), load_names())
    asked = {m.name for m in grown.data.municipalities} | {p.name for p in load_places()}
    asked |= {w for name in list(asked) for w in one_edit_away(name)}
    found = 0
    for place in sorted(asked):
        folded = " ".join(fold_words(place))
        cutoff = 1 if len(folded) < 5 else 2
        near = grown.place_names_near(len(folded), cutoff)
        whole = process.extract(folded, grown.place_names, scorer=OSA.distance, score_cutoff=cutoff)
        part = process.extract(folded, near, scorer=OSA.distance, score_cutoff=cutoff)
        assert part == whole, place
        found += bool(whole)
    assert found > 500


@pytest.mark.parametrize(
    ("question", "capitals"),
    [
        ("hei Kari Hansen", [False, True, True]),
        ("hei.  Kari Hansen", [False, False, True]),  # a sentence end among spaces
        ("hei,\nKari", [False, False]),  # a new line ends a sentence
        ("hei - Kari", [False, True]),  # a dash does not
        ("Bodø? Kari!", [False, False]),
        ("Nord-Aurdal", [False, True]),
    ],
)
def test_capitals_count_only_inside_a_sentence(question: str, capitals: list[bool]) -> None:
    assert [t.capital for t in prepare(question).tokens] == capitals


def test_addresses_are_read_only_where_there_is_an_at_sign() -> None:
    asked = prepare("skriv til Kari.Hansen@bodo.kommune.no. Takk")
    assert asked.emails == ("kari.hansen@bodo.kommune.no",)
    assert [t.text for t in asked.tokens] == ["skriv", "til", "takk"]
    assert not asked.tokens[-1].capital  # the address's own dot ends the sentence
    plain = prepare("Kari.Hansen bodo.kommune.no")
    assert plain.emails == ()
    assert [t.text for t in plain.tokens] == ["kari", "hansen", "bodo", "kommune", "no"]


def test_remembered_word_concepts_are_the_concepts_and_stay_bounded(
    index: Index, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_WORD_MEMO_LIMIT", 5)
    index._word_memo.clear()
    words = ["styringsgruppemotet", "frist", "fristen", "datainnsamling", "motet", "bodo"]
    words += ["nettverksmote", "asdfgh", "fylkessamlingen", "informasjonsmote"]
    for _ in range(2):  # the second round reads what the first remembered
        for word in words:
            assert index.concepts([word]) == index._single_word_concepts(word, learn=False)
            assert len(index._word_memo) <= 5
    assert index.concepts(["styringsgruppemotet"]) >= {"meeting"}


def test_keys_of_every_kind_in_order_of_mention_each_time_a_new_list() -> None:
    spans = [
        Span(0, 1, {("place", "bodo"), ("role", "data_contact")}),
        Span(1, 2, {("place", "oslo")}),
        Span(2, 3, {("place", "bodo"), ("org", "network")}),
    ]
    found = Mentions(prepare("a b c"), ["a", "b", "c"], None, spans=spans)
    assert found.keys("place") == ["bodo", "oslo"]
    assert found.keys("role") == ["data_contact"]
    assert found.keys("person") == []
    found.keys("place").append("changed")
    assert found.keys("place") == ["bodo", "oslo"]
    found.spans = spans[1:]  # read again when the spans are replaced
    assert found.keys("place") == ["oslo", "bodo"]
    assert found.keys("role") == []


def test_a_message_capitalises_the_values_its_translation_asks_for() -> None:
    values = {"place": "Bodø", "role": "datakontakt", "contact": "Kari"}
    assert render.msg("nb", "role_one_place", **values) == "Datakontakt i Bodø er Kari."
    assert render.msg("en", "role_one_place", **values) == "Bodø's datakontakt is Kari."


def test_a_name_that_is_part_of_longer_names_is_the_person_called_exactly_that() -> None:
    """answer_name: of everyone whose name has all the words, the one person called exactly
    that is the answer (the index's phrase of the whole name tells who); otherwise a question
    back. Asked through answer_name itself: a whole registered name in a question is read as a
    phrase before any name run gets here."""
    seed = load_registry_file(SEED_FILE)
    names = ["Kari Hansen Berg", "Kari Hansen", "Kari Hansen Lie", "Kari Berg"]
    people = [
        PersonRec(f"p{i}", name, f"p{i}@bodo.kommune.no", None, (RoleRec("data_contact", "bodo"),))
        for i, name in enumerate(names)
    ]
    data = replace(seed, people=(*seed.people, *people), version=2)
    index = Index(data, load_places(), load_names())
    now = datetime(2020, 1, 15, 9, tzinfo=ZoneInfo("Europe/Oslo"))

    def by_run(question: str, words: list[str]) -> Answer:
        mentions = resolve(prepare(question), index, now.date())
        ctx = Context(index, mentions, "en", now)
        return answer_name(ctx, NameRun([2, 3][: len(words)], words, []))

    exact = by_run("who is Kari Hansen?", ["kari", "hansen"])
    assert exact.status == "answer"
    assert [c.name for c in exact.contacts] == ["Kari Hansen"]
    several = by_run("who is Hansen?", ["hansen"])  # nobody is called just that
    assert several.status == "clarify"
    assert {c.name for c in several.contacts} == set(names[:3])
