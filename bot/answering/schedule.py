"""Answers about events and deadlines: when something is, what happens on a date, what is next
(by the injected clock), and whom to contact about an event."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from bot.answering import lexicon, render
from bot.answering import render_facts as facts
from bot.answering.dates import DateRange
from bot.answering.model import Answer
from bot.answering.reply import Context
from bot.registry.data import EventRec

_KIND_WEIGHT = 1  # meeting, deadline...: many events share them
_OTHER_WEIGHT = 2  # audiences, places and title words tell events apart


def _live(ctx: Context) -> list[EventRec]:
    return [e for e in ctx.index.data.events if not e.cancelled]


def _overlapping(ctx: Context, rng: DateRange) -> list[EventRec]:
    """The live items on any day of a range (by the index's days of each item)."""
    return [
        e for e, first, last in ctx.index.live_events if first <= rng.last and last >= rng.first
    ]


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
    return (ctx.mentions.concepts - lexicon.WEAK_CONCEPTS) & ctx.index.known_event_concepts


def _score(ctx: Context, ev: EventRec, wanted: set[str]) -> int:
    shared = ctx.index.event_concepts.get(ev.key, frozenset()) & wanted
    return sum(_KIND_WEIGHT if c in lexicon.EVENT_TRIGGERS else _OTHER_WEIGHT for c in shared)


def names_an_event(ctx: Context) -> bool:
    """True when the question shares a telling concept (not just "meeting") with an event."""
    wanted = query_concepts(ctx) - lexicon.EVENT_TRIGGERS
    return any(ctx.index.event_concepts[e.key] & wanted for e in _live(ctx))


def best_events(ctx: Context, events: list[EventRec]) -> list[EventRec]:
    """The events matching the question's concepts best (all of them if it names none); for
    events joined by "and" ("the county meeting and the steering group meeting"), the best
    for each side."""
    wanted = query_concepts(ctx)
    if not wanted:
        return events
    ignored: set[str] = set()
    if _asks_streamed(ctx) and wanted - {"stream"} - lexicon.EVENT_TRIGGERS:
        # "Can I follow the steering group meeting online?" asks about that meeting, not
        # for whatever else is streamed.
        ignored = {"stream"}
        wanted = wanted - ignored
    sides = _joined_sides(ctx, ignored, wanted & lexicon.EVENT_TRIGGERS)
    if sides:
        return list(dict.fromkeys(e for side in sides for e in _best(ctx, events, side)))
    return _best(ctx, events, wanted)


_AND = frozenset({"and", "og", "&"})


def _joined_sides(ctx: Context, ignored: set[str], kinds: set[str]) -> list[set[str]]:
    """The concepts of each side of an "and" when more than one side names an event of its
    own, with a kind word of its own ("the county meeting and the steering group meeting",
    not "the meeting for counties and municipalities"); else none. `kinds`, the question's
    kind words, count for every side."""
    words = ctx.mentions.words
    if not _AND.intersection(words):
        return []
    sides: list[list[str]] = [[]]
    for word in words:
        if word in _AND:
            sides.append([])
        else:
            sides[-1].append(word)
    index = ctx.index
    found = []
    for side in sides:
        named = index.concepts(side) & index.known_event_concepts
        telling = named - lexicon.WEAK_CONCEPTS - lexicon.EVENT_TRIGGERS - ignored
        if telling and named & lexicon.EVENT_TRIGGERS:
            found.append(telling | kinds)
    return found if len(found) > 1 else []


def _best(ctx: Context, events: list[EventRec], wanted: set[str]) -> list[EventRec]:
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


def anchor(ctx: Context, rng: DateRange) -> DateRange:
    """A day or month named without a year, moved to the occurrence the user most likely means:
    the nearest one with registered items, upcoming first, else the most recent one. Ranges
    with a year, and those no year has items for, stay as they are."""
    if rng.yearless is None:
        return rng
    asked, day = rng.yearless
    live = ctx.index.live_days
    options: list[tuple[date, date]] = []
    # Month 0: a day of any month ("the 21st").
    months = (asked,) if asked else range(1, 13)
    for year in ctx.index.event_years:
        for month in months:
            try:
                first = date(year, month, day or 1)
            except ValueError:
                continue
            if day is None:
                following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
                last = following - timedelta(days=1)
            else:
                last = first
            for start, end in live:
                if start <= last and end >= first:
                    options.append((first, last))
                    break
    if not options:
        return rng
    ahead = [o for o in options if o[1] >= ctx.today]
    first, last = min(ahead) if ahead else max(options)
    return replace(rng, first=first, last=last)


def _is_past(ctx: Context, ev: EventRec) -> bool:
    """True when the item is over (an all-day item is over after its last day)."""
    if isinstance(ev.end or ev.start, datetime):
        end = ev.end if isinstance(ev.end, datetime) else ev.start
        return isinstance(end, datetime) and end < ctx.now
    return ev.end_date < ctx.today


def _yes_no(ctx: Context, events: list[EventRec]) -> str | None:
    """The yes or no a yes/no question about these items gets, or None for other questions:
    "has it passed?" (yes when all are over), "is it still ahead?" (yes when none is), "did
    anything happen?" (yes when there are items)."""
    flags = ctx.mentions.flags
    if not events:
        return facts.no(ctx.lang) if "yesno" in flags else None
    if "yesno" not in flags or flags & {"who", "when"}:
        return None  # "what happened in October?" is no yes/no question
    past = all(_is_past(ctx, e) for e in events)
    if "past_q" in flags:
        return facts.yes(ctx.lang) if past else facts.no(ctx.lang)
    if "ahead_q" in flags:
        return facts.no(ctx.lang) if past else facts.yes(ctx.lang)
    return facts.yes(ctx.lang)


def _about(ctx: Context, events: list[EventRec]) -> str:
    """What a single item is for (its description), as an extra line."""
    if len(events) != 1:
        return ""
    text = events[0].description(facts.record_lang(ctx.lang))
    return "\n" + facts.about(ctx.lang, text) if text else ""


def _on_range(ctx: Context, rng: DateRange) -> tuple[str, list[EventRec]]:
    """The header and items of one day or range of days."""
    events = _overlapping(ctx, rng)
    events = sorted(_place_filter(ctx, events), key=_order)
    if query_concepts(ctx):
        events = best_events(ctx, events) or events
    if not events:
        return "", []
    past = all(_is_past(ctx, e) for e in events)
    if rng.single_day:
        day = render.fmt_date(rng.first, ctx.lang)
        head = facts.past_on_day(ctx.lang, rng.first) if past else ctx.msg("on_day", day=day)
        return head + "\n" + _lines(ctx, events, with_date=False), events
    first, last = (render.fmt_date(d, ctx.lang) for d in (rng.first, rng.last))
    if past:
        head = facts.past_in_range(ctx.lang, rng.first, rng.last)
    else:
        head = ctx.msg("in_range", first=first, last=last)
    return head + "\n" + _lines(ctx, events), events


def answer_on_date(ctx: Context) -> Answer:
    """What happens on a day or in a range of days (every one the question names)."""
    assert ctx.mentions.date is not None
    ranges = [anchor(ctx, r) for r in (ctx.mentions.dates or [ctx.mentions.date])]
    unknown = _unknown_place(ctx)
    if unknown:
        return unknown
    blocks: list[str] = []
    found_once: dict[str, EventRec] = {}
    for rng in ranges:
        text, events = _on_range(ctx, rng)
        if events:
            blocks.append(text)
            for e in events:
                found_once.setdefault(e.key, e)
    found = list(found_once.values())
    if found:
        verdict = _same_day(ctx, found) or _yes_no(ctx, found)
        text = "\n\n".join(blocks)
        if verdict:
            text = f"{verdict}\n{text}"
        return ctx.answer(text + _about(ctx, found), events=ctx.event_views(found))
    rng = ranges[0]
    day, first, last = (render.fmt_date(d, ctx.lang) for d in (rng.first, rng.first, rng.last))
    if rng.single_day:
        text = ctx.msg("nothing_on_day", day=day)
    else:
        text = ctx.msg("nothing_in_range", first=first, last=last)
    verdict = _yes_no(ctx, [])
    if verdict:
        text = f"{verdict} {text}"
    live = ctx.index.live_events
    later = sorted((e for e, first, _ in live if first > rng.last), key=_order)
    if later:
        group = [e for e in later if e.start_date == later[0].start_date]
        text += "\n" + ctx.msg("after_that") + "\n" + _lines(ctx, group)
        return ctx.not_found(text, events=ctx.event_views(group))
    earlier = sorted((e for e, _, last in live if last < rng.first), key=_order)
    if earlier:
        # Nothing then and nothing after: the last registered items, so the reply is never
        # an empty "nothing".
        final = earlier[-1].start_date
        group = [e for e in earlier if e.start_date == final]
        text += "\n" + facts.last_items(ctx.lang, final, len(group)) + "\n"
        text += _lines(ctx, group, with_date=False)
        return ctx.not_found(text, events=ctx.event_views(group))
    return ctx.not_found(text)


def _same_day(ctx: Context, events: list[EventRec]) -> str | None:
    """The verdict on "are these on the same day?"."""
    if "same_day" not in ctx.mentions.flags or len(events) < 2:
        return None
    if len({e.start_date for e in events}) == 1:
        return facts.same_day(ctx.lang, events[0].start_date)
    return facts.not_same_day(ctx.lang)


def answer_next(ctx: Context) -> Answer:
    """The next upcoming items (all of those on the first day), optionally of one kind or for
    one audience or place."""
    unknown = _unknown_place(ctx)
    if unknown:
        return unknown
    ahead = sorted(_place_filter(ctx, _upcoming(ctx, _live(ctx))), key=_order)
    wanted = query_concepts(ctx)
    upcoming = best_events(ctx, ahead) if wanted else ahead
    # "What is the next milestone?" with none ahead but a meeting ahead: say so, and name
    # what does come next rather than what lies behind.
    other_kind = not upcoming and bool(ahead) and wanted <= lexicon.EVENT_TRIGGERS
    if not upcoming and not other_kind:
        return _nothing_ahead(ctx)
    shown = ahead if other_kind else upcoming
    first = shown[0].start_date
    group = [e for e in shown if e.start_date == first]
    day = render.fmt_date(first, ctx.lang)
    if other_kind:
        text = ctx.msg("no_kind_next", day=render.fmt_date(ctx.today, ctx.lang), next=day)
    else:
        text = ctx.msg("next_on", day=day)
    return ctx.answer(
        text + "\n" + _lines(ctx, group, with_date=False), events=ctx.event_views(group)
    )


def _nothing_ahead(ctx: Context) -> Answer:
    """Nothing lies ahead: say so, and name the last registered items (of the kind asked
    about) with their date, in the past tense."""
    past = sorted(_place_filter(ctx, _live(ctx)), key=_order)
    if query_concepts(ctx):
        past = best_events(ctx, past)
    if not past:
        return ctx.not_found(ctx.msg("nothing_next", day=render.fmt_date(ctx.today, ctx.lang)))
    last = past[-1].start_date
    group = [e for e in past if e.start_date == last]
    text = facts.nothing_ahead_last(ctx.lang, ctx.today, last, len(group))
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
    if len(matches) > 1 and "same_day" not in ctx.mentions.flags:
        matches = _upcoming(ctx, matches) or matches
    matches = sorted(matches, key=_order)
    if _asks_streamed(ctx):
        verdict = _streamed(ctx, matches)
    else:
        verdict = _same_day(ctx, matches) or _yes_no(ctx, matches)
    prefix = f"{verdict}\n" if verdict else ""
    if len(matches) == 1:
        ev = matches[0]
        if _is_past(ctx, ev):
            title = ev.title(facts.record_lang(ctx.lang))
            if ev.location:
                title += f" ({ev.location})"
            line = facts.was_on(
                ctx.lang, render.fmt_when(ev, ctx.lang), title, ev.kind == "deadline"
            )
        else:
            line = render.event_line(ev, ctx.lang) + "."
        missing = _missing_details(ctx, ev)
        return ctx.answer(
            prefix + line + _about(ctx, matches) + missing, events=ctx.event_views(matches)
        )
    text = prefix + ctx.msg("events_found") + "\n" + _lines(ctx, matches)
    return ctx.answer(text, events=ctx.event_views(matches))


def _missing_details(ctx: Context, ev: EventRec) -> str:
    """Lines saying which asked-for details of an event are not registered (a time of day for
    an all-day item, a link)."""
    lines = []
    title = ev.title(facts.record_lang(ctx.lang))
    if "clock" in ctx.mentions.flags and not isinstance(ev.start, datetime):
        lines.append(
            facts.event_detail_missing(ctx.lang, facts.field_name(ctx.lang, "time"), title)
        )
    if "link" in ctx.mentions.flags:
        lines.append(
            facts.event_detail_missing(ctx.lang, facts.field_name(ctx.lang, "link"), title)
        )
    return "".join(f"\n{line}" for line in lines)


_CAN = frozenset({"can", "could", "kan", "ma"})


def _asks_streamed(ctx: Context) -> bool:
    """ "Is it streamed?", "can I follow it online?", "kan eg følgje det på nett?"."""
    m = ctx.mentions
    if "stream" not in m.concepts:
        return False
    return "yesno" in m.flags or bool(m.words and m.words[0] in _CAN)


def _streamed(ctx: Context, events: list[EventRec]) -> str | None:
    """The verdict on "is it streamed?" about one item (the list of several marks the
    streamed ones: one verdict cannot cover them)."""
    if len(events) != 1:
        return None
    concepts = ctx.index.event_concepts
    return facts.streamed(ctx.lang, "stream" in concepts[events[0].key])


def answer_event_contacts(ctx: Context) -> Answer | None:
    """Whom to contact about the event the question describes (its contact roles, at the
    place asked about when one is named), or None when no one event fits."""
    events = _live(ctx)
    if ctx.mentions.date:
        events = _overlapping(ctx, ctx.mentions.date)
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
