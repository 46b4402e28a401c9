"""What a coordinator's words name: an event (by key, title, or the answer engine's reading),
a municipality, a role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process

from bot.i18n import gettext
from bot.registry.data import EventRec, MunicipalityRec, RegistryData, RoleTypeRec
from bot.textnorm import fold

if TYPE_CHECKING:
    from bot.services import Services

# A key or title at least this similar (rapidfuzz WRatio, 0-100) is suggested, never applied.
SUGGEST_SCORE = 60
MAX_SUGGESTIONS = 3


@dataclass(frozen=True)
class EventMatch:
    """The event a reference names; else `candidates`: the events it could mean (`ambiguous`)
    or, when it names none, the closest ones to suggest."""

    event: EventRec | None
    candidates: tuple[EventRec, ...] = ()
    ambiguous: bool = False


def find_event(services: Services, reference: str, lang: str) -> EventMatch:
    """An event by key, by its title (æøå folded), or by the answer engine's fuzzy reading of
    "when is REFERENCE"; several matches come back as candidates, never as a guess."""
    data = services.registry.snapshot()
    wanted = reference.strip()
    if wanted in data.event_by_key:
        return EventMatch(data.event_by_key[wanted])
    folded = fold(wanted)
    if not folded:
        return EventMatch(None)
    exact = tuple(
        e for e in data.events if folded in (fold(e.key), fold(e.title_en), fold(e.title_nb))
    )
    if exact:
        return EventMatch(exact[0]) if len(exact) == 1 else EventMatch(None, exact, True)
    question = gettext(lang, "when is {query}", query=wanted)
    answer = services.answers.ask(question, lang=lang)
    if answer.status == "answer":
        found = tuple(data.event_by_key[v.key] for v in answer.events if v.key in data.event_by_key)
        if len(found) == 1:
            return EventMatch(found[0])
        if found:
            return EventMatch(None, found, True)
    return EventMatch(None, close_events(data, folded))


def close_events(data: RegistryData, folded: str) -> tuple[EventRec, ...]:
    """Up to MAX_SUGGESTIONS events whose key or title is close to `folded`, closest first."""
    texts = {
        (e.key, field): fold(text)
        for e in data.events
        for field, text in (("key", e.key), ("en", e.title_en), ("nb", e.title_nb))
    }
    scored = process.extract(
        folded, texts, scorer=fuzz.WRatio, limit=None, score_cutoff=SUGGEST_SCORE
    )
    keys = list(dict.fromkeys(ref[0] for _text, _score, ref in scored))
    return tuple(data.event_by_key[k] for k in keys[:MAX_SUGGESTIONS])


# The longest municipality ("Mo i Rana") and role ("kontaktperson for datainnsamling") names
# tried at the start of a command's words.
MAX_NAME_WORDS = 4


def leading_municipality(
    data: RegistryData, words: list[str]
) -> tuple[MunicipalityRec, int] | None:
    """The municipality the first words name (key, name or alias, æøå folded) and how many
    words it took; the longest match wins."""
    for count in range(min(MAX_NAME_WORDS, len(words)), 0, -1):
        said = fold(" ".join(words[:count]))
        for place in data.municipalities:
            if said in {fold(place.key), fold(place.name), *map(fold, place.aliases)}:
                return place, count
    return None


def leading_roles(data: RegistryData, words: list[str]) -> tuple[tuple[RoleTypeRec, ...], int]:
    """The role types the first words name (key, name or a term people use, folded) and how
    many words they took; several when the words fit more than one role, none when none."""
    for count in range(min(MAX_NAME_WORDS, len(words)), 0, -1):
        said = fold(" ".join(words[:count]))
        found = tuple(
            role
            for role in data.role_types
            if said
            in {fold(role.key), fold(role.name_en), fold(role.name_nb), *map(fold, role.terms)}
        )
        if found:
            return found, count
    return (), 0
