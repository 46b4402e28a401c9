"""From a prepared question to what it mentions: intent words, a date, registered entities
(exact, inflected or typo-corrected), names of people, near misses and event concepts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.answering import lexicon
from bot.answering.dates import MONTHS, WEEKDAYS, DateRange, find_dates
from bot.answering.index import Index, Sense
from bot.answering.text import Question, stem_variants

# At most this many unknown words of one question are looked up fuzzily (bounds the work).
MAX_FUZZY_WORDS = 6

_FLAG_SETS = {
    "who": lexicon.WHO,
    "when": lexicon.WHEN,
    "next": lexicon.NEXT,
    "happen": lexicon.HAPPEN,
    "contact": lexicon.CONTACT,
    "list": lexicon.LIST,
    "municipality": lexicon.MUNICIPALITY_WORDS,
    "head": lexicon.HEAD,
    "deputy": lexicon.DEPUTY,
    "greeting": lexicon.GREETING,
    "help": lexicon.HELP,
    "past_q": lexicon.PAST_Q,
    "ahead_q": lexicon.AHEAD_Q,
    "same_day": lexicon.SAME_DAY,
    "national": lexicon.NATIONAL,
    "asks_title": lexicon.ASKS_TITLE,
    "phone": lexicon.ASKS_PHONE,
    "postal": lexicon.ASKS_POSTAL,
    "visit": lexicon.ASKS_VISIT,
    "clock": lexicon.ASKS_CLOCK,
    "link": lexicon.ASKS_LINK,
    "office": lexicon.UNHELD_OFFICES,
}
_FLAG_PHRASES: dict[str, tuple[str, ...]] = {}
for _name, _vocab in _FLAG_SETS.items():
    for _phrase in _vocab:
        _FLAG_PHRASES[_phrase] = (*_FLAG_PHRASES.get(_phrase, ()), _name)
# The longest intent phrase starting with each word.
_FLAG_LENGTHS: dict[str, int] = {}
for _phrase in _FLAG_PHRASES:
    _first = _phrase.split(" ", 1)[0]
    _FLAG_LENGTHS[_first] = max(_FLAG_LENGTHS.get(_first, 0), _phrase.count(" ") + 1)
_NOT_NAMES = lexicon.STOP | lexicon.COMMON
# Every word of an intent phrase ("contact", "leads", "når").
INTENT_WORDS = frozenset(w for phrase in _FLAG_PHRASES for w in phrase.split(" "))


@dataclass
class Span:
    """Tokens [start, end) naming registered (or gazetteer) things."""

    start: int
    end: int
    senses: set[Sense]
    fuzzy: bool = False


@dataclass
class NameRun:
    """Consecutive words that look like a person's name."""

    positions: list[int]
    registered: list[str]  # folded words that are parts of registered names
    unknown: list[str]  # original spellings of the other words
    # Near misses inside the run: (original spelling, close registered name parts). The
    # rest of the name decides between them ("Kristan Mjøen" is Kristian Mjøen).
    fuzzy: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class NearMiss:
    """A word close to registered names but not close enough to be sure which (or whether)."""

    position: int
    word: str
    choices: list[str]  # folded registered words, closest first


