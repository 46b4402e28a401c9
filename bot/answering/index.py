"""Normalised lookup tables over one registry snapshot, built once per snapshot version.

Every name, alias and term is folded once here (bot.textnorm.fold via text.fold_words), so a
question costs dictionary lookups plus, for the few words nothing knows, one rapidfuzz scan of a
vocabulary of single words (small even at 10,000 contacts, since names share their parts).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from bot.answering import lexicon
from bot.answering.gazetteer import KnownNames, Place
from bot.answering.text import fold_words, stem_variants
from bot.answering.titles import job_title
from bot.registry.data import EventRec, PersonRec, RegistryData, RoleRec, few_changed_records

# A sense of a phrase: (kind, key). Kinds: place, org, audience, role, person, gaz (a real place
# that is not in the registry; key = its display name).
Sense = tuple[str, str]


@dataclass(frozen=True)
class Holding:
    """One role of one person."""

    person: PersonRec
    role: RoleRec


# Words that never tell events apart, however often titles use them.
_NOT_RAW = lexicon.STOP | {
    w
    for vocab in (lexicon.WHO, lexicon.WHEN, lexicon.NEXT, lexicon.HAPPEN, lexicon.LIST)
    for w in vocab
}


# Norwegian (bokmål and nynorsk) and English endings of a noun: definite, plural, genitive.
_ENDINGS = ("en", "et", "a", "ene", "ane", "er", "ar", "s", "ens", "ets", "as", "es", "ene s")


def inflections(word: str) -> list[str]:
    """Inflected forms of a (folded) noun that ends a name or term: "styringsgruppe" ->
    "styringsgruppa", "styringsgruppen", "styringsgruppas"...; "contact" -> "contacts"."""
    if len(word) < 4 or not word.isalpha():
        return []
    stem = word[:-1] if word.endswith("e") else word
    forms = [stem + ending for ending in _ENDINGS if " " not in ending]
    if word.endswith("e"):
        forms += [word + "n", word + "ns", word + "s", word + "r", word + "ne"]
    return [f for f in forms if f != word]


def _key(words: Iterable[str]) -> str:
    return " ".join(words)


def _raw(word: str) -> str:
    """A title word as a concept of its own, by its shortest inflection."""
    return "raw:" + (stem_variants(word) or [word])[-1]


# At most this many question words' concepts are remembered (a few megabytes).
_WORD_MEMO_LIMIT = 1 << 16

# More changed people than this (an import, not a chat edit): build the index afresh.
REBIND_LIMIT = 64

HOLDING_TABLES = (
    "by_role",
    "by_role_unplaced",
    "by_role_place",
    "by_place",
    "by_role_org",
    "by_org",
    "by_title",
)


def _holding_slots(
    person: PersonRec, org_place: dict[str, str | None]
) -> Iterator[tuple[str, Hashable, Holding]]:
    """(table, key, holding) for every place a person's roles are filed under in the index,
    in the order a full build files them."""
    titled: set[str] = set()
    for role in person.roles:
        h = Holding(person, role)
        yield "by_role", role.role, h
        if not role.municipality:
            yield "by_role_unplaced", role.role, h
        place = role.municipality or org_place.get(role.organisation or "")
        if role.municipality:
            yield "by_role_place", (role.role, role.municipality), h
        if place:
            yield "by_place", place, h
        if role.organisation:
            yield "by_role_org", (role.role, role.organisation), h
            yield "by_org", role.organisation, h
        found = job_title(role.title)
        if found and found[0] not in titled:
            titled.add(found[0])
            yield "by_title", found[0], h


_CITY_SPELLINGS = {word: group for group in lexicon.CITY_SPELLINGS for word in group}


def _cities_named(*names: str | None) -> set[str]:
    """Every spelling of the cities abroad an organisation's names name ("Geneva UN Charter
    Centre" -> geneva, genf, genève...)."""
    return {
        spelling
        for name in names
        if name
        for word in fold_words(name)
        for spelling in _CITY_SPELLINGS.get(word, ())
    }


