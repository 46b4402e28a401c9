"""A question as the engine reads it: capped, stripped of control characters, split into folded
tokens that remember their original spelling and place."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from bot.answering.lexicon import MARKERS_EN, MARKERS_NB, SUFFIXES
from bot.textnorm import fold, strip_controls

# Work is bounded by these caps, whatever the input: a longer question gets a "too long" reply,
# and at most MAX_TOKENS words of a question are ever looked at.
MAX_QUESTION_CHARS = 1000
MAX_TOKENS = 48

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.?!:;\n]")
_NB_LETTERS = re.compile(r"[æøåÆØÅ]")


@dataclass(frozen=True)
class Token:
    """One word: folded text, original spelling, character span in the question."""

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
    emails = tuple(m.group().lower().strip(".") for m in _EMAIL.finditer(text))
    words_text = _EMAIL.sub(lambda m: " " * len(m.group()), text)
    tokens: list[Token] = []
    previous_end = 0
    for match in _WORD.finditer(words_text):
        if len(tokens) >= MAX_TOKENS:
            break
        orig = match.group()
        sentence_start = not tokens or bool(
            _SENTENCE_END.search(words_text, previous_end, match.start())
        )
        capital = orig[0].isupper() and not sentence_start
        for part in _fold_word(orig):
            tokens.append(Token(part, orig, match.start(), match.end(), capital))
        previous_end = match.end()
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
    return tuple(
        word[: -len(suffix)]
        for suffix in SUFFIXES
        if word.endswith(suffix) and len(word) - len(suffix) >= 3
    )


def detect_language(question: Question, entity_positions: Iterable[int]) -> str | None:
    """'nb' or 'en' from the question's own words (names and places do not count), or None
    when the words do not tell."""
    skip = set(entity_positions)
    nb = en = 0
    for i, token in enumerate(question.tokens):
        if i in skip:
            continue
        if token.text in MARKERS_NB:
            nb += 1
        if token.text in MARKERS_EN:
            en += 1
        if _NB_LETTERS.search(token.orig):
            nb += 1
    if nb > en:
        return "nb"
    if en > nb:
        return "en"
    return None
