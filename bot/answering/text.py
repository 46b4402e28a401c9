"""A question as the engine reads it: capped, stripped of control characters, split into folded
tokens that remember their original spelling and place."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from bot.answering.lexicon import BOKMAL_ONLY, MARKERS_EN, MARKERS_NB, MARKERS_NN, SUFFIXES
from bot.textnorm import fold, strip_controls

# Work is bounded by these caps, whatever the input: a longer question gets a "too long" reply,
# and at most MAX_TOKENS words of a question are ever looked at.
MAX_QUESTION_CHARS = 1000
MAX_TOKENS = 48

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.?!:;\n]")
_NB_LETTERS = re.compile(r"[æøåÆØÅ]")
# Nynorsk plural endings ("kommunar", "fristane") next to the lexicon's shared ones.
_NN_SUFFIXES = ("ane", "ar")


class Token(NamedTuple):
    """One word: folded text, original spelling, character span in the question (a named
    tuple: a question makes several, and a frozen dataclass costs three times as much)."""

    text: str
    orig: str
    start: int
    end: int
    capital: bool  # written with a capital letter other than at the start of a sentence


@dataclass(frozen=True)
class Question:
    """A prepared question."""

    text: str
    tokens: tuple[Token, ...]
    emails: tuple[str, ...]

    @property
    def words(self) -> list[str]:
        """The folded tokens."""
        return [t.text for t in self.tokens]


def prepare(question: str) -> Question:
    """Strip control characters, cap the length, find e-mail addresses and fold the words."""
    text = strip_controls(question)[:MAX_QUESTION_CHARS]
    if "@" in text:
        emails = tuple(m.group().lower().strip(".") for m in _EMAIL.finditer(text))
        words_text = _EMAIL.sub(lambda m: " " * len(m.group()), text)
    else:
        emails, words_text = (), text  # no address without an @ (most questions)
    tokens: list[Token] = []
    previous_end = 0
    for match in _WORD.finditer(words_text):
        if len(tokens) >= MAX_TOKENS:
            break
        orig = match.group()
        start, end = match.span()
        if tokens:
            # Words are mostly one space apart: no sentence ends between them.
            gap = words_text[previous_end:start]
            sentence_start = gap != " " and _SENTENCE_END.search(gap) is not None
        else:
            sentence_start = True
        capital = not sentence_start and orig[0].isupper()
        for part in _fold_word(orig):
            tokens.append(Token(part, orig, start, end, capital))
        previous_end = end
    return Question(text, tuple(tokens[:MAX_TOKENS]), emails)


def fold_words(text: str) -> list[str]:
    """A name or phrase split and folded the way questions are (for building indexes)."""
    out: list[str] = []
    for match in _WORD.finditer(strip_controls(text)):
        out.extend(_fold_word(match.group()))
    return out


@lru_cache(maxsize=1 << 16)
def _fold_word(word: str) -> tuple[str, ...]:
    """One word folded (names repeat across questions and index rebuilds, so it is cached)."""
    return tuple(p for p in (w.strip(".-") for w in fold(word).split()) if p)


@lru_cache(maxsize=1 << 16)
def stem_variants(word: str) -> tuple[str, ...]:
    """Shorter forms of an inflected word ("datakontakten" -> "datakontakt", "bodos" ->
    "bodo"), longest first; none for short words."""
    if len(word) < 4 or not word.isalpha():
        return ()
    variants = [
        word[: -len(suffix)]
        for suffix in (*_NN_SUFFIXES, *SUFFIXES)
        if word.endswith(suffix) and len(word) - len(suffix) >= 3
    ]
    # Nynorsk's feminine definite form: "styringsgruppa" is "styringsgruppe" + the article
    # (bokmål often writes "styringsgruppen"); long words only, so "data" never reads "date".
    if word.endswith("a") and len(word) >= 7:
        variants.insert(0, word[:-1] + "e")
    return tuple(dict.fromkeys(variants))


# The folded forms of the nynorsk and bokmål-only markers ("frå" -> "fra").
_NN_NB_FOLDED = frozenset(" ".join(_fold_word(w)) for w in (*MARKERS_NN, *BOKMAL_ONLY))


def detect_language(question: Question, entity_positions: Iterable[int]) -> str | None:
    """'nn', 'nb' or 'en' from the question's own words (names and places do not count), or
    None when the words do not tell. Norwegian against English first; then nynorsk when more
    of its words are nynorsk's own ("kven", "ikkje", "frå") than bokmål's ("hvem", "ikke")."""
    skip = set(entity_positions)
    norwegian = en = nynorsk = bokmal = 0
    # Most questions have no æ, ø or å at all: then no word needs the search.
    letters = _NB_LETTERS.search(question.text) is not None
    for i, token in enumerate(question.tokens):
        if i in skip:
            continue
        if token.text in MARKERS_NB:
            norwegian += 1
        if token.text in MARKERS_EN:
            en += 1
        if letters and _NB_LETTERS.search(token.orig):
            norwegian += 1
        if token.text in _NN_NB_FOLDED:
            # Only words that fold like a marker are lower-cased (most words are not).
            written = token.orig.lower()
            if written in MARKERS_NN:
                nynorsk += 1
                norwegian += token.text not in MARKERS_NB
            bokmal += written in BOKMAL_ONLY
    if norwegian > en:
        return "nn" if nynorsk > bokmal else "nb"
    if en > norwegian:
        return "en"
    return None
