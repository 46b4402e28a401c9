"""Job titles as facts: which title words a question or a registered title uses, who has a
title (at a place or organisation), and a person's own title.

Titles are read from the registered roles' `title` (as the newsletter prints them, signatures
included): the part of it that holds a title word is the person's title ("rådmann" of
"rådmann, Trondheim kommune").
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.answering.lexicon import TITLES
from bot.answering.text import fold_words
from bot.registry.data import PersonRec

_MAX_WORDS = max(k.count(" ") + 1 for k in TITLES)
# First words of title phrases: most questions have none, and cost one set lookup per word.
_FIRST_WORDS = frozenset(k.split(" ", 1)[0] for k in TITLES)


def title_keys(words: Sequence[str]) -> list[tuple[str, int, int]]:
    """The titles a folded word sequence names: (title key, first position, end position),
    longest phrases first (the lexicon lists the inflected forms)."""
    found: list[tuple[str, int, int]] = []
    i, n = 0, len(words)
    if _FIRST_WORDS.isdisjoint(words):
        return found
    while i < n:
        for length in range(min(_MAX_WORDS, n - i), 0, -1):
            key = TITLES.get(" ".join(words[i : i + length]))
            if key:
                found.append((key, i, i + length))
                i += length
                break
        else:
            i += 1
    return found


def job_title(text: str | None) -> tuple[str, str] | None:
    """The job title inside a registered role title, with its key: the `;`/`,`-separated part
    that holds a title word, as printed."""
    if not text:
        return None
    for part in (p.strip() for chunk in text.split(";") for p in chunk.split(",")):
        keys = title_keys(fold_words(part))
        if keys:
            return keys[0][0], part
    return None


def person_titles(person: PersonRec) -> list[tuple[str, str]]:
    """A person's job titles (key, as printed), each once."""
    out: dict[str, str] = {}
    for role in person.roles:
        found = job_title(role.title)
        if found and found[0] not in out:
            out[found[0]] = found[1]
    return list(out.items())