@dataclass
class Mentions:
    """Everything the engine found in one question."""

    question: Question
    words: list[str]
    date: DateRange | None
    flags: set[str] = field(default_factory=set)
    spans: list[Span] = field(default_factory=list)
    name_runs: list[NameRun] = field(default_factory=list)
    near_misses: list[NearMiss] = field(default_factory=list)
    concepts: set[str] = field(default_factory=set)
    email_people: list[str] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)
    # Every date the question names ("21 February and 24 April"); `date` is the first.
    dates: list[DateRange] = field(default_factory=list)
    # keys() of every kind, for the spans list they were read from (an answer asks for
    # several kinds, several times: one pass over the spans serves them all).
    _keys: tuple[list[Span], dict[str, dict[str, None]]] | None = field(default=None, repr=False)

    def keys(self, kind: str) -> list[str]:
        """Keys of one kind of sense, in order of mention, each once (a new list each call)."""
        cached = self._keys
        if cached is None or cached[0] is not self.spans:
            by_kind: dict[str, dict[str, None]] = {}
            for span in self.spans:
                for k, key in sorted(span.senses):
                    by_kind.setdefault(k, {})[key] = None
            cached = self._keys = (self.spans, by_kind)
        found = cached[1].get(kind)
        return list(found) if found else []

    def unregistered_places(self) -> list[tuple[str, Span]]:
        """Real places named that are not in the registry, as the gazetteer spells them (the
        spelling the question used when two places fold alike, as Lærdal and Lardal do)."""
        out = []
        for span in self.spans:
            names = sorted(key for kind, key in span.senses if kind == "gaz")
            if not names:
                continue
            tokens = self.question.tokens
            said = self.question.text[tokens[span.start].start : tokens[span.end - 1].end]
            same = [n for n in names if n.casefold() == said.casefold()]
            out.append(((same or names)[0], span))
        return out

    def span_of(self, kind: str, key: str) -> Span | None:
        """The first span with that sense."""
        return next((s for s in self.spans if (kind, key) in s.senses), None)

    @property
    def entity_positions(self) -> set[int]:
        """Positions of names (people, places, organisations): not evidence of a language."""
        out: set[int] = set()
        for span in self.spans:
            if any(kind in ("place", "org", "person", "gaz") for kind, _ in span.senses):
                out.update(range(span.start, span.end))
        for run in self.name_runs:
            out.update(run.positions)
        return out


def _confident_distance(length: int) -> int:
    """Edits a word of this length may be from a registered word to be corrected silently."""
    return 0 if length < 5 else 1 if length < 10 else 2


def _doubtful_distance(length: int) -> int:
    """Edits up to which a word is worth a question back ("did you mean ...?")."""
    return 1 if length < 7 else _confident_distance(length) + 1


def resolve(question: Question, index: Index, today: date) -> Mentions:
    """Find what the question mentions."""
    words = question.words
    dates = find_dates(question, today)
    found = Mentions(question, list(words), dates[0] if dates else None, dates=dates)
    blocked = {i for rng in dates for i in rng.positions}
    intent_positions = _flags(words, found.flags, blocked)
    if words and words[0] in lexicon.YESNO_START:
        found.flags.add("yesno")
    blocked |= _ordinary_words_named_like_places(question, index)
    found.spans = _phrase_spans(words, index, blocked)
    _correct_typos(found, index, blocked | intent_positions)
    for span in found.spans:
        # A compound's leader part is read as if written apart ("nettverks|leiar").
        found.flags.update(key for kind, key in span.senses if kind == "flag")
    covered = blocked | {i for s in found.spans for i in range(s.start, s.end)}
    found.name_runs = _name_runs(found, index, covered | intent_positions)
    named = {i for run in found.name_runs for i in run.positions}
    known = covered | named | intent_positions
    found.unknown = [
        i
        for i, w in enumerate(found.words)
        if i not in known and w not in lexicon.STOP and w.isalpha()
    ]
    found.concepts = index.concepts([w for i, w in enumerate(found.words) if i not in blocked])
    found.email_people = [index.emails[e] for e in question.emails if e in index.emails]
    return found


def _flags(words: list[str], flags: set[str], blocked: set[int]) -> set[int]:
    positions: set[int] = set()
    n = len(words)
    for i in range(n):
        if i in blocked or i in positions:
            # A word already read as part of a phrase ("deputy leader") is not read again.
            continue
        longest = _FLAG_LENGTHS.get(words[i])
        if longest is None:
            continue  # no intent phrase starts with this word (most words)
        for length in range(min(longest, n - i), 0, -1):
            hits = _FLAG_PHRASES.get(" ".join(words[i : i + length]) if length > 1 else words[i])
            if hits:
                flags.update(hits)
                positions.update(range(i, i + length))
                break
    return positions


