"""Real Norwegian place and person names (bot/data/gazetteer_no.txt, bot/data/names_no.txt): what the
engine knows exists outside the registry, so a near miss is never taken for a registered name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from bot.resources import NAMES_FILE, PLACES_FILE

_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*")


@dataclass(frozen=True)
class Place:
    """A place: its display name, other official names, and the gazetteer section it is in."""

    name: str
    other_names: tuple[str, ...]
    section: str
    qualified: str  # the line's name with its county qualifier, unique within a section


@dataclass(frozen=True)
class KnownNames:
    """Common given names and surnames."""

    given: tuple[str, ...]
    surnames: tuple[str, ...]


def _sections(path: Path) -> list[tuple[str, str]]:
    """(section, line) pairs of a data file, comments and blank lines dropped."""
    section = ""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        out.append((section, line))
    return out


@lru_cache(maxsize=4)
def load_places(path: Path = PLACES_FILE) -> tuple[Place, ...]:
    """Every place in the gazetteer file, in file order (an empty tuple if there is none)."""
    if not path.is_file():
        return ()
    places = []
    for section, line in _sections(path):
        names = [part.strip() for part in line.split(" = ") if part.strip()]
        qualified = names[0]
        names = [_QUALIFIER.sub(" ", n).strip() for n in names]
        places.append(Place(names[0], tuple(names[1:]), section, qualified))
    return tuple(places)


def municipalities_2020(path: Path = PLACES_FILE) -> list[Place]:
    """The 356 municipalities of 2020 (names qualified by county where two share a name)."""
    return [p for p in load_places(path) if p.section == "municipalities-2020"]


@lru_cache(maxsize=4)
def load_names(path: Path = NAMES_FILE) -> KnownNames:
    """Common given names and surnames (empty if the file is missing)."""
    if not path.is_file():
        return KnownNames((), ())
    given: list[str] = []
    surnames: list[str] = []
    for section, line in _sections(path):
        (given if section == "given" else surnames).append(line)
    return KnownNames(tuple(given), tuple(surnames))
