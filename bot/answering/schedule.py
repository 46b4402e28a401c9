"""Answers about events and deadlines: when something is, what happens on a date, what is next
(by the injected clock), and whom to contact about an event."""

from __future__ import annotations

from datetime import date, datetime

from bot.answering import lexicon, render
from bot.answering.model import Answer
from bot.answering.reply import Context
from bot.registry.data import EventRec

_KIND_WEIGHT = 1  # meeting, deadline...: many events share them
_OTHER_WEIGHT = 2  # audiences, places and title words tell events apart


def _live(ctx: Context) -> list[EventRec]:
    return [e for e in ctx.index.data.events if not e.cancelled]


def _upcoming(ctx: Context, events: list[EventRec]) -> list[EventRec]:
    """Events that have not started yet (all-day items of today count as upcoming)."""
    return [
        e
        for e in events
        if (e.start >= ctx.now if isinstance(e.start, datetime) else e.start >= ctx.today)
    ]


def _order(e: EventRec) -> tuple[date, str, str]:
    start = e.start.isoformat() if isinstance(e.start, datetime) else ""
    return (e.start_date, start, e.key)


def query_concepts(ctx: Context) -> set[str]:
    """The question's concepts that some event has (the rest cannot select anything)."""
    known = set().union(*ctx.index.event_concepts.values()) if ctx.index.event_concepts else set()
    return (ctx.mentions.concepts - lexicon.WEAK_CONCEPTS) & known


def _score(ctx: Context, ev: EventRec, wanted: set[str]) -> int:
    shared = ctx.index.event_concepts.get(ev.key, frozenset()) & wanted
    return sum(_KIND_WEIGHT if c in lexicon.EVENT_TRIGGERS else _OTHER_WEIGHT for c in shared)


def names_an_event(ctx: Context) -> bool:
    """True when the question shares a telling concept (not just "meeting") with an event."""
    wanted = query_concepts(ctx) - lexicon.EVENT_TRIGGERS
    return any(ctx.index.event_concepts[e.key] & wanted for e in _live(ctx))


def best_events(ctx: Context, events: list[EventRec]) -> list[EventRec]:
    """The events matching the question's concepts best (all of them if it names none)."""
    wanted = query_concepts(ctx)
    if not wanted:
        return events
    scored = [(_score(ctx, e, wanted), e) for e in events]
    top = max((s for s, _ in scored), default=0)
    return [e for s, e in scored if s == top and s > 0]


def _place_filter(ctx: Context, events: list[EventRec]) -> list[EventRec]:
    """Only events for everyone or for an audience that includes the place asked about."""
    places = ctx.mentions.keys("place")
    if not places:
        return events
    audiences = ctx.index.place_audiences.get(places[0], set())
    return [e for e in events if not e.audiences or set(e.audiences) & audiences]


def _unknown_place(ctx: Context) -> Answer | None:
    """A real place that is neither registered nor where any event is."""
    for name, span in ctx.mentions.unregistered_places():
        words = ctx.mentions.words[span.start : span.end]
        if not ctx.index.concepts(words) & query_concepts(ctx):
            return ctx.not_found(ctx.msg("not_registered_place", place=name) + " " + ctx.hint())
    return None


def _lines(ctx: Context, events: list[EventRec], with_date: bool = True) -> str:
    return render.bullets([render.event_line(e, ctx.lang, with_date) for e in events], ctx.lang)