def _ordinary_words_named_like_places(question: Question, index: Index) -> set[int]:
    """Positions of words such as "time", "hole" or "moss" that name an unregistered place
    only when capitalised inside a sentence."""
    out = set()
    for i, token in enumerate(question.tokens):
        word = token.text
        if token.capital or not (word in _NOT_NAMES or len(word) <= 3):
            continue
        senses = index.phrases.get(word)
        if senses and all(kind == "gaz" for kind, _ in senses):
            out.add(i)
    return out


def _phrase_spans(words: list[str], index: Index, blocked: set[int]) -> list[Span]:
    """Longest registered phrases, left to right; single words also by their inflections."""
    spans = []
    phrases, lengths = index.phrases, index.phrase_lengths
    i, n = 0, len(words)
    while i < n:
        if i in blocked:
            i += 1
            continue
        word = words[i]
        for length in range(min(lengths.get(word, 1), n - i), 0, -1):
            if length == 1:
                senses = phrases.get(word)
            elif blocked and any(j in blocked for j in range(i + 1, i + length)):
                continue
            else:
                senses = phrases.get(" ".join(words[i : i + length]))
            if senses:
                spans.append(Span(i, i + length, set(senses)))
                i += length
                break
        else:
            for variant in stem_variants(word):
                senses = phrases.get(variant)
                if senses and not any(kind == "person" for kind, _ in senses):
                    spans.append(Span(i, i + 1, set(senses)))
                    break
            else:
                compound = _body_compound(word, index) or _term_compound(word, index)
                if compound:
                    spans.append(Span(i, i + 1, compound))
            i += 1
    return spans


_MIN_TAIL = 6


def _term_compound(word: str, index: Index) -> set[Sense] | None:
    """A Norwegian compound ending in a role's one-word term ("januar|oppdateringa" is the
    update the general contact answers for): the term's role senses, longest tail first.
    The head must be no registered word itself ("data|kontaktperson" is no general contact)."""
    if len(word) < _MIN_TAIL + 3 or not word.isalpha():
        return None
    phrases = index.phrases
    for cut in range(3, len(word) - _MIN_TAIL + 1):
        senses = phrases.get(word[cut:])
        if senses and all(kind == "role" for kind, _ in senses):
            head = word[:cut]
            if head in phrases or head in index.inflected:
                return None
            return set(senses)
    return None


# The heads of Norwegian compounds that name a body's leader or deputy ("nettverks|leiar").
_HEAD_PARTS = frozenset(
    {w for w in lexicon.HEAD | lexicon.DEPUTY if " " not in w} | {"leiar", "leiaren", "leder"}
)
_HEAD_ENDINGS = tuple(_HEAD_PARTS)
_LINKS = ("s", "e", "")


def _body_compound(word: str, index: Index) -> set[Sense] | None:
    """A compound of a body's name and a leader word ("styringsgruppeleiar",
    "nettverksnestleiaren", "fn-senterleder"): the body's senses and a `compound_head` or
    `compound_deputy` marker, or None."""
    if len(word) < 8 or not word.endswith(_HEAD_ENDINGS) or not word.isalpha():
        return None
    for cut in range(len(word) - 4, 3, -1):
        right = word[cut:]
        if right not in _HEAD_PARTS:
            continue
        left = word[:cut]
        for link in _LINKS:
            if link and not left.endswith(link):
                continue
            stem = left[: len(left) - len(link)] if link else left
            bodies = {
                s
                for form in (stem, stem + "e", stem + "et", stem + "en", stem + "a")
                for s in index.phrases.get(form, ())
                if s[0] in ("org", "audience")
            }
            if bodies:
                marker = "deputy" if right in lexicon.DEPUTY else "head"
                return bodies | {("flag", marker)}
    return None


def _fuzzy_candidate(word: str, index: Index) -> bool:
    return (
        len(word) >= 4
        and word.isalpha()
        and word not in _NOT_NAMES
        and word not in index.known_names
        and word not in index.concept_phrases
        and word not in MONTHS
        and word not in WEEKDAYS
        and word not in index.name_parts
        and not any(v in index.concept_phrases for v in stem_variants(word))
        and not index.is_event_word(word)
    )