class Index:
    """Lookups for the answer engine over one RegistryData snapshot."""

    def __init__(
        self, data: RegistryData, places: Sequence[Place] = (), names: KnownNames | None = None
    ) -> None:
        self.data = data
        self.version = data.version
        self.phrases: dict[str, set[Sense]] = defaultdict(set)
        self.name_parts: dict[str, list[str]] = defaultdict(list)
        self.person_words: dict[str, tuple[str, ...]] = {}
        self.emails: dict[str, str] = {}
        self.inflected: set[str] = set()
        # render.name_and_email's verdicts, (address, municipality key) -> looks invalid.
        self.email_checks: dict[tuple[str, str | None], bool] = {}
        self._build_entities(data)
        self._build_gazetteer(places)
        self.known_names = self._known_names(names)
        self._build_holdings(data)
        self._build_concepts(data)
        # Longest phrase starting with each word, so most words cost one lookup.
        self.phrase_lengths: dict[str, int] = {}
        for key in self.phrases:
            first, _, _ = key.partition(" ")
            length = key.count(" ") + 1
            if length > self.phrase_lengths.get(first, 1):
                self.phrase_lengths[first] = length
        self._build_fuzzy()

    def with_people(self, data: RegistryData) -> Index | None:
        """This index for `data`, a registry that differs from the indexed one only in a few
        people who keep their names (a changed address, language or role, as chat edits
        make): their holdings and addresses are filed again and everything else is shared,
        which at 100,000 contacts takes a millisecond instead of seconds. None when the
        change needs a full build (anything else changed; someone added, removed or renamed;
        more than REBIND_LIMIT people changed)."""
        old = self.data
        if (
            data.municipalities != old.municipalities
            or data.organisations != old.organisations
            or data.role_types != old.role_types
            or data.audiences != old.audiences
            or data.events != old.events
            or len(data.people) != len(old.people)
        ):
            return None
        changes = few_changed_records(old.people, data.people, REBIND_LIMIT)
        if changes is None:
            return None
        pairs: list[tuple[PersonRec, PersonRec]] = changes
        if any(before.name != after.name for before, after in pairs):
            return None
        # A shallow copy sharing every table; the ones the edit touches are replaced below.
        new = Index.__new__(Index)
        new.__dict__.update(self.__dict__)
        new.data, new.version = data, data.version
        new.emails = dict(self.emails)
        addresses = {p.email.strip().lower() for pair in pairs for p in pair if p.email}
        for address in addresses:
            # As a full build files them: an address belongs to the last person holding it.
            holders = data.people_with_address(address)
            if holders:
                new.emails[address] = holders[-1].key
            else:
                new.emails.pop(address, None)
        org_place = {o.key: o.municipality for o in data.organisations}
        copied: set[str] = set()
        for before, after in pairs:
            slots = list(_holding_slots(after, org_place))
            touched = {(t, k) for t, k, _ in _holding_slots(before, org_place)}
            touched |= {(t, k) for t, k, _ in slots}
            for table_name, key in touched:
                if table_name not in copied:  # the old index keeps its own tables
                    setattr(new, table_name, defaultdict(list, getattr(new, table_name)))
                    copied.add(table_name)
                table = getattr(new, table_name)
                kept = [h for h in table.get(key, ()) if h.person.key != after.key]
                mine = [h for t, k, h in slots if (t, k) == (table_name, key)]
                if not kept and not mine:
                    table.pop(key, None)
                    continue
                place = self.person_order[after.key]
                at = bisect_right(kept, place, key=lambda h: self.person_order[h.person.key])
                table[key] = kept[:at] + mine + kept[at:]
        return new

    # --- entities ----------------------------------------------------------------------------

    def _add(self, text: str | None, sense: Sense, inflect: bool = False) -> None:
        if text:
            words = fold_words(text)
            if words:
                self.phrases[_key(words)].add(sense)
                if inflect:
                    for form in inflections(words[-1]):
                        key = _key([*words[:-1], form])
                        if key not in self.phrases:
                            # Inflected forms are matched exactly, never offered as typo
                            # corrections (that would only grow the fuzzy vocabulary).
                            self.inflected.add(key)
                        self.phrases[key].add(sense)

    def _build_entities(self, data: RegistryData) -> None:
        for m in data.municipalities:
            for text in (m.name, *m.aliases):
                self._add(text, ("place", m.key))
        for o in data.organisations:
            for org_text in (o.name, o.name_en, *o.aliases):
                self._add(org_text, ("org", o.key), inflect=True)
            for org_text in o.seat_names:
                self._add(org_text, ("org", o.key))
            for spelling in _cities_named(o.name, o.name_en, *o.aliases):
                self._add(spelling, ("org", o.key))
        for a in data.audiences:
            for text in (a.name_en, a.name_nb, *a.aliases):
                self._add(text, ("audience", a.key), inflect=True)
        for r in data.role_types:
            for text in (r.name_en, r.name_nb, *r.terms):
                self._add(text, ("role", r.key), inflect=True)
        self.person_order = {p.key: i for i, p in enumerate(data.people)}
        self.place_names = {_key(fold_words(m.name)): m.name for m in data.municipalities}
        # place_names_near's tables, by (length, edits); filled as questions need them.
        self._places_near: dict[tuple[int, int], dict[str, str]] = {}
        for p in data.people:
            words = tuple(fold_words(p.name))
            self.person_words[p.key] = words
            if words:
                self.phrases[_key(words)].add(("person", p.key))
            for word in dict.fromkeys(words):
                self.name_parts[word].append(p.key)
            if p.email:
                self.emails[p.email.strip().lower()] = p.key
        # Words of the names of bodies and roles: never taken for a person's name when a
        # longer phrase around them was read otherwise ("leader of the network | of Excellence").
        self.entity_words = frozenset(
            w
            for key, senses in self.phrases.items()
            if any(kind in ("org", "audience", "role") for kind, _ in senses)
            for w in key.split(" ")
        )
        # An audience and an organisation called alike are one body (the network, the steering
        # group): questions about one reach the other.
        self.audience_org: dict[str, str] = {}
        self.org_audience: dict[str, str] = {}
        for senses in self.phrases.values():
            orgs = [k for kind, k in senses if kind == "org"]
            auds = [k for kind, k in senses if kind == "audience"]
            if len(orgs) == 1 and len(auds) == 1:
                self.audience_org.setdefault(auds[0], orgs[0])
                self.org_audience.setdefault(orgs[0], auds[0])

    def _build_gazetteer(self, places: Sequence[Place]) -> None:
        registered = {
            k for k, senses in self.phrases.items() if any(s[0] == "place" for s in senses)
        }
        self.gazetteer_names: list[str] = []
        for place in places:
            for text in (place.name, *place.other_names):
                key = _key(fold_words(text))
                if key and key not in registered:
                    self.phrases[key].add(("gaz", place.name))
            if _key(fold_words(place.name)) not in registered:
                self.gazetteer_names.append(place.name)

    def _known_names(self, names: KnownNames | None) -> frozenset[str]:
        """Folded common first names and surnames that no registered person has."""
        if names is None:
            return frozenset()
        words = {w for n in (*names.given, *names.surnames) for w in fold_words(n)}
        return frozenset(words - set(self.name_parts))

    # --- who holds what ----------------------------------------------------------------------

    def _build_holdings(self, data: RegistryData) -> None:
        org_place = {o.key: o.municipality for o in data.organisations}
        self.by_role: dict[str, list[Holding]] = defaultdict(list)
        self.by_role_place: dict[tuple[str, str], list[Holding]] = defaultdict(list)
        self.by_role_org: dict[tuple[str, str], list[Holding]] = defaultdict(list)
        self.by_place: dict[str, list[Holding]] = defaultdict(list)
        self.by_org: dict[str, list[Holding]] = defaultdict(list)
        # Roles held without a municipality (at a body, or nationally): the few a place may
        # still claim through the body's seat or the holder's other roles.
        self.by_role_unplaced: dict[str, list[Holding]] = defaultdict(list)
        # Who has which job title (titles.job_title of each role's printed title).
        self.by_title: dict[str, list[Holding]] = defaultdict(list)
        for person in data.people:
            for table, key, holding in _holding_slots(person, org_place):
                getattr(self, table)[key].append(holding)
        self.place_audiences: dict[str, set[str]] = defaultdict(set)
        for a in data.audiences:
            for m in a.municipalities:
                self.place_audiences[m].add(a.key)

    def head_roles(self, org: str, deputy: bool) -> list[str]:
        """The leader (or deputy leader) roles held at an organisation, by role key."""
        keys = dict.fromkeys(h.role.role for h in self.by_org.get(org, []))
        return [k for k in keys if k.endswith("leader") and ("deputy" in k) == deputy]

    # --- events --------------------------------------------------------------------------------

    def _build_concepts(self, data: RegistryData) -> None:
        self.concept_phrases: dict[str, str] = dict(lexicon.CONCEPTS)
        for key, senses in self.phrases.items():
            for kind, k in senses:
                if kind == "audience":
                    self.concept_phrases.setdefault(key, f"aud:{k}")
                elif kind == "org" and k in self.org_audience:
                    self.concept_phrases.setdefault(key, f"aud:{self.org_audience[k]}")
        for key, concept in list(self.concept_phrases.items()):
            if " " not in key and key not in self.inflected:
                for variant in stem_variants(key):
                    if len(variant) >= 4:
                        self.concept_phrases.setdefault(variant, concept)
        self.concept_lengths: dict[str, int] = {}
        for key in self.concept_phrases:
            first, _, _ = key.partition(" ")
            length = key.count(" ") + 1
            if length > self.concept_lengths.get(first, 1):
                self.concept_lengths[first] = length
        # The live items with their first and last days (what a date question filters on).
        self.live_events: list[tuple[EventRec, date, date]] = [
            (e, e.start_date, e.end_date) for e in data.events if not e.cancelled
        ]
        # The days of the live items and their years, for placing a date without a year.
        self.live_days = [(first, last) for _, first, last in self.live_events]
        # Every item's first day, sorted (the hint's example day, found by bisection).
        self.start_dates = sorted(e.start_date for e in data.events)
        self.event_years = sorted({d.year for span in self.live_days for d in span})
        self.raw_vocab: set[str] = set()
        # _word_concepts's verdicts: questions reuse their words (places, roles, "meeting").
        self._word_memo: dict[str, frozenset[str]] = {}
        self.event_concepts: dict[str, frozenset[str]] = {}
        for ev in data.events:
            self.event_concepts[ev.key] = self._concepts_of_event(ev)
        # Every concept some event has: the rest of a question's concepts select nothing.
        self.known_event_concepts: frozenset[str] = frozenset().union(*self.event_concepts.values())

    def _concepts_of_event(self, ev: EventRec) -> frozenset[str]:
        found: set[str] = set()
        for text in (ev.title_en, ev.title_nb, ev.location or ""):
            found |= self.concepts(fold_words(text), learn=True)
        if ev.kind in lexicon.KIND_CONCEPT:
            found.add(lexicon.KIND_CONCEPT[ev.kind])
        found.update(f"aud:{a}" for a in ev.audiences)
        return frozenset(found)

    def _concept_of_word(self, word: str, learn: bool) -> str | None:
        concept = self.concept_phrases.get(word)
        if concept:
            return concept
        for variant in stem_variants(word):
            concept = self.concept_phrases.get(variant)
            if concept:
                return concept
        if word in _NOT_RAW or len(word) < 3 or not word.isalpha():
            return None
        raw = _raw(word)
        if learn:
            self.raw_vocab.add(raw)
            return raw
        return raw if raw in self.raw_vocab else None

    def concepts(self, words: Sequence[str], learn: bool = False) -> set[str]:
        """The concepts named in a folded word sequence (phrases first, then single words and
        their inflections, then two-part compounds such as "styringsgruppemøtet")."""
        found: set[str] = set()
        i, n = 0, len(words)
        while i < n:
            for length in range(min(self.concept_lengths.get(words[i], 1), n - i), 1, -1):
                concept = self.concept_phrases.get(_key(words[i : i + length]))
                if concept:
                    found.add(concept)
                    i += length
                    break
            else:
                if learn:
                    found |= self._single_word_concepts(words[i], learn)
                else:
                    found |= self._word_concepts(words[i])
                i += 1
        return found

    def _single_word_concepts(self, word: str, learn: bool) -> set[str]:
        """The concepts of one word read on its own: itself or an inflection, else the parts
        of a compound."""
        found: set[str] = set()
        concept = self._concept_of_word(word, learn)
        if concept:
            found.add(concept)
        if len(word) >= 8 and (concept is None or concept.startswith("raw:")):
            found |= self._compound(word, learn)
        return found

    def _word_concepts(self, word: str) -> frozenset[str]:
        """_single_word_concepts of a question's word, remembered: after the build the
        vocabulary is fixed, and the compound search tries every cut of a long word."""
        known = self._word_memo.get(word)
        if known is None:
            known = frozenset(self._single_word_concepts(word, learn=False))
            if len(self._word_memo) >= _WORD_MEMO_LIMIT:
                self._word_memo.clear()  # bounded, whatever the questions
            self._word_memo[word] = known
        return known

    def _compound(self, word: str, learn: bool) -> set[str]:
        """Concepts of a two-part compound whose last part (the head, in Norwegian) is a known
        concept: "styringsgruppe|møtet", "fylke-s|møtet", "Stavanger|deklarasjonen"."""
        for cut in range(len(word) - 4, 3, -1):
            right = self._concept_of_word(word[cut:], learn=False)
            if right is None or right.startswith("raw:"):
                continue
            left_word = word[:cut]
            forms = [left_word]
            if left_word[-1] in "se" and len(left_word) > 4:
                forms.append(left_word[:-1])  # the linking -s- or -e- of compounds
            for form in forms:
                left = self._concept_of_word(form, learn)
                if left is not None:
                    return {left, right}
        return set()

    def is_event_word(self, word: str) -> bool:
        """True for a word some event's title or place uses."""
        return _raw(word) in self.raw_vocab

    # --- fuzzy vocabulary ----------------------------------------------------------------------

    def _build_fuzzy(self) -> None:
        """Single words a typo may be corrected to: registered names, places and terms; plus
        real names and places that are not registered, so a typo is never pulled towards a
        registered name when a real one is as close."""
        kinds: dict[str, set[str]] = defaultdict(set)
        for key, senses in self.phrases.items():
            if key in self.inflected:
                continue
            for word in key.split(" "):
                if len(word) >= 3 and word.isalpha() and word not in lexicon.STOP:
                    for kind, _ in senses:
                        kinds[word].add("gaz" if kind == "gaz" else "registered")
                        if kind in ("place", "person"):
                            kinds[word].add("name")
        for word in self.name_parts:
            if len(word) >= 3:
                kinds[word].update(("registered", "name"))
        for word in self.known_names:
            kinds[word].add("real")
        for word in self.concept_phrases:
            if " " not in word and len(word) >= 4 and word not in self.inflected:
                kinds[word].add("concept")
        self.fuzzy_kinds = dict(kinds)
        self.fuzzy_choices = list(kinds)
        # fuzzy_near's lists, by (length, edits); filled as questions need them.
        self._fuzzy_near: dict[tuple[int, int], list[str]] = {}

    def place_names_near(self, length: int, edits: int) -> dict[str, str]:
        """place_names with only the names whose length is within `edits` of `length`, in
        the same order (as fuzzy_near: no other name can be that few edits away)."""
        near = self._places_near.get((length, edits))
        if near is None:
            near = {k: n for k, n in self.place_names.items() if abs(len(n) - length) <= edits}
            self._places_near[(length, edits)] = near
        return near

    def fuzzy_near(self, length: int, edits: int) -> list[str]:
        """The fuzzy vocabulary's words whose length is within `edits` of `length`, in
        vocabulary order: no other word can be that few edits away, and rapidfuzz's scan
        costs per word offered, so a typo lookup scans a third to a half of the vocabulary."""
        near = self._fuzzy_near.get((length, edits))
        if near is None:
            near = [c for c in self.fuzzy_choices if abs(len(c) - length) <= edits]
            self._fuzzy_near[(length, edits)] = near
        return near