def answer_on_date(ctx: Context) -> Answer:
    """What happens on a day or in a range of days."""
    rng = ctx.mentions.date
    assert rng is not None
    unknown = _unknown_place(ctx)
    if unknown:
        return unknown
    events = [e for e in _live(ctx) if e.start_date <= rng.last and e.end_date >= rng.first]
    events = sorted(_place_filter(ctx, events), key=_order)
    if query_concepts(ctx):
        events = best_events(ctx, events) or events
    day, first, last = (render.fmt_date(d, ctx.lang) for d in (rng.first, rng.first, rng.last))
    if events:
        if rng.single_day:
            text = ctx.msg("on_day", day=day) + "\n" + _lines(ctx, events, with_date=False)
        else:
            text = ctx.msg("in_range", first=first, last=last) + "\n" + _lines(ctx, events)
        return ctx.answer(text, events=ctx.event_views(events))
    if rng.single_day:
        text = ctx.msg("nothing_on_day", day=day)
    else:
        text = ctx.msg("nothing_in_range", first=first, last=last)
    later = sorted((e for e in _live(ctx) if e.start_date > rng.last), key=_order)
    if later:
        group = [e for e in later if e.start_date == later[0].start_date]
        text += "\n" + ctx.msg("after_that") + "\n" + _lines(ctx, group)
        return ctx.not_found(text, events=ctx.event_views(group))
    return ctx.not_found(text)


def answer_next(ctx: Context) -> Answer:
    """The next upcoming items (all of those on the first day), optionally of one kind or for
    one audience or place."""
    unknown = _unknown_place(ctx)
    if unknown:
        return unknown
    upcoming = sorted(_place_filter(ctx, _upcoming(ctx, _live(ctx))), key=_order)
    if query_concepts(ctx):
        upcoming = best_events(ctx, upcoming)
    if not upcoming:
        return ctx.not_found(ctx.msg("nothing_next", day=render.fmt_date(ctx.today, ctx.lang)))
    first = upcoming[0].start_date
    group = [e for e in upcoming if e.start_date == first]
    text = ctx.msg("next_on", day=render.fmt_date(first, ctx.lang))
    return ctx.answer(
        text + "\n" + _lines(ctx, group, with_date=False), events=ctx.event_views(group)
    )


def answer_when(ctx: Context) -> Answer:
    """When the events the question describes are; upcoming ones first among equals."""
    unknown = _unknown_place(ctx)
    if unknown:
        return unknown
    live = _live(ctx)
    matches = best_events(ctx, live) if query_concepts(ctx) else []
    if not matches:
        upcoming = sorted(_upcoming(ctx, live), key=_order)
        group = [e for e in upcoming if e.start_date == upcoming[0].start_date] if upcoming else []
        text = ctx.msg("no_event")
        if group:
            text += "\n" + ctx.msg("upcoming") + "\n" + _lines(ctx, group)
        return ctx.not_found(text, events=ctx.event_views(group))
    if len(matches) > 1:
        matches = _upcoming(ctx, matches) or matches
    matches = sorted(matches, key=_order)
    if len(matches) == 1:
        return ctx.answer(
            render.event_line(matches[0], ctx.lang) + ".", events=ctx.event_views(matches)
        )
    text = ctx.msg("events_found") + "\n" + _lines(ctx, matches)
    return ctx.answer(text, events=ctx.event_views(matches))


def answer_event_contacts(ctx: Context) -> Answer | None:
    """Whom to contact about the event the question describes (its contact roles, at the
    place asked about when one is named), or None when no one event fits."""
    events = _live(ctx)
    if ctx.mentions.date:
        rng = ctx.mentions.date
        events = [e for e in events if e.start_date <= rng.last and e.end_date >= rng.first]
    matches = best_events(ctx, events) if query_concepts(ctx) else []
    if len(matches) > 1:
        matches = _upcoming(ctx, matches) or matches
    if len(matches) != 1 or not matches[0].contact_roles:
        return None
    ev = matches[0]
    index, lang = ctx.index, ctx.lang
    places = ctx.mentions.keys("place")
    held = []
    for role in ev.contact_roles:
        holders = index.by_role.get(role, [])
        if places and any(h.role.municipality for h in holders):
            holders = [h for h in holders if h.role.municipality == places[0]]
        held.extend(holders)
    if not held:
        return None
    text = ctx.msg("event_contacts", title=ev.title(lang), day=render.fmt_when(ev, lang))
    text += "\n" + render.bullets(render.people_lines(index, held, lang), lang)
    return ctx.answer(
        text,
        [render.contact_view(index, h, lang) for h in held],
        ctx.event_views([ev]),
    )