def _correct_typos(found: Mentions, index: Index, blocked: set[int]) -> None:
    """Replace words that are one clear typo away from a registered word; record the unclear
    ones as near misses. Then match phrases again over the corrected words."""
    covered = {i for s in found.spans for i in range(s.start, s.end)}
    corrected: set[int] = set()
    looked_up = 0
    for i, word in enumerate(found.words):
        if i in covered or i in blocked or not _fuzzy_candidate(word, index):
            continue
        if looked_up >= MAX_FUZZY_WORDS:
            break
        looked_up += 1
        if looked_up == 1:
            # Imported here, once a question: one of known words (most) never needs it.
            from rapidfuzz import process
            from rapidfuzz.distance import OSA

        confident = _confident_distance(len(word))
        cutoff = max(confident, _doubtful_distance(len(word)))
        results = process.extract(
            word,
            index.fuzzy_near(len(word), cutoff),
            scorer=OSA.distance,
            score_cutoff=cutoff,
            limit=8,
        )
        if not results:
            continue
        best = min(d for _, d, _ in results)
        at_best = [c for c, d, _ in results if d == best]
        registered = [c for c in at_best if index.fuzzy_kinds[c] & {"registered", "concept"}]
        real_other = [c for c in at_best if index.fuzzy_kinds[c] & {"gaz", "real"}]
        if (
            best <= confident
            and len(at_best) == 1
            and registered
            and not real_other
            and registered[0][0] == word[0]
        ):
            found.words[i] = registered[0]
            corrected.add(i)
            continue
        named = [(c, d) for c, d, _ in results if {"registered", "name"} <= index.fuzzy_kinds[c]]
        closest = min((d for _, d in named), default=0)
        near = [c for c, d in named if d == closest]
        if near:
            found.near_misses.append(NearMiss(i, found.question.tokens[i].orig, near))
    if corrected:
        spans = _phrase_spans(found.words, index, blocked - corrected)
        for span in spans:
            span.fuzzy = any(j in corrected for j in range(span.start, span.end))
        found.spans = spans
        found.near_misses = [m for m in found.near_misses if m.position not in corrected]


def _name_runs(found: Mentions, index: Index, covered: set[int]) -> list[NameRun]:
    """Runs of consecutive name-like words: parts of registered names, common Norwegian names,
    other capitalised words next to them, and near misses of name parts inside a name."""
    question, words = found.question, found.words
    misses = {m.position: m for m in found.near_misses}
    runs: list[NameRun] = []
    current: NameRun | None = None
    for i, word in enumerate(words):
        if i in covered:
            kind = None
        elif i in misses:
            kind = "fuzzy"
        else:
            kind = _name_kind(question, i, word, index)
        if kind is None:
            current = None
            continue
        if current is None or current.positions[-1] != i - 1:
            current = NameRun([], [], [])
            runs.append(current)
        current.positions.append(i)
        if kind == "registered":
            current.registered.append(word)
        elif kind == "fuzzy":
            current.fuzzy.append((question.tokens[i].orig, misses[i].choices))
        else:
            current.unknown.append(question.tokens[i].orig)
    kept = []
    for run in runs:
        if run.fuzzy and not run.registered:
            # A near miss on its own stays a near miss (answered with a question back).
            run.positions = [i for i in run.positions if i not in misses]
            run.fuzzy = []
        else:
            found.near_misses = [m for m in found.near_misses if m.position not in run.positions]
        if run.positions:
            kept.append(run)
    return kept


def _name_kind(question: Question, i: int, word: str, index: Index) -> str | None:
    token = question.tokens[i]
    ordinary = word in _NOT_NAMES or len(word) <= 2
    if word in index.name_parts:
        return "registered" if token.capital or not ordinary else None
    if word in index.known_names:
        return "known" if token.capital or not (ordinary or len(word) <= 3) else None
    if word in index.entity_words:
        return None
    if (
        token.capital
        and word.isalpha()
        and not ordinary
        and word not in index.concept_phrases
        and word not in MONTHS
        and word not in WEEKDAYS
    ):
        return "unknown"
    return None
