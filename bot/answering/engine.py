"""The answer engine: a question in English, bokmål or nynorsk -> an Answer from the registry.

Status: `answer` when the question's fact was found; `clarify` when a name is a near miss or
fits several people (suggestions hold ready-to-send questions); `not_found` otherwise, with a
hint of what can be asked, and with whoever can help in `contacts` when a role is vacant.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.answering import facts, multi, people, render, schedule
from bot.answering.gazetteer import KnownNames, Place, load_names, load_places
from bot.answering.index import Index
from bot.answering.lexicon import EVENT_TRIGGERS
from bot.answering.model import Answer, Lang
from bot.answering.reply import Context
from bot.answering.resolve import Mentions, resolve
from bot.answering.text import MAX_QUESTION_CHARS, detect_language, prepare
from bot.clock import Clock
from bot.gcpause import paused_gc
from bot.i18n import LANGUAGES, reply_language
from bot.registry.data import RegistryData
from bot.resources import NAMES_FILE, PLACES_FILE
from bot.textnorm import strip_controls

log = logging.getLogger(__name__)


class SnapshotSource(Protocol):
    """Where the engine reads the registry from (bot.registry.Registry, or fixed data)."""

    def snapshot(self) -> RegistryData:
        """The current registry; its `version` changes whenever the registry is written."""
        ...


class _FixedSource:
    def __init__(self, data: RegistryData) -> None:
        self._data = data

    def snapshot(self) -> RegistryData:
        """The fixed data."""
        return self._data


class AnswerEngine:
    """Question -> Answer over the registry snapshot; indexes are rebuilt only when the
    snapshot's version changes."""

    def __init__(
        self,
        registry: SnapshotSource,
        clock: Clock,
        default_lang: str = "en",
        *,
        places_file: Path = PLACES_FILE,
        names_file: Path = NAMES_FILE,
    ) -> None:
        self._registry = registry
        self._clock = clock
        self._default_lang: Lang = reply_language(default_lang)
        self._places_file = places_file
        self._names_file = names_file
        self._lock = threading.Lock()
        self._index: Index | None = None

    @classmethod
    def for_data(cls, data: RegistryData, clock: Clock, default_lang: str = "en") -> AnswerEngine:
        """An engine over fixed registry data (benchmarks, tests)."""
        return cls(_FixedSource(data), clock, default_lang)

    @classmethod
    def from_index(cls, index: Index, clock: Clock, default_lang: str = "en") -> AnswerEngine:
        """An engine over an index built before (the cache of `coordbot ask`)."""
        engine = cls(_FixedSource(index.data), clock, default_lang)
        engine._index = index
        return engine

    def index(self) -> Index:
        """The lookup tables for the current snapshot (built on first use after a change)."""
        data = self._registry.snapshot()
        with self._lock:
            current = self._index
            if current is None or current.version != data.version or current.data is not data:
                # A chat edit of a few people (an address, a role) re-files just them.
                rebound = current.with_people(data) if current is not None else None
                if rebound is None:
                    places: Sequence[Place] = load_places(self._places_file)
                    names: KnownNames = load_names(self._names_file)
                    with paused_gc(settle=True):
                        rebound = Index(data, places, names)
                current = self._index = rebound
            return current

    def ask(self, question: str, lang: str | None = None) -> Answer:
        """Answer one question; never raises on any text."""
        forced = lang if lang in LANGUAGES else None
        text = strip_controls(question if isinstance(question, str) else str(question)).strip()
        try:
            return self._answer(text, forced)
        except Exception:
            # A bug must reach the person asking neither as a traceback nor as silence; it is
            # logged with the question so it can be fixed (the tests fail on this reply).
            log.exception("answering %r failed", text[:200])
            reply_lang = reply_language(forced or self._default_lang)
            return Answer("not_found", reply_lang, render.msg(reply_lang, "failed"))

    def _answer(self, text: str, forced: str | None) -> Answer:
        index = self.index()
        now = self._clock.now().astimezone(ZoneInfo(index.data.timezone))
        if len(text) > MAX_QUESTION_CHARS:
            empty = Mentions(prepare(""), [], None)
            ctx = Context(index, empty, forced or self._default_lang, now)
            return ctx.not_found(ctx.msg("too_long", length=len(text), limit=MAX_QUESTION_CHARS))
        prepared = prepare(text)
        mentions = resolve(prepared, index, now.date())
        reply_lang = (
            forced or detect_language(prepared, mentions.entity_positions) or self._default_lang
        )
        ctx = Context(index, mentions, reply_lang, now)
        if not prepared.tokens and not prepared.emails:
            return ctx.not_found(f"{ctx.msg('empty')} {ctx.hint()}")
        parts = multi.split(text)
        if len(parts) == 1:
            return _answer_one(ctx)
        answers: list[Answer] = []
        context_words = previous = ""
        for part in parts:
            part_mentions = resolve(prepare(part), index, now.date())
            if context_words and not _names_something(part_mentions):
                # "... and when does it meet?": the part reads what the earlier ones named;
                # "... and where is it?" asks about the same item as the part before.
                where = bool(set(part_mentions.words) & _WHERE) or "stream" in (
                    part_mentions.concepts
                )
                extra = previous if where and answers and answers[-1].events else context_words
                part_mentions = resolve(prepare(f"{part} {extra}"), index, now.date())
            part_ctx = Context(index, part_mentions, reply_lang, now)
            answer = _answer_one(part_ctx)
            answers.append(answer)
            named = _named_text(part_ctx)
            if named:
                context_words = named
            previous = part
        return multi.merge(answers)


