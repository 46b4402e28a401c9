"""What every kind of reply needs: the question's context and the three kinds of Answer."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from bot.answering import render
from bot.answering.index import Index
from bot.answering.model import Answer, ContactView, EventView, Lang
from bot.answering.resolve import Mentions
from bot.registry.data import EventRec

MAX_SUGGESTIONS = 5
MAX_SUGGESTION_CHARS = 60


@dataclass(frozen=True)
class Context:
    """One question being answered."""

    index: Index
    mentions: Mentions
    lang: str
    now: datetime  # aware, in the registry's zone

    @property
    def today(self) -> date:
        """The local date of `now`."""
        return self.now.date()

    def msg(self, key: str, **values: object) -> str:
        """A message in the reply's language."""
        return render.msg(self.lang, key, **values)

    def answer(
        self,
        text: str,
        contacts: Iterable[ContactView] = (),
        events: Iterable[EventView] = (),
    ) -> Answer:
        """A found answer."""
        return Answer("answer", cast(Lang, self.lang), text, tuple(contacts), tuple(events))

    def not_found(
        self,
        text: str,
        contacts: Iterable[ContactView] = (),
        events: Iterable[EventView] = (),
    ) -> Answer:
        """Nothing found; `contacts`/`events` may name who or what can help instead."""
        return Answer("not_found", cast(Lang, self.lang), text, tuple(contacts), tuple(events))

    def clarify(self, text: str, suggestions: Sequence[str]) -> Answer:
        """A question back, with choices a chat UI can offer as buttons."""
        unique = list(dict.fromkeys(s for s in suggestions if s))[:MAX_SUGGESTIONS]
        return Answer("clarify", cast(Lang, self.lang), text, suggestions=tuple(unique))

    def said(self, first: int, last: int) -> str:
        """The question's original text of tokens first..last."""
        tokens = self.mentions.question.tokens
        return self.mentions.question.text[tokens[first].start : tokens[last].end]

    def rewrite(self, first: int, last: int, replacement: str) -> str:
        """The question with tokens first..last replaced: a ready-to-send suggestion when it is
        short enough, else the replacement alone."""
        tokens = self.mentions.question.tokens
        text = self.mentions.question.text
        start, end = tokens[first].start, tokens[last].end
        rewritten = " ".join((text[:start] + replacement + text[end:]).split())
        if len(rewritten) <= MAX_SUGGESTION_CHARS:
            return rewritten
        return replacement[:MAX_SUGGESTION_CHARS]

    def hint(self) -> str:
        """What the bot can answer, with examples from the registry."""
        data = self.index.data
        place = next((m.name for m in data.municipalities if self.index.by_place.get(m.key)), "")
        person = data.people[0].name if data.people else ""
        starts = self.index.start_dates
        at = bisect_left(starts, self.today)
        # The first day from today with an item, else the first registered day at all.
        day = starts[at] if at < len(starts) else starts[0] if starts else self.today
        day_text = render.fmt_date(day, self.lang).rsplit(" ", 1)[0]
        return self.msg("hint", place=place or "Bodø", person=person or "…", day=day_text)

    def event_views(self, events: Iterable[EventRec]) -> list[EventView]:
        """The contract's event objects."""
        return [render.event_view(e, self.lang) for e in events]