_WHERE = frozenset({"where", "hvor", "kor", "kvar"})


def _names_something(m: Mentions) -> bool:
    """True when a question names a place, body, person or date of its own."""
    kinds = {kind for span in m.spans for kind, _ in span.senses}
    return bool(kinds & {"place", "org", "audience", "person", "role"} or m.date or m.name_runs)


def _named_text(ctx: Context) -> str:
    """The words a question names places and bodies with, as it wrote them (also inside a
    role's name: "leder styringsgruppen" names the steering group)."""
    out: list[str] = []
    words = ctx.mentions.words
    for span in ctx.mentions.spans:
        if any(kind in ("place", "org", "audience") for kind, _ in span.senses):
            out.append(ctx.said(span.start, span.end - 1))
            continue
        for i in range(span.start, span.end):
            senses = ctx.index.phrases.get(words[i], set())
            if any(kind in ("org", "audience") for kind, _ in senses):
                out.append(ctx.said(i, i))
    return " ".join(out)


def _answer_one(ctx: Context) -> Answer:
    """One question's answer, with the details it asks for that the registry lacks said."""
    m = ctx.mentions
    if "office" in m.flags and "who" in m.flags and not m.keys("person"):
        # "Who is the mayor of Bodø?": an office the registry never holds. Said so, then
        # what it holds about the place, instead of whoever holds some other role there.
        return facts.office_not_held(ctx, people.place_overview(ctx))
    answer = _dispatch(ctx)
    if ctx.mentions.flags & {"phone", "postal", "visit"} and answer.contacts:
        people_asked = [
            ctx.index.data.person_by_key[c.person_key]
            for c in answer.contacts
            if c.person_key in ctx.index.data.person_by_key
        ]
        answer = facts.with_missing(ctx, answer, list(dict.fromkeys(people_asked)))
    return answer


def _dispatch(ctx: Context) -> Answer:
    """Choose what kind of question this is, most specific first."""
    m: Mentions = ctx.mentions
    if m.email_people:
        person = ctx.index.data.person_by_key[m.email_people[0]]
        return people.person_answer(ctx, person)
    triggers = bool(m.concepts & EVENT_TRIGGERS)
    names_person = any(r.registered for r in m.name_runs) or bool(m.keys("person"))
    asks_who = bool(m.flags & {"who", "contact"})
    if asks_who and triggers and not names_person and not m.keys("role"):
        answer = schedule.answer_event_contacts(ctx)
        if answer is not None:
            return answer
    about_people = names_person or bool(m.keys("role")) or asks_who
    about_time = bool(m.flags & {"past_q", "ahead_q"}) or "stream" in m.concepts
    if (
        about_time
        and not names_person
        and not asks_who
        and (triggers or m.date or schedule.names_an_event(ctx))
    ):
        # "Has the data deadline passed?", "is it streamed?": about an event, even when a
        # word of it also names a role ("fristen for datainnsamling").
        return schedule.answer_on_date(ctx) if m.date else schedule.answer_when(ctx)
    if m.date and not names_person and not (asks_who and m.keys("role")):
        return schedule.answer_on_date(ctx)
    if "next" in m.flags and not names_person:
        return schedule.answer_next(ctx)
    if "when" in m.flags or (triggers and not about_people):
        return schedule.answer_when(ctx)
    if (
        "deadline" in m.concepts
        and not names_person
        and not asks_who
        and not m.flags & {"head", "deputy"}
        and schedule.names_an_event(ctx)
    ):
        # "What is the deadline for the data collection?": a role's word ("data collection")
        # names the deadline's subject; nobody is asked for.
        return schedule.answer_when(ctx)
    if "happen" in m.flags and not about_people:
        return schedule.answer_next(ctx)
    answer = people.answer_people(ctx)
    if answer is not None:
        return answer
    if not asks_who and schedule.names_an_event(ctx):
        return schedule.answer_when(ctx)
    if "greeting" in m.flags:
        prefix = f"{ctx.msg('greeting')} "
    elif "help" in m.flags:
        prefix = ""
    else:
        prefix = f"{ctx.msg('no_answer')} "
    return ctx.not_found(prefix + ctx.hint())


__all__ = ["AnswerEngine", "Lang", "SnapshotSource"]
